"""The colour decision as a specification: each shipped rule set walked through days of facts, check-ins
and risky stays at explicit instants, and how a rule set document is parsed or refused. Pure: no I/O."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from services.colours import Colour
from services.runtime.errors import InvalidArgument
from services.status.model import CheckIn, Diagnosis, Evidence, Fact, FactKind, QuarantinePlace, decide
from services.status.model import TestResult as SampleResult  # aliased so pytest does not collect it
from services.status.rules import RuleSet, parse_rule_set, shipped_rule_sets
from tests.support.status import (START, TICK, WUCHANG, _fact, check_in, codes, day, diagnosed, discharged, evidence,
                                  fever_on_site, quarantined, released, sampled, stay)

SHIPPED = dict(shipped_rule_sets())
RULES = {code: parse_rule_set(code, 1, START, document) for code, document in SHIPPED.items()}
NATIONAL, HUBEI, LIAONING, BEIJING = (RULES[code] for code in ("000000", "420000", "210000", "110000"))


def inbound_quarantine(start: datetime, end: datetime) -> Fact:
    return _fact(FactKind.INBOUND_QUARANTINE, start, end_time=end)


def appeal_granted(at: datetime, *keys: str) -> Fact:
    return _fact(FactKind.APPEAL_GRANTED, at, dismissed=keys)


def overridden(colour: Colour, start: datetime, end: datetime | None, reason_code: str = "CDC_ORDER_17") -> Fact:
    return _fact(FactKind.MANUAL_OVERRIDE, start, end_time=end, colour=colour, reason_code=reason_code)


def colour(person: Evidence, rules: RuleSet, now: datetime) -> Colour:
    return decide(person, rules, now).colour


# National default (000000)


def test_no_evidence_is_green_with_no_reason():
    decision = decide(evidence(), NATIONAL, day(3))

    assert (decision.colour, decision.display, decision.reasons) == (Colour.GREEN, "green", ())
    assert decision.next_change_time is None
    assert decision.valid_until == day(4)


def test_a_decision_names_the_rule_set_that_made_it():
    decision = decide(evidence(), HUBEI, day(1))

    assert (decision.rule_province, decision.rule_version) == ("420000", 1)


def test_confirmed_is_red_from_diagnosis_until_discharge():
    confirmed = diagnosed(Diagnosis.CONFIRMED, day(1))
    person = evidence(confirmed, discharged(day(20)))

    assert colour(person, NATIONAL, day(1) - TICK) is Colour.GREEN
    decision = decide(person, NATIONAL, day(1))
    assert (decision.colour, decision.display) == (Colour.RED, "red")
    assert [(r.code, r.key, r.since, r.until) for r in decision.reasons] == [
        ("CONFIRMED", f"fact:{confirmed.fact_id}", day(1), day(20))]
    assert colour(person, NATIONAL, day(20) - TICK) is Colour.RED


def test_discharge_is_followed_by_fourteen_days_of_yellow_recovery_then_green():
    person = evidence(diagnosed(Diagnosis.CONFIRMED, day(1)), discharged(day(20)))

    recovering = decide(person, NATIONAL, day(20))
    assert (recovering.colour, recovering.display, codes(recovering)) == (Colour.YELLOW, "yellow", ["RECOVERING"])
    assert (recovering.reasons[0].since, recovering.reasons[0].until) == (day(20), day(34))
    assert colour(person, NATIONAL, day(34) - TICK) is Colour.YELLOW
    recovered = decide(person, NATIONAL, day(34))
    assert (recovered.colour, recovered.reasons) == (Colour.GREEN, ())


def test_a_confirmed_case_without_discharge_stays_red():
    person = evidence(diagnosed(Diagnosis.CONFIRMED, day(1)))

    decision = decide(person, NATIONAL, day(400))

    assert (decision.colour, codes(decision)) == (Colour.RED, ["CONFIRMED"])
    assert decision.reasons[0].until is None


def test_a_later_negative_test_clears_a_suspected_case():
    person = evidence(diagnosed(Diagnosis.SUSPECTED, day(1)), sampled(SampleResult.NEGATIVE, day(3)))

    assert codes(decide(person, NATIONAL, day(3) - TICK)) == ["SUSPECTED"]
    cleared = decide(person, NATIONAL, day(3))
    # A suspicion cleared by a test was never an infection: no recovery follows.
    assert (cleared.colour, codes(cleared)) == (Colour.GREEN, [])


def test_a_negative_test_taken_before_the_suspicion_does_not_clear_it():
    person = evidence(sampled(SampleResult.NEGATIVE, day(1)), diagnosed(Diagnosis.SUSPECTED, day(2)))

    decision = decide(person, NATIONAL, day(5))

    assert (decision.colour, codes(decision)) == (Colour.RED, ["SUSPECTED"])


def test_a_positive_test_is_red_from_its_sample_time():
    positive = sampled(SampleResult.POSITIVE, day(2))
    person = evidence(positive)

    assert colour(person, NATIONAL, day(2) - TICK) is Colour.GREEN
    decision = decide(person, NATIONAL, day(2))
    assert (decision.colour, codes(decision)) == (Colour.RED, ["POSITIVE_TEST"])
    assert decision.reasons[0].key == f"fact:{positive.fact_id}"


def test_a_negative_test_does_not_clear_a_positive_one():
    person = evidence(sampled(SampleResult.POSITIVE, day(2)), sampled(SampleResult.NEGATIVE, day(4)))

    decision = decide(person, NATIONAL, day(5))

    assert (decision.colour, codes(decision)) == (Colour.RED, ["POSITIVE_TEST"])


def test_a_discharge_ends_a_positive_test():
    person = evidence(sampled(SampleResult.POSITIVE, day(2)), discharged(day(9)))

    decision = decide(person, NATIONAL, day(9))

    assert (decision.colour, codes(decision)) == (Colour.YELLOW, ["RECOVERING"])


def test_a_close_contact_is_red_for_at_most_fourteen_days():
    person = evidence(diagnosed(Diagnosis.CLOSE_CONTACT, day(1)))

    decision = decide(person, NATIONAL, day(1))
    assert (decision.colour, codes(decision)) == (Colour.RED, ["CLOSE_CONTACT"])
    assert colour(person, NATIONAL, day(15) - TICK) is Colour.RED
    assert colour(person, NATIONAL, day(15)) is Colour.GREEN


def test_a_release_certificate_ends_a_close_contact_early():
    person = evidence(diagnosed(Diagnosis.CLOSE_CONTACT, day(1)), released(day(5)))

    assert colour(person, NATIONAL, day(5) - TICK) is Colour.RED
    assert colour(person, NATIONAL, day(5)) is Colour.GREEN


def test_a_secondary_contact_is_yellow_for_seven_days():
    person = evidence(diagnosed(Diagnosis.SECONDARY_CONTACT, day(1)))

    decision = decide(person, NATIONAL, day(1))
    assert (decision.colour, codes(decision)) == (Colour.YELLOW, ["SECONDARY_CONTACT"])
    assert colour(person, NATIONAL, day(8) - TICK) is Colour.YELLOW
    assert colour(person, NATIONAL, day(8)) is Colour.GREEN


def test_central_quarantine_is_red_for_the_orders_period():
    person = evidence(quarantined(QuarantinePlace.CENTRAL, day(1), day(15)))

    assert colour(person, NATIONAL, day(1) - TICK) is Colour.GREEN
    decision = decide(person, NATIONAL, day(1))
    assert (decision.colour, codes(decision)) == (Colour.RED, ["CENTRAL_QUARANTINE"])
    assert colour(person, NATIONAL, day(15) - TICK) is Colour.RED
    assert colour(person, NATIONAL, day(15)) is Colour.GREEN


def test_home_quarantine_is_yellow_for_the_orders_period():
    person = evidence(quarantined(QuarantinePlace.HOME, day(1), day(15)))

    decision = decide(person, NATIONAL, day(1))
    assert (decision.colour, codes(decision)) == (Colour.YELLOW, ["HOME_QUARANTINE"])
    assert colour(person, NATIONAL, day(15) - TICK) is Colour.YELLOW
    assert colour(person, NATIONAL, day(15)) is Colour.GREEN


def test_a_release_within_the_quarantine_order_ends_it_early():
    person = evidence(quarantined(QuarantinePlace.CENTRAL, day(1), day(15)), released(day(4)))

    assert colour(person, NATIONAL, day(4) - TICK) is Colour.RED
    decision = decide(person, NATIONAL, day(4))
    assert (decision.colour, decision.reasons) == (Colour.GREEN, ())


def test_inbound_quarantine_is_red_for_its_period():
    person = evidence(inbound_quarantine(day(1), day(15)))

    decision = decide(person, NATIONAL, day(1))
    assert (decision.colour, codes(decision)) == (Colour.RED, ["INBOUND_QUARANTINE"])
    assert colour(person, NATIONAL, day(15) - TICK) is Colour.RED
    assert colour(person, NATIONAL, day(15)) is Colour.GREEN


def test_a_high_risk_stay_is_red_from_arrival_until_exactly_fourteen_days_after_departure():
    person = evidence(stay(day(1), day(3), high=True))

    assert colour(person, NATIONAL, day(1) - TICK) is Colour.GREEN
    during = decide(person, NATIONAL, day(1))
    assert (during.colour, codes(during)) == (Colour.RED, ["HIGH_RISK_STAY"])
    assert (during.reasons[0].detail, during.reasons[0].until) == (WUCHANG, day(17))
    assert colour(person, NATIONAL, day(17) - TICK) is Colour.RED
    assert colour(person, NATIONAL, day(17)) is Colour.GREEN


def test_a_medium_risk_stay_is_yellow_until_exactly_fourteen_days_after_departure():
    person = evidence(stay(day(1), day(3), high=False))

    during = decide(person, NATIONAL, day(2))
    assert (during.colour, codes(during)) == (Colour.YELLOW, ["MEDIUM_RISK_STAY"])
    assert colour(person, NATIONAL, day(17) - TICK) is Colour.YELLOW
    assert colour(person, NATIONAL, day(17)) is Colour.GREEN


def test_an_abnormal_check_in_is_yellow_until_the_next_normal_check_in():
    fever = check_in(day(1, 9), abnormal=True)
    person = evidence(fever, check_in(day(2, 9), abnormal=True), check_in(day(3, 9)))

    decision = decide(person, NATIONAL, day(2, 12))
    # One episode, from the first abnormal reading, however many follow.
    assert (decision.colour, codes(decision)) == (Colour.YELLOW, ["FEVER_CHECK_IN"])
    assert (decision.reasons[0].key, decision.reasons[0].since) == (f"check-in:{fever.check_in_id}", day(1, 9))
    assert colour(person, NATIONAL, day(3, 9) - TICK) is Colour.YELLOW
    assert colour(person, NATIONAL, day(3, 9)) is Colour.GREEN


def test_a_fever_on_site_is_yellow_until_the_next_normal_check_in():
    person = evidence(fever_on_site(day(1, 9)), check_in(day(2, 9)))

    decision = decide(person, NATIONAL, day(1, 9))
    assert (decision.colour, codes(decision)) == (Colour.YELLOW, ["FEVER_ON_SITE"])
    assert colour(person, NATIONAL, day(2, 9) - TICK) is Colour.YELLOW
    assert colour(person, NATIONAL, day(2, 9)) is Colour.GREEN


def test_a_normal_check_in_before_the_fever_does_not_end_it():
    person = evidence(check_in(day(1, 8)), fever_on_site(day(1, 9)))

    assert codes(decide(person, NATIONAL, day(5))) == ["FEVER_ON_SITE"]


def test_the_most_severe_finding_decides_and_every_active_reason_is_listed_most_severe_first():
    person = evidence(
        quarantined(QuarantinePlace.HOME, day(0), day(10)),
        check_in(day(3), abnormal=True),
        stay(day(1), day(2), high=True))

    decision = decide(person, NATIONAL, day(4))

    assert (decision.colour, decision.display) == (Colour.RED, "red")
    # Equally severe reasons follow in the order they began.
    assert codes(decision) == ["HIGH_RISK_STAY", "HOME_QUARANTINE", "FEVER_CHECK_IN"]


def test_an_approved_appeal_removes_the_finding_it_names():
    person = evidence(diagnosed(Diagnosis.CLOSE_CONTACT, day(1)))
    key = decide(person, NATIONAL, day(2)).reasons[0].key

    appealed = evidence(*person.facts, appeal_granted(day(3), key))

    decision = decide(appealed, NATIONAL, day(3))
    assert (decision.colour, decision.reasons) == (Colour.GREEN, ())


def test_an_appeal_takes_effect_from_its_own_time():
    contact = diagnosed(Diagnosis.CLOSE_CONTACT, day(1))
    person = evidence(contact, appeal_granted(day(3), f"fact:{contact.fact_id}"))

    assert codes(decide(person, NATIONAL, day(3) - TICK)) == ["CLOSE_CONTACT"]
    assert codes(decide(person, NATIONAL, day(3))) == []


def test_an_appeal_leaves_the_findings_it_does_not_name():
    person = evidence(diagnosed(Diagnosis.CLOSE_CONTACT, day(1)), stay(day(0), day(1), high=False))
    contact_key = next(r.key for r in decide(person, NATIONAL, day(2)).reasons if r.code == "CLOSE_CONTACT")

    appealed = evidence(*person.facts, *person.exposures, appeal_granted(day(3), contact_key))

    decision = decide(appealed, NATIONAL, day(3))
    assert (decision.colour, codes(decision)) == (Colour.YELLOW, ["MEDIUM_RISK_STAY"])


def test_an_appeal_dismissing_a_stay_names_it_by_its_reason_key():
    person = evidence(stay(day(0), day(1), high=True))
    key = decide(person, NATIONAL, day(2)).reasons[0].key

    appealed = evidence(*person.exposures, appeal_granted(day(3), key))

    assert colour(appealed, NATIONAL, day(3)) is Colour.GREEN


def test_an_appeal_dismissing_a_diagnosis_also_spares_its_recovery():
    confirmed = diagnosed(Diagnosis.CONFIRMED, day(1))
    person = evidence(confirmed, discharged(day(5)), appeal_granted(day(6), f"fact:{confirmed.fact_id}"))

    assert codes(decide(person, NATIONAL, day(6) - TICK)) == ["RECOVERING"]
    assert colour(person, NATIONAL, day(6)) is Colour.GREEN


def test_a_manual_override_forces_its_colour_during_its_period_only():
    person = evidence(overridden(Colour.RED, day(2), day(5), reason_code="CDC_ORDER_17"))

    assert colour(person, NATIONAL, day(2) - TICK) is Colour.GREEN
    forced = decide(person, NATIONAL, day(2))
    assert (forced.colour, forced.display, codes(forced)) == (Colour.RED, "red", ["MANUAL_OVERRIDE"])
    assert (forced.reasons[0].detail, forced.reasons[0].until) == ("CDC_ORDER_17", day(5))
    assert colour(person, NATIONAL, day(5) - TICK) is Colour.RED
    assert decide(person, NATIONAL, day(5)).reasons == ()


def test_a_manual_override_hides_the_findings_beneath_it_and_they_return_after():
    person = evidence(diagnosed(Diagnosis.CONFIRMED, day(1)), overridden(Colour.GREEN, day(3), day(6)))

    forced = decide(person, NATIONAL, day(4))
    assert (forced.colour, codes(forced)) == (Colour.GREEN, ["MANUAL_OVERRIDE"])
    after = decide(person, NATIONAL, day(6))
    assert (after.colour, codes(after)) == (Colour.RED, ["CONFIRMED"])


def test_the_latest_override_in_force_wins():
    person = evidence(overridden(Colour.RED, day(1), day(10)), overridden(Colour.YELLOW, day(2), day(4)))

    assert colour(person, NATIONAL, day(3)) is Colour.YELLOW
    assert colour(person, NATIONAL, day(4)) is Colour.RED


def test_next_change_time_is_when_a_stay_stops_counting():
    decision = decide(evidence(stay(day(1), day(3), high=True)), NATIONAL, day(5))

    assert decision.next_change_time == day(17)
    assert decision.valid_until == day(6)


def test_next_change_time_is_when_recovery_ends():
    person = evidence(diagnosed(Diagnosis.CONFIRMED, day(1)), discharged(day(20)))

    assert decide(person, NATIONAL, day(33, 20)).next_change_time == day(34)


def test_next_change_time_is_when_a_contact_lapses():
    decision = decide(evidence(diagnosed(Diagnosis.CLOSE_CONTACT, day(1))), NATIONAL, day(14, 12))

    assert decision.next_change_time == decision.valid_until == day(15)


def test_next_change_time_is_when_a_quarantine_order_ends():
    decision = decide(evidence(quarantined(QuarantinePlace.HOME, day(1), day(10, 6))), NATIONAL, day(10))

    assert decision.next_change_time == decision.valid_until == day(10, 6)


def test_next_change_time_is_when_a_manual_override_ends():
    decision = decide(evidence(overridden(Colour.RED, day(2), day(5))), NATIONAL, day(4, 18))

    assert decision.next_change_time == decision.valid_until == day(5)


def test_next_change_time_is_none_when_only_new_evidence_can_change_the_decision():
    person = evidence(diagnosed(Diagnosis.CONFIRMED, day(1)), check_in(day(2), abnormal=True))

    decision = decide(person, NATIONAL, day(3))

    assert decision.next_change_time is None
    assert decision.valid_until == day(4)


def test_next_change_time_walks_through_every_change_and_nothing_changes_in_between():
    person = evidence(
        quarantined(QuarantinePlace.HOME, day(0), day(10)),
        stay(day(2), day(3), high=False),
        diagnosed(Diagnosis.CONFIRMED, day(5)),
        discharged(day(8)))

    walked, now = [], day(0)
    while (decision := decide(person, NATIONAL, now)).next_change_time is not None:
        change = decision.next_change_time
        assert decision.valid_until == min(now + timedelta(hours=24), change)
        assert decision.same_outcome(decide(person, NATIONAL, change - TICK))
        assert not decision.same_outcome(decide(person, NATIONAL, change))
        walked.append(change)
        now = change

    # Home quarantine, the stay, the diagnosis, discharge, the order's end, the stay's end, recovery's end.
    assert walked == [day(2), day(5), day(8), day(10), day(17), day(22)]
    assert (decision.colour, decision.reasons) == (Colour.GREEN, ())


def test_valid_until_is_never_after_the_next_change():
    person = evidence(
        diagnosed(Diagnosis.CLOSE_CONTACT, day(0, 7)), stay(day(1), day(1, 5), high=True),
        quarantined(QuarantinePlace.HOME, day(3), day(3, 11)), overridden(Colour.YELLOW, day(6, 2), day(6, 3)))

    for rules in RULES.values():
        for hour in range(0, 24 * 30, 5):
            decision = decide(person, rules, day(0, hour))
            assert decision.valid_until > day(0, hour)
            if decision.next_change_time is not None:
                assert decision.valid_until <= decision.next_change_time


def _busy_person() -> Evidence:
    contact = diagnosed(Diagnosis.CLOSE_CONTACT, day(0))
    return evidence(
        contact, released(day(3)), appeal_granted(day(4), f"fact:{contact.fact_id}"),
        diagnosed(Diagnosis.SUSPECTED, day(2)), sampled(SampleResult.NEGATIVE, day(2, 6)),
        sampled(SampleResult.POSITIVE, day(6)), diagnosed(Diagnosis.CONFIRMED, day(7)), discharged(day(12)),
        quarantined(QuarantinePlace.HOME, day(1), day(8)), inbound_quarantine(day(20), day(27)),
        fever_on_site(day(5, 3)), overridden(Colour.RED, day(30), day(31)),
        check_in(day(5, 9)), check_in(day(9), abnormal=True), check_in(day(10)),
        *(check_in(day(d, 2)) for d in range(13, 40)),
        stay(day(1), day(2), high=True), stay(day(2), day(3), high=False, area="110105"))


def test_the_same_inputs_give_the_same_decision():
    person = _busy_person()

    for rules in RULES.values():
        for offset in range(0, 60, 3):
            assert decide(person, rules, day(offset)) == decide(person, rules, day(offset))


def test_the_decision_does_not_depend_on_the_order_of_the_evidence():
    person = _busy_person()
    shuffler = random.Random(2020)

    for _ in range(8):
        facts, check_ins, exposures = list(person.facts), list(person.check_ins), list(person.exposures)
        for items in (facts, check_ins, exposures):
            shuffler.shuffle(items)
        shuffled = Evidence(person.enrolled_time, tuple(facts), tuple(check_ins), tuple(exposures))
        for rules in RULES.values():
            for offset in range(0, 60, 2):
                assert decide(shuffled, rules, day(offset)) == decide(person, rules, day(offset))


def test_two_overrides_starting_at_the_same_instant_decide_the_same_in_any_order():
    red, green = overridden(Colour.RED, day(1), day(5)), overridden(Colour.GREEN, day(1), day(5))

    assert decide(evidence(red, green), NATIONAL, day(2)) == decide(evidence(green, red), NATIONAL, day(2))


# Hubei 2020 (420000)


def test_hubei_holds_red_fourteen_days_after_discharge_then_yellow_fourteen_days_then_green():
    person = evidence(diagnosed(Diagnosis.CONFIRMED, day(1)), discharged(day(10)))

    assert colour(person, HUBEI, day(24) - TICK) is Colour.RED
    held = decide(person, HUBEI, day(20))
    assert (held.reasons[0].code, held.reasons[0].until) == ("CONFIRMED", day(24))
    recovering = decide(person, HUBEI, day(24))
    assert (recovering.colour, codes(recovering)) == (Colour.YELLOW, ["RECOVERING"])
    assert recovering.next_change_time == day(38)
    assert colour(person, HUBEI, day(38) - TICK) is Colour.YELLOW
    assert colour(person, HUBEI, day(38)) is Colour.GREEN


def test_hubei_green_lapses_to_yellow_72_hours_after_enrolment_without_a_check_in():
    person = evidence(enrolled=day(0, 9))

    green = decide(person, HUBEI, day(3, 9) - TICK)
    assert (green.colour, green.next_change_time) == (Colour.GREEN, day(3, 9))
    lapsed = decide(person, HUBEI, day(3, 9))
    assert (lapsed.colour, lapsed.display, codes(lapsed)) == (Colour.YELLOW, "yellow", ["CHECK_IN_OVERDUE"])
    assert lapsed.reasons[0].since == day(3, 9)
    assert lapsed.next_change_time is None


def test_hubei_a_check_in_within_72_hours_keeps_green_until_72_hours_after_it():
    person = evidence(check_in(day(2)))

    green = decide(person, HUBEI, day(5) - TICK)
    assert (green.colour, green.next_change_time) == (Colour.GREEN, day(5))
    assert codes(decide(person, HUBEI, day(5))) == ["CHECK_IN_OVERDUE"]


def test_hubei_a_check_in_after_lapsing_restores_green():
    person = evidence(check_in(day(4, 4)))

    assert colour(person, HUBEI, day(4, 4) - TICK) is Colour.YELLOW
    restored = decide(person, HUBEI, day(4, 4))
    assert (restored.colour, restored.reasons, restored.next_change_time) == (Colour.GREEN, (), day(7, 4))


def test_hubei_green_after_recovery_lapses_72_hours_after_recovery_ends():
    person = evidence(diagnosed(Diagnosis.CONFIRMED, day(1)), discharged(day(10)))

    assert decide(person, HUBEI, day(38)).next_change_time == day(41)
    assert codes(decide(person, HUBEI, day(41))) == ["CHECK_IN_OVERDUE"]


def test_hubei_an_abnormal_check_in_is_a_fever_not_a_renewal_of_green():
    person = evidence(check_in(day(2), abnormal=True))

    assert codes(decide(person, HUBEI, day(2))) == ["FEVER_CHECK_IN"]


# Liaoning (210000): recovery by check-ins on consecutive local (UTC+8) days

DISCHARGED_AT = day(0, 2)  # 10:00 on 1 February, local time


def _liaoning_patient(*check_ins: CheckIn) -> Evidence:
    return evidence(diagnosed(Diagnosis.CONFIRMED, day(-10)), discharged(DISCHARGED_AT), *check_ins)


def test_liaoning_a_discharge_certificate_turns_red_to_yellow():
    person = _liaoning_patient()

    assert colour(person, LIAONING, DISCHARGED_AT - TICK) is Colour.RED
    recovering = decide(person, LIAONING, DISCHARGED_AT)
    assert (recovering.colour, codes(recovering)) == (Colour.YELLOW, ["RECOVERING"])
    # Only check-ins end this recovery, so no time is known for its end.
    assert (recovering.reasons[0].until, recovering.next_change_time) == (None, None)


def test_liaoning_yellow_turns_green_on_the_check_in_of_the_fourteenth_consecutive_day():
    person = _liaoning_patient(*(check_in(day(d, 2)) for d in range(1, 15)))

    assert colour(person, LIAONING, day(14, 2) - TICK) is Colour.YELLOW
    recovered = decide(person, LIAONING, day(14, 2))
    assert (recovered.colour, recovered.reasons) == (Colour.GREEN, ())


def test_liaoning_a_check_in_on_the_day_recovery_starts_does_not_count():
    person = _liaoning_patient(check_in(day(0, 5)), *(check_in(day(d, 2)) for d in range(1, 14)))

    assert colour(person, LIAONING, day(20)) is Colour.YELLOW


def test_liaoning_a_missed_day_restarts_the_count():
    person = _liaoning_patient(*(check_in(day(d, 2)) for d in [*range(1, 6), *range(7, 21)]))

    assert colour(person, LIAONING, day(19, 3)) is Colour.YELLOW  # 18 check-ins, the last 13 in a row
    assert colour(person, LIAONING, day(20, 2)) is Colour.GREEN


def test_liaoning_a_check_in_at_17z_counts_for_the_next_local_day():
    # Discharged at 18:00 local on 1 February; 17:00Z is 01:00 on the next local day.
    person = evidence(diagnosed(Diagnosis.CONFIRMED, day(-10)), discharged(day(0, 10)),
                      *(check_in(day(d, 17)) for d in range(14)))

    assert colour(person, LIAONING, day(13, 17) - TICK) is Colour.YELLOW
    assert colour(person, LIAONING, day(13, 17)) is Colour.GREEN


def test_liaoning_a_check_in_at_15z_counts_for_the_same_local_day():
    # 15:00Z is 23:00 local: the first of these falls on the discharge day itself.
    person = evidence(diagnosed(Diagnosis.CONFIRMED, day(-10)), discharged(day(0, 10)),
                      *(check_in(day(d, 15)) for d in range(15)))

    assert colour(person, LIAONING, day(13, 16)) is Colour.YELLOW
    assert colour(person, LIAONING, day(14, 15)) is Colour.GREEN


# Beijing (110000): a status is valid until the next local midnight (16:00Z)


def test_beijing_a_status_computed_at_10z_is_valid_until_16z_that_day():
    decision = decide(evidence(), BEIJING, day(0, 10))

    assert (decision.colour, decision.valid_until) == (Colour.GREEN, day(0, 16))


def test_beijing_a_status_computed_at_17z_is_valid_until_16z_the_next_day():
    decision = decide(evidence(), BEIJING, day(0, 17))

    assert decision.valid_until == day(1, 16)


def test_beijing_a_status_computed_at_local_midnight_is_valid_for_the_whole_local_day():
    assert decide(evidence(), BEIJING, day(0, 16)).valid_until == day(1, 16)


def test_beijing_a_change_before_midnight_ends_validity_earlier():
    person = evidence(stay(day(-15), day(-14, 12), high=False))

    decision = decide(person, BEIJING, day(0, 10))

    assert (decision.colour, decision.valid_until) == (Colour.YELLOW, day(0, 12))


def test_beijing_local_midnight_does_not_depend_on_the_zone_now_is_written_in():
    beijing_time = timezone(timedelta(hours=8))

    decision = decide(evidence(), BEIJING, day(0, 10).astimezone(beijing_time))

    assert decision.valid_until == day(0, 16)


# Parsing rule sets


def _national_document() -> dict:
    return json.loads(SHIPPED["000000"])


def _five_colour_rule_set() -> RuleSet:
    document = _national_document()
    document["province_code"] = "330000"
    document["displays"] = [
        {"name": "green", "national": "GREEN"}, {"name": "yellow", "national": "YELLOW"},
        {"name": "orange", "national": "YELLOW"}, {"name": "red", "national": "RED"},
        {"name": "purple", "national": "RED"}]
    document["findings"]["CONFIRMED"]["display"] = "purple"
    document["findings"]["CLOSE_CONTACT"]["display"] = "orange"
    return parse_rule_set("330000", 3, START, json.dumps(document))


@pytest.mark.parametrize("province_code", sorted(SHIPPED))
def test_every_shipped_rule_set_parses(province_code):
    rules = parse_rule_set(province_code, 1, START, SHIPPED[province_code])

    assert rules.province_code == province_code
    assert {d.national for d in rules.displays} == {Colour.GREEN, Colour.YELLOW, Colour.RED}


def test_the_shipped_rule_sets_are_the_eight_described():
    assert sorted(SHIPPED) == ["000000", "110000", "120000", "130000", "210000", "320000", "420000", "460000"]
    assert (HUBEI.green_lapse.after, LIAONING.recovery.check_in_days) == (timedelta(hours=72), 14)
    assert BEIJING.valid_until_midnight and not NATIONAL.valid_until_midnight


def test_a_province_can_add_display_colours_that_map_to_national_ones():
    rules = _five_colour_rule_set()

    confirmed = decide(evidence(diagnosed(Diagnosis.CONFIRMED, day(1))), rules, day(2))
    contact = decide(evidence(diagnosed(Diagnosis.CLOSE_CONTACT, day(1))), rules, day(2))

    assert (confirmed.display, confirmed.colour) == ("purple", Colour.RED)
    assert (contact.display, contact.colour) == ("orange", Colour.YELLOW)


def test_a_more_severe_display_of_the_same_national_colour_wins():
    rules = _five_colour_rule_set()
    person = evidence(stay(day(0), day(1), high=True), diagnosed(Diagnosis.CONFIRMED, day(1)),
                      diagnosed(Diagnosis.CLOSE_CONTACT, day(0)), check_in(day(0, 5), abnormal=True))

    decision = decide(person, rules, day(2))

    assert (decision.display, decision.colour) == ("purple", Colour.RED)
    assert codes(decision) == ["CONFIRMED", "HIGH_RISK_STAY", "CLOSE_CONTACT", "FEVER_CHECK_IN"]


def test_a_manual_override_shows_the_first_display_of_its_colour():
    decision = decide(evidence(overridden(Colour.RED, day(0), day(2))), _five_colour_rule_set(), day(1))

    assert (decision.display, decision.colour) == ("red", Colour.RED)


def test_a_finding_set_to_null_is_not_counted():
    document = _national_document()
    document["findings"]["MEDIUM_RISK_STAY"] = None
    rules = parse_rule_set("000000", 2, START, json.dumps(document))

    decision = decide(evidence(stay(day(0), day(1), high=False)), rules, day(2))

    assert (decision.colour, decision.reasons) == (Colour.GREEN, ())


def _set(path: str, value: object) -> Callable[[dict], None]:
    *parents, last = path.split(".")

    def edit(document: dict) -> None:
        for name in parents:
            document = document[name]
        document[last] = value
    return edit


def _drop(path: str) -> Callable[[dict], None]:
    *parents, last = path.split(".")

    def edit(document: dict) -> None:
        for name in parents:
            document = document[name]
        del document[last]
    return edit


_RECOVERY_BOTH = {"display": "yellow", "days": 14, "check_in_days": 14}
_DISPLAYS_OUT_OF_ORDER = [{"name": "green", "national": "GREEN"}, {"name": "red", "national": "RED"},
                          {"name": "yellow", "national": "YELLOW"}]


@pytest.mark.parametrize(("edit", "field"), [
    pytest.param(_set("findings.CONFIRMED.colour", "red"), "rule_set.findings.CONFIRMED.colour", id="unknown-field"),
    pytest.param(_set("colours", []), "rule_set.colours", id="unknown-top-level-field"),
    pytest.param(_drop("findings.FEVER_ON_SITE"), "rule_set.findings.FEVER_ON_SITE", id="missing-finding"),
    pytest.param(_set("findings.CLOSE_CONTACT.display", "orange"), "rule_set.findings.CLOSE_CONTACT.display",
                 id="display-not-listed"),
    pytest.param(_set("displays", _DISPLAYS_OUT_OF_ORDER), "rule_set.displays[2].national",
                 id="displays-out-of-order"),
    pytest.param(_set("recovery", _RECOVERY_BOTH), "rule_set.recovery", id="recovery-with-days-and-check-in-days"),
    pytest.param(_drop("findings.CLOSE_CONTACT.days"), "rule_set.findings.CLOSE_CONTACT.days",
                 id="contact-without-days"),
    pytest.param(_drop("findings.SECONDARY_CONTACT.days"), "rule_set.findings.SECONDARY_CONTACT.days",
                 id="secondary-contact-without-days"),
    pytest.param(_set("schema", 2), "rule_set.schema", id="wrong-schema"),
    pytest.param(_set("findings.FEVER_CHECK_IN.display", "green"), "rule_set.findings.FEVER_CHECK_IN.display",
                 id="finding-shows-green"),
    pytest.param(_set("recovery", None), "rule_set.recovery", id="recovery-findings-without-recovery"),
    pytest.param(_set("findings.CONFIRMED.hold_days", 61), "rule_set.findings.CONFIRMED.hold_days",
                 id="hold-too-long"),
    pytest.param(_set("province_code", "420000"), "rule_set.province_code", id="other-province"),
])
def test_a_bad_rule_set_is_refused_naming_the_exact_field(edit, field):
    document = _national_document()
    edit(document)

    with pytest.raises(InvalidArgument) as refused:
        parse_rule_set("000000", 2, START, json.dumps(document))

    assert refused.value.reason == "RULE_SET_INVALID"
    assert refused.value.violations[0].field == field


def test_a_document_that_is_not_json_is_refused_as_a_whole():
    with pytest.raises(InvalidArgument) as refused:
        parse_rule_set("000000", 2, START, '{"schema": 1,')

    assert (refused.value.reason, refused.value.violations[0].field) == ("RULE_SET_INVALID", "rule_set")


def test_a_rule_set_for_an_unknown_province_is_refused():
    with pytest.raises(InvalidArgument) as refused:
        parse_rule_set("990000", 1, START, SHIPPED["000000"].replace('"000000"', '"990000"'))

    assert refused.value.violations[0].field == "province_code"
