"""Decisions shared between persons with the same evidence (model._shared): what a shared decision
could get wrong is handing a person the decision of evidence that is not theirs. Each test decides
one person, then another whose evidence differs in one input the engine reads, at the same `now`
with the same rule set object (where sharing would happen), and compares with a decision made with
nothing shared. Pure: no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone

from services.colours import Colour
from services.status import model
from services.status.model import Diagnosis, Evidence, decide
from services.status.rules import parse_rule_set, shipped_rule_sets
from tests.support.status import START, check_in, day, diagnosed, evidence, stay

SHIPPED = dict(shipped_rule_sets())
NATIONAL, HUBEI = (parse_rule_set(code, 1, START, SHIPPED[code]) for code in ("000000", "420000"))


def unshared(person: Evidence, rules, now):
    return model._decide(person, rules, now)


def test_persons_with_no_evidence_share_one_decision_and_it_is_the_one_each_would_get():
    now = day(3)
    first, second = evidence(enrolled=START + timedelta(hours=1)), evidence(enrolled=START + timedelta(hours=2))
    shared = decide(first, NATIONAL, now)
    # National rules never lapse green: the enrolment time is not read, so the decision is shared.
    assert decide(second, NATIONAL, now) is shared
    assert shared == unshared(second, NATIONAL, now) == unshared(first, NATIONAL, now)


def test_a_different_enrolment_time_is_not_shared_where_green_lapses():
    now = day(5)
    early, late = evidence(enrolled=START), evidence(enrolled=day(4))
    lapsed = decide(early, HUBEI, now)
    fresh = decide(late, HUBEI, now)
    assert (lapsed.colour, fresh.colour) == (Colour.YELLOW, Colour.GREEN)  # Hubei: 72 h without a check-in
    assert (lapsed, fresh) == (unshared(early, HUBEI, now), unshared(late, HUBEI, now))


def test_a_check_in_a_fact_or_a_risky_stay_is_never_answered_with_the_empty_evidence_decision():
    now = day(5)
    empty = decide(evidence(), HUBEI, now)
    with_check_in = evidence(check_in(day(4, 12)))
    with_fever = evidence(check_in(day(4, 12), abnormal=True))
    with_fact = evidence(diagnosed(Diagnosis.CLOSE_CONTACT, day(4)))
    with_stay = evidence(stay(day(3), day(3, 6), high=True))
    for person in (with_check_in, with_fever, with_fact, with_stay):
        assert decide(person, HUBEI, now) == unshared(person, HUBEI, now)
    assert decide(with_check_in, HUBEI, now).colour == Colour.GREEN != empty.colour
    assert decide(with_fever, HUBEI, now).colour != Colour.GREEN
    assert decide(with_stay, HUBEI, now).colour == Colour.RED
    # And the empty evidence still gets its own decision afterwards.
    assert decide(evidence(), HUBEI, now) == empty


def test_different_stays_are_not_shared_and_equal_ones_are():
    now = day(5)
    here, there = (evidence(stay(day(3), day(3, 6), high=True, area=area)) for area in ("420106", "420102"))
    first = decide(here, NATIONAL, now)
    assert decide(there, NATIONAL, now) != first
    assert decide(there, NATIONAL, now).reasons[0].detail == "420102"
    assert decide(evidence(stay(day(3), day(3, 6), high=True, area="420106")), NATIONAL, now) is first
    # The same stays handed over as a list (as the itinerary client gives them) are the same input.
    as_list = replace(here, exposures=list(here.exposures))
    assert decide(as_list, NATIONAL, now) is first


def test_a_later_now_or_the_same_instant_in_another_zone_is_decided_again():
    person = evidence()
    at_three = decide(person, NATIONAL, day(3))
    at_four = decide(person, NATIONAL, day(4))
    assert at_four.valid_until == day(4) + timedelta(hours=24) != at_three.valid_until
    local = day(4).astimezone(timezone(timedelta(hours=8)))
    in_zone = decide(person, NATIONAL, local)
    assert in_zone.valid_until.utcoffset() == timedelta(hours=8)
    assert in_zone == unshared(person, NATIONAL, local)


def test_a_reloaded_rule_set_never_meets_a_decision_of_the_old_one():
    now = day(3)
    person = evidence()
    old = decide(person, NATIONAL, now)
    # The same province and version, published again with another validity: a new object.
    reloaded = parse_rule_set("000000", 1, START, SHIPPED["000000"].replace('"hours": 24', '"hours": 12', 1))
    assert reloaded.valid_hours == timedelta(hours=12)
    new = decide(person, reloaded, now)
    assert new.valid_until == now + timedelta(hours=12) != old.valid_until
    assert decide(person, NATIONAL, now) == old


def test_the_table_stays_bounded():
    now = day(3)
    for n in range(model._SHARED_LIMIT + 10):
        person = evidence(stay(day(2), day(2) + timedelta(seconds=n), high=False))
        assert decide(person, NATIONAL, now) == unshared(person, NATIONAL, now)
    assert len(model._shared) <= model._SHARED_LIMIT
