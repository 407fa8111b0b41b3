"""CertLogic, the EU's JsonLogic subset for DCC business rules (specification 1.3), evaluated strictly.

PyPI's one CertLogic evaluator (panzi-json-logic 1.0.1, last released 2021) follows JavaScript's loose
coercions, lacks `dccDateOfBirth`, checks no rule before running it and bounds neither depth nor work;
this module is the subset the specification defines, and nothing more:

    var, if, ===, and, <, >, <=, >= (integers; 3 operands: between), in, + (integers), !,
    after, before, not-after, not-before (date-times; 3 operands: between), plusTime, reduce,
    extractFromUVCI, dccDateOfBirth

`check` refuses a malformed rule before it is ever stored or run; `evaluate` raises CertLogicError for
anything the specification leaves undefined (a comparison of a string with a number, an unparseable
date) instead of guessing, so a rule either answers or is reported as not evaluable.
"""

from __future__ import annotations

import calendar
import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

MAX_DEPTH = 64
MAX_STEPS = 10_000
_DATE_TIME_UNITS = ("year", "month", "day", "hour")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?")
_DOB = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_UVCI_SEPARATORS = re.compile(r"[/#:]")

# operator → (least, most) operands
_ARITY = {
    "var": (1, 1), "if": (3, 3), "===": (2, 2), "and": (1, None), "<": (2, 3), ">": (2, 3), "<=": (2, 3),
    ">=": (2, 3), "in": (2, 2), "+": (2, 2), "!": (1, 1), "after": (2, 3), "before": (2, 3),
    "not-after": (2, 3), "not-before": (2, 3), "plusTime": (3, 3), "reduce": (3, 3), "extractFromUVCI": (2, 2),
    "dccDateOfBirth": (1, 1),
}


class CertLogicError(ValueError):
    """A rule that is not CertLogic, or that cannot be evaluated on this data."""


def check(logic: Any, depth: int = 0) -> None:
    """Refuses (CertLogicError) anything that is not a well-formed CertLogic expression."""
    if depth > MAX_DEPTH:
        raise CertLogicError(f"nested deeper than {MAX_DEPTH}")
    if isinstance(logic, list):
        for item in logic:
            check(item, depth + 1)
        return
    if isinstance(logic, dict):
        operator, operands = _operation(logic)
        if operator == "var":
            if not isinstance(operands[0], str):
                raise CertLogicError("var takes a path string")
            return
        if operator == "plusTime" and (not isinstance(operands[2], str) or operands[2] not in _DATE_TIME_UNITS):
            raise CertLogicError(f"plusTime's unit must be one of {', '.join(_DATE_TIME_UNITS)}")
        if operator == "plusTime" and type(operands[1]) is not int:
            raise CertLogicError("plusTime's amount must be an integer literal")
        for operand in operands:
            check(operand, depth + 1)
        return
    if logic is not None and not isinstance(logic, (str, bool, int, float)):
        raise CertLogicError("not a JSON value")


def _operation(logic: dict) -> tuple[str, list]:
    if len(logic) != 1:
        raise CertLogicError("an operation is an object with exactly one key")
    ((operator, operands),) = logic.items()
    if operator not in _ARITY:
        raise CertLogicError(f"{operator!r} is not a CertLogic operation")
    if operator == "var" and not isinstance(operands, list):
        operands = [operands]
    if not isinstance(operands, list):
        raise CertLogicError(f"{operator}'s operands must be an array")
    least, most = _ARITY[operator]
    if len(operands) < least or (most is not None and len(operands) > most):
        span = str(least) if most == least else f"{least} to {most or 'any number of'}"
        raise CertLogicError(f"{operator} takes {span} operands")
    return operator, operands


def evaluate(logic: Any, data: Any) -> Any:
    """The value of `logic` on `data`; CertLogicError when it has none."""
    check(logic)
    return _Evaluation().run(logic, data, 0)


