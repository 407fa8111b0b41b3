"""The status that is served is the status that was audited: a row edited in SQL is never served, signed
or believed as it is; it is decided again from the evidence, counted, and `verify-audit` names it."""

from __future__ import annotations

import uuid
import pytest
from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.codes import read_code
from services.status import commands
from services.status.deciding import BINDING_FAILURES
from services.status.model import ChangeCause
from tests.support.status import NATIONAL_ONLY, diagnosis, person_in, record, status_of

GREEN, RED = common_pb2.COLOUR_GREEN, common_pb2.COLOUR_RED
CURRENT, STALE = pb.CODE_STANDING_CURRENT, pb.CODE_STANDING_STALE


async def red_after_green_code(status_env, identity_env, clock) -> tuple[str, bytes]:
    """A person who was green (and got a code then) and is now red at version 2."""
    person = await person_in(identity_env, NATIONAL_ONLY)
    green_code = read_code((await status_env.stub.IssueCode(pb.IssueCodeRequest(person_id=person))).payload)
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_CONFIRMED, clock.now()))
    assert (await status_of(status_env, person)).colour == RED
    return person, green_code.claims.code_id


def failures(kind: str) -> float:
    return BINDING_FAILURES.labels(kind)._value.get()


@pytest.mark.parametrize("edit", [
    "colour = 1, display_colour = 'green', reasons = '[]'::jsonb",
    "version = version + 5",
    "valid_until = valid_until + interval '30 days'",
])
async def test_a_status_edited_in_sql_is_not_served_nor_signed(status_env, identity_env, clock, db, edit):
    person, _ = await red_after_green_code(status_env, identity_env, clock)
    before = failures("mismatch")
    await db.execute(f"UPDATE status.statuses SET {edit} WHERE person_id = $1", uuid.UUID(person))

    shown = await status_of(status_env, person)
    code = read_code((await status_env.stub.IssueCode(pb.IssueCodeRequest(person_id=person))).payload)

    assert (shown.colour, shown.version) == (RED, 2)
    assert (int(code.claims.national_colour), code.claims.status_version) == (RED, 2)
    assert failures("mismatch") == before + 1  # counted once: the first read re-decided and re-bound it
    assert [c.version for c in (await status_env.stub.ListStatusChanges(
        pb.ListStatusChangesRequest(person_id=person))).changes] == [2, 1]  # no change was invented


async def test_an_old_code_is_not_made_current_by_lowering_the_stored_version(status_env, identity_env, clock, db):
    person, green_code_id = await red_after_green_code(status_env, identity_env, clock)
    await db.execute("UPDATE status.statuses SET version = 1 WHERE person_id = $1", uuid.UUID(person))

    standing = await status_env.stub.GetCodeStanding(pb.GetCodeStandingRequest(code_ids=[green_code_id.hex()]))

    assert list(standing.standings) == [STALE]


async def test_an_old_row_put_back_with_its_own_binding_is_caught_by_verify_audit(
        status_env, identity_env, clock, db):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)
    green = await db.fetchrow("SELECT * FROM status.statuses WHERE person_id = $1", uuid.UUID(person))
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_CONFIRMED, clock.now()))
    # The green row, binding and all, copied back over the red one: its MAC still verifies.
    await db.execute("""UPDATE status.statuses SET version = $2, colour = $3, display_colour = $4, reasons = $5,
                            compute_time = $6, valid_until = $7, next_change_time = $8, audit_seq = $9, binding = $10
                        WHERE person_id = $1""", *[green[c] for c in (
        "person_id", "version", "colour", "display_colour", "reasons", "compute_time", "valid_until",
        "next_change_time", "audit_seq", "binding")])

    problems = await commands.verify_audit(status_env.settings)

    assert [p for p in problems if person in p] == [f"status of {person}: is not its newest audit entry"]
    await status_env.parts.decider.decide([person], ChangeCause.REVALIDATION)  # put right for the tests that follow
    assert not [p for p in await commands.verify_audit(status_env.settings) if person in p]


async def test_verify_audit_names_an_edited_status_row(status_env, identity_env, clock, db):
    person, _ = await red_after_green_code(status_env, identity_env, clock)
    await db.execute("UPDATE status.statuses SET colour = 1 WHERE person_id = $1", uuid.UUID(person))

    problems = await commands.verify_audit(status_env.settings)

    assert [p for p in problems if person in p] == [
        f"status of {person}: binding does not verify (edited or unbound)"]
    # A code reads the primary's row (a shown status may still come from memory, which holds the
    # version the chain bound): the edited row is replaced then.
    await status_env.stub.IssueCode(pb.IssueCodeRequest(person_id=person))
    assert not [p for p in await commands.verify_audit(status_env.settings) if person in p]


async def test_a_row_from_before_bindings_is_bound_on_its_next_read_without_a_new_version(
        status_env, identity_env, clock, db):
    person = await person_in(identity_env, NATIONAL_ONLY)
    await status_of(status_env, person)
    await db.execute("UPDATE status.statuses SET audit_seq = NULL, binding = NULL WHERE person_id = $1",
                     uuid.UUID(person))
    before = failures("missing")

    shown = await status_of(status_env, person)

    assert (shown.colour, shown.version) == (GREEN, 1)
    assert failures("missing") == before + 1
    assert await db.fetchval("SELECT binding IS NOT NULL FROM status.statuses WHERE person_id = $1",
                             uuid.UUID(person))
