"""Request rules every service shares: opaque ids, retry ids, province codes and page sizes."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from services import areas

from services.runtime.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_REQUEST_ID_LENGTH = 128
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces


def parse_uuid(value: str, field_path: str, reason: str) -> str:
    """A UUID in canonical form; anything else is refused before it reaches SQL."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument.for_field(field_path, "is not a valid id", reason=reason) from None


def page_size(requested: int) -> int:
    """AIP-158: 0 means the default, larger than the maximum means the maximum, negative is refused."""
    if requested < 0:
        raise InvalidArgument.for_field("page_size", "must not be negative", reason="PAGE_SIZE_INVALID")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def request_id(value: str) -> str | None:
    """A request id that makes a retry safe (None: the caller sent none, so the call is not idempotent)."""
    if not value:
        return None
    if not _REQUEST_ID.match(value):
        raise InvalidArgument.for_field("request_id", f"must be 1 to {MAX_REQUEST_ID_LENGTH} printable characters "
                                        "without spaces", reason="REQUEST_ID_INVALID")
    return value


def province_code(value: str, field_path: str) -> str:
    """A GB/T 2260 province code (420000), or INVALID_ARGUMENT naming the field."""
    if not areas.is_province_code(value):
        raise InvalidArgument.for_field(field_path, "is not a GB/T 2260 province code",
                                        reason="PROVINCE_CODE_INVALID")
    return value


def time_id_token(moment: datetime, row_id: str) -> str:
    """A page token for lists ordered by (time, id)."""
    return f"{moment.isoformat()}|{row_id}"


def parse_time_id_token(token: str) -> tuple[datetime, str]:
    moment, _, row_id = token.partition("|")
    try:
        return datetime.fromisoformat(moment), str(uuid.UUID(row_id))
    except ValueError:
        raise InvalidArgument.for_field("page_token", "is not a token this service issued",
                                        reason="PAGE_TOKEN_INVALID") from None
