"""DCC acceptance rules per province: versioned CertLogic data in the EU rule format, checked when loaded.

A rule is (Identifier, Version) with a CertificateType (General, Test, Vaccination, Recovery), a
validity window and its Logic. At a moment, each Identifier's highest Version in force applies; every
applicable rule must hold. The packaged rules are `dcc_rules/acceptance.json`; a deployment may point
HEALTHCODE_VERIFICATION_DCC_RULES at its own file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from services import areas
from services.codes.dcc import CertificateType
from services.verification.recognition.certlogic import CertLogicError, check, evaluate, is_truthy

PACKAGED = Path(__file__).parent / "dcc_rules" / "acceptance.json"
_TYPES = {"General": None, "Test": CertificateType.TEST, "Vaccination": CertificateType.VACCINATION,
          "Recovery": CertificateType.RECOVERY}
_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_IDENTIFIER = re.compile(r"[0-9A-Z-]{1,64}")


@dataclass(frozen=True)
class Rule:
    identifier: str
    version: tuple[int, int, int]
    province: str
    kind: CertificateType | None  # None: General, every kind
    valid_from: datetime
    valid_to: datetime
    description: str
    logic: Any

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))


@dataclass(frozen=True)
class RuleOutcome:
    rule: Rule
    passed: bool | None  # None: the rule could not be evaluated on this certificate


def parse_rules(document: Any) -> tuple[Rule, ...]:
    """Rules from the EU format; ValueError naming the first bad rule (nothing loads half)."""
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise TypeError("the rules document must be an object with a 'rules' array")
    rules, seen = [], set()
    for index, item in enumerate(document["rules"]):
        try:
            rule = _rule(item)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"rules[{index}]: {error}") from None
        if (rule.identifier, rule.version) in seen:
            raise ValueError(f"rules[{index}]: {rule.identifier} {rule.version_text} appears twice")
        seen.add((rule.identifier, rule.version))
        rules.append(rule)
    return tuple(rules)


def load_rules(path: Path = PACKAGED) -> tuple[Rule, ...]:
    return parse_rules(json.loads(path.read_text(encoding="utf-8")))


def _rule(item: dict) -> Rule:
    if item.get("Engine") != "CERTLOGIC" or item.get("Type") != "Acceptance":
        raise ValueError("only CERTLOGIC acceptance rules are taken")
    identifier = item["Identifier"]
    if not isinstance(identifier, str) or not _IDENTIFIER.fullmatch(identifier):
        raise ValueError("Identifier must be 1 to 64 of 0-9, A-Z and '-'")
    version = _SEMVER.fullmatch(item["Version"]) if isinstance(item["Version"], str) else None
    if version is None:
        raise ValueError("Version must be a semantic version")
    if not areas.is_province_code(item["Country"]):
        raise ValueError("Country must be a GB/T 2260 province code")
    if item["CertificateType"] not in _TYPES:
        raise ValueError(f"CertificateType must be one of {', '.join(_TYPES)}")
    valid_from, valid_to = _moment(item["ValidFrom"]), _moment(item["ValidTo"])
    if valid_to <= valid_from:
        raise ValueError("ValidTo must be after ValidFrom")
    try:
        check(item["Logic"])
    except CertLogicError as error:
        raise ValueError(f"Logic is not CertLogic: {error}") from None
    return Rule(identifier, tuple(int(part) for part in version.groups()), item["Country"],
                _TYPES[item["CertificateType"]], valid_from, valid_to, str(item.get("Description", "")),
                item["Logic"])


def _moment(text: object) -> datetime:
    if not isinstance(text, str):
        raise TypeError("ValidFrom and ValidTo must be date-time strings")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("ValidFrom and ValidTo need a UTC offset")
    return moment


def in_force(rules: Iterable[Rule], province: str, now: datetime) -> list[Rule]:
    """Each Identifier's highest version in force for the province at `now`."""
    newest: dict[str, Rule] = {}
    for rule in rules:
        if rule.province == province and rule.valid_from <= now < rule.valid_to:
            held = newest.get(rule.identifier)
            if held is None or rule.version > held.version:
                newest[rule.identifier] = rule
    return sorted(newest.values(), key=lambda rule: rule.identifier)


def evaluate_rules(rules: Iterable[Rule], data: dict) -> list[RuleOutcome]:
    outcomes = []
    for rule in rules:
        try:
            outcomes.append(RuleOutcome(rule, is_truthy(evaluate(rule.logic, data))))
        except CertLogicError:
            outcomes.append(RuleOutcome(rule, None))
    return outcomes
