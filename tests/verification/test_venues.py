"""Venues (场所码): registration, rotating codes, visits, contact tracing reported to status, retention."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import grpc
import pytest
from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2
from healthcode.verification.v1 import verification_pb2 as pb
from healthcode.verification.v1 import verification_pb2_grpc as pb_grpc

from services.runtime.clients import open_channel
from services.runtime.database import migrate
from services.runtime.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from services.runtime.server import App
from services.verification.venues import model as venues
from services.verification.clients import AUTHORITY, StatusContactReporter
from services.verification.venues.book import VenueBook, VenuePolicy
from services.verification.venues.repository import VenueRepository
from services.verification.venues.servicer import VenueServicer
from tests.support.status import diagnosis, grant, person_in, record, status_of
from tests.support import ManualClock, error_details, refused
from tests.support.platform import hosted

MIGRATIONS = Path(venues.__file__).parent.parent / "migrations"
QINGHAI = "630000"  # ships no rules of its own: the national rule set decides
GREEN, YELLOW, RED = common_pb2.COLOUR_GREEN, common_pb2.COLOUR_YELLOW, common_pb2.COLOUR_RED
ROTATION = VenuePolicy().rotation
# The contact tracer every trace here runs as (a Qinghai officer), and the basis given.
TRACER = "630000.tracer-venues"
BASIS = "《传染病防治法》第十二条; 青海省卫健委流调令 2026-17"
CONTACT_TRACER = status_pb2.OFFICER_ROLE_CONTACT_TRACER


async def trace(book: VenueBook, case: str, window: int, since, include_secondary: bool, trace_id: str, *,
                tracer_id: str = TRACER, legal_basis: str = BASIS) -> tuple[list[str], list[str]]:
    return await book.trace_contacts(case, window, since, include_secondary, trace_id, tracer_id=tracer_id,
                                     legal_basis=legal_basis)


async def diagnosed(status_env, clock, person_id: str, which: int = status_pb2.DIAGNOSIS_CONFIRMED) -> str:
    """The person, now a case: a CDC's diagnosis recorded in status."""
    await record(status_env, diagnosis(person_id, which, clock.now() - timedelta(hours=1)))
    return person_id


@pytest.fixture(scope="module")
async def book(database_url, db, clock, status_env) -> AsyncIterator[VenueBook]:
    await migrate(database_url, "verification", MIGRATIONS)
    channel = open_channel(status_env.server.address)
    await grant(status_env, TRACER, QINGHAI, CONTACT_TRACER)
    yield VenueBook(VenueRepository(db), StatusContactReporter(channel), secrets.token_bytes(32), VenuePolicy(),
                    clock)
    await channel.close()


async def new_venue(book: VenueBook, category: int = venues.VenueCategory.RESTAURANT) -> str:
    return (await book.register_venue("老王面馆", "630102", category, "")).venue_id


async def code_at(book: VenueBook, clock: ManualClock, venue_id: str, moment: datetime) -> str:
    with clock.at(moment):
        return (await book.venue_code(venue_id))[0]


async def scan(book: VenueBook, clock: ManualClock, person_id: str, venue_id: str, moment: datetime, *,
               code_from: datetime | None = None, request_id: str = "") -> venues.VisitRecord:
    """The person scans the venue's code at `moment`; the code was made then, or at `code_from`
    (an older code: a forwarded photo)."""
    payload = await code_at(book, clock, venue_id, code_from or moment)
    with clock.at(moment):
        return await book.record_visit(person_id, payload, request_id)


async def visits_of(db, person_id: str) -> int:
    return await db.fetchval("SELECT count(*) FROM verification.visits WHERE person_id = $1", uuid.UUID(person_id))


def next_period_start(moment: datetime) -> datetime:
    return venues.period_end(venues.period_of(moment, ROTATION), ROTATION)


# Registration


