"""What status gives checkpoints and other provinces: codes that carry the federation person
reference, fevers reported by the code shown, and the list of stale codes for offline snapshots."""

from __future__ import annotations

from datetime import timedelta

import grpc
from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.codes import read_code
from tests.support.status import (NATIONAL_ONLY, diagnosis, every_colour_change, fact, feed_head, later, person_in, record,
                                  reference_of, status_of)
from tests.support import error_details, refused

YELLOW = common_pb2.COLOUR_YELLOW


async def issue(status_env, person_id: str) -> pb.IssueCodeResponse:
    return await status_env.stub.IssueCode(pb.IssueCodeRequest(person_id=person_id))


async def code_id_of(status_env, person_id: str) -> str:
    return read_code((await issue(status_env, person_id)).payload).claims.code_id.hex()


def fever_by_code(code_id: str, at, **fields) -> pb.Fact:
    return fact("", pb.FACT_KIND_FEVER_ON_SITE, at, code_id=code_id, temperature_celsius=38.4, **fields)


async def every_stale_code(status_env, page_size: int = 0) -> list[list[pb.StaleCode]]:
    """Every page of ListStaleCodes, in order."""
    pages, token = [], ""
    while True:
        response = await status_env.stub.ListStaleCodes(pb.ListStaleCodesRequest(page_size=page_size,
                                                                                 page_token=token))
        pages.append(list(response.codes))
        token = response.next_page_token
        if not token:
            return pages


async def stale_code_ids(status_env) -> set[str]:
    return {code.code_id for page in await every_stale_code(status_env, 1000) for code in page}


# Codes carry the person reference.

async def test_a_code_carries_the_persons_federation_reference(status_env, identity_env):
    person = await person_in(identity_env, NATIONAL_ONLY)

    claims = read_code((await issue(status_env, person)).payload).claims

    assert claims.person_ref == await reference_of(identity_env, person)
    assert len(claims.person_ref) == 16


async def test_a_person_enrolled_before_references_gets_one_from_identity_when_a_code_is_issued(
        status_env, identity_env, db):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)
    await db.execute("UPDATE status.persons SET person_ref = NULL WHERE person_id = $1", person)

    claims = read_code((await issue(status_env, person)).payload).claims

    reference = await reference_of(identity_env, person)
    assert claims.person_ref == reference
    assert await db.fetchval("SELECT person_ref FROM status.persons WHERE person_id = $1", person) == reference


async def test_no_code_is_issued_while_identity_has_no_reference_for_the_person(status_env, identity_env, db):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)
    await db.execute("UPDATE status.persons SET person_ref = NULL WHERE person_id = $1", person)
    await db.execute("UPDATE identity.persons SET federation_ref = NULL WHERE person_id = $1", person)

    error = await refused(issue(status_env, person))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(error)[0] == "PERSON_REFERENCE_MISSING"


# Fever on site, reported by the code shown.

