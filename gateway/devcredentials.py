"""Development credentials for `healthcode up`: a private CA, the gateway's TLS certificate, and
one client certificate per kind of caller, so every path of authentication works on one machine.

Production takes the CA and certificates from the province's PKI; nothing here is used there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.credentials import certificate_uri
from gateway.principals import FEED_SCOPES, NATIONAL, CallerKind, Principal
from services.runtime import pki

# One development caller of each kind (Hubei where a province is needed).
DEV_CALLERS = {
    "national-platform": Principal(CallerKind.PROVINCE_SYSTEM, "national-platform", NATIONAL),
    "hubei-system": Principal(CallerKind.PROVINCE_SYSTEM, "hubei-system", "420000"),
    "hubei-health-feed": Principal(CallerKind.FEED, "hubei-health-commission", "420000",
                                   FEED_SCOPES - {"STAYS"}),
    # One carrier's own credential: a carrier sends stays under its own name only (policy.own_carrier).
    "carrier-feed": Principal(CallerKind.FEED, "china-mobile", NATIONAL, frozenset({"STAYS"})),
    "wuhan-checkpoint": Principal(CallerKind.CHECKPOINT, "wuhan-station-1", "420000"),
    "hubei-operator": Principal(CallerKind.OPERATOR, "hubei-operator", "420000"),
    "national-operator": Principal(CallerKind.OPERATOR, "national-operator", NATIONAL),
}


@dataclass(frozen=True)
class DevCredentials:
    directory: Path
    ca: Path
    server_certificate: Path
    server_key: Path

    def client(self, name: str) -> tuple[Path, Path]:
        """(certificate, key) of a development caller."""
        return self.directory / "clients" / f"{name}.pem", self.directory / "clients" / f"{name}.key"


def dev_credentials(directory: Path) -> DevCredentials:
    """Makes the development PKI once; later runs reuse it (clients keep working across restarts)."""
    credentials = DevCredentials(directory, directory / "ca.pem", directory / "server.pem", directory / "server.key")
    if credentials.ca.exists() and all(credentials.client(name)[0].exists() for name in DEV_CALLERS):
        return credentials
    (directory / "clients").mkdir(parents=True, exist_ok=True)
    ca, ca_key = pki.new_ca("healthcode development CA")
    pki.write(credentials.ca, pki.certificate_pem(ca))
    pki.write_pair(credentials.server_certificate, credentials.server_key,
                   *pki.issue(ca, ca_key, "healthcode gateway", list(pki.LOOPBACK_NAMES),
                              [ExtendedKeyUsageOID.SERVER_AUTH]))
    for name, principal in DEV_CALLERS.items():
        certificate, key = credentials.client(name)
        uri = certificate_uri(principal.kind, principal.province, principal.subject, principal.scopes)
        pki.write_pair(certificate, key, *pki.issue(ca, ca_key, name, [x509.UniformResourceIdentifier(uri)],
                                                    [ExtendedKeyUsageOID.CLIENT_AUTH]))
    return credentials
