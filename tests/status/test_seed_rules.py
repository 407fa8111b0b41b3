"""The seed provinces' rules as shipped data: each province's scenario walks a person through the
days exactly as its seed document says, and every rule cites the sentence it comes from. Pure: no I/O."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from services.colours import Colour
from services.runtime.errors import InvalidArgument
from services.status.model import Diagnosis, FactKind, QuarantinePlace, ReleaseProgress, decide
from services.status.model import TestResult as SampleResult  # aliased so pytest does not collect it
from services.status.rules import parse_rule_set, shipped_rule_sets, template_rule_sets
from tests.support.status import (START, TICK, _fact, check_in, codes, day, diagnosed, discharged, evidence,
                                  fever_on_site, quarantined, released, sampled, stay)

SEEDS = Path(__file__).resolve().parents[2] / "docs" / "seeds"
SHIPPED = dict(shipped_rule_sets())
TEMPLATES = dict(template_rule_sets())
RULES = {code: parse_rule_set(code, 1, START, document) for code, document in SHIPPED.items()}
NATIONAL, BEIJING, LIAONING, JIANGSU, HUBEI = (RULES[c] for c in ("000000", "110000", "210000", "320000", "420000"))
TIANJIN, HEBEI, HAINAN = (RULES[c] for c in ("120000", "130000", "460000"))
FIVE = parse_rule_set("330000", 1, START, TEMPLATES["five-colour.json"])
DONGCHENG, HEPING = "110101", "120101"  # a Beijing district, a Tianjin district


def negative(at):
    return sampled(SampleResult.NEGATIVE, at)


def shown(person, rules, now) -> tuple[Colour, str, list[str]]:
    decision = decide(person, rules, now)
    return decision.colour, decision.display, codes(decision)


# Every rule cites its seed

_CITATION = re.compile(r"^(\d{3}_[0-9a-f]{16}\.txt): (.+)$")


def _comments(node, path=""):
    if isinstance(node, dict):
        if "display" in node or "national" in node or "hours" in node or "until_local_midnight" in node \
                or "negative_test_within_hours" in node or "after_days" in node or "check_ins" in node \
                or "popup_acknowledged_clear_days" in node:
            yield path, node.get("comment")
        for key, value in node.items():
            if key != "comment":
                yield from _comments(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _comments(value, f"{path}[{index}]")


@pytest.mark.parametrize("name", sorted(SHIPPED) + sorted(TEMPLATES))
def test_every_rule_cites_a_seed_sentence_that_is_there_or_says_it_is_not_in_the_seeds(name):
    document = json.loads(SHIPPED.get(name) or TEMPLATES[name])
    cited = 0
    for path, comment in _comments(document):
        assert comment, f"{name}{path} has no comment"
        if comment.startswith("not in the seeds: "):
            continue
        match = _CITATION.match(comment)
        assert match, f"{name}{path}: {comment!r} names no seed file"
        text = (SEEDS / match.group(1)).read_text(encoding="utf-8")
        quotes = re.findall(r"«(.+?)»", match.group(2))
        assert quotes and all(quote in text for quote in quotes), f"{name}{path} misquotes {match.group(1)}"
        cited += 1
    assert cited >= 3


# National (000000): 002 ❶ and ❷


def test_national_a_closed_area_resident_is_red_until_the_area_is_lifted():
    person = evidence(_fact(FactKind.CLOSED_AREA_RESIDENCE, day(1), end_time=day(9), area_code="130104"))

    assert shown(person, NATIONAL, day(1) - TICK)[0] is Colour.GREEN
    assert shown(person, NATIONAL, day(5)) == (Colour.RED, "red", ["CLOSED_AREA_RESIDENCE"])
    assert shown(person, NATIONAL, day(9))[0] is Colour.GREEN


def test_national_a_release_certificate_ends_a_closed_area_residence():
    person = evidence(_fact(FactKind.CLOSED_AREA_RESIDENCE, day(1)), released(day(4)))

    assert shown(person, NATIONAL, day(4) - TICK)[0] is Colour.RED
    assert shown(person, NATIONAL, day(4))[0] is Colour.GREEN


def test_national_a_stay_in_a_county_with_reported_cases_is_red_for_fourteen_days_after_leaving():
    person = evidence(_fact(FactKind.CASE_REPORTED_STAY, day(0), end_time=day(2), area_code="130104"))

    decision = decide(person, NATIONAL, day(3))
    assert (decision.colour, codes(decision), decision.reasons[0].detail) == (
        Colour.RED, ["CASE_REPORTED_STAY"], "130104")
    assert decision.next_change_time == day(16)
    assert shown(person, NATIONAL, day(16))[0] is Colour.GREEN


def test_national_a_reading_on_site_is_yellow_until_a_normal_check_in():
    person = evidence(fever_on_site(day(1)), check_in(day(2)))

    assert shown(person, NATIONAL, day(1, 1)) == (Colour.YELLOW, "yellow", ["FEVER_ON_SITE"])
    assert shown(person, NATIONAL, day(2))[0] is Colour.GREEN


def test_national_purchases_clinic_visits_and_hotel_stays_are_not_counted():
    person = evidence(_fact(FactKind.FEVER_MEDICINE_PURCHASE, day(1)), _fact(FactKind.FEVER_CLINIC_VISIT, day(1)),
                      _fact(FactKind.HOTEL_REGISTRATION, day(1)))

    assert shown(person, NATIONAL, day(2)) == (Colour.GREEN, "green", [])


# Beijing (110000): 000 and 001, the hotel rule


def test_beijing_a_hotel_guest_without_a_negative_test_sees_the_pop_up():
    person = evidence(_fact(FactKind.HOTEL_REGISTRATION, day(0), end_time=day(5), area_code="110105"))

    assert shown(person, BEIJING, day(1)) == (Colour.YELLOW, "popup", ["HOTEL_STAY"])


def test_beijing_a_negative_test_from_the_seven_days_before_check_in_gives_no_abnormality_for_the_whole_stay():
    person = evidence(negative(day(-6)), _fact(FactKind.HOTEL_REGISTRATION, day(0), end_time=day(5)))

    # Day 0 to check-out (day 5): green throughout, although the test is 11 days old by then.
    for moment in (day(0), day(2), day(5) - TICK):
        assert shown(person, BEIJING, moment) == (Colour.GREEN, "green", [])
    # After check-out the requirement is a negative test within 7 days: not met, so the pop-up.
    assert shown(person, BEIJING, day(5)) == (Colour.YELLOW, "popup", ["HOTEL_STAY"])
    # Until the 14-day window after check-out ends.
    assert shown(person, BEIJING, day(19) - TICK)[1] == "popup"
    assert shown(person, BEIJING, day(19))[0] is Colour.GREEN


def test_beijing_a_test_older_than_seven_days_at_check_in_does_not_count():
    person = evidence(negative(day(-8)), _fact(FactKind.HOTEL_REGISTRATION, day(0), end_time=day(5)))

    assert shown(person, BEIJING, day(1))[1] == "popup"


def test_beijing_a_negative_test_at_the_hotel_gives_no_abnormality_from_its_sample_on():
    person = evidence(_fact(FactKind.HOTEL_REGISTRATION, day(0), end_time=day(5)), negative(day(1)))

    assert shown(person, BEIJING, day(1) - TICK)[1] == "popup"
    assert shown(person, BEIJING, day(1))[0] is Colour.GREEN
    # After check-out at day 5 the day-1 test is still within 7 days until day 8.
    assert shown(person, BEIJING, day(7))[0] is Colour.GREEN
    decision = decide(person, BEIJING, day(8))
    assert (decision.display, decision.reasons[0].since) == ("popup", day(8))


def test_beijing_after_check_out_a_new_negative_test_keeps_no_abnormality_for_seven_days():
    person = evidence(negative(day(-1)), _fact(FactKind.HOTEL_REGISTRATION, day(0), end_time=day(3)),
                      negative(day(9)))

    assert shown(person, BEIJING, day(5))[0] is Colour.GREEN      # the day -1 test, within 7 days
    assert shown(person, BEIJING, day(6))[1] == "popup"            # it lapsed at day 6
    assert shown(person, BEIJING, day(9))[0] is Colour.GREEN      # the day 9 test
    assert decide(person, BEIJING, day(9)).next_change_time == day(16)
    assert shown(person, BEIJING, day(16))[1] == "popup"
    assert shown(person, BEIJING, day(17))[0] is Colour.GREEN     # 14 days after check-out


def test_beijing_home_observation_is_yellow_and_central_observation_red():
    person = evidence(quarantined(QuarantinePlace.HOME, day(0), day(14)))
    central = evidence(quarantined(QuarantinePlace.CENTRAL, day(0), day(14)))

    assert shown(person, BEIJING, day(1)) == (Colour.YELLOW, "yellow", ["HOME_QUARANTINE"])
    assert shown(central, BEIJING, day(1)) == (Colour.RED, "red", ["CENTRAL_QUARANTINE"])


def test_beijing_home_observation_outranks_the_pop_up():
    person = evidence(_fact(FactKind.HOTEL_REGISTRATION, day(0)), quarantined(QuarantinePlace.HOME, day(1), day(3)))

    assert shown(person, BEIJING, day(2)) == (Colour.YELLOW, "yellow", ["HOME_QUARANTINE", "HOTEL_STAY"])


# Tianjin (120000) and Hebei (130000): 001, the pop-up's "continue" and the 14-day itinerary query


def pressed_continue(at, risky_departure=None, **provinces):
    """The person pressed "continue"; what the itinerary query then found: `risky_departure`, and
    the provinces stayed in (`p120000=departure`)."""
    return _fact(FactKind.POPUP_ACKNOWLEDGEMENT, at, risky_departure=risky_departure,
                 stayed_provinces=tuple(sorted((code[1:], departure) for code, departure in provinces.items())))


def in_beijing_hotel(at, until=None, area=DONGCHENG):
    return _fact(FactKind.HOTEL_REGISTRATION, at, end_time=until, area_code=area)


@pytest.mark.parametrize("rules", [TIANJIN, HEBEI], ids=["tianjin", "hebei"])
def test_a_resident_entering_beijing_sees_the_pop_up_until_continue_with_a_clean_itinerary_gives_no_abnormality(
        rules):
    person = evidence(in_beijing_hotel(day(0), day(3)), pressed_continue(day(0, 1)))

    assert shown(person, rules, day(0)) == (Colour.YELLOW, "popup", ["HOTEL_STAY"])
    # The press at 01:00 with no medium- or high-risk stay in 14 days: 未見異常 from then on.
    for moment in (day(0, 1), day(2), day(3), day(16)):
        assert shown(person, rules, moment) == (Colour.GREEN, "green", [])


@pytest.mark.parametrize("rules", [TIANJIN, HEBEI], ids=["tianjin", "hebei"])
def test_continue_does_not_help_when_the_itinerary_query_found_a_risky_stay_in_the_fourteen_days(rules):
    person = evidence(in_beijing_hotel(day(0), day(3)), pressed_continue(day(1), risky_departure=day(-10)))

    assert shown(person, rules, day(2)) == (Colour.YELLOW, "popup", ["HOTEL_STAY"])
    # A risky stay that ended more than 14 days before the press does not count.
    older = evidence(in_beijing_hotel(day(0), day(3)), pressed_continue(day(1), risky_departure=day(-14)))
    assert shown(older, TIANJIN, day(2))[0] is Colour.GREEN


def test_a_risky_stay_itinerary_reports_after_the_press_takes_the_waiver_back():
    late = stay(day(-5), day(-4), high=False, area=HEPING)  # a carrier's late batch: medium risk in Tianjin
    person = evidence(in_beijing_hotel(day(0), day(3)), pressed_continue(day(0, 1)), late)

    assert shown(person, TIANJIN, day(1)) == (Colour.YELLOW, "yellow", ["MEDIUM_RISK_STAY", "HOTEL_STAY"])
    # Once the medium-risk stay's 14 days are over, the pop-up remains: the press was not clean.
    assert shown(person, TIANJIN, day(11)) == (Colour.YELLOW, "popup", ["HOTEL_STAY"])


def test_a_press_before_the_pop_up_was_shown_does_not_count_and_a_later_one_does():
    person = evidence(pressed_continue(day(-1)), in_beijing_hotel(day(0), day(3)))

    assert shown(person, HEBEI, day(1))[1] == "popup"
    again = evidence(pressed_continue(day(-1)), in_beijing_hotel(day(0), day(3)), pressed_continue(day(1)))
    assert shown(again, HEBEI, day(1))[0] is Colour.GREEN


def test_a_hotel_at_home_shows_no_pop_up_and_the_pop_up_lasts_at_most_thirty_days():
    assert shown(evidence(in_beijing_hotel(day(0), day(3), area=HEPING)), TIANJIN, day(1)) == (
        Colour.GREEN, "green", [])
    assert shown(evidence(in_beijing_hotel(day(0))), TIANJIN, day(30) - TICK)[1] == "popup"
    assert shown(evidence(in_beijing_hotel(day(0))), TIANJIN, day(30))[0] is Colour.GREEN


@pytest.mark.parametrize("rules", [TIANJIN, HEBEI], ids=["tianjin", "hebei"])
def test_continue_does_not_help_after_a_stay_outside_beijing_tianjin_and_hebei_in_the_fourteen_days(rules):
    shanghai = evidence(in_beijing_hotel(day(0), day(3)),
                        pressed_continue(day(1), p120000=day(0), p310000=day(-3), p110000=day(1)))
    long_ago = evidence(in_beijing_hotel(day(0), day(3)),
                        pressed_continue(day(1), p130000=day(0), p310000=day(-13, -1), p110000=day(1)))

    assert shown(shanghai, rules, day(2)) == (Colour.YELLOW, "popup", ["HOTEL_STAY"])
    assert shown(long_ago, rules, day(2)) == (Colour.GREEN, "green", [])


def test_in_beijing_a_resident_back_from_tianjin_presses_continue_one_back_from_shanghai_needs_the_test():
    """«以及本市往返天津、河北低風險地區的人員» get it by continue; «本市出差低風險地區的返京人員如果入住酒店,
    參照來京出差人員管理»: the others need the hotel rule's test."""
    tianjin = evidence(in_beijing_hotel(day(0), day(3)), pressed_continue(day(0, 1), p120000=day(-1), p110000=day(0)))
    shanghai = evidence(in_beijing_hotel(day(0), day(3)), pressed_continue(day(0, 1), p310000=day(-1), p110000=day(0)))

    assert shown(tianjin, BEIJING, day(1)) == (Colour.GREEN, "green", [])
    assert shown(shanghai, BEIJING, day(1)) == (Colour.YELLOW, "popup", ["HOTEL_STAY"])
    assert shown(evidence(negative(day(-1)), *shanghai.facts), BEIJING, day(1))[0] is Colour.GREEN


