"""Code ids as requests carry them: 16 bytes written as 32 hexadecimal digits (the CWT id)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from services.runtime.errors import InvalidArgument

_CODE_ID = re.compile(r"[0-9a-fA-F]{32}")


def parse_code_id(value: str, field_path: str) -> bytes:
    """A code id as a payload's CWT id carries it, or INVALID_ARGUMENT naming the field."""
    if not _CODE_ID.fullmatch(value):
        raise InvalidArgument.for_field(field_path, "must be 32 hexadecimal digits", reason="CODE_ID_INVALID")
    return bytes.fromhex(value)


def parse_code_ids(values: Sequence[str], maximum: int, field_path: str = "code_ids") -> list[bytes]:
    """1 to `maximum` code ids, each checked under `field_path[i]`."""
    if not 1 <= len(values) <= maximum:
        raise InvalidArgument.for_field(field_path, f"must hold 1 to {maximum} ids", reason="CODE_IDS_COUNT_INVALID")
    return [parse_code_id(value, f"{field_path}[{index}]") for index, value in enumerate(values)]
