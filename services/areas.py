"""GB/T 2260 administrative area codes: the 34 province-level divisions, shipped as data."""

from __future__ import annotations

import re

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

_SIX_DIGITS = re.compile(r"^\d{6}$")


def is_province_prefix(prefix: str) -> bool:
    return prefix in PROVINCES


def province_code_of(area_code: str) -> str:
    """The six-digit province code an area code falls under (110105 → 110000)."""
    return area_code[:2] + "0000"


def is_province_code(code: str) -> bool:
    """True for a six-digit code naming a whole province (110000)."""
    return bool(_SIX_DIGITS.match(code)) and code.endswith("0000") and code[:2] in PROVINCES


def is_area_code(code: str) -> bool:
    """True for a six-digit province, city or county code under a known province."""
    return bool(_SIX_DIGITS.match(code)) and code[:2] in PROVINCES