# Hubei (420000): 004, green valid three days


def test_hubei_green_is_extended_by_a_check_in_within_three_days_else_yellow():
    person = evidence(check_in(day(2)), check_in(day(4)))

    assert shown(person, HUBEI, day(7) - TICK)[0] is Colour.GREEN
    assert shown(person, HUBEI, day(7)) == (Colour.YELLOW, "yellow", ["CHECK_IN_OVERDUE"])


# Liaoning (210000): 003, every yellow turns green after 14 check-ins


def test_liaoning_home_quarantine_stays_yellow_after_the_order_without_check_ins():
    person = evidence(quarantined(QuarantinePlace.HOME, day(0), day(14)))

    assert shown(person, LIAONING, day(30)) == (Colour.YELLOW, "yellow", ["HOME_QUARANTINE"])
    assert decide(person, LIAONING, day(30)).next_change_time is None


def test_liaoning_home_quarantine_turns_green_on_the_fourteenth_daily_check_in():
    # Check-ins at 10:00 local (02:00Z) on days 0 to 13: the first is on the order's own day.
    person = evidence(quarantined(QuarantinePlace.HOME, day(0), day(10)), *(check_in(day(d, 2)) for d in range(14)))

    assert shown(person, LIAONING, day(13, 2) - TICK)[0] is Colour.YELLOW
    assert shown(person, LIAONING, day(13, 2)) == (Colour.GREEN, "green", [])


