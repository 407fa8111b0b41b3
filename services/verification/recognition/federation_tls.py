"""Mutual TLS between provinces' deployments.

A federation CA issues each deployment one certificate; its subject alternative names carry
one URI `healthcode://federation/<province code>` per province the deployment speaks for
(and the DNS names peers dial it by). The FederationService port requires such a certificate
from every caller, and what a caller may ask or submit is judged against the provinces its
certificate names; peers' channels present ours and trust only the federation CA.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.oid import ExtendedKeyUsageOID

from services import areas
from services.runtime import pki

URI_PREFIX = "healthcode://federation/"


def province_uri(province_code: str) -> str:
    return URI_PREFIX + province_code


def certificate_provinces(certificate_pem: bytes) -> frozenset[str]:
    """The provinces a (chain-verified) certificate names; empty when it names none or is unreadable."""
    try:
        return provinces_named(x509.load_pem_x509_certificate(certificate_pem))
    except ValueError:
        return frozenset()


def provinces_named(certificate: x509.Certificate) -> frozenset[str]:
    """The provinces a certificate's subject alternative names carry (healthcode://federation/<code>)."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return frozenset()
    provinces = set()
    for uri in names.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(URI_PREFIX) and areas.is_province_code(uri[len(URI_PREFIX):]):
            provinces.add(uri[len(URI_PREFIX):])
    return frozenset(provinces)


def caller_provinces(context: grpc.aio.ServicerContext) -> frozenset[str]:
    """The provinces the caller's client certificate names (the TLS handshake already checked its chain)."""
    pems = (context.auth_context() or {}).get("x509_pem_cert") or ()
    return certificate_provinces(pems[0]) if pems else frozenset()


@dataclass(frozen=True)
class FederationTls:
    """The federation CA and this deployment's certificate and key, as PEM."""

    ca: bytes
    certificate: bytes
    key: bytes

    @classmethod
    def from_files(cls, ca: Path, certificate: Path, key: Path) -> FederationTls:
        return cls(ca.read_bytes(), certificate.read_bytes(), key.read_bytes())

    def provinces(self) -> frozenset[str]:
        return certificate_provinces(self.certificate)

    def server_credentials(self) -> grpc.ServerCredentials:
        """The federation port: our certificate, and a client certificate from the federation CA required."""
        return grpc.ssl_server_credentials([(self.key, self.certificate)], root_certificates=self.ca,
                                           require_client_auth=True)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """A channel to a peer: trusts the federation CA only, presents our certificate."""
        return grpc.ssl_channel_credentials(root_certificates=self.ca, private_key=self.key,
                                            certificate_chain=self.certificate)


@dataclass(frozen=True)
class FederationFiles:
    ca: Path
    certificate: Path
    key: Path


def issue_deployment(ca: x509.Certificate, ca_key, name: str, provinces: frozenset[str],
                     dns_names: tuple[str, ...] = ()) -> tuple[x509.Certificate, object]:
    """A deployment's certificate: server and client use, naming its provinces (and loopback, for development)."""
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(province_uri(p)) for p in sorted(provinces)]
    names += [x509.DNSName(dns) for dns in dns_names] + list(pki.LOOPBACK_NAMES)
    return pki.issue(ca, ca_key, name, names, [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])


def dev_federation_files(directory: Path, provinces: frozenset[str]) -> FederationFiles:
    """`healthcode up`'s development federation PKI, made once in `directory`: a CA and this
    deployment's certificate for `provinces` (re-issued when the provinces change; the CA is kept)."""
    files = FederationFiles(directory / "ca.pem", directory / "deployment.pem", directory / "deployment.key")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key_path = directory / "ca.key"
    if files.ca.exists() and ca_key_path.exists():
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
        ca_key = load_pem_private_key(ca_key_path.read_bytes(), None)
    else:
        ca, ca_key = pki.new_ca("healthcode development federation CA")
        pki.write(ca_key_path, pki.key_pem(ca_key), private=True)
        pki.write(files.ca, pki.certificate_pem(ca))
    if not files.certificate.exists() or certificate_provinces(files.certificate.read_bytes()) != provinces:
        pki.write_pair(files.certificate, files.key, *issue_deployment(ca, ca_key, "healthcode deployment", provinces))
    return files