async def test_registering_again_with_the_same_request_id_answers_with_the_first_venue(book):
    request_id = f"venue-{secrets.token_hex(4)}"

    first = await book.register_venue("西宁站", "630104", venues.VenueCategory.TRANSPORT, request_id)
    again = await book.register_venue("西宁站", "630104", venues.VenueCategory.TRANSPORT, request_id)

    assert again == first


async def test_registering_without_a_request_id_makes_a_new_venue_each_time(book):
    first = await book.register_venue("西宁站", "630104", venues.VenueCategory.TRANSPORT, "")
    second = await book.register_venue("西宁站", "630104", venues.VenueCategory.TRANSPORT, "")

    assert first.venue_id != second.venue_id


async def test_a_request_id_reused_for_a_different_venue_is_refused(book):
    request_id = f"venue-{secrets.token_hex(4)}"
    await book.register_venue("西宁站", "630104", venues.VenueCategory.TRANSPORT, request_id)

    with pytest.raises(AlreadyExists) as clash:
        await book.register_venue("塔尔寺", "630123", venues.VenueCategory.OTHER, request_id)

    assert clash.value.reason == "REQUEST_ID_REUSED"


@pytest.mark.parametrize(("name", "area_code", "category", "field", "reason"), [
    ("", "630102", 1, "name", "VENUE_NAME_INVALID"),
    ("店" * 201, "630102", 1, "name", "VENUE_NAME_INVALID"),
    ("老王\x00面馆", "630102", 1, "name", "VENUE_NAME_INVALID"),
    ("老王面馆", "990102", 1, "area_code", "AREA_UNKNOWN"),
    ("老王面馆", "63010", 1, "area_code", "AREA_UNKNOWN"),
    ("老王面馆", "630102", 0, "category", "VENUE_CATEGORY_INVALID"),
    ("老王面馆", "630102", 8, "category", "VENUE_CATEGORY_INVALID"),
])
async def test_an_invalid_venue_is_refused_naming_the_field(book, name, area_code, category, field, reason):
    with pytest.raises(InvalidArgument) as refusal:
        await book.register_venue(name, area_code, category, "")

    assert (refusal.value.reason, [v.field for v in refusal.value.violations]) == (reason, [field])


async def test_a_name_of_exactly_200_characters_is_accepted(book):
    venue = await book.register_venue("店" * 200, "630102", venues.VenueCategory.RETAIL, "")

    assert len(venue.name) == 200


# Codes


async def test_the_venue_code_changes_each_period_and_expires_when_the_next_begins(book, clock):
    venue_id = await new_venue(book)
    start = next_period_start(clock.now())

    with clock.at(start):
        first, first_expiry = await book.venue_code(venue_id)
    with clock.at(start + ROTATION - timedelta(seconds=1)):
        same, _ = await book.venue_code(venue_id)
    with clock.at(start + ROTATION):
        next_one, next_expiry = await book.venue_code(venue_id)

    assert first == same != next_one
    assert (first_expiry, next_expiry) == (start + ROTATION, start + 2 * ROTATION)
    assert first.startswith(f"HCV1:{uuid.UUID(venue_id).hex}.")


async def test_a_code_of_an_unknown_venue_cannot_be_shown(book):
    with pytest.raises(NotFound) as missing:
        await book.venue_code(str(uuid.uuid4()))

    assert missing.value.reason == "VENUE_NOT_FOUND"


async def test_a_code_scanned_in_its_own_period_records_a_fresh_visit(book, clock, identity_env):
    person, venue_id = await person_in(identity_env, QINGHAI), await new_venue(book)

    visit = await scan(book, clock, person, venue_id, clock.now())

    assert (visit.person_id, visit.venue_id, visit.flagged) == (person, venue_id, False)


async def test_a_code_from_the_previous_period_records_a_fresh_visit(book, clock, identity_env):
    person, venue_id = await person_in(identity_env, QINGHAI), await new_venue(book)
    boundary = next_period_start(clock.now())

    visit = await scan(book, clock, person, venue_id, boundary + ROTATION - timedelta(seconds=1),
                       code_from=boundary - timedelta(seconds=1))

    assert visit.flagged is False