async def test_a_fever_reported_by_code_id_turns_the_codes_holder_yellow(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    code_id = await code_id_of(status_env, person)

    response = await record(status_env, fever_by_code(code_id, clock.now()))

    assert (response.stored_count, response.outcomes[0].rejection_reason) == (1, "")
    status = await status_of(status_env, person)
    assert (status.colour, [r.code for r in status.reasons]) == (YELLOW, ["FEVER_ON_SITE"])


async def test_an_unknown_code_id_is_refused_on_its_row_and_the_good_rows_are_kept(status_env, identity_env, clock):
    by_code, by_id = [await person_in(identity_env, NATIONAL_ONLY) for _ in range(2)]
    code_id = await code_id_of(status_env, by_code)

    response = await record(status_env,
                            fever_by_code(code_id, clock.now()),
                            fever_by_code("ab" * 16, clock.now()),
                            fact(by_id, pb.FACT_KIND_FEVER_ON_SITE, clock.now(), temperature_celsius=38.0))

    assert [(o.rejection_reason, o.rejection_field) for o in response.outcomes] == [
        ("", ""), ("CODE_UNKNOWN", "facts[1].code_id"), ("", "")]
    assert response.stored_count == 2
    assert [(await status_of(status_env, p)).colour for p in (by_code, by_id)] == [YELLOW, YELLOW]


async def test_an_expired_code_no_longer_names_anyone(status_env, identity_env, clock):
    code_id = await code_id_of(status_env, await person_in(identity_env, NATIONAL_ONLY))

    with later(clock, timedelta(seconds=61)):
        response = await record(status_env, fever_by_code(code_id, clock.now()))

    assert (response.outcomes[0].rejection_reason, response.outcomes[0].rejection_field) == (
        "CODE_UNKNOWN", "facts[0].code_id")


async def test_only_a_fever_on_site_may_name_a_code(status_env, identity_env, clock):
    code_id = await code_id_of(status_env, await person_in(identity_env, NATIONAL_ONLY))

    response = await record(status_env, fact("", pb.FACT_KIND_DIAGNOSIS, clock.now(), code_id=code_id,
                                             diagnosis=pb.DIAGNOSIS_CONFIRMED))

    assert (response.outcomes[0].rejection_reason, response.outcomes[0].rejection_field) == (
        "CODE_ID_UNEXPECTED", "facts[0].code_id")
    assert response.stored_count == 0


async def test_a_fact_names_its_person_one_way_only(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    code_id = await code_id_of(status_env, person)

    response = await record(status_env, fact(person, pb.FACT_KIND_FEVER_ON_SITE, clock.now(), code_id=code_id,
                                             temperature_celsius=38.4))

    assert (response.outcomes[0].rejection_reason, response.outcomes[0].rejection_field) == (
        "CODE_ID_UNEXPECTED", "facts[0].code_id")


async def test_a_malformed_code_id_is_refused_on_its_row(status_env, clock):
    response = await record(status_env, fever_by_code("not-a-code", clock.now()))

    assert (response.outcomes[0].rejection_reason, response.outcomes[0].rejection_field) == (
        "CODE_ID_INVALID", "facts[0].code_id")


# Stale codes for offline snapshots.

async def test_a_code_is_listed_as_stale_once_its_persons_status_changes_and_not_before(
        status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    issued = await issue(status_env, person)
    code_id = read_code(issued.payload).claims.code_id.hex()
    before = await stale_code_ids(status_env)

    await record(status_env, diagnosis(person, pb.DIAGNOSIS_CLOSE_CONTACT, clock.now()))

    pages = await every_stale_code(status_env, 1000)
    listed = {code.code_id: code for page in pages for code in page}
    assert code_id not in before
    assert code_id in listed
    assert listed[code_id].expire_time == issued.expire_time


async def test_a_code_issued_after_the_change_is_not_stale(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_CLOSE_CONTACT, clock.now()))

    code_id = await code_id_of(status_env, person)

    assert code_id not in await stale_code_ids(status_env)


async def test_an_expired_stale_code_is_not_listed(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    code_id = await code_id_of(status_env, person)
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_CLOSE_CONTACT, clock.now()))

    with later(clock, timedelta(seconds=61)):
        listed = await stale_code_ids(status_env)

    assert code_id not in listed


async def test_stale_codes_come_in_pages_in_code_id_order(status_env, identity_env, clock):
    persons = [await person_in(identity_env, NATIONAL_ONLY) for _ in range(3)]
    mine = {await code_id_of(status_env, person) for person in persons}
    await record(status_env, *(diagnosis(p, pb.DIAGNOSIS_CLOSE_CONTACT, clock.now()) for p in persons))

    pages = await every_stale_code(status_env, page_size=2)

    listed = [code.code_id for page in pages for code in page]
    assert len(pages) >= 2
    assert all(len(page) <= 2 for page in pages)
    assert listed == sorted(set(listed))
    assert mine <= set(listed)


async def test_a_page_token_not_issued_by_status_is_refused(status_env):
    error = await refused(status_env.stub.ListStaleCodes(pb.ListStaleCodesRequest(page_token="zz")))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error) == ("PAGE_TOKEN_INVALID", ["page_token"])


# The exporter's feed: colour changes in commit order.

async def test_colour_changes_come_in_commit_order_a_page_at_a_time_for_the_provinces_asked(
        status_env, identity_env, clock):
    head = await feed_head(status_env, [NATIONAL_ONLY])
    ours = [await person_in(identity_env, NATIONAL_ONLY) for _ in range(3)]
    elsewhere = await person_in(identity_env, "530000")
    green = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, green)  # enrolled green: no colour change
    for person in [*ours, elsewhere]:
        await record(status_env, diagnosis(person, pb.DIAGNOSIS_SECONDARY_CONTACT, clock.now()))
    changes = await every_colour_change(status_env, head, [NATIONAL_ONLY], page_size=2)
    refs = [await reference_of(identity_env, person) for person in ours]
    mine = [c for c in changes if bytes(c.person_ref) in refs]
    assert [bytes(c.person_ref) for c in mine] == refs  # in the order they changed, each once
    # Each one's first status (enrolled by the fact itself), yellow from the start: a change to list.
    assert all((c.colour, c.province_code) == (YELLOW, NATIONAL_ONLY) for c in mine)
    assert mine[0].reason == "SECONDARY_CONTACT"
    assert [c.sequence for c in changes] == sorted(c.sequence for c in changes)
    assert await reference_of(identity_env, elsewhere) not in {bytes(c.person_ref) for c in changes}
    assert await reference_of(identity_env, green) not in {bytes(c.person_ref) for c in changes}


async def test_bad_colour_change_requests_name_the_field(status_env):
    cases = {"after_sequence": pb.ListColourChangesRequest(after_sequence=-1, province_codes=["420000"]),
             "page_size": pb.ListColourChangesRequest(page_size=-1, province_codes=["420000"]),
             "province_codes": pb.ListColourChangesRequest(),
             "province_codes[1]": pb.ListColourChangesRequest(province_codes=["420000", "12345x"])}
    for field, request in cases.items():
        error = await refused(status_env.stub.ListColourChanges(request))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_details(error)[1] == [field]
