"""Another province's list records as the decision reads them (pure): a listing lasts until it expires
or until its province next says something about the person; no other province's word ends it, and
a rule set that does not name the finding does not count it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from services.colours import Colour
from services.status.model import Evidence, Fact, FactKind, decide
from services.status.rules import SHIPPED, parse_rule_set

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
RULES = parse_rule_set("420000", 1, NOW - timedelta(days=365), (SHIPPED / "hubei-2020.json").read_text())
JIANGSU, SHANGHAI = "320000", "310000"


def listing(fact_id: str, origin: str, colour: Colour, received: datetime, batch: str, index: int = 0,
            expires: timedelta | None = timedelta(days=7)) -> Fact:
    return Fact(fact_id, FactKind.PEER_PROVINCE_LISTING, received,
                received + expires if expires and colour is not Colour.GREEN else None, colour=colour,
                reason_code="CLOSE_CONTACT", origin_province=origin, provenance=f"{batch}/{index}")


def decided(*facts: Fact, at: datetime = NOW):
    return decide(Evidence(NOW - timedelta(days=30), facts), RULES, at)


def test_a_red_record_shows_red_with_its_province_batch_and_record_until_it_expires():
    red = listing("a", JIANGSU, Colour.RED, NOW - timedelta(hours=1), "js-1", 4)
    decision = decided(red)
    assert (decision.colour, [(r.code, r.detail) for r in decision.reasons]) == (
        Colour.RED, [("PEER_PROVINCE_RED", f"{JIANGSU}/js-1/4/CLOSE_CONTACT")])
    assert decision.next_change_time == red.end_time
    assert decided(red, at=red.end_time).colour is Colour.GREEN


def test_a_later_record_of_the_same_province_replaces_it_and_green_delists():
    yellow = listing("a", JIANGSU, Colour.YELLOW, NOW - timedelta(hours=3), "js-1")
    red = listing("b", JIANGSU, Colour.RED, NOW - timedelta(hours=2), "js-2")
    assert [r.code for r in decided(yellow, red).reasons] == ["PEER_PROVINCE_RED"]
    delisted = listing("c", JIANGSU, Colour.GREEN, NOW - timedelta(hours=1), "js-3")
    assert (decided(yellow, red, delisted).colour, decided(yellow, red, delisted).reasons) == (Colour.GREEN, ())
    # Within one batch, the later record counts.
    same_batch = [listing("d", JIANGSU, Colour.RED, NOW, "js-4", 0), listing("e", JIANGSU, Colour.GREEN, NOW, "js-4", 1)]
    assert decided(*same_batch).colour is Colour.GREEN


def test_another_provinces_delisting_leaves_the_listing_standing():
    red = listing("a", JIANGSU, Colour.RED, NOW - timedelta(hours=2), "js-1")
    other = listing("b", SHANGHAI, Colour.GREEN, NOW - timedelta(hours=1), "sh-1")
    assert [r.code for r in decided(red, other).reasons] == ["PEER_PROVINCE_RED"]


def test_a_rule_set_that_does_not_name_the_finding_does_not_count_it():
    document = json.loads((SHIPPED / "hubei-2020.json").read_text())
    del document["findings"]["PEER_PROVINCE_RED"]
    rules = parse_rule_set("420000", 2, NOW - timedelta(days=1), json.dumps(document))
    red = listing("a", JIANGSU, Colour.RED, NOW - timedelta(hours=1), "js-1")
    assert decide(Evidence(NOW - timedelta(days=1), (red,)), rules, NOW).colour is Colour.GREEN


def test_by_the_provinces_own_sequence_a_delayed_older_word_does_not_undo_a_newer_one():
    newer_green = Fact("b", FactKind.PEER_PROVINCE_LISTING, NOW - timedelta(hours=2), None, colour=Colour.GREEN,
                       reason_code="RELEASED", origin_province=JIANGSU, provenance="js-9/0", list_sequence=8)
    older_red = Fact("a", FactKind.PEER_PROVINCE_LISTING, NOW - timedelta(hours=1), NOW + timedelta(days=6),
                     colour=Colour.RED, reason_code="CLOSE_CONTACT", origin_province=JIANGSU, provenance="js-8/0",
                     list_sequence=7)
    assert decided(newer_green, older_red).colour is Colour.GREEN
    newer_red = Fact("c", FactKind.PEER_PROVINCE_LISTING, NOW - timedelta(hours=1), NOW + timedelta(days=6),
                     colour=Colour.RED, reason_code="CLOSE_CONTACT", origin_province=JIANGSU, provenance="js-10/0",
                     list_sequence=9)
    assert [r.code for r in decided(newer_green, newer_red).reasons] == ["PEER_PROVINCE_RED"]