async def test_a_code_two_periods_old_records_a_flagged_visit(book, clock, identity_env, db):
    person, venue_id = await person_in(identity_env, QINGHAI), await new_venue(book)
    boundary = next_period_start(clock.now())

    visit = await scan(book, clock, person, venue_id, boundary + ROTATION, code_from=boundary - timedelta(seconds=1))

    assert visit.flagged is True
    assert await visits_of(db, person) == 1


async def test_a_code_from_a_future_period_records_a_flagged_visit(book, clock, identity_env):
    person, venue_id = await person_in(identity_env, QINGHAI), await new_venue(book)

    visit = await scan(book, clock, person, venue_id, clock.now(), code_from=clock.now() + ROTATION)

    assert visit.flagged is True


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda code: code[:-1] + ("A" if code[-1] != "A" else "B"), id="forged tag"),
    pytest.param(lambda code: code.rsplit(".", 1)[0] + ".", id="no tag"),
    pytest.param(lambda code: code[:-16] + code[-16:].lower(), id="lower-case tag"),
    pytest.param(lambda code: code.replace("HCV1:", "HCV2:"), id="other prefix"),
    pytest.param(lambda code: code + "=" * 4, id="padded tag"),
    pytest.param(lambda code: "HCV1:" + "0" * 32 + ".1.AAAAAAAAAAAAAAAA", id="made-up code"),
    pytest.param(lambda code: code + "\x00", id="trailing NUL"),
    pytest.param(lambda code: "HCV1:" + "9" * 5000, id="oversized"),
    pytest.param(lambda code: "", id="empty"),
])
async def test_a_forged_or_malformed_code_is_refused_and_records_nothing(book, clock, identity_env, db, tamper):
    person, venue_id = await person_in(identity_env, QINGHAI), await new_venue(book)
    code = (await book.venue_code(venue_id))[0]

    with pytest.raises(InvalidArgument) as refusal:
        await book.record_visit(person, tamper(code), "")

    assert (refusal.value.reason, [v.field for v in refusal.value.violations]) == ("VENUE_CODE_INVALID",
                                                                                  ["venue_code"])
    assert await visits_of(db, person) == 0


async def test_a_code_of_another_period_with_this_periods_tag_is_refused(book, clock, identity_env, db):
    person, venue_id = await person_in(identity_env, QINGHAI), await new_venue(book)
    prefix, period, tag = (await book.venue_code(venue_id))[0].split(".")

    with pytest.raises(InvalidArgument):
        await book.record_visit(person, f"{prefix}.{int(period) + 1}.{tag}", "")

    assert await visits_of(db, person) == 0


async def test_a_code_signed_with_another_key_is_refused(book, clock, identity_env):
    person, venue_id = await person_in(identity_env, QINGHAI), await new_venue(book)
    other = venues.venue_code(secrets.token_bytes(32), venue_id, venues.period_of(clock.now(), ROTATION))

    with pytest.raises(InvalidArgument):
        await book.record_visit(person, other, "")


async def test_a_genuine_code_of_a_venue_not_registered_here_is_not_found(book, clock, identity_env):
    person = await person_in(identity_env, QINGHAI)
    code = venues.venue_code(book._key, str(uuid.uuid4()), venues.period_of(clock.now(), ROTATION))

    with pytest.raises(NotFound) as missing:
        await book.record_visit(person, code, "")

    assert missing.value.reason == "VENUE_NOT_FOUND"


async def test_an_invalid_person_id_is_refused_naming_it(book, clock):
    code = (await book.venue_code(await new_venue(book)))[0]

    with pytest.raises(InvalidArgument) as refusal:
        await book.record_visit("someone", code, "")

    assert [v.field for v in refusal.value.violations] == ["person_id"]


# Visits


async def test_scanning_again_with_the_same_request_id_records_one_visit(book, clock, identity_env, db):
    person, venue_id = await person_in(identity_env, QINGHAI), await new_venue(book)
    code = (await book.venue_code(venue_id))[0]

    first = await book.record_visit(person, code, "scan-1")
    with clock.at(clock.now() + timedelta(seconds=30)):
        again = await book.record_visit(person, code, "scan-1")

    assert again == first
    assert await visits_of(db, person) == 1