def test_liaoning_the_check_ins_never_end_a_quarantine_order_early():
    person = evidence(quarantined(QuarantinePlace.HOME, day(0), day(20)), *(check_in(day(d, 2)) for d in range(20)))

    assert shown(person, LIAONING, day(19))[0] is Colour.YELLOW
    assert shown(person, LIAONING, day(20))[0] is Colour.GREEN


def test_liaoning_a_missed_day_restarts_the_fourteen():
    person = evidence(quarantined(QuarantinePlace.HOME, day(0), day(1)),
                      *(check_in(day(d, 2)) for d in [*range(0, 5), *range(6, 20)]))

    assert shown(person, LIAONING, day(19, 1))[0] is Colour.YELLOW
    assert shown(person, LIAONING, day(19, 2))[0] is Colour.GREEN


def test_liaoning_the_reason_counts_the_check_ins_done_towards_the_fourteen():
    person = evidence(quarantined(QuarantinePlace.HOME, day(0), day(1)), *(check_in(day(d, 2)) for d in range(5)))

    (reason,) = decide(person, LIAONING, day(4, 3)).reasons
    assert reason.progress == ReleaseProgress(check_ins_required=14, check_ins_done=5, consecutive=True)


def test_liaoning_a_missed_day_shows_the_count_back_at_zero_from_the_midnight_that_breaks_it():
    # The last check-in is on local 5 February (day 4); the run breaks at local midnight starting 7 February.
    person = evidence(quarantined(QuarantinePlace.HOME, day(0), day(1)), *(check_in(day(d, 2)) for d in range(5)))
    breaks = day(6) - LIAONING.utc_offset

    decision = decide(person, LIAONING, day(5, 3))
    assert decision.reasons[0].progress.check_ins_done == 5 and decision.next_change_time == breaks
    assert decide(person, LIAONING, breaks).reasons[0].progress.check_ins_done == 0


