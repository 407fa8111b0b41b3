"""Signed health codes: CWT claims in an ES256 COSE_Sign1, zlib-compressed, base45-encoded behind `HCN1:`."""

from __future__ import annotations

import hashlib
import io
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from services.areas import is_province_code
from services.colours import Colour

PREFIX = "HCN1:"
MAX_PAYLOAD_CHARS = 1024
MAX_DECOMPRESSED_BYTES = 2048

_COSE_SIGN1_TAG = 18
_ALG, _KID = 1, 4  # COSE header labels (RFC 9052 §3.1)
_ES256 = -7
_ISS, _EXP, _IAT, _CTI = 1, 4, 6, 7  # CWT claim keys (RFC 8392 §4)
_HEALTH_CODE = -65537  # our private claim, a map of the keys below
_COLOUR, _DISPLAY_COLOUR, _STATUS_VERSION, _MASKED_NAME, _PERSON_REF, _NEGATIVE_TEST = 1, 2, 3, 4, 5, 6
_HEADER_KEYS = frozenset({_ALG, _KID})
_CLAIM_KEYS = frozenset({_ISS, _EXP, _IAT, _CTI, _HEALTH_CODE})
_HEALTH_CODE_KEYS = frozenset({_COLOUR, _DISPLAY_COLOUR, _STATUS_VERSION, _MASKED_NAME, _PERSON_REF})
# With a negative test: its sample time, whole seconds since 1970 (nothing else about the test).
_HEALTH_CODE_KEYS_WITH_TEST = _HEALTH_CODE_KEYS | {_NEGATIVE_TEST}

_KEY_ID_BYTES = 8
_CODE_ID_BYTES = 16
_PERSON_REF_BYTES = 16
_COORDINATE_BYTES = 32  # r and s of a P-256 signature
_SIGNATURE_BYTES = 2 * _COORDINATE_BYTES
_MAX_NAME_CHARS = 64
_MAX_STATUS_VERSION = 2**63 - 1  # status versions are bigint in the status database
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z, the latest time a datetime can hold
_DISPLAY_COLOUR_TEXT = re.compile(r"[a-z_]{1,16}")
_BASE45_TEXT = re.compile(r"[0-9A-Z $%*+\-./:]*")

# The outer tag 18 plus the array and map below it is the deepest nesting a code has.
_MAX_CBOR_DEPTH = 3


def _refuse_tag(*_: object) -> NoReturn:
    raise ValueError("no CBOR tag is allowed inside a code")


# The tags cbor2 6.2 decodes itself (dates, bignums, decimals, sets, shared references,
# regular expressions, MIME messages...). None belongs in a code, and some cost real work
# on untrusted input (a 1.5 KB MIME message takes ~20 ms to parse), so refuse them first.
_NO_SEMANTIC_TAGS = dict.fromkeys(
    (0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 52, 54, 100, 256, 258, 260, 261, 43000, 55799), _refuse_tag)


@dataclass(frozen=True)
class CodeClaims:
    """What a health code says about its holder; the masked name and the person reference are
    personal data, kept out of repr.

    `person_ref` is the federation person reference identity computes (16 bytes, a keyed hash
    of the document, never the number): what red/yellow lists exchanged between provinces name.
    """

    issuer_province: str
    code_id: bytes
    national_colour: Colour
    display_colour: str
    status_version: int
    masked_name: str = field(repr=False)
    person_ref: bytes = field(repr=False)
    issued_at: datetime
    expires_at: datetime
    # The sample time of the holder's latest nucleic-acid result when negative; None otherwise.
    negative_test_time: datetime | None = field(default=None, repr=False)


class CodeRejected(Exception):
    """A code that must not be trusted.

    `reason` is a stable UPPER_SNAKE code callers may branch on; `message` is for people
    and never quotes the payload or any claim.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class SignedCode:
    """A structurally valid code whose signature is still to be checked against a trusted key."""

    key_id: bytes
    claims: CodeClaims
    signed_bytes: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    def verify(self, public_key: ec.EllipticCurvePublicKey) -> None:
        """Raises CodeRejected("SIGNATURE_INVALID") unless `public_key` signed this code."""
        if not is_p256_public_key(public_key):
            raise CodeRejected("SIGNATURE_INVALID", "the key is not an EC P-256 public key")
        if not es256_verifies(public_key, self.signed_bytes, self.signature):
            raise CodeRejected("SIGNATURE_INVALID", "the signature does not verify with this key")


# ECDSA is malleable: if (r, s) verifies, so does (r, n - s). Accepting both would give one code
# (one attestation, one session token) two valid spellings, so a replay check keyed on the bytes
# could be passed by re-encoding. Signatures here are made and accepted in low-S form only
# (s <= n/2, as Bitcoin's BIP 62 and libsecp256k1 require).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_HALF_ORDER = P256_ORDER // 2


def low_s(r: int, s: int) -> tuple[int, int]:
    """The low-S form of a P-256 ECDSA signature (the same signature, the one spelling accepted)."""
    return r, (P256_ORDER - s if s > _HALF_ORDER else s)


def is_low_s(s: int) -> bool:
    return 0 < s <= _HALF_ORDER


def low_s_der(der: bytes) -> bytes:
    """A DER ECDSA signature in its low-S form (what signers here emit)."""
    return encode_dss_signature(*low_s(*decode_dss_signature(der)))


def es256_raw_of_der(der: bytes) -> bytes:
    """A DER ECDSA signature as JOSE/COSE's raw r||s, in low-S form."""
    r, s = low_s(*decode_dss_signature(der))
    return r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")