async def test_the_same_request_id_of_another_person_is_another_visit(book, clock, identity_env):
    venue_id = await new_venue(book)
    code = (await book.venue_code(venue_id))[0]

    one = await book.record_visit(await person_in(identity_env, QINGHAI), code, "scan-1")
    two = await book.record_visit(await person_in(identity_env, QINGHAI), code, "scan-1")

    assert one.visit_id != two.visit_id


async def test_a_request_id_reused_for_another_venue_is_refused(book, clock, identity_env):
    person = await person_in(identity_env, QINGHAI)
    await book.record_visit(person, (await book.venue_code(await new_venue(book)))[0], "scan-1")

    with pytest.raises(AlreadyExists) as clash:
        await book.record_visit(person, (await book.venue_code(await new_venue(book)))[0], "scan-1")

    assert clash.value.reason == "REQUEST_ID_REUSED"


# Tracing: refused requests


@pytest.mark.parametrize(("change", "field", "reason"), [
    ({"case_person_id": "nobody"}, "case_person_id", "PERSON_ID_INVALID"),
    ({"window_minutes": -1}, "window_minutes", "WINDOW_INVALID"),
    ({"window_minutes": 721}, "window_minutes", "WINDOW_INVALID"),
    ({"since": "future"}, "since_time", "SINCE_TIME_INVALID"),
    ({"trace_id": "a trace"}, "trace_id", "TRACE_ID_INVALID"),
    ({"trace_id": "t" * 65}, "trace_id", "TRACE_ID_INVALID"),
])
async def test_an_invalid_trace_request_is_refused_naming_the_field(book, clock, change, field, reason):
    arguments = {"case_person_id": str(uuid.uuid4()), "window_minutes": 0, "since": None,
                 "include_secondary": False, "trace_id": ""} | change
    if arguments["since"] == "future":
        arguments["since"] = clock.now() + timedelta(minutes=1)

    with pytest.raises(InvalidArgument) as refusal:
        await book.trace_contacts(**arguments, tracer_id=TRACER, legal_basis=BASIS)

    assert (refusal.value.reason, [v.field for v in refusal.value.violations]) == (reason, [field])


async def test_a_case_without_visits_has_no_contacts(book, status_env, identity_env, clock):
    case = await diagnosed(status_env, clock, await person_in(identity_env, QINGHAI))

    assert await trace(book, case, 0, None, True, "") == ([], [])


async def test_an_asymptomatic_case_is_traced_too(book, status_env, identity_env, clock):
    case = await diagnosed(status_env, clock, await person_in(identity_env, QINGHAI), status_pb2.DIAGNOSIS_ASYMPTOMATIC)

    assert await trace(book, case, 0, None, True, "") == ([], [])


async def test_tracing_from_a_person_never_diagnosed_is_refused(book, status_env, identity_env, clock):
    suspected = await person_in(identity_env, QINGHAI)
    await record(status_env, diagnosis(suspected, status_pb2.DIAGNOSIS_SUSPECTED, clock.now() - timedelta(hours=1)))

    for case in (await person_in(identity_env, QINGHAI), suspected):
        with pytest.raises(FailedPrecondition) as refusal:
            await trace(book, case, 60, None, True, "")
        assert refusal.value.reason == "CASE_NOT_DIAGNOSED"


async def test_tracing_by_an_officer_without_the_tracer_role_in_the_cases_province_is_refused(
        book, status_env, identity_env, clock):
    case = await diagnosed(status_env, clock, await person_in(identity_env, QINGHAI))
    await grant(status_env, "110000.tracer-beijing", "110000", CONTACT_TRACER)

    for tracer, reason in (("630000.not-a-tracer", "OFFICER_ROLE_MISSING"),
                           ("110000.tracer-beijing", "OFFICER_PROVINCE_MISMATCH")):
        with pytest.raises(PermissionDenied) as refusal:
            await trace(book, case, 60, None, True, "", tracer_id=tracer)
        assert refusal.value.reason == reason


