"""The CertLogic evaluator: each operation of the subset, its edge cases, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.verification.recognition.certlogic import MAX_DEPTH, MAX_STEPS, CertLogicError, check, evaluate, is_truthy

DATA = {"payload": {"v": [{"dn": 2, "sd": 2, "dt": "2021-05-01", "ci": "URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B",
                           "tg": "840539006"}], "dob": "1964-07"},
        "external": {"validationClock": "2021-05-20T10:00:00Z"}}


def clock(days: int = 0) -> dict:
    return {"plusTime": [{"var": "external.validationClock"}, days, "day"]}


@pytest.mark.parametrize(("logic", "expected"), [
    ({"var": "payload.v.0.dn"}, 2),
    ({"var": ["payload.v.0.dn"]}, 2),
    ({"var": "payload.v.1.dn"}, None),
    ({"var": "payload.missing.deeper"}, None),
    ({"var": "payload.v.x"}, None),
    ({"===": [{"var": "payload.v.0.tg"}, "840539006"]}, True),
    ({"===": [1, True]}, False),
    ({"===": [2, 2.0]}, True),
    ({"===": [[1], [1]]}, False),
    ({"===": ["1", 1]}, False),
    ({"and": [True, 3, "x"]}, "x"),
    ({"and": [True, 0, "x"]}, 0),
    ({"if": [{"var": "payload.v.0"}, "yes", "no"]}, "yes"),
    ({"if": [[], "yes", "no"]}, "no"),
    ({">=": [{"var": "payload.v.0.dn"}, {"var": "payload.v.0.sd"}]}, True),
    ({"<": [1, 2, 3]}, True),
    ({"<": [1, 3, 3]}, False),
    ({"<=": [1, 3, 3]}, True),
    ({">": [3, 2]}, True),
    ({"+": [2, 3]}, 5),
    ({"in": ["b", ["a", "b"]]}, True),
    ({"in": [1, [True]]}, False),
    ({"!": [[]]}, True),
    ({"!": ["x"]}, False),
    ({"not-before": [clock(), {"plusTime": [{"var": "payload.v.0.dt"}, 14, "day"]}]}, True),
    ({"before": [clock(), {"plusTime": [{"var": "payload.v.0.dt"}, 14, "day"]}]}, False),
    ({"after": [clock(), {"plusTime": ["2021-05-18T10:00:00Z", 48, "hour"]}]}, False),
    ({"not-after": [clock(), {"plusTime": ["2021-05-18T10:00:00Z", 48, "hour"]}]}, True),
    ({"before": [{"plusTime": ["2021-01-01", 0, "day"]}, clock(), {"plusTime": ["2022-01-01", 0, "day"]}]}, True),
    ({"plusTime": ["2021-01-31", 1, "month"]}, datetime(2021, 2, 28, tzinfo=UTC)),
    ({"plusTime": ["2020-02-29", 1, "year"]}, datetime(2021, 2, 28, tzinfo=UTC)),
    ({"plusTime": ["2021-03-01T00:00:00+02:00", -1, "hour"]}, datetime(2021, 2, 28, 21, tzinfo=UTC)),
    ({"plusTime": ["2021-12-15", 1, "month"]}, datetime(2022, 1, 15, tzinfo=UTC)),
    ({"extractFromUVCI": [{"var": "payload.v.0.ci"}, 1]}, "AT"),
    ({"extractFromUVCI": [{"var": "payload.v.0.ci"}, 3]}, "B"),
    ({"extractFromUVCI": [{"var": "payload.v.0.ci"}, 9]}, None),
    ({"extractFromUVCI": [None, 0]}, None),
    ({"dccDateOfBirth": [{"var": "payload.dob"}]}, datetime(1964, 7, 31, tzinfo=UTC)),
    ({"dccDateOfBirth": ["1964"]}, datetime(1964, 12, 31, tzinfo=UTC)),
    ({"dccDateOfBirth": ["1964-02-03"]}, datetime(1964, 2, 3, tzinfo=UTC)),
    ({"reduce": [{"var": "payload.v"}, {"+": [{"var": "accumulator"}, {"var": "current.dn"}]}, 0]}, 2),
    ({"reduce": [{"var": "payload.none"}, {"+": [{"var": "accumulator"}, 1]}, 7]}, 7),
    ({"reduce": [[1, 2], {"in": [{"var": "data.payload.v.0.tg"}, ["840539006"]]}, False]}, True),
    ([1, {"var": "payload.v.0.dn"}], [1, 2]),
])
def test_operations(logic, expected) -> None:
    assert evaluate(logic, DATA) == expected


@pytest.mark.parametrize("logic", [
    {"<": ["1", 2]},                          # integers only
    {"+": [1.5, 1]},
    {"after": ["2021-01-01", clock()]},       # date-times come from plusTime only
    {"plusTime": ["not a date", 1, "day"]},
    {"plusTime": ["2021-02-30", 1, "day"]},
    {"in": ["a", "abc"]},
    {"reduce": ["abc", {"var": "current"}, 0]},
    {"dccDateOfBirth": ["18-07-1964"]},
    {"extractFromUVCI": [3, 0]},
    {"plusTime": ["9999-12-31", 1, "year"]},
])
def test_undefined_cases_are_errors_not_guesses(logic) -> None:
    with pytest.raises(CertLogicError):
        evaluate(logic, DATA)


@pytest.mark.parametrize("logic", [
    {"or": [True, False]},                    # JsonLogic, not CertLogic
    {"if": [True, 1]},
    {"var": 3},
    {"===": [1, 2], "and": [True]},
    {"plusTime": ["2021-01-01", 1, "week"]},
    {"plusTime": ["2021-01-01", {"var": "x"}, "day"]},
    {"!": True},
    {"and": []},
    {"===": [1, object()]},
])
def test_malformed_rules_are_refused_before_running(logic) -> None:
    with pytest.raises(CertLogicError):
        check(logic)


def test_depth_and_work_are_bounded() -> None:
    deep = True
    for _ in range(MAX_DEPTH + 1):
        deep = {"!": [deep]}
    with pytest.raises(CertLogicError, match="nested deeper"):
        evaluate(deep, {})
    wide = {"reduce": [list(range(MAX_STEPS)), {"+": [{"var": "accumulator"}, 1]}, 0]}
    with pytest.raises(CertLogicError, match="evaluation steps"):
        evaluate(wide, {})


@pytest.mark.parametrize(("value", "truthy"), [
    (True, True), (False, False), (None, False), (0, False), (0.0, False), (2, True), ("", False), ("x", True),
    ([], False), ([0], True), ({}, False), ({"a": 1}, True), (datetime(2021, 1, 1, tzinfo=UTC), True),
])
def test_truthiness(value, truthy) -> None:
    assert is_truthy(value) is truthy