def test_liaoning_recovery_counts_the_check_in_days_after_discharge():
    person = evidence(diagnosed(Diagnosis.CONFIRMED, day(0)), discharged(day(10, 2)),
                      *(check_in(day(d, 2)) for d in range(10, 14)))

    (reason,) = decide(person, LIAONING, day(13, 3)).reasons
    assert (reason.code, reason.progress) == ("RECOVERING", ReleaseProgress(14, 3, True))


def test_a_finding_released_by_days_alone_carries_no_progress():
    person = evidence(quarantined(QuarantinePlace.HOME, day(0), day(14)))

    assert all(reason.progress is None for reason in decide(person, HUBEI, day(3)).reasons)


def test_liaoning_a_medium_risk_stay_needs_fourteen_check_ins_too():
    person = evidence(stay(day(0), day(1), high=False), *(check_in(day(d, 2)) for d in range(1, 15)))

    assert shown(person, LIAONING, day(14, 2) - TICK)[0] is Colour.YELLOW   # past 14 days after leaving, 13 check-ins
    assert shown(person, LIAONING, day(15))[0] is Colour.GREEN


def test_liaoning_a_fever_still_running_is_not_ended_by_check_ins():
    person = evidence(*(check_in(day(d, 2), abnormal=True) for d in range(16)))

    assert shown(person, LIAONING, day(16)) == (Colour.YELLOW, "yellow", ["FEVER_CHECK_IN"])