async def test_tracing_without_a_legal_basis_is_refused_naming_the_field(book, status_env, identity_env, clock):
    case = await diagnosed(status_env, clock, await person_in(identity_env, QINGHAI))

    with pytest.raises(InvalidArgument) as refusal:
        await trace(book, case, 60, None, True, "", legal_basis=" ")

    assert [v.field for v in refusal.value.violations] == ["legal_basis"]


# Tracing: a simulated day


@dataclass
class Day:
    """Who was where on one day, and what tracing the case found (window 60 minutes, with secondary)."""

    noon: datetime
    case: str
    persons: dict[str, str]
    close: list[str]
    secondary: list[str]
    trace_id: str

    def ids(self, *names: str) -> list[str]:
        return sorted(self.persons[name] for name in names)


@pytest.fixture(scope="module")
async def day(book, clock, identity_env, status_env) -> Day:
    """A day that ended an hour before now, at five venues.

    The case ate at the restaurant at 12:00 and was at the office at 09:00; its 15:00
    visit to the shop was made with a forwarded photo of an old code (flagged).
    """
    noon = clock.now() - timedelta(hours=13)
    restaurant, office, shop, station, park = [await new_venue(book, category) for category in (
        venues.VenueCategory.RESTAURANT, venues.VenueCategory.OFFICE, venues.VenueCategory.RETAIL,
        venues.VenueCategory.TRANSPORT, venues.VenueCategory.OTHER)]

    def h(hours: int, minutes: int = 0, seconds: int = 0) -> datetime:
        return noon + timedelta(hours=hours, minutes=minutes, seconds=seconds)

    forwarded = timedelta(minutes=20)  # how old a forwarded photo's code is
    names = ["case", "edge_before", "past_edge_before", "edge_after", "past_edge_after", "at_lunch",
             "flagged_at_lunch", "office_later", "office_earlier", "office_and_lunch", "at_shop_with_flagged_case",
             "station_at_noon", "restaurant_yesterday",
             "station_after_edge_before", "station_past_window", "shop_after_office_later",
             "near_flagged_at_lunch", "near_flagged_visit_of_contact", "office_after_edge_after",
             "shop_later_alone"] + [f"bystander_{i}" for i in range(10)]
    persons = {name: await person_in(identity_env, QINGHAI) for name in names}
    visits = [
        # The case.
        ("case", restaurant, h(0), None),
        ("case", office, h(-3), None),
        ("case", shop, h(3), h(3) - forwarded),                      # flagged: not one of the case's visits
        # Close contacts at the restaurant: the window's edges are inclusive.
        ("edge_before", restaurant, h(-1), None),                    # exactly 60 minutes before: close
        ("past_edge_before", restaurant, h(-1, 0, -1), None),        # 60 min 1 s before: not (secondary, below)
        ("edge_after", restaurant, h(1), None),                      # exactly 60 minutes after: close
        ("past_edge_after", restaurant, h(1, 0, 1), None),           # 60 min 1 s after: not (secondary, below)
        ("at_lunch", restaurant, h(0, 30), None),                    # close
        ("flagged_at_lunch", restaurant, h(0, 10), h(0, 10) - forwarded),  # flagged: not a contact
        # At the office.
        ("office_later", office, h(-3, 45), None),                   # close
        ("office_earlier", office, h(-3, -30), None),                # close
        ("office_and_lunch", office, h(-3), None),                   # close, twice over: once in the answer
        ("office_and_lunch", restaurant, h(0, 20), None),
        # Not contacts.
        ("at_shop_with_flagged_case", shop, h(3), None),             # only the case's flagged visit was there
        ("station_at_noon", station, h(0), None),                    # same time, another venue
        ("restaurant_yesterday", restaurant, h(-24), None),          # same place, another day
        # Contacts of the close contacts.
        ("edge_before", station, h(5), None),
        ("station_after_edge_before", station, h(5, 30), None),      # secondary
        ("station_past_window", station, h(6, 0, 1), None),          # 60 min 1 s later: not
        ("office_later", shop, h(1), None),
        ("shop_after_office_later", shop, h(1, 20), None),           # secondary
        ("flagged_at_lunch", park, h(4), None),                      # not a close contact, so:
        ("near_flagged_at_lunch", park, h(4, 10), None),             # not secondary
        ("office_earlier", park, h(-6), h(-6) - forwarded),          # a close contact's flagged visit:
        ("near_flagged_visit_of_contact", park, h(-6, 10), None),    # not secondary
        ("edge_after", office, h(2), None),
        ("office_after_edge_after", office, h(3), None),             # exactly 60 minutes later: secondary
        ("shop_later_alone", shop, h(4, 30), None),                  # nobody traced was there then
        # Close contacts meeting each other stay close contacts only.
        ("at_lunch", station, h(4, 50), None),
    ] + [(f"bystander_{i}", park, h(7, 5 * i), None) for i in range(10)]
    for name, venue_id, moment, code_from in visits:
        visit = await scan(book, clock, persons[name], venue_id, moment, code_from=code_from)
        assert visit.flagged is (code_from is not None)
    trace_id = f"day-{secrets.token_hex(4)}"
    await diagnosed(status_env, clock, persons["case"])
    close, secondary = await trace(book, persons["case"], 60, None, True, trace_id)
    return Day(noon, persons["case"], persons, close, secondary, trace_id)


