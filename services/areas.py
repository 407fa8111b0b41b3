"""GB/T 2260 administrative area codes: the 34 province-level divisions, and every province,
city and county code that has ever existed, with the years it was in use.

The history is python-stdnum's `cn/loc` database (GB/T 2260 from 1980 on, as Wikipedia's
tables give it), read once at import; nothing here copies it. A code is an area code when it
has ever existed: an ID number keeps the code of the county that assigned it long after the
county was merged or renamed, and an old county is still a place people were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from stdnum import numdb

# Two-digit prefix → name. Six-digit province codes are the prefix + "0000".
PROVINCES: dict[str, str] = {
    "11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
    "21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
    "31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
    "41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "46": "海南省",
    "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
    "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
    "71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}

_SIX_DIGITS = re.compile(r"^[0-9]{6}\Z")  # ASCII only (\\d takes full-width digits), no trailing newline


def is_province_prefix(prefix: str) -> bool:
    return prefix in PROVINCES


def province_code_of(area_code: str) -> str:
    """The six-digit province code an area code falls under (110105 → 110000)."""
    return area_code[:2] + "0000"


def is_province_code(code: str) -> bool:
    """True for a six-digit code naming a whole province (110000)."""
    return bool(_SIX_DIGITS.match(code)) and code.endswith("0000") and code[:2] in PROVINCES


def is_area_code(code: str) -> bool:
    """True for a six-digit province, city or county code that has ever existed."""
    return bool(_SIX_DIGITS.match(code)) and has_existed(code)


@dataclass(frozen=True)
class AreaName:
    """One name a code had, in use from `first_year` to `last_year` (None: open-ended)."""

    name: str
    first_year: int | None
    last_year: int | None


_PERIOD = re.compile(r"^\[(\d*)-(\d*)\](.+)$")


def _names(value: str) -> tuple[AreaName, ...]:
    names = []
    for part in value.split(","):
        match = _PERIOD.match(part)
        if match is None:
            names.append(AreaName(part, None, None))
        else:
            first, last, name = match.groups()
            names.append(AreaName(name, int(first) if first else None, int(last) if last else None))
    return tuple(names)


@cache
def history() -> dict[str, tuple[AreaName, ...]]:
    """Every six-digit code that has ever existed → the names it had (read from stdnum once)."""
    table: dict[str, tuple[AreaName, ...]] = {}
    for length, low, high, _props, children in numdb.get("cn/loc").prefixes:
        if length != 2 or low != high or low not in PROVINCES:
            continue
        for sub_length, sub_low, sub_high, props, _ in children:
            if sub_length != 4 or sub_low != sub_high or "county" not in props:
                continue
            table[low + sub_low] = _names(props["county"])
    # A province-level division is a code even where the history lists no row for it.
    for prefix, name in PROVINCES.items():
        table.setdefault(prefix + "0000", (AreaName(name, None, None),))
    return table


def has_existed(code: str) -> bool:
    """True for a six-digit code that GB/T 2260 has assigned at some time (420111, 110103)."""
    return code in history()


@cache
def known_area_codes() -> tuple[str, ...]:
    """Every code that has ever existed, sorted: what set-based SQL joins against."""
    return tuple(sorted(history()))