def test_liaoning_discharge_turns_red_to_yellow_then_fourteen_check_ins_to_green():
    person = evidence(diagnosed(Diagnosis.CONFIRMED, day(0)), discharged(day(10)),
                      *(check_in(day(d, 2)) for d in range(11, 25)))

    assert shown(person, LIAONING, day(9))[0] is Colour.RED
    assert shown(person, LIAONING, day(10)) == (Colour.YELLOW, "yellow", ["RECOVERING"])
    assert shown(person, LIAONING, day(24, 2))[0] is Colour.GREEN


# Jiangsu (320000): 002 ❻


def test_jiangsu_a_discharged_case_is_yellow_for_fourteen_days_of_home_observation():
    person = evidence(diagnosed(Diagnosis.ASYMPTOMATIC, day(0)), discharged(day(7)))

    assert shown(person, JIANGSU, day(6)) == (Colour.RED, "red", ["ASYMPTOMATIC"])
    assert shown(person, JIANGSU, day(7)) == (Colour.YELLOW, "yellow", ["RECOVERING"])
    assert shown(person, JIANGSU, day(21) - TICK)[0] is Colour.YELLOW
    assert shown(person, JIANGSU, day(21))[0] is Colour.GREEN


def test_jiangsu_high_risk_areas_are_red_medium_yellow_and_symptoms_yellow():
    assert shown(evidence(stay(day(0), day(1), high=True)), JIANGSU, day(2))[0] is Colour.RED
    assert shown(evidence(stay(day(0), day(1), high=False)), JIANGSU, day(2))[0] is Colour.YELLOW
    assert shown(evidence(check_in(day(1), abnormal=True)), JIANGSU, day(2)) == (
        Colour.YELLOW, "yellow", ["FEVER_CHECK_IN"])
    assert shown(evidence(diagnosed(Diagnosis.CLOSE_CONTACT, day(0))), JIANGSU, day(14))[0] is Colour.GREEN