async def test_tracing_finds_exactly_the_close_contacts(day):
    assert day.close == day.ids("edge_before", "edge_after", "at_lunch", "office_later", "office_earlier",
                                "office_and_lunch")


async def test_a_visit_exactly_at_the_window_edge_is_a_contact_and_one_second_beyond_is_not(day):
    assert set(day.ids("edge_before", "edge_after")) <= set(day.close)
    assert not set(day.ids("past_edge_before", "past_edge_after")) & set(day.close)


async def test_the_window_edge_is_inclusive_for_secondary_contacts_too(day):
    assert day.persons["office_after_edge_after"] in day.secondary
    assert day.persons["station_past_window"] not in day.secondary


async def test_flagged_visits_neither_make_contacts_nor_count_as_the_cases(day):
    traced = set(day.close + day.secondary)

    assert day.persons["flagged_at_lunch"] not in traced             # their own visit was flagged
    assert day.persons["at_shop_with_flagged_case"] not in traced    # the case's visit there was flagged
    assert day.persons["near_flagged_visit_of_contact"] not in traced  # a close contact's visit was flagged


async def test_the_case_is_not_its_own_contact(day):
    assert day.case not in day.close + day.secondary


async def test_secondary_contacts_are_exactly_the_close_contacts_contacts(day):
    # The two just outside the case's window met close contacts at the restaurant within theirs.
    assert day.secondary == day.ids("station_after_edge_before", "shop_after_office_later",
                                    "office_after_edge_after", "past_edge_before", "past_edge_after")


async def test_close_contacts_turn_red_and_secondary_contacts_yellow_in_status(day, status_env):
    colours = {name: (await status_of(status_env, day.persons[name])).colour
               for name in ("edge_before", "office_and_lunch", "shop_after_office_later", "past_edge_after",
                            "station_at_noon", "bystander_0")}

    assert colours == {"edge_before": RED, "office_and_lunch": RED, "shop_after_office_later": YELLOW,
                       "past_edge_after": YELLOW, "station_at_noon": GREEN, "bystander_0": GREEN}


async def test_each_contacts_change_names_the_trace_the_tracer_and_the_basis(day, status_env):
    for name, colour in (("edge_before", RED), ("past_edge_after", YELLOW)):
        changes = await status_env.stub.ListStatusChanges(status_pb2.ListStatusChangesRequest(
            person_id=day.persons[name]))
        latest = changes.changes[0]
        assert (latest.cause, latest.colour, latest.trace_id, list(latest.officer_ids), latest.legal_basis) == (
            status_pb2.CHANGE_CAUSE_CONTACT_TRACE, colour, day.trace_id, [TRACER], BASIS)


