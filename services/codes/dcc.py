"""EU Digital COVID Certificates (`HC1:`): base45 → zlib → COSE_Sign1 → CWT → hcert, read strictly.

The format is the EU eHealth Network's "Electronic Health Certificates" (hcert) specification: the same
container stack as our own codes (services/codes/payload.py, whose base45, bounded inflate and CBOR
decoder are reused), but signed by other states' Document Signer Certificates (X.509, ES256 or PS256),
with the key id in the protected *or* the unprotected header, and the payload a CWT whose claim -260/1
is the certificate (vaccination, test or recovery).

Every step is a function of its own, so each layer of the EU's test vectors can be checked by itself;
`read_dcc` runs them in order. Failures raise CodeRejected with a stable reason and a message that never
quotes the payload.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

import cbor2
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from services.codes.payload import CodeRejected, decode_base45, decode_cbor, inflate

HC1_PREFIX = "HC1:"
# A version 40 QR code holds at most 4296 alphanumeric characters; the EU's own stay far below.
MAX_DCC_PAYLOAD_CHARS = 4096
# The largest of the EU test vectors is 870 bytes of COSE; ten times that refuses no real certificate.
MAX_DCC_INFLATED_BYTES = 8192

_COSE_SIGN1_TAG, _CWT_TAG = 18, 61
_ALG, _KID = 1, 4
ES256, PS256 = -7, -37
_ISS, _EXP, _IAT = 1, 4, 6
_HCERT, _EU_DCC_V1 = -260, 1
_KID_BYTES = 8
_MIN_RSA_BITS = 2048
# COSE_Sign1 (array, headers) and, in the CWT, claims → -260 → 1 → group → entry → value.
_COSE_DEPTH, _CLAIMS_DEPTH = 4, 6

# Extended key usage of a DSC: which kinds of certificate it may sign (the hcert specification, §5.1.1;
# the first of each pair is the OID as first published, with a stray ".0").
EKU_TEST = frozenset({"1.3.6.1.4.1.1847.2021.1.1", "1.3.6.1.4.1.0.1847.2021.1.1"})
EKU_VACCINATION = frozenset({"1.3.6.1.4.1.1847.2021.1.2", "1.3.6.1.4.1.0.1847.2021.1.2"})
EKU_RECOVERY = frozenset({"1.3.6.1.4.1.1847.2021.1.3", "1.3.6.1.4.1.0.1847.2021.1.3"})


class CertificateType(StrEnum):
    VACCINATION = "v"
    TEST = "t"
    RECOVERY = "r"


_EKU_OF = {CertificateType.TEST: EKU_TEST, CertificateType.VACCINATION: EKU_VACCINATION,
           CertificateType.RECOVERY: EKU_RECOVERY}


@dataclass(frozen=True)
class CoseSign1:
    """A COSE_Sign1 opened but not yet verified."""

    algorithm: int
    key_id: bytes
    payload: bytes = field(repr=False)
    signed_bytes: bytes = field(repr=False)
    signature: bytes = field(repr=False)


@dataclass(frozen=True)
class Cwt:
    """The CWT of a DCC: who issued it and when, and the certificate itself (personal data, out of repr)."""

    issuer_country: str
    issued_at: datetime
    expires_at: datetime
    hcert: Any = field(repr=False)


@dataclass(frozen=True)
class HealthCertificate(Cwt):
    """A CWT whose certificate the schema accepts."""

    kind: CertificateType = CertificateType.VACCINATION
    schema_version: str = ""


@dataclass(frozen=True)
class SignerCertificate:
    """A Document Signer Certificate: its key id, key, validity and the kinds it may sign (None: any)."""

    key_id: bytes
    country: str
    der: bytes = field(repr=False)
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey = field(repr=False)
    not_before: datetime
    not_after: datetime
    usages: frozenset[CertificateType] | None

    def may_sign(self, kind: CertificateType) -> bool:
        return self.usages is None or kind in self.usages


def signer_from_der(der: bytes, country: str = "") -> SignerCertificate:
    """A DSC from its DER (ValueError if it is not an X.509 certificate, TypeError if its key is neither
    EC P-256 nor RSA).

    The key id is the first 8 bytes of SHA-256 over the whole DER certificate, as the EU gateway gives it.
    Without an extended key usage (or with an empty one) a DSC may sign every kind; with one, only the
    kinds its OIDs name (an EKU naming none of the three leaves it signing nothing)."""
    try:
        certificate = x509.load_der_x509_certificate(der)
        key = certificate.public_key()
    except (ValueError, TypeError):
        raise ValueError("not a DER X.509 certificate with a supported key") from None
    if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
            or isinstance(key, rsa.RSAPublicKey) and key.key_size >= _MIN_RSA_BITS):
        raise TypeError(f"the certificate's key is neither EC P-256 nor RSA of {_MIN_RSA_BITS} bits or more")
    return SignerCertificate(key_id_of_der(der), country or _country_of(certificate), der, key,
                             certificate.not_valid_before_utc, certificate.not_valid_after_utc,
                             _usages_of(certificate))


# An extended key usage extension holding an empty SEQUENCE (critical or not): "no OID present".
_EMPTY_EKU = (bytes.fromhex("0603551d2504023000"),
              bytes.fromhex("0603551d250101ff04023000"))


def _usages_of(certificate: x509.Certificate) -> frozenset[CertificateType] | None:
    try:
        oids = {usage.dotted_string for usage in
                certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value}
    except x509.ExtensionNotFound:
        return None
    except ValueError:
        # The X.509 parser refuses an empty EKU, which some states' DSCs carry: it restricts nothing.
        if any(empty in certificate.tbs_certificate_bytes for empty in _EMPTY_EKU):
            return None
        raise ValueError("the certificate's extensions cannot be parsed") from None
    return frozenset(kind for kind, kind_oids in _EKU_OF.items() if oids & kind_oids)


def _country_of(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
    return str(names[0].value) if names else ""


def key_id_of_der(der: bytes) -> bytes:
    return hashlib.sha256(der).digest()[:_KID_BYTES]


def unprefix(payload: object) -> str:
    """The base45 text behind `HC1:`; PREFIX_UNKNOWN for any other context identifier, PAYLOAD_TOO_LARGE
    past the size cap."""
    if not isinstance(payload, str) or not payload.startswith(HC1_PREFIX):
        raise CodeRejected("PREFIX_UNKNOWN", f"the payload does not start with {HC1_PREFIX}")
    if len(payload) > MAX_DCC_PAYLOAD_CHARS:
        raise CodeRejected("PAYLOAD_TOO_LARGE", f"the payload is longer than {MAX_DCC_PAYLOAD_CHARS} characters")
    return payload[len(HC1_PREFIX):]


def inflate_dcc(compressed: bytes) -> bytes:
    return inflate(compressed, MAX_DCC_INFLATED_BYTES)


def open_cose(data: bytes) -> CoseSign1:
    """A COSE_Sign1 tagged 18, alone or inside the CWT tag 61; ES256 or PS256; the key id taken from the
    protected header, else the unprotected one (hcert §3.3.1)."""
    cose = decode_cbor(data, "COSE_INVALID", "the COSE_Sign1", _COSE_DEPTH)
    if isinstance(cose, cbor2.CBORTag) and cose.tag == _CWT_TAG:
        cose = cose.value
    if not isinstance(cose, cbor2.CBORTag) or cose.tag != _COSE_SIGN1_TAG:
        raise CodeRejected("COSE_INVALID", "the payload is not a COSE_Sign1 tagged 18 (or 61 then 18)")
    if not isinstance(cose.value, (list, tuple)) or len(cose.value) != 4:
        raise CodeRejected("COSE_INVALID", "the COSE_Sign1 is not an array of four items")
    protected_bytes, unprotected, payload, signature = cose.value
    if type(protected_bytes) is not bytes or type(payload) is not bytes or type(signature) is not bytes:
        raise CodeRejected("COSE_INVALID", "the COSE_Sign1 header, payload or signature is not a byte string")
    protected = decode_cbor(protected_bytes, "COSE_INVALID", "the protected header", 1) if protected_bytes else {}
    if not isinstance(protected, Mapping) or not isinstance(unprotected, Mapping):
        raise CodeRejected("COSE_INVALID", "a COSE header is not a map")
    # alg and kid belong in the protected header; the specification lets kid (and some issuers put
    # alg) in the unprotected one. Neither choice can downgrade: the DSC's key fixes the algorithm.
    algorithm = protected[_ALG] if _ALG in protected else unprotected.get(_ALG)
    if type(algorithm) is not int or algorithm not in (ES256, PS256):
        raise CodeRejected("COSE_INVALID", "the algorithm is neither ES256 nor PS256")
    key_id = protected[_KID] if _KID in protected else unprotected.get(_KID)
    if type(key_id) is not bytes or not 1 <= len(key_id) <= 64:
        raise CodeRejected("COSE_INVALID", "no key id in the protected or unprotected header")
    signed = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    return CoseSign1(algorithm, key_id, payload, signed, signature)


def signature_verifies(cose: CoseSign1, signer: SignerCertificate) -> bool:
    """Whether the signer's key made this signature with the header's algorithm (ES256: raw r||s;
    PS256: RSASSA-PSS, SHA-256, MGF1 SHA-256, salt the hash's length, as RFC 8230 fixes)."""
    key = signer.public_key
    try:
        if cose.algorithm == ES256 and isinstance(key, ec.EllipticCurvePublicKey):
            if len(cose.signature) != 64:
                return False
            der = encode_dss_signature(int.from_bytes(cose.signature[:32], "big"),
                                       int.from_bytes(cose.signature[32:], "big"))
            key.verify(der, cose.signed_bytes, ec.ECDSA(hashes.SHA256()))
            return True
        if cose.algorithm == PS256 and isinstance(key, rsa.RSAPublicKey):
            key.verify(cose.signature, cose.signed_bytes,
                       padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


def decode_cwt(payload: bytes) -> Cwt:
    """The CWT: iss (the issuing country), iat, exp and the hcert claim -260/1, not yet read by the schema."""
    # Some issuers' encoders write indefinite-length maps: legal CBOR, bounded here by size and depth.
    claims = decode_cbor(payload, "CLAIMS_INVALID", "the CWT claims", _CLAIMS_DEPTH, _DATE_TAGS,
                         allow_indefinite=True)
    if not isinstance(claims, Mapping) or _HCERT not in claims:
        raise CodeRejected("CLAIMS_INVALID", "the CWT has no health certificate claim (-260)")
    issuer = claims.get(_ISS, "")
    # hcert §3.3.2: iss "MAY" be the issuing country; some states put their authority's name there.
    if type(issuer) is not str or len(issuer) > _MAX_ISSUER_CHARS or not issuer.isprintable():
        raise CodeRejected("CLAIMS_INVALID", f"the issuer (iss) is not text of at most {_MAX_ISSUER_CHARS} characters")
    issued_at, expires_at = _numeric_date(claims.get(_IAT), "iat"), _numeric_date(claims.get(_EXP), "exp")
    if expires_at <= issued_at:
        raise CodeRejected("CLAIMS_INVALID", "exp is not after iat")
    holder = claims[_HCERT]
    if not isinstance(holder, Mapping) or list(holder.keys()) != [_EU_DCC_V1]:
        raise CodeRejected("CLAIMS_INVALID", "the health certificate claim must hold exactly the EU DCC (key 1)")
    return Cwt(issuer, issued_at, expires_at, _plain(holder[_EU_DCC_V1]))


def read_claims(payload: bytes) -> HealthCertificate:
    """The CWT with its certificate read strictly by the schema (HCERT_INVALID names the field)."""
    cwt = decode_cwt(payload)
    try:
        kind = read_hcert(cwt.hcert)
    except (ValueError, TypeError) as error:
        raise CodeRejected("HCERT_INVALID", str(error)) from None
    return HealthCertificate(cwt.issuer_country, cwt.issued_at, cwt.expires_at, cwt.hcert, kind,
                             cwt.hcert["ver"])


def certificate_kind(hcert: object) -> CertificateType:
    """The one group (v, t or r) a certificate holds; ValueError for none or several."""
    groups = [kind for kind in CertificateType if isinstance(hcert, Mapping) and kind.value in hcert]
    if len(groups) != 1:
        raise ValueError("the certificate must hold exactly one of v, t and r")
    return groups[0]


def _date_text(value: object, immutable: bool = False) -> str:
    # Tag 0 (RFC 8949 date-time text) and 1004 (RFC 8943 full-date text) around a schema date: the
    # text stays the value, as JSON has it.
    if type(value) is not str:
        raise ValueError("a date tag holds no text")
    return value


_DATE_TAGS = {0: _date_text, 1004: _date_text}
_MAX_ISSUER_CHARS = 128


def _numeric_date(value: object, claim: str) -> datetime:
    if type(value) not in (int, float) or not math.isfinite(value) or not 0 <= value <= 253402300799:
        raise CodeRejected("CLAIMS_INVALID", f"{claim} is not a NumericDate")
    return datetime.fromtimestamp(int(value), UTC)


def _plain(value: Any) -> Any:
    """cbor2's frozendicts and tuples as the dicts and lists JSON (and CertLogic) work on."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


# --- the hcert, per the DCC JSON schema (versions 1.0.0 to 1.3.x) ---------------------------------

_SEMVER = re.compile(r"\d+\.\d+\.\d+")
_DOB = re.compile(r"(?:19|20)\d{2}(?:-(?:0[1-9]|1[012])(?:-(?:0[1-9]|[12]\d|3[01]))?)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
_TRANSLITERATED = re.compile(r"[A-Z<]*")
_COUNTRY = re.compile(r"[A-Z]{1,10}")


def read_hcert(hcert: object) -> CertificateType:
    """Checks the certificate against the schema; returns its kind, or ValueError (TypeError) naming the field.

    Every field the schema names is checked for presence, type, pattern, length and range; like the
    schema (no additionalProperties), fields it does not name are let through and never read."""
    if not isinstance(hcert, dict) or not all(type(key) is str for key in hcert):
        raise ValueError("the certificate is not a map of names")
    ver = _text(hcert, "ver", required=True)
    if not _SEMVER.fullmatch(ver):
        raise ValueError("ver is not a semantic version")
    nam = hcert.get("nam")
    if not isinstance(nam, dict):
        raise TypeError("nam is required and must be a map")
    for name in ("fn", "gn"):
        _text(nam, name, prefix="nam.", max_length=80)
    for name in ("fnt", "gnt"):
        text = _text(nam, name, required=name == "fnt", prefix="nam.", max_length=80)
        if text is not None and not _TRANSLITERATED.fullmatch(text):
            raise ValueError(f"nam.{name} must be A-Z and '<' only")
    dob = _text(hcert, "dob", required=True)
    if dob and not (_DOB.fullmatch(dob) or _DOB.fullmatch(dob.split("T")[0]) and _DATE_TIME.fullmatch(dob)):
        raise ValueError("dob is not a date from 1900 to 2099")
    kind = certificate_kind(hcert)
    entries = hcert[kind.value]
    if not isinstance(entries, list) or len(entries) != 1:
        raise ValueError(f"{kind.value} must hold exactly one entry")
    entry = entries[0]
    if not isinstance(entry, dict):
        raise TypeError(f"{kind.value}[0] is not a map")
    _ENTRY_READERS[kind](entry, f"{kind.value}[0].")
    return kind


def _vaccination(entry: dict, at: str) -> None:
    for name in ("tg", "vp", "mp", "ma"):
        _text(entry, name, required=True, prefix=at)
    for name in ("dn", "sd"):
        value = entry.get(name)
        if type(value) is not int or not 1 <= value <= 9:
            raise ValueError(f"{at}{name} must be an integer from 1 to 9")
    _date(entry, "dt", at)
    _common(entry, at)


def _test(entry: dict, at: str) -> None:
    for name in ("tg", "tt", "tr"):
        _text(entry, name, required=True, prefix=at)
    _text(entry, "nm", prefix=at, max_length=80)
    _text(entry, "ma", prefix=at)
    _text(entry, "tc", prefix=at, max_length=80)
    _date_time(entry, "sc", at, required=True)
    _date_time(entry, "dr", at, required=False)
    _common(entry, at)


def _recovery(entry: dict, at: str) -> None:
    _text(entry, "tg", required=True, prefix=at)
    for name in ("fr", "df", "du"):
        _date(entry, name, at)
    _common(entry, at)


_ENTRY_READERS = {CertificateType.VACCINATION: _vaccination, CertificateType.TEST: _test,
                  CertificateType.RECOVERY: _recovery}


def _common(entry: dict, at: str) -> None:
    if not _COUNTRY.fullmatch(_text(entry, "co", required=True, prefix=at)):
        raise ValueError(f"{at}co is not a country code")
    _text(entry, "is", required=True, prefix=at, max_length=80)
    _text(entry, "ci", required=True, prefix=at, max_length=80)


def _text(value: dict, name: str, required: bool = False, prefix: str = "", max_length: int = 0) -> str | None:
    text = value.get(name)
    if text is None and not required and name not in value:
        return None
    if type(text) is not str:
        raise ValueError(f"{prefix}{name} must be a string")
    if max_length and len(text) > max_length:
        raise ValueError(f"{prefix}{name} is longer than {max_length} characters")
    return text


def _date(entry: dict, name: str, at: str) -> date:
    # Schema 1.0.x said date-time where later versions say date; both spell the day first.
    text = _text(entry, name, required=True, prefix=at)
    if not (_DATE.fullmatch(text) or _DATE_TIME.fullmatch(text)):
        raise ValueError(f"{at}{name} is not an ISO 8601 date")
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(f"{at}{name} is not an ISO 8601 date") from None


def _date_time(entry: dict, name: str, at: str, required: bool) -> None:
    text = _text(entry, name, required=required, prefix=at)
    if text is None:
        return
    if not _DATE_TIME.fullmatch(text):
        raise ValueError(f"{at}{name} is not an ISO 8601 date-time")
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{at}{name} is not an ISO 8601 date-time") from None


# --- the whole chain -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReadDcc:
    cose: CoseSign1
    certificate: HealthCertificate


def read_dcc(payload: str) -> ReadDcc:
    """Prefix → base45 → bounded inflate → COSE_Sign1 → CWT and hcert; the signature is the caller's."""
    cose = open_cose(inflate_dcc(decode_base45(unprefix(payload))))
    return ReadDcc(cose, read_claims(cose.payload))


def validity_problem(certificate: Cwt, signer: SignerCertificate, now: datetime,
                     skew: timedelta = timedelta(0)) -> str:
    """"" when the times hold, else the reason: the DSC did not cover the certificate's life, or it is
    not yet issued, or expired."""
    if not signer.not_before <= certificate.issued_at or certificate.expires_at > signer.not_after:
        return "KEY_NOT_VALID_AT_SIGNING"
    if certificate.issued_at > now + skew:
        return "CERTIFICATE_FROM_FUTURE"
    if now > certificate.expires_at + skew:
        return "CERTIFICATE_EXPIRED"
    return ""
