"""The federation's exchange root: it certifies each deployment's exchange key (the key that signs trust
lists, red/yellow batches and snapshots) with an X.509 certificate naming the provinces the key signs
for, as the EU DCC gateway's trust anchor signs each entry. A peer or a checkpoint holding the root
takes a rotated exchange key because the root certified it, and refuses one it did not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.codes import is_p256_public_key, key_id_of
from services.runtime import pki
from services.runtime.errors import PermissionDenied
from services.verification.recognition.federation_tls import province_uri, provinces_named

CERTIFIED_FOR = timedelta(days=365)


class KeyNotCertified(PermissionDenied):
    """An exchange key without a valid certificate from the federation's exchange root."""


@dataclass(frozen=True)
class CertifiedKey:
    key_id: bytes
    public_key: ec.EllipticCurvePublicKey
    public_der: bytes
    provinces: frozenset[str]
    not_before: datetime
    not_after: datetime


def _refused(message: str) -> KeyNotCertified:
    return KeyNotCertified(reason="EXCHANGE_KEY_NOT_CERTIFIED", message=message)


class ExchangeRoot:
    """The root's certificate, as every deployment and checkpoint holds it."""

    def __init__(self, certificate: x509.Certificate) -> None:
        self.certificate = certificate

    @classmethod
    def from_pem(cls, pem: bytes) -> ExchangeRoot:
        return cls(x509.load_pem_x509_certificate(pem))

    def certified(self, certificate_der: bytes, now: datetime) -> CertifiedKey:
        """The key a certificate certifies, checked: issued by the root, in its validity, a P-256 leaf
        naming at least one province (KeyNotCertified otherwise)."""
        if not certificate_der:
            raise _refused("no certificate of the exchange key was given")
        try:
            certificate = x509.load_der_x509_certificate(certificate_der)
            certificate.verify_directly_issued_by(self.certificate)
            leaf = not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
            raise _refused("the exchange key's certificate is not the federation exchange root's") from None
        public = certificate.public_key()
        provinces = provinces_named(certificate)
        if not leaf or not is_p256_public_key(public) or not provinces:
            raise _refused("the exchange key's certificate is not a P-256 leaf naming provinces")
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise _refused("the exchange key's certificate is not valid now")
        return CertifiedKey(key_id_of(public), public, public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo), provinces,
            certificate.not_valid_before_utc, certificate.not_valid_after_utc)


def certify(root: x509.Certificate, root_key: ec.EllipticCurvePrivateKey, public_key: ec.EllipticCurvePublicKey,
            provinces: frozenset[str], now: datetime, valid_for: timedelta = CERTIFIED_FOR) -> x509.Certificate:
    """The root's certificate of a deployment's exchange key for `provinces` (development PKI and tests;
    production's root lives offline)."""
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "healthcode exchange key")]))
            .issuer_name(root.subject).public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + valid_for)
            .add_extension(x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(province_uri(p)) for p in sorted(provinces)]), critical=False)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                           critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(root_key, hashes.SHA256()))


def dev_exchange_files(directory: Path, provinces: frozenset[str], exchange_key: ec.EllipticCurvePublicKey
                       ) -> tuple[Path, Path]:
    """`healthcode up`'s development exchange root (made once in `directory`, then kept) and its certificate
    of this deployment's exchange key (re-issued when the key or the provinces change): (root, certificate)."""
    root_path, root_key_path, certificate_path = (directory / "exchange-root.pem", directory / "exchange-root.key",
                                                  directory / "exchange.pem")
    directory.mkdir(parents=True, exist_ok=True)
    if root_path.exists() and root_key_path.exists():
        root = x509.load_pem_x509_certificate(root_path.read_bytes())
        root_key = load_pem_private_key(root_key_path.read_bytes(), None)
    else:
        root, root_key = pki.new_ca("healthcode development federation exchange root")
        pki.write(root_key_path, pki.key_pem(root_key), private=True)
        pki.write(root_path, pki.certificate_pem(root))
    if certificate_path.exists():
        held = x509.load_pem_x509_certificate(certificate_path.read_bytes())
        if held.public_key() == exchange_key and provinces_named(held) == provinces:
            return root_path, certificate_path
    pki.write(certificate_path, pki.certificate_pem(certify(root, root_key, exchange_key, provinces,
                                                            datetime.now(UTC))))
    return root_path, certificate_path