async def test_rerunning_the_same_trace_reports_nobody_twice(day, book, db):
    again = await trace(book, day.case, 60, None, True, day.trace_id)

    facts = await db.fetch(
        """SELECT person_id::text, count(*) FROM status.facts
           WHERE authority = $1 AND authority_record_id LIKE $2 || ':%' GROUP BY person_id""",
        AUTHORITY, day.trace_id)
    assert again == (day.close, day.secondary)
    assert {row[0]: row[1] for row in facts} == {person: 1 for person in day.close + day.secondary}


async def test_tracing_since_a_time_uses_only_the_cases_visits_from_then(day, book):
    close, _ = await trace(book, day.case, 60, day.noon - timedelta(hours=1), False, "")

    assert close == day.ids("edge_before", "edge_after", "at_lunch", "office_and_lunch")


async def test_a_narrower_window_finds_fewer_contacts(day, book):
    close, _ = await trace(book, day.case, 30, day.noon - timedelta(hours=1), False, "")

    assert close == day.ids("at_lunch", "office_and_lunch")


# Retention


async def test_visits_past_retention_are_purged_and_the_rest_kept(book, clock, identity_env, db):
    person, venue_id = await person_in(identity_env, QINGHAI), await new_venue(book)
    retention = book.policy.retention
    await scan(book, clock, person, venue_id, clock.now() - retention - timedelta(minutes=1))
    await scan(book, clock, person, venue_id, clock.now() - retention + timedelta(minutes=1))

    purged = await book.purge_visits()

    assert purged >= 1
    assert await db.fetchval(
        "SELECT count(*) FROM verification.visits WHERE visit_time < $1", clock.now() - retention) == 0
    assert await visits_of(db, person) == 1


def test_the_default_policy_keeps_visits_for_the_window_plus_grace():
    policy = VenuePolicy()

    assert (policy.rotation, policy.retention, policy.default_window, policy.max_window) == (
        timedelta(minutes=5), timedelta(days=16), timedelta(minutes=60), timedelta(hours=12))


# Transport


class _VenuesOnly(pb_grpc.VerificationServiceServicer):
    """VerificationService with its venue RPCs handed to VenueServicer (the checkpoint RPCs unimplemented)."""

    def __init__(self, venue_book: VenueBook) -> None:
        self._venues = VenueServicer(venue_book)

    async def RegisterVenue(self, request, context):
        return await self._venues.RegisterVenue(request, context)

    async def GetVenueCode(self, request, context):
        return await self._venues.GetVenueCode(request, context)

    async def RecordVisit(self, request, context):
        return await self._venues.RecordVisit(request, context)

    async def TraceContacts(self, request, context):
        return await self._venues.TraceContacts(request, context)


@pytest.fixture(scope="module")
async def stub(book) -> AsyncIterator[pb_grpc.VerificationServiceStub]:
    servicer = _VenuesOnly(book)
    app = App(name="verification",
              service_names=(pb.DESCRIPTOR.services_by_name["VerificationService"].full_name,),
              add_to_server=lambda server: pb_grpc.add_VerificationServiceServicer_to_server(servicer, server))
    async with hosted(app, grace=1) as server:
        channel = grpc.aio.insecure_channel(server.address)
        yield pb_grpc.VerificationServiceStub(channel)
        await channel.close()