# Five colours (template, shipped for Hainan 460000): 002 ❶ ❹ ❾


def test_hainan_ships_the_five_colour_set_and_says_the_province_is_the_deployments_choice():
    hainan, template = json.loads(SHIPPED["460000"]), json.loads(TEMPLATES["five-colour.json"])

    assert {k: v for k, v in hainan.items() if k not in ("province_code", "name", "comment")} == {
        k: v for k, v in template.items() if k != "name"}
    assert hainan["comment"].startswith("not in the seeds: ") and "deployment's choice" in hainan["comment"]
    assert [d.name for d in HAINAN.displays] == ["green", "yellow", "orange", "red", "purple"]


def test_five_colours_purple_for_cases_and_positives_orange_for_contacts_and_suspects():
    assert shown(evidence(diagnosed(Diagnosis.CONFIRMED, day(0))), FIVE, day(1))[:2] == (Colour.RED, "purple")
    assert shown(evidence(sampled(SampleResult.POSITIVE, day(0))), FIVE, day(1))[:2] == (Colour.RED, "purple")
    assert shown(evidence(diagnosed(Diagnosis.CLOSE_CONTACT, day(0))), FIVE, day(1))[:2] == (Colour.YELLOW, "orange")
    assert shown(evidence(diagnosed(Diagnosis.SUSPECTED, day(0))), FIVE, day(1))[:2] == (Colour.YELLOW, "orange")


def test_five_colours_a_fever_medicine_purchase_is_orange_for_four_days():
    person = evidence(_fact(FactKind.FEVER_MEDICINE_PURCHASE, day(0, 3)))

    assert shown(person, FIVE, day(4, 3) - TICK) == (Colour.YELLOW, "orange", ["FEVER_MEDICINE_PURCHASE"])
    assert shown(person, FIVE, day(4, 3))[0] is Colour.GREEN


def test_five_colours_a_fever_clinic_visit_is_orange_for_fourteen_days():
    person = evidence(_fact(FactKind.FEVER_CLINIC_VISIT, day(0)))

    assert shown(person, FIVE, day(13))[1] == "orange"
    assert shown(person, FIVE, day(14))[0] is Colour.GREEN


def test_five_colours_closed_area_residents_and_high_risk_arrivals_are_orange():
    assert shown(evidence(_fact(FactKind.CLOSED_AREA_RESIDENCE, day(0))), FIVE, day(1))[1] == "orange"
    assert shown(evidence(stay(day(0), day(1), high=True)), FIVE, day(2))[1] == "orange"


def _isolated(*items):
    # Isolation starts at 10:00 local on 1 February (day 1 of the isolation), with no end date.
    return evidence(_fact(FactKind.QUARANTINE_ORDER, day(0, 2), place=QuarantinePlace.CENTRAL), *items)


_FOURTEEN_NORMAL = tuple(check_in(day(d, 3)) for d in range(14))  # 11:00 local, isolation days 1 to 14


def test_five_colours_red_is_released_after_fourteen_days_fourteen_normal_check_ins_and_tests_on_days_1_7_14():
    person = _isolated(*_FOURTEEN_NORMAL, negative(day(0, 4)), negative(day(6, 4)), negative(day(13, 4)))

    assert shown(person, FIVE, day(13, 4) - TICK) == (Colour.RED, "red", ["CENTRAL_QUARANTINE"])
    # All tests and check-ins are in at day 13 04:00Z, but 14 days are served only at day 14 02:00Z.
    decision = decide(person, FIVE, day(13, 4))
    assert (decision.colour, decision.reasons[0].until, decision.next_change_time) == (Colour.RED, day(14, 2),
                                                                                     day(14, 2))
    assert shown(person, FIVE, day(14, 2)) == (Colour.GREEN, "green", [])


