"""Request rules every service shares: opaque ids, retry ids, province codes and page sizes."""

from __future__ import annotations

import re
import uuid

from services import areas

from services.runtime.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_REQUEST_ID_LENGTH = 128
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}\Z")  # printable ASCII, no spaces


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


def invalid_page_token() -> InvalidArgument:
    """The one refusal of a page token this service did not issue (or that no longer decodes)."""
    return InvalidArgument.for_field("page_token", "is not a token this service issued", reason="PAGE_TOKEN_INVALID")


def text(value: str, field_path: str, max_length: int, reason: str = "TEXT_INVALID") -> str:
    """Free text within `max_length` characters and without NUL (Postgres text cannot hold it)."""
    if "\x00" in value:
        raise InvalidArgument.for_field(field_path, "must not contain NUL characters", reason=reason)
    if len(value) > max_length:
        raise InvalidArgument.for_field(field_path, f"must be at most {max_length} characters", reason=reason)
    return value


def enum_value(enum_type, value: int, field_path: str, reason: str):
    """The member of an IntEnum (or, for a generated proto enum, the number itself) that a request's
    number names, or INVALID_ARGUMENT: proto3 enums are open, so any int32 arrives."""
    try:
        if hasattr(enum_type, "Name"):  # a generated EnumTypeWrapper
            enum_type.Name(value)
            return value
        return enum_type(value)
    except ValueError:
        name = getattr(enum_type, "__name__", None) or enum_type.DESCRIPTOR.name
        raise InvalidArgument.for_field(field_path, f"is not a known {name}", reason=reason) from None
