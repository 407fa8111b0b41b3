"""One page-token format for every list RPC: the sort key of the last row a page returned.

A token is opaque to callers (AIP-158): base64url of a JSON array holding the list's name and the
key's values. The name makes a token of one list useless in another; each value is checked against
the field's type on the way back, so a forged token is refused as INVALID_ARGUMENT before it
reaches SQL. Feed cursors a service stores (a resumable position, not a page) are not page tokens.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from services.runtime.requests import invalid_page_token

MAX_TOKEN_LENGTH = 1024
MAX_TEXT_LENGTH = 256
MAX_INT = 2**63 - 1  # a Postgres bigint

# The key types a cursor may hold; `uuid.UUID` fields travel and come back as canonical strings.
_FIELD_TYPES = (datetime, uuid.UUID, int, str, bytes)


class Cursor:
    """The page token of one list, ordered by the fields given (their types, in order)."""

    def __init__(self, list_name: str, *fields: type) -> None:
        if not fields or any(field not in _FIELD_TYPES for field in fields):
            raise TypeError(f"a cursor's fields are among {_FIELD_TYPES}")
        self.list_name = list_name
        self._fields = fields

    def token(self, *values: Any) -> str:
        """The token of the page that resumes after the row whose sort key is `values`."""
        if len(values) != len(self._fields):
            raise TypeError(f"{self.list_name}: {len(self._fields)} values expected")
        body = [self.list_name] + [_encoded(field, value) for field, value in zip(self._fields, values)]
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def after(self, token: str) -> tuple | None:
        """The sort key a token resumes after (None for the first page, ""), or INVALID_ARGUMENT."""
        if not token:
            return None
        if len(token) > MAX_TOKEN_LENGTH:
            raise invalid_page_token()
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            body = json.loads(raw.decode())
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise invalid_page_token() from None
        if (not isinstance(body, list) or len(body) != len(self._fields) + 1 or body[0] != self.list_name):
            raise invalid_page_token()
        return tuple(_decoded(field, value) for field, value in zip(self._fields, body[1:]))


def _encoded(field: type, value: Any) -> Any:
    if field is datetime:
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise TypeError("a cursor's time is an aware datetime")
        return value.isoformat()
    if field is uuid.UUID:
        return str(uuid.UUID(str(value)))
    if field is bytes:
        return bytes(value).hex()
    if field is int:
        return int(value)
    return str(value)


def _decoded(field: type, value: Any) -> Any:
    """The value as the list's query takes it, or the one refusal of a token not issued here."""
    try:
        if field is datetime and isinstance(value, str) and len(value) <= 40:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                return moment
        elif field is uuid.UUID and isinstance(value, str):
            return str(uuid.UUID(value))
        elif field is int and type(value) is int and 0 <= value <= MAX_INT:
            return value
        elif field is bytes and isinstance(value, str) and len(value) <= 2 * MAX_TEXT_LENGTH:
            return bytes.fromhex(value)
        elif (field is str and isinstance(value, str) and len(value) <= MAX_TEXT_LENGTH
              and "\x00" not in value):
            return value
    except (ValueError, OverflowError):
        pass
    raise invalid_page_token()
