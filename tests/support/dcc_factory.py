"""Makes EU DCCs for tests as an issuing state would: a DSC (X.509, EC P-256 or RSA, with or without
extended key usage), the hcert in a CWT, COSE_Sign1 (ES256 or PS256), zlib, base45, `HC1:`."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

import base45
import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from services.codes import dcc

EKU_OID = {"t": "1.3.6.1.4.1.1847.2021.1.1", "v": "1.3.6.1.4.1.1847.2021.1.2", "r": "1.3.6.1.4.1.1847.2021.1.3",
           "x": "1.3.6.1.5.5.7.3.1"}


@dataclass
class Signer:
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    der: bytes
    country: str

    @property
    def key_id(self) -> bytes:
        return dcc.key_id_of_der(self.der)

    @property
    def pem(self) -> bytes:
        return x509.load_der_x509_certificate(self.der).public_bytes(serialization.Encoding.PEM)


def make_signer(not_before: datetime, not_after: datetime, country: str = "DE", rsa_key: bool = False,
                usages: str | None = None, rsa_bits: int = 2048) -> Signer:
    """`usages`: None for no extended key usage, else the kinds ('v', 't', 'r') it names."""
    key = rsa.generate_private_key(65537, rsa_bits) if rsa_key else ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, country),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"DSC {country}")])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after))
    if usages is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(
            [x509.ObjectIdentifier(EKU_OID[kind]) for kind in usages]), critical=False)
    certificate = builder.sign(key, hashes.SHA256())
    return Signer(key, certificate.public_bytes(serialization.Encoding.DER), country)


def vaccination(dt: str, dn: int = 2, sd: int = 2) -> dict:
    return {"v": [{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215", "dn": dn,
                   "sd": sd, "dt": dt, "co": "DE", "is": "Robert Koch-Institut",
                   "ci": "URN:UVCI:01DE/IZ12345A/5CWLU12RNOB9RXSEOP6FG8#W"}]}


def pcr_test(sc: str, tt: str = "LP6464-4", tr: str = "260415000") -> dict:
    return {"t": [{"tg": "840539006", "tt": tt, "nm": "Roche LightCycler qPCR", "sc": sc, "tr": tr,
                   "tc": "Testzentrum Köln Hbf", "co": "DE", "is": "Robert Koch-Institut",
                   "ci": "URN:UVCI:01DE/IBMT102/18Q12HTUJ7NV8GAT5Y3JAKS5#Q"}]}


def recovery(fr: str, df: str, du: str) -> dict:
    return {"r": [{"tg": "840539006", "fr": fr, "co": "DE", "is": "Robert Koch-Institut", "df": df, "du": du,
                   "ci": "URN:UVCI:01DE/5CWLU12RNOB9RXSEOP6FG8#W"}]}


def hcert(group: dict) -> dict:
    return {"ver": "1.3.0", "nam": {"fn": "Mustermann", "fnt": "MUSTERMANN", "gn": "Erika", "gnt": "ERIKA"},
            "dob": "1964-08-12", **group}


def cwt(certificate: dict, issued_at: datetime, expires_at: datetime, issuer: str = "DE") -> bytes:
    return cbor2.dumps({1: issuer, 6: int(issued_at.timestamp()), 4: int(expires_at.timestamp()),
                        -260: {1: certificate}})


def cose(payload: bytes, signer: Signer, kid_in: str = "protected", tag61: bool = False,
         tag: int = 18) -> bytes:
    alg = dcc.PS256 if isinstance(signer.key, rsa.RSAPrivateKey) else dcc.ES256
    protected_header = {1: alg, 4: signer.key_id} if kid_in == "protected" else {1: alg}
    unprotected = {4: signer.key_id} if kid_in == "unprotected" else {}
    protected = cbor2.dumps(protected_header)
    signed = cbor2.dumps(["Signature1", protected, b"", payload])
    if alg == dcc.PS256:
        signature = signer.key.sign(signed, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                                    hashes.SHA256())
    else:
        r, s = decode_dss_signature(signer.key.sign(signed, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    message = cbor2.CBORTag(tag, [protected, unprotected, payload, signature])
    return cbor2.dumps(cbor2.CBORTag(61, message) if tag61 else message)


def wrap(cose_bytes: bytes) -> str:
    return "HC1:" + base45.b45encode(zlib.compress(cose_bytes, 9)).decode("ascii")


def make_dcc(signer: Signer, group: dict, issued_at: datetime, expires_at: datetime, **cose_options) -> str:
    return wrap(cose(cwt(hcert(group), issued_at, expires_at, signer.country), signer, **cose_options))


def day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def moment_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
