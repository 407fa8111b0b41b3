"""Development credentials for `healthcode up`: a private CA, the gateway's TLS certificate, and
one client certificate per kind of caller, so every path of authentication works on one machine.

Production takes the CA and certificates from the province's PKI; nothing here is used there.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.credentials import certificate_uri
from gateway.principals import FEED_SCOPES, NATIONAL, CallerKind, Principal

_VALID = timedelta(days=365)

# One development caller of each kind (Hubei where a province is needed).
DEV_CALLERS = {
    "national-platform": Principal(CallerKind.PROVINCE_SYSTEM, "national-platform", NATIONAL),
    "hubei-system": Principal(CallerKind.PROVINCE_SYSTEM, "hubei-system", "420000"),
    "hubei-health-feed": Principal(CallerKind.FEED, "hubei-health-commission", "420000",
                                   FEED_SCOPES - {"STAYS"}),
    "carrier-feed": Principal(CallerKind.FEED, "carriers", NATIONAL, frozenset({"STAYS"})),
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
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "healthcode development CA")])
    ca = (_builder(ca_name, ca_name, ca_key.public_key())
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    _write(credentials.ca, ca.public_bytes(serialization.Encoding.PEM))
    _issue(credentials.server_certificate, credentials.server_key, ca, ca_key, "healthcode gateway",
           x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
           ExtendedKeyUsageOID.SERVER_AUTH)
    for name, principal in DEV_CALLERS.items():
        certificate, key = credentials.client(name)
        uri = certificate_uri(principal.kind, principal.province, principal.subject, principal.scopes)
        _issue(certificate, key, ca, ca_key, name, x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]),
               ExtendedKeyUsageOID.CLIENT_AUTH)
    return credentials


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + _VALID))


def _issue(certificate_path: Path, key_path: Path, ca: x509.Certificate, ca_key, common_name: str,
           names: x509.SubjectAlternativeName, usage) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (_builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]), ca.subject,
                            key.public_key())
                   .add_extension(names, critical=False)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .sign(ca_key, hashes.SHA256()))
    _write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()), private=True)
    _write(certificate_path, certificate.public_bytes(serialization.Encoding.PEM))


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