async def test_a_venue_registered_over_grpc_shows_a_code_a_person_can_scan(stub, identity_env, clock):
    person = await person_in(identity_env, QINGHAI)

    venue = (await stub.RegisterVenue(pb.RegisterVenueRequest(
        name="西宁站", area_code="630104", category=pb.VENUE_CATEGORY_TRANSPORT, request_id="grpc-venue"))).venue
    code = await stub.GetVenueCode(pb.GetVenueCodeRequest(venue_id=venue.venue_id))
    visit = (await stub.RecordVisit(pb.RecordVisitRequest(person_id=person, venue_code=code.payload))).visit

    assert (venue.category, venue.create_time.ToDatetime().year) == (pb.VENUE_CATEGORY_TRANSPORT, clock.now().year)
    assert code.expire_time.ToSeconds() == int(next_period_start(clock.now()).timestamp())
    assert (visit.person_id, visit.venue_id, visit.flagged) == (person, venue.venue_id, False)


async def test_a_forged_code_over_grpc_is_invalid_argument_naming_venue_code(stub, identity_env):
    error = await refused(stub.RecordVisit(pb.RecordVisitRequest(
        person_id=await person_in(identity_env, QINGHAI), venue_code="HCV1:" + "0" * 32 + ".1.AAAAAAAAAAAAAAAA")))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error) == ("VENUE_CODE_INVALID", ["venue_code"])


async def test_tracing_over_grpc_answers_with_the_contacts(stub, day):
    response = await stub.TraceContacts(pb.TraceContactsRequest(
        case_person_id=day.case, window_minutes=60, include_secondary=True, trace_id=day.trace_id,
        tracer_id=TRACER, legal_basis=BASIS))

    assert (list(response.close_contact_person_ids), list(response.secondary_contact_person_ids)) == (
        day.close, day.secondary)


async def test_an_unknown_venue_over_grpc_is_not_found(stub):
    error = await refused(stub.GetVenueCode(pb.GetVenueCodeRequest(venue_id=str(uuid.uuid4()))))

    assert (error.code(), error_details(error)[0]) == (grpc.StatusCode.NOT_FOUND, "VENUE_NOT_FOUND")


async def test_a_contacts_visits_before_meeting_the_case_make_no_secondary_contacts(book, clock, identity_env,
                                                                                   status_env):
    """Whom a contact met before meeting the case could not have caught it from them."""
    case, contact, earlier, later = [await person_in(identity_env, "630000") for _ in range(4)]
    morning, lunch, evening = [await new_venue(book) for _ in range(3)]
    noon = clock.now().replace(minute=0, second=0) - timedelta(days=2)
    await scan(book, clock, contact, morning, noon - timedelta(hours=3))
    await scan(book, clock, earlier, morning, noon - timedelta(hours=3))
    await scan(book, clock, case, lunch, noon)
    await scan(book, clock, contact, lunch, noon)
    await scan(book, clock, contact, evening, noon + timedelta(hours=6))
    await scan(book, clock, later, evening, noon + timedelta(hours=6))
    await diagnosed(status_env, clock, case)
    close, secondary = await trace(book, case, 60, None, True, "")
    assert (close, secondary) == ([contact], [later])


async def test_the_same_trace_run_three_times_at_once_records_each_contact_once(book, clock, identity_env, status_env,
                                                                                db):
    case, contact = [await person_in(identity_env, QINGHAI) for _ in range(2)]
    venue = await new_venue(book)
    moment = clock.now().replace(minute=0, second=0) - timedelta(days=1)
    await scan(book, clock, case, venue, moment)
    await scan(book, clock, contact, venue, moment + timedelta(minutes=10))
    await diagnosed(status_env, clock, case)
    trace_id = f"rush-{secrets.token_hex(4)}"

    answers = await asyncio.gather(*(trace(book, case, 60, None, False, trace_id) for _ in range(3)))

    assert answers == [([contact], [])] * 3
    facts = await db.fetchval("SELECT count(*) FROM status.facts WHERE authority = $1 AND authority_record_id LIKE $2",
                              AUTHORITY, f"{trace_id}:%")
    changes = (await status_env.stub.ListStatusChanges(status_pb2.ListStatusChangesRequest(person_id=contact))).changes
    assert facts == 1
    assert [c.cause for c in changes].count(status_pb2.CHANGE_CAUSE_CONTACT_TRACE) == 1
    assert [c.version for c in changes] == sorted((c.version for c in changes), reverse=True)
