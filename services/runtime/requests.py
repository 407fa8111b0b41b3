"""Request rules every service shares: opaque ids and page sizes."""

from __future__ import annotations

import uuid

from services.runtime.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


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
