"""Signed health codes: the payload a status service signs and a checkpoint reads, online or offline."""

from services.codes.payload import (
    MAX_DECOMPRESSED_BYTES,
    MAX_PAYLOAD_CHARS,
    PREFIX,
    CodeClaims,
    CodeRejected,
    SignedCode,
    es256_sign,
    es256_verifies,
    is_p256_public_key,
    key_id_of,
    read_code,
    sign_code,
)

__all__ = [
    "MAX_DECOMPRESSED_BYTES",
    "MAX_PAYLOAD_CHARS",
    "PREFIX",
    "CodeClaims",
    "CodeRejected",
    "SignedCode",
    "es256_sign",
    "es256_verifies",
    "is_p256_public_key",
    "key_id_of",
    "read_code",
    "sign_code",
]
