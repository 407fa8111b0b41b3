"""Signed health codes: the payload a status service signs and a checkpoint reads, online or offline."""

from services.codes.payload import (
    MAX_DECOMPRESSED_BYTES,
    MAX_PAYLOAD_CHARS,
    PREFIX,
    CodeClaims,
    CodeRejected,
    SignedCode,
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
    "key_id_of",
    "read_code",
    "sign_code",
]