def test_five_colours_a_missing_day_seven_test_keeps_red():
    person = _isolated(*_FOURTEEN_NORMAL, negative(day(0, 4)), negative(day(7, 4)), negative(day(13, 4)))

    assert shown(person, FIVE, day(20))[0] is Colour.RED


def test_five_colours_an_abnormal_check_in_breaks_the_fourteen_day_streak():
    streak = [*_FOURTEEN_NORMAL[:5], check_in(day(5, 3), abnormal=True), *_FOURTEEN_NORMAL[6:]]
    person = _isolated(*streak, negative(day(0, 4)), negative(day(6, 4)), negative(day(13, 4)))

    assert shown(person, FIVE, day(15))[0] is Colour.RED


def test_five_colours_a_release_certificate_still_ends_red():
    person = _isolated(released(day(5)))

    assert shown(person, FIVE, day(5))[0] is Colour.GREEN


def test_five_colours_yellow_lasts_seven_days_and_needs_a_normal_temperature_after():
    person = evidence(check_in(day(0, 2), abnormal=True), check_in(day(2, 2)))

    # Normal again on day 2, but yellow must be served 7 days and then a normal reading given.
    assert shown(person, FIVE, day(6)) == (Colour.YELLOW, "yellow", ["FEVER_CHECK_IN"])
    assert shown(person, FIVE, day(10))[0] is Colour.YELLOW
    after = evidence(check_in(day(0, 2), abnormal=True), check_in(day(2, 2)), check_in(day(7, 3)))
    assert shown(after, FIVE, day(7, 3) - TICK)[0] is Colour.YELLOW
    assert shown(after, FIVE, day(7, 3))[0] is Colour.GREEN


# The schema, field by field


def _doc(name="000000") -> dict:
    return json.loads(SHIPPED[name])


