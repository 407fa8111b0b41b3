"""An authority retracts or amends its own fact by record id: the colour follows in the same
transaction, the fact as it was is kept, and the correction shows in the person's history."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import uuid
from datetime import timedelta

import grpc
from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.status.audit import AuditChain, shard_of
from tests.support.status import NATIONAL_ONLY, diagnosis, fact, later, person_in, record, status_of
from tests.support import error_details, refused, timestamp

GREEN, RED = common_pb2.COLOUR_GREEN, common_pb2.COLOUR_RED


def retraction(recorded: pb.Fact, request_id: str | None = None, authority: str = "") -> pb.RetractFactRequest:
    return pb.RetractFactRequest(
        person_id=recorded.person_id, authority=authority or recorded.authority,
        authority_record_id=recorded.authority_record_id, reason="sample mixed up at the laboratory",
        legal_basis="传染病防治法 第三十八条",
        request_id=f"retract-{recorded.authority_record_id}" if request_id is None else request_id)


def amendment(recorded: pb.Fact, request_id: str | None = None, **fields) -> pb.AmendFactRequest:
    amended = pb.Fact()
    amended.CopyFrom(recorded)
    for name in ("person_id", "authority", "authority_record_id"):
        amended.ClearField(name)
    for name, value in fields.items():
        if name == "effective_time":
            amended.effective_time.CopyFrom(value)
        else:
            setattr(amended, name, value)
    return pb.AmendFactRequest(
        person_id=recorded.person_id, authority=recorded.authority, authority_record_id=recorded.authority_record_id,
        fact=amended, reason="wrong result typed in", legal_basis="检验结果更正 规程 4.2",
        request_id=request_id or f"amend-{secrets.token_hex(6)}")


async def red_by_diagnosis(status_env, identity_env, clock) -> pb.Fact:
    person = await person_in(identity_env, NATIONAL_ONLY)
    recorded = diagnosis(person, pb.DIAGNOSIS_CONFIRMED, clock.now() - timedelta(hours=1))
    await record(status_env, recorded)
    assert (await status_of(status_env, person)).colour == RED
    return recorded


async def facts_rows(status_env, person: str) -> list:
    return await status_env.parts.repository.pool.fetch(
        "SELECT fact_id, retract_time FROM status.facts WHERE person_id = $1", person)


async def test_a_retracted_fact_turns_the_colour_back_and_is_kept_as_superseded(status_env, identity_env, clock):
    recorded = await red_by_diagnosis(status_env, identity_env, clock)
    response = await status_env.stub.RetractFact(retraction(recorded))
    assert response.status.colour == GREEN and not response.duplicate
    assert response.correction.kind == pb.CORRECTION_KIND_FACT_RETRACTED
    rows = await facts_rows(status_env, recorded.person_id)
    assert len(rows) == 1 and rows[0]["retract_time"] is not None  # kept, not deleted
    superseded = await status_env.parts.repository.pool.fetchval(
        "SELECT superseded FROM status.corrections WHERE correction_id = $1", response.correction.correction_id)
    assert superseded and b"kind" not in superseded  # what it said is kept, sealed


async def test_the_history_names_the_correction_its_authority_and_legal_basis(status_env, identity_env, clock):
    recorded = await red_by_diagnosis(status_env, identity_env, clock)
    await status_env.stub.RetractFact(retraction(recorded))
    changes = (await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(
        person_id=recorded.person_id))).changes
    latest = changes[0]
    assert (latest.cause, latest.previous_colour, latest.colour) == (pb.CHANGE_CAUSE_CORRECTION, RED, GREEN)
    assert list(latest.officer_ids) == ["test-cdc"] and latest.legal_basis == "传染病防治法 第三十八条"
    assert (latest.correction.record_id, latest.correction.actor, latest.correction.reason) == (
        recorded.authority_record_id, "test-cdc", "sample mixed up at the laboratory")
    assert not changes[1].HasField("correction")


async def test_an_amended_test_result_moves_the_colour_and_names_the_field(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    recorded = fact(person, pb.FACT_KIND_NUCLEIC_ACID_TEST, clock.now() - timedelta(hours=2),
                    test_result=pb.TEST_RESULT_POSITIVE)
    await record(status_env, recorded)
    assert (await status_of(status_env, person)).colour != GREEN
    response = await status_env.stub.AmendFact(amendment(recorded, test_result=pb.TEST_RESULT_NEGATIVE))
    assert response.status.colour == GREEN
    assert list(response.correction.changed_fields) == ["test_result"]
    latest = (await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(person_id=person))).changes[0]
    assert latest.cause == pb.CHANGE_CAUSE_CORRECTION and list(latest.correction.changed_fields) == ["test_result"]


async def test_an_amendment_that_changes_no_colour_is_still_in_the_history(status_env, identity_env, clock):
    recorded = await red_by_diagnosis(status_env, identity_env, clock)
    before = await status_of(status_env, recorded.person_id)
    response = await status_env.stub.AmendFact(amendment(
        recorded, effective_time=timestamp(clock.now() - timedelta(hours=3))))
    assert response.status.colour == RED and response.status.version == before.version + 1
    assert list(response.correction.changed_fields) == ["effective_time"]
    latest = (await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(
        person_id=recorded.person_id))).changes[0]
    assert (latest.cause, latest.correction.kind) == (pb.CHANGE_CAUSE_CORRECTION, pb.CORRECTION_KIND_FACT_AMENDED)


async def test_another_authority_cannot_retract_the_fact(status_env, identity_env, clock):
    recorded = await red_by_diagnosis(status_env, identity_env, clock)
    error = await refused(status_env.stub.RetractFact(retraction(recorded, authority="other-cdc")))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_details(error)[0] == "FACT_OF_ANOTHER_AUTHORITY"
    assert (await status_of(status_env, recorded.person_id)).colour == RED


async def test_a_retried_retraction_is_applied_once(status_env, identity_env, clock):
    recorded = await red_by_diagnosis(status_env, identity_env, clock)
    first, second = await asyncio.gather(status_env.stub.RetractFact(retraction(recorded)),
                                         status_env.stub.RetractFact(retraction(recorded)))
    assert first.correction.correction_id == second.correction.correction_id
    assert sorted([first.duplicate, second.duplicate]) == [False, True]
    count = await status_env.parts.repository.pool.fetchval(
        "SELECT count(*) FROM status.audit_log WHERE person_id = $1 AND cause = 20", recorded.person_id)
    assert count == 1


async def test_of_a_concurrent_retraction_and_amendment_the_second_sees_the_first(status_env, identity_env, clock):
    recorded = await red_by_diagnosis(status_env, identity_env, clock)
    results = await asyncio.gather(
        status_env.stub.RetractFact(retraction(recorded)),
        status_env.stub.AmendFact(amendment(recorded, diagnosis=pb.DIAGNOSIS_CLOSE_CONTACT)),
        return_exceptions=True)
    applied = [r for r in results if not isinstance(r, Exception)]
    failed = [r for r in results if isinstance(r, Exception)]
    corrections = await status_env.parts.repository.pool.fetchval(
        "SELECT count(*) FROM status.corrections WHERE person_id = $1", recorded.person_id)
    entries = await status_env.parts.repository.pool.fetchval(
        "SELECT count(*) FROM status.audit_log WHERE person_id = $1 AND cause = 20", recorded.person_id)
    # Serialised on the fact's row: an amendment after the retraction is refused; a retraction after
    # the amendment retracts the amended fact. Either way nothing is lost and each applied one is audited.
    assert corrections == entries == len(applied)
    assert all(error_details(e)[0] == "FACT_RETRACTED" for e in failed)
    assert (await facts_rows(status_env, recorded.person_id))[0]["retract_time"] is not None
    assert (await status_of(status_env, recorded.person_id)).colour == GREEN


async def test_an_amendment_after_a_retraction_is_refused(status_env, identity_env, clock):
    recorded = await red_by_diagnosis(status_env, identity_env, clock)
    await status_env.stub.RetractFact(retraction(recorded))
    error = await refused(status_env.stub.AmendFact(amendment(recorded, diagnosis=pb.DIAGNOSIS_CLOSE_CONTACT)))
    assert (error.code(), error_details(error)[0]) == (grpc.StatusCode.FAILED_PRECONDITION, "FACT_RETRACTED")


async def test_bad_corrections_name_their_field(status_env, identity_env, clock):
    recorded = await red_by_diagnosis(status_env, identity_env, clock)
    cases = [
        (retraction(recorded, request_id=""), "request_id"),
        (pb.RetractFactRequest(person_id="nope", authority="test-cdc", authority_record_id="r", reason="x",
                               legal_basis="y", request_id="q"), "person_id"),
        (amendment(recorded, kind=pb.FACT_KIND_QUARANTINE_ORDER, diagnosis=0, place=pb.QUARANTINE_PLACE_HOME),
         "fact.kind"),
        (amendment(recorded), "fact"),
        (amendment(recorded, diagnosis=99), "fact.diagnosis"),
        (amendment(recorded, effective_time=timestamp(clock.now() + timedelta(days=2))), "fact.effective_time"),
    ]
    no_reason = retraction(recorded)
    no_reason.reason = ""
    cases.append((no_reason, "reason"))
    for request, field in cases:
        call = (status_env.stub.RetractFact(request) if isinstance(request, pb.RetractFactRequest)
                else status_env.stub.AmendFact(request))
        error = await refused(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (field, error)
        assert error_details(error)[1] == [field], (field, error_details(error))


async def test_an_unknown_record_is_not_found(status_env, identity_env, clock):
    recorded = await red_by_diagnosis(status_env, identity_env, clock)
    request = retraction(recorded)
    request.authority_record_id = "never-recorded"
    error = await refused(status_env.stub.RetractFact(request))
    assert (error.code(), error_details(error)[0]) == (grpc.StatusCode.NOT_FOUND, "FACT_NOT_FOUND")


async def test_a_correction_entry_is_chained_and_an_edited_correction_id_is_caught(status_env, identity_env, clock):
    recorded = await red_by_diagnosis(status_env, identity_env, clock)
    await status_env.stub.RetractFact(retraction(recorded))
    repository = status_env.parts.repository
    chain = AuditChain(status_env.settings.audit_key)
    async with repository.snapshot() as snapshot:
        entries = await snapshot.audit_chain(shard_of(recorded.person_id), 0, 1_000_000)
    entry, previous, entry_hash = next(row for row in reversed(entries) if row[0].person_id == recorded.person_id)
    assert entry.correction_id and chain.link(previous, entry) == entry_hash
    assert chain.link(previous, dataclasses.replace(entry, correction_id=str(uuid.uuid4()))) != entry_hash


async def test_what_a_corrected_fact_said_goes_after_the_fact_retention_and_the_correction_stays(
        status_env, identity_env, clock):
    recorded = await red_by_diagnosis(status_env, identity_env, clock)
    response = await status_env.stub.RetractFact(retraction(recorded))
    with later(clock, status_env.settings.fact_retention + timedelta(days=1)):
        await status_env.parts.retention.purge()
    pool = status_env.parts.repository.pool
    assert await facts_rows(status_env, recorded.person_id) == []
    row = await pool.fetchrow("SELECT superseded, reason FROM status.corrections WHERE correction_id = $1",
                              response.correction.correction_id)
    assert (row["superseded"], row["reason"]) == (None, "sample mixed up at the laboratory")
    latest = (await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(
        person_id=recorded.person_id))).changes[0]
    assert latest.correction.correction_id == response.correction.correction_id
