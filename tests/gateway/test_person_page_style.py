"""The person's page in words and colours, checked without a browser: the message catalogue explains every
reason code status can return and every enum value the page shows, in Chinese and in English, and every
text colour of the page meets WCAG 2 AA contrast (4.5:1) on its background."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2
from healthcode.status.v1 import status_pb2

from services.status import model
from services.status.servicer import REDUCED_REASON

STATIC = Path(__file__).resolve().parents[2] / "gateway" / "pages" / "static"
MESSAGES = json.loads((STATIC / "messages.json").read_text(encoding="utf-8"))
CSS = (STATIC / "app.css").read_text(encoding="utf-8")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _bilingual(entry: dict) -> bool:
    return bool(CJK.search(entry.get("zh", ""))) and bool(re.search(r"[A-Za-z]", entry.get("en", "")))


def test_every_reason_code_status_returns_has_a_sentence_in_chinese_and_english():
    codes = (*model.REASON_CODES, REDUCED_REASON)
    assert [code for code in codes if not _bilingual(MESSAGES["reasons"].get(code, {}))] == []


def test_the_reason_codes_list_every_code_the_engine_writes_itself():
    # A code the engine writes outside the rule set's findings must be in REASON_CODES, hence in the catalogue.
    written = set(re.findall(r'_Finding\("([A-Z_]+)"', Path(model.__file__).read_text()))
    assert written and written <= set(model.REASON_CODES)


def test_a_reason_with_an_end_phrase_has_it_in_both_languages():
    assert [code for code, entry in MESSAGES["reasons"].items() if "ends" in entry and not _bilingual(entry["ends"])] == []


@pytest.mark.parametrize(("table", "enum"), [
    ("symptoms", status_pb2.Symptom), ("causes", status_pb2.ChangeCause),
    ("appeal_categories", status_pb2.AppealCategory), ("appeal_states", status_pb2.AppealState),
    ("colours", common_pb2.Colour), ("risk_levels", common_pb2.RiskLevel),
    ("relations", identity_pb2.Relation), ("link_bases", identity_pb2.LinkBasis),
])
def test_every_value_of_an_enum_the_page_shows_has_words_in_both_languages(table, enum):
    names = [name for name in enum.keys() if  # noqa: SIM118 - an enum wrapper, not a dict
              not name.endswith("_UNSPECIFIED") or table == "risk_levels"]
    assert [name for name in names if not _bilingual(MESSAGES[table].get(name, {}))] == []
    assert set(MESSAGES[table]) <= set(enum.keys())  # nothing the services no longer send


def test_every_phrase_is_in_both_languages_with_the_same_placeholders():
    for name, entry in MESSAGES["phrases"].items():
        assert entry.get("zh") and entry.get("en"), name
        if name != "check_ins":  # Chinese also says whether the days must be consecutive
            assert set(re.findall(r"\{\w+\}", entry["zh"])) == set(re.findall(r"\{\w+\}", entry["en"])), name


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_is_computed_as_wcag_defines_it():
    assert round(contrast("#000000", "#ffffff"), 2) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48


# (text, background) as the person's page section of app.css uses them.
TEXT_ON = [("--on-green", "--green"), ("--on-red", "--red"), ("--on-yellow", "--yellow"),
           ("--yellow-ink", "--paper"), ("--green", "--paper"), ("--red", "--paper"), ("--ink", "--paper"),
           ("--ink", "--page"), ("--muted", "--paper"), ("--muted", "--page"), ("--action", "--paper"),
           ("--on-action", "--action"), ("--error", "--paper"), ("--error", "--page")]


def test_every_text_colour_of_the_person_page_meets_wcag_aa_on_its_background():
    values = dict(re.findall(r"(--[a-z-]+):\s*(#[0-9a-fA-F]{6})", CSS))
    ratios = {f"{text} on {background}": round(contrast(values[text], values[background]), 2)
              for text, background in TEXT_ON}
    assert {pair: ratio for pair, ratio in ratios.items() if ratio < 4.5} == {}


def test_the_three_colour_bands_use_the_checked_pairs():
    for colour, (text, background) in {"GREEN": ("--on-green", "--green"), "YELLOW": ("--on-yellow", "--yellow"),
                                       "RED": ("--on-red", "--red")}.items():
        rule = re.search(rf'\.card\[data-colour="COLOUR_{colour}"\] \.band \{{([^}}]*)\}}', CSS).group(1)
        assert f"background: var({background})" in rule and f"color: var({text})" in rule