def is_truthy(value: Any) -> bool:
    """CertLogic's truthiness: true, a non-empty string, array or object, a number not 0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return value is not None


class _Evaluation:
    def __init__(self) -> None:
        self.steps = 0

    def run(self, logic: Any, data: Any, depth: int) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise CertLogicError(f"more than {MAX_STEPS} evaluation steps")
        if isinstance(logic, list):
            return [self.run(item, data, depth + 1) for item in logic]
        if not isinstance(logic, dict):
            return logic
        operator, operands = _operation(logic)
        if operator == "var":
            return _var(data, operands[0])
        if operator == "if":
            guard = self.run(operands[0], data, depth + 1)
            return self.run(operands[1] if is_truthy(guard) else operands[2], data, depth + 1)
        if operator == "and":
            value = None
            for operand in operands:
                value = self.run(operand, data, depth + 1)
                if not is_truthy(value):
                    return value
            return value
        if operator == "reduce":
            items = self.run(operands[0], data, depth + 1)
            accumulator = self.run(operands[2], data, depth + 1)
            if items is None:
                return accumulator
            if not isinstance(items, list):
                raise CertLogicError("reduce's operand must be an array")
            for item in items:
                accumulator = self.run(operands[1], {"accumulator": accumulator, "current": item, "data": data},
                                       depth + 1)
            return accumulator
        values = [self.run(operand, data, depth + 1) for operand in operands]
        return _APPLY[operator](*values)


def _var(data: Any, path: str) -> Any:
    if path == "":
        return data
    value = data
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit():
            index = int(part)
            value = value[index] if index < len(value) else None
        else:
            return None
    return value


def _integers(operator: str, values: tuple) -> tuple[int, ...]:
    if not all(type(value) is int for value in values):
        raise CertLogicError(f"{operator} compares integers only")
    return values


def _compare(operator: str, holds):
    def apply(*values):
        values = _integers(operator, values)
        return all(holds(a, b) for a, b in itertools.pairwise(values))
    return apply


def _compare_times(operator: str, holds):
    def apply(*values):
        # The specification's operands are date-times, which only plusTime makes: a bare string is an error.
        if not all(isinstance(value, datetime) for value in values):
            raise CertLogicError(f"{operator} compares date-times (made by plusTime) only")
        moments = values
        return all(holds(a, b) for a, b in itertools.pairwise(moments))
    return apply


def _strict_equal(a: Any, b: Any) -> bool:
    # JavaScript's ===: no coercion (True is not 1 here) and never equal for arrays or objects.
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _in(item: Any, items: Any) -> bool:
    if not isinstance(items, list):
        raise CertLogicError("in's second operand must be an array")
    return any(_strict_equal(item, candidate) for candidate in items)


def _plus(a: Any, b: Any) -> int:
    a, b = _integers("+", (a, b))
    return a + b


def _date_time(value: Any, operator: str) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return parse_date_time(value)
    raise CertLogicError(f"{operator} takes a date-time")


def parse_date_time(text: str) -> datetime:
    """An ISO 8601 date or date-time; a date is its midnight UTC, a time without an offset is UTC."""
    match = _DATE.fullmatch(text)
    try:
        if match:
            return datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
        match = _DATE_TIME.fullmatch(text)
        if match:
            moment = datetime.fromisoformat(text.replace(" ", "T"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError:
        pass
    raise CertLogicError("not an ISO 8601 date or date-time")


def _plus_time(value: Any, amount: Any, unit: Any) -> datetime:
    moment = _date_time(value, "plusTime")
    if type(amount) is not int or unit not in _DATE_TIME_UNITS:
        raise CertLogicError("plusTime takes an integer amount and a unit")
    try:
        if unit == "hour":
            return moment + timedelta(hours=amount)
        if unit == "day":
            return moment + timedelta(days=amount)
        months = moment.month - 1 + amount * (12 if unit == "year" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        # 31 January plus a month is the last day of February, as the specification's reference does.
        return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))
    except (OverflowError, ValueError):
        raise CertLogicError("plusTime leaves the calendar") from None


def _not(value: Any) -> bool:
    return not is_truthy(value)


def _extract_from_uvci(uvci: Any, index: Any) -> str | None:
    if type(index) is not int:
        raise CertLogicError("extractFromUVCI's index must be an integer")
    if uvci is None or index < 0:
        return None
    if not isinstance(uvci, str):
        raise CertLogicError("extractFromUVCI takes a string")
    text = uvci.removeprefix("URN:UVCI:")
    fragments = _UVCI_SEPARATORS.split(text)
    return fragments[index] if index < len(fragments) else None


def _dcc_date_of_birth(value: Any) -> datetime:
    """A date of birth as a date-time; a partial one (1964 or 1964-07) is the end of its period, the
    latest day it could be, so an age rule never admits someone too young."""
    if not isinstance(value, str):
        raise CertLogicError("dccDateOfBirth takes a string")
    match = _DOB.fullmatch(value.split("T")[0])
    if not match:
        raise CertLogicError("not a date of birth")
    year = int(match[1])
    month = int(match[2]) if match[2] else 12
    try:
        day = int(match[3]) if match[3] else calendar.monthrange(year, month)[1]
        return datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        raise CertLogicError("not a date of birth") from None


_APPLY = {
    "===": _strict_equal,
    "<": _compare("<", lambda a, b: a < b), ">": _compare(">", lambda a, b: a > b),
    "<=": _compare("<=", lambda a, b: a <= b), ">=": _compare(">=", lambda a, b: a >= b),
    "in": _in, "+": _plus, "!": _not,
    "after": _compare_times("after", lambda a, b: a > b), "before": _compare_times("before", lambda a, b: a < b),
    "not-after": _compare_times("not-after", lambda a, b: a <= b),
    "not-before": _compare_times("not-before", lambda a, b: a >= b),
    "plusTime": _plus_time, "extractFromUVCI": _extract_from_uvci, "dccDateOfBirth": _dcc_date_of_birth,
}