def is_canonical_der(der: bytes) -> bool:
    """Whether a DER ECDSA signature is in the one accepted spelling: strict DER, low S."""
    try:
        r, s = decode_dss_signature(der)
    except ValueError:
        return False
    return is_low_s(s) and encode_dss_signature(r, s) == der


def es256_sign(private_key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    """An ES256 signature in COSE's raw form r||s (64 bytes), not DER; always low-S."""
    return es256_raw_of_der(private_key.sign(message, ec.ECDSA(hashes.SHA256())))


def es256_verifies(public_key: ec.EllipticCurvePublicKey, message: bytes, signature: bytes) -> bool:
    """Whether a raw r||s signature of `message` verifies with `public_key`; a high-S signature
    (the other spelling of a valid one) does not."""
    if len(signature) != _SIGNATURE_BYTES:
        return False
    s = int.from_bytes(signature[_COORDINATE_BYTES:], "big")
    if not is_low_s(s):
        return False
    der = encode_dss_signature(int.from_bytes(signature[:_COORDINATE_BYTES], "big"), s)
    try:
        public_key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def is_p256_public_key(key: object) -> bool:
    return _is_p256(key, ec.EllipticCurvePublicKey)


_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def p256_key_from_secret(secret: bytes) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from 32 secret bytes (a scalar in [1, n-1]), so that every replica
    holding the same secret holds the same key: how deployment keys come from a secret store."""
    return ec.derive_private_key(int.from_bytes(secret, "big") % (_P256_ORDER - 1) + 1, ec.SECP256R1())


def key_id_of(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The 8-byte key id: the start of SHA-256 over the key's SubjectPublicKeyInfo DER."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()[:_KEY_ID_BYTES]


def sign_code(claims: CodeClaims, private_key: ec.EllipticCurvePrivateKey, key_id: bytes) -> str:
    """The `HCN1:` payload of `claims`, signed ES256; ValueError for a bad claim, key id or key."""
    _check_claims(claims)
    if not _is_p256(private_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the signing key must be an EC P-256 private key")
    if type(key_id) is not bytes or len(key_id) != _KEY_ID_BYTES:
        raise ValueError(f"key_id must be {_KEY_ID_BYTES} bytes")
    protected = cbor2.dumps({_ALG: _ES256, _KID: key_id})
    health_code = {
        _COLOUR: int(claims.national_colour),
        _DISPLAY_COLOUR: claims.display_colour,
        _STATUS_VERSION: claims.status_version,
        _MASKED_NAME: claims.masked_name,
        _PERSON_REF: claims.person_ref,
    }
    if claims.negative_test_time is not None:
        health_code[_NEGATIVE_TEST] = _seconds_of(claims.negative_test_time)
    payload = cbor2.dumps({
        _ISS: claims.issuer_province,
        _IAT: _seconds_of(claims.issued_at),
        _EXP: _seconds_of(claims.expires_at),
        _CTI: claims.code_id,
        _HEALTH_CODE: health_code,
    })
    signature = es256_sign(private_key, _sig_structure(protected, payload))
    return PREFIX + base45.b45encode(zlib.compress(_cose_sign1(protected, payload, signature), 9)).decode("ascii")


def read_code(payload: str) -> SignedCode:
    """Decodes a scanned payload and checks its structure, failing closed with CodeRejected.

    The signature, the validity time and trust in the key are the caller's checks.
    """
    if not isinstance(payload, str) or not payload.startswith(PREFIX):
        raise CodeRejected("PREFIX_UNKNOWN", f"the payload does not start with {PREFIX}")
    if len(payload) > MAX_PAYLOAD_CHARS:
        raise CodeRejected("PAYLOAD_TOO_LARGE", f"the payload is longer than {MAX_PAYLOAD_CHARS} characters")
    cose = inflate(decode_base45(payload[len(PREFIX):]))
    protected, claims_bytes, signature, key_id = _open_cose_sign1(cose)
    claims = _read_claims(claims_bytes)
    return SignedCode(key_id=key_id, claims=claims, signed_bytes=_sig_structure(protected, claims_bytes),
                      signature=signature)


def decode_base45(text: str) -> bytes:
    # The library forgives trailing newlines; refusing everything outside the alphabet
    # first leaves each code a single spelling.
    if not _BASE45_TEXT.fullmatch(text):
        raise CodeRejected("ENCODING_INVALID", "the payload has characters outside the base45 alphabet")
    try:
        return base45.b45decode(text)
    except ValueError:
        raise CodeRejected("ENCODING_INVALID", "the payload is not valid base45") from None


def inflate(compressed: bytes, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """The zlib data inflated, refused once it would pass `limit` bytes (a zlib bomb is never inflated)."""
    inflater = zlib.decompressobj()
    try:
        # One byte past the limit is enough to refuse a zlib bomb without inflating it.
        data = inflater.decompress(compressed, limit + 1)
    except zlib.error:
        raise CodeRejected("COMPRESSION_INVALID", "the payload is not valid zlib data") from None
    if len(data) > limit:
        raise CodeRejected("DECOMPRESSED_TOO_LARGE", f"the payload inflates to more than {limit} bytes")
    if not inflater.eof or inflater.unused_data:
        raise CodeRejected("COMPRESSION_INVALID", "the zlib data is truncated or followed by other bytes")
    return data


def _open_cose_sign1(data: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """(protected header, claims, signature, key id) of a COSE_Sign1 with exactly our headers."""
    cose = decode_cbor(data, "COSE_INVALID", "the COSE_Sign1")
    if not isinstance(cose, cbor2.CBORTag) or cose.tag != _COSE_SIGN1_TAG:
        raise CodeRejected("COSE_INVALID", "the payload is not a tagged COSE_Sign1")
    # cbor2 gives the contents of a tag as immutable tuples and frozendicts.
    if not isinstance(cose.value, (list, tuple)) or len(cose.value) != 4:
        raise CodeRejected("COSE_INVALID", "the COSE_Sign1 is not an array of four items")
    protected, unprotected, claims, signature = cose.value
    if type(protected) is not bytes or type(claims) is not bytes or type(signature) is not bytes:
        raise CodeRejected("COSE_INVALID", "the COSE_Sign1 headers, payload or signature are not byte strings")
    key_id = _read_protected_header(protected)
    if not isinstance(unprotected, Mapping) or unprotected:
        raise CodeRejected("COSE_INVALID", "the unprotected header is not an empty map")
    if len(signature) != _SIGNATURE_BYTES:
        raise CodeRejected("COSE_INVALID", f"the signature is not {_SIGNATURE_BYTES} bytes")
    # The framing is the one part no signature covers: accepting only the bytes sign_code
    # writes (shortest lengths, nothing trailing) leaves no second spelling of a code.
    if _cose_sign1(protected, claims, signature) != data:
        raise CodeRejected("COSE_INVALID", "the COSE_Sign1 is not in its shortest CBOR encoding")
    return protected, claims, signature, key_id


def _read_protected_header(protected: bytes) -> bytes:
    header = decode_cbor(protected, "COSE_INVALID", "the protected header")
    if not _has_exactly(header, _HEADER_KEYS):
        raise CodeRejected("COSE_INVALID", "the protected header must hold exactly alg and kid")
    if type(header[_ALG]) is not int or header[_ALG] != _ES256:
        raise CodeRejected("COSE_INVALID", "the algorithm is not ES256")
    key_id = header[_KID]
    if type(key_id) is not bytes or len(key_id) != _KEY_ID_BYTES:
        raise CodeRejected("COSE_INVALID", f"the key id is not {_KEY_ID_BYTES} bytes")
    return key_id


def _read_claims(data: bytes) -> CodeClaims:
    claims = decode_cbor(data, "CLAIMS_INVALID", "the CWT claims")
    if not _has_exactly(claims, _CLAIM_KEYS):
        raise CodeRejected("CLAIMS_INVALID", "the CWT claims must be exactly iss, iat, exp, cti and the health code")
    health_code = claims[_HEALTH_CODE]
    if not (_has_exactly(health_code, _HEALTH_CODE_KEYS) or _has_exactly(health_code, _HEALTH_CODE_KEYS_WITH_TEST)):
        raise CodeRejected("CLAIMS_INVALID", "the health code claim must be exactly colour, display colour, "
                                             "status version, masked name, person reference and, if any, "
                                             "the negative test time")
    try:
        read = CodeClaims(
            issuer_province=claims[_ISS],
            code_id=claims[_CTI],
            national_colour=Colour(_exact_int(health_code[_COLOUR], "national colour")),
            display_colour=health_code[_DISPLAY_COLOUR],
            status_version=health_code[_STATUS_VERSION],
            masked_name=health_code[_MASKED_NAME],
            person_ref=health_code[_PERSON_REF],
            issued_at=_moment_at(claims[_IAT], "iat"),
            expires_at=_moment_at(claims[_EXP], "exp"),
            negative_test_time=(_moment_at(health_code[_NEGATIVE_TEST], "negative test time")
                                if _NEGATIVE_TEST in health_code else None),
        )
        _check_claims(read)
    except ValueError as error:
        raise CodeRejected("CLAIMS_INVALID", str(error)) from None
    return read


def _check_claims(claims: CodeClaims) -> None:
    """The rules signing and reading share; ValueError names the first claim broken, never its value."""
    if type(claims.issuer_province) is not str or not is_province_code(claims.issuer_province):
        raise ValueError("issuer province must be a six-digit province code such as 420000")
    if type(claims.code_id) is not bytes or len(claims.code_id) != _CODE_ID_BYTES:
        raise ValueError(f"code id must be {_CODE_ID_BYTES} bytes")
    if type(claims.national_colour) is not Colour:
        raise ValueError("national colour must be a Colour")
    if type(claims.display_colour) is not str or not _DISPLAY_COLOUR_TEXT.fullmatch(claims.display_colour):
        raise ValueError("display colour must be 1 to 16 characters a-z or _")
    if type(claims.status_version) is not int or not 1 <= claims.status_version <= _MAX_STATUS_VERSION:
        raise ValueError("status version must be a positive 64-bit integer")
    # The name is shown on checkpoint screens: control and bidi characters could disguise it.
    if (type(claims.masked_name) is not str or not 1 <= len(claims.masked_name) <= _MAX_NAME_CHARS
            or not claims.masked_name.isprintable()):
        raise ValueError(f"masked name must be 1 to {_MAX_NAME_CHARS} printable characters")
    if type(claims.person_ref) is not bytes or len(claims.person_ref) != _PERSON_REF_BYTES:
        raise ValueError(f"person reference must be {_PERSON_REF_BYTES} bytes")
    if _seconds_of(claims.expires_at) <= _seconds_of(claims.issued_at):
        raise ValueError("expiry must be after issue")
    if claims.negative_test_time is not None and _seconds_of(claims.negative_test_time) > _seconds_of(
            claims.issued_at):
        raise ValueError("the negative test must be sampled before the code is issued")


def _seconds_of(moment: datetime) -> int:
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError("issue and expiry times must be timezone-aware datetimes")
    if moment.utcoffset() != timedelta(0) or moment.microsecond:
        raise ValueError("issue and expiry times must be UTC and whole seconds")
    seconds = (moment - _EPOCH) // timedelta(seconds=1)
    if seconds < 0:
        raise ValueError("issue and expiry times must not be before 1970")
    return seconds


def _moment_at(seconds: object, claim: str) -> datetime:
    if type(seconds) is not int or not 0 <= seconds <= _LAST_SECOND:
        raise ValueError(f"{claim} must be whole seconds since 1970, before the year 10000")
    return _EPOCH + timedelta(seconds=seconds)


def _exact_int(value: object, claim: str) -> int:
    # bool is an int in Python, and True would pass as Colour.GREEN.
    if type(value) is not int:
        raise ValueError(f"{claim} must be an integer")
    return value


def _has_exactly(value: object, keys: frozenset[int]) -> bool:
    # 1 == 1.0 == True as dict keys, so the key types are checked one by one.
    return isinstance(value, Mapping) and all(type(key) is int for key in value) and value.keys() == keys


def decode_cbor(data: bytes, reason: str, what: str, max_depth: int = _MAX_CBOR_DEPTH,
                tags: Mapping[int, Any] | None = None, allow_indefinite: bool = False) -> Any:
    """The one CBOR item `data` holds, with no duplicate keys, no decoded tags (but for the decoders
    of `tags` a caller allows) and no indefinite lengths (unless a caller allows them)."""
    stream = io.BytesIO(data)
    decoders = {**_NO_SEMANTIC_TAGS, **tags} if tags else _NO_SEMANTIC_TAGS
    try:
        item = cbor2.CBORDecoder(stream, semantic_decoders=decoders, max_depth=max_depth,
                                 allow_indefinite=allow_indefinite, allow_duplicate_keys=False).decode()
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError):
        raise CodeRejected(reason, f"{what} is not CBOR a code may hold") from None
    if stream.tell() != len(data):
        raise CodeRejected(reason, f"{what} is followed by trailing bytes")
    return item


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return cbor2.dumps(["Signature1", protected, b"", payload])


def _cose_sign1(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(_COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def _is_p256(key: object, kind: type) -> bool:
    return isinstance(key, kind) and isinstance(key.curve, ec.SECP256R1)