@pytest.mark.parametrize(("edit", "field"), [
    pytest.param(lambda d: d["findings"]["HOME_QUARANTINE"].update(release={"certificate": True}),
                 "rule_set.findings.HOME_QUARANTINE.release", id="release-without-condition"),
    pytest.param(lambda d: d["findings"]["HOME_QUARANTINE"].update(release={"after_days": 0}),
                 "rule_set.findings.HOME_QUARANTINE.release.after_days", id="release-zero-days"),
    pytest.param(lambda d: d["findings"]["HOME_QUARANTINE"].update(release={"negative_tests_on_days": [7, 1]}),
                 "rule_set.findings.HOME_QUARANTINE.release.negative_tests_on_days", id="test-days-out-of-order"),
    pytest.param(lambda d: d["findings"]["HOME_QUARANTINE"].update(release={"check_ins": {"days": 14, "normal": 1}}),
                 "rule_set.findings.HOME_QUARANTINE.release.check_ins.normal", id="streak-normal-not-bool"),
    pytest.param(lambda d: d["findings"]["HOME_QUARANTINE"].update(release={"check_ins": {"day": 14}}),
                 "rule_set.findings.HOME_QUARANTINE.release.check_ins.day", id="streak-unknown-field"),
    pytest.param(lambda d: d["findings"]["HOME_QUARANTINE"].update(
        unless=[{"negative_test_within_hours": 48, "measured_from": "yesterday"}]),
                 "rule_set.findings.HOME_QUARANTINE.unless[0].measured_from", id="waiver-bad-anchor"),
    pytest.param(lambda d: d["findings"]["HOME_QUARANTINE"].update(unless=[{"negative_test_within_hours": 0}]),
                 "rule_set.findings.HOME_QUARANTINE.unless[0].negative_test_within_hours", id="waiver-zero-hours"),
    pytest.param(lambda d: d["findings"].update(FEVER_CLINIC_VISIT={"display": "yellow"}),
                 "rule_set.findings.FEVER_CLINIC_VISIT.days", id="short-lived-without-days"),
    pytest.param(lambda d: d["findings"].update(FEVER_MEDICINE_PURCHASE={"display": "yellow", "days": 20,
                                                                        "hold_days": 20}),
                 "rule_set.findings.FEVER_MEDICINE_PURCHASE.days", id="short-lived-beyond-retention"),
    pytest.param(lambda d: d["findings"].update(HOTEL_STAY={"display": "yellow", "days": 10, "recovery": True}),
                 "rule_set.findings.HOTEL_STAY.recovery", id="short-lived-with-recovery"),
    pytest.param(lambda d: d["findings"]["CONFIRMED"].update(comment=7),
                 "rule_set.findings.CONFIRMED.comment", id="comment-not-text"),
    pytest.param(lambda d: d["findings"]["CONFIRMED"].update(comment="x" * 501),
                 "rule_set.findings.CONFIRMED.comment", id="comment-too-long"),
    pytest.param(lambda d: d["findings"]["CONFIRMED"].update(in_provinces=["110000"]),
                 "rule_set.findings.CONFIRMED.in_provinces", id="provinces-on-a-finding-without-an-area"),
    pytest.param(lambda d: d["findings"].update(HOTEL_STAY={"display": "yellow", "days": 10,
                                                            "in_provinces": ["110100"]}),
                 "rule_set.findings.HOTEL_STAY.in_provinces[0]", id="provinces-not-a-province"),
    pytest.param(lambda d: d["findings"].update(HOTEL_STAY={"display": "yellow", "days": 10, "unless": [
        {"popup_acknowledged_clear_days": 14, "negative_test_within_hours": 48}]}),
                 "rule_set.findings.HOTEL_STAY.unless[0].negative_test_within_hours", id="popup-with-a-test"),
    pytest.param(lambda d: d["findings"].update(HOTEL_STAY={"display": "yellow", "days": 10, "unless": [
        {"popup_acknowledged_clear_days": 0}]}),
                 "rule_set.findings.HOTEL_STAY.unless[0].popup_acknowledged_clear_days", id="popup-zero-days"),
    pytest.param(lambda d: d["findings"].update(HOTEL_STAY={"display": "yellow", "days": 10, "unless": [
        {"negative_test_within_hours": 48, "itinerary_in_provinces": ["110000"]}]}),
                 "rule_set.findings.HOTEL_STAY.unless[0].itinerary_in_provinces", id="provinces-on-a-test-waiver"),
    pytest.param(lambda d: d["findings"].update(HOTEL_STAY={"display": "yellow", "days": 10, "unless": [
        {"popup_acknowledged_clear_days": 14, "itinerary_in_provinces": ["110000", "110000"]}]}),
                 "rule_set.findings.HOTEL_STAY.unless[0].itinerary_in_provinces", id="provinces-twice"),
    pytest.param(lambda d: d["findings"].update(PUSHED_RED={"display": "red"}),
                 "rule_set.findings.PUSHED_RED", id="finding-not-yet-known"),
])
def test_a_bad_new_rule_is_refused_naming_the_exact_field(edit, field):
    document = _doc()
    edit(document)

    with pytest.raises(InvalidArgument) as refused:
        parse_rule_set("000000", 2, START, json.dumps(document))

    assert (refused.value.reason, refused.value.violations[0].field) == ("RULE_SET_INVALID", field)


def test_a_document_from_before_the_new_findings_still_parses_and_does_not_count_them():
    document = _doc()
    for name in ("CLOSED_AREA_RESIDENCE", "CASE_REPORTED_STAY", "FEVER_MEDICINE_PURCHASE", "FEVER_CLINIC_VISIT",
                 "HOTEL_STAY"):
        document["findings"].pop(name, None)
    rules = parse_rule_set("000000", 2, START, json.dumps(document))

    assert shown(evidence(_fact(FactKind.CLOSED_AREA_RESIDENCE, day(0))), rules, day(1))[0] is Colour.GREEN


def test_the_template_takes_the_province_it_is_published_for():
    assert parse_rule_set("530000", 4, START, TEMPLATES["five-colour.json"]).province_code == "530000"
    assert [d.name for d in FIVE.displays] == ["green", "yellow", "orange", "red", "purple"]
