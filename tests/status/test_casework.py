"""Appeals and manual overrides: reviewed by officers with the role, overrides by two of them."""

from __future__ import annotations

from datetime import timedelta

import grpc
from healthcode.common.v1 import common_pb2
from healthcode.status.v1 import status_pb2 as pb

from tests.support.status import NATIONAL_ONLY, diagnosis, grant, later, person_in, record, status_of
from tests.support import error_details, refused, timestamp

GREEN, YELLOW, RED = common_pb2.COLOUR_GREEN, common_pb2.COLOUR_YELLOW, common_pb2.COLOUR_RED
REVIEWER, OFFICER = pb.OFFICER_ROLE_APPEAL_REVIEWER, pb.OFFICER_ROLE_OVERRIDE_OFFICER


async def red_person(status_env, identity_env, clock) -> tuple[str, str]:
    """A person made red by a close-contact finding, and that finding's key."""
    person = await person_in(identity_env, NATIONAL_ONLY)
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_CLOSE_CONTACT, clock.now()))
    status = await status_of(status_env, person)
    assert status.colour == RED
    return person, status.reasons[0].finding_key


async def file(status_env, person: str, request_id: str = "") -> pb.Appeal:
    response = await status_env.stub.FileAppeal(pb.FileAppealRequest(
        person_id=person, category=pb.APPEAL_CATEGORY_DIAGNOSIS, statement="我没有接触过病例",
        evidence_refs=["doc-123"], request_id=request_id))
    return response.appeal


async def test_an_approved_appeal_dismisses_the_finding_and_the_colour_follows(status_env, identity_env, clock):
    person, key = await red_person(status_env, identity_env, clock)
    appeal = await file(status_env, person)
    assert (appeal.state, appeal.statement, list(appeal.evidence_refs)) == (
        pb.APPEAL_STATE_PENDING, "我没有接触过病例", ["doc-123"])
    await grant(status_env, "reviewer.wang", NATIONAL_ONLY, REVIEWER)
    decided = await status_env.stub.DecideAppeal(pb.DecideAppealRequest(
        appeal_id=appeal.appeal_id, reviewer_id="reviewer.wang", approve=True,
        decision_reason="contact tracing error", dismissed_finding_keys=[key]))
    assert decided.appeal.state == pb.APPEAL_STATE_APPROVED
    assert (decided.status.colour, list(decided.status.reasons)) == (GREEN, [])
    changes = await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(person_id=person))
    latest = changes.changes[0]
    assert (latest.cause, latest.colour, latest.previous_colour, list(latest.officer_ids)) == (
        pb.CHANGE_CAUSE_APPEAL, GREEN, RED, ["reviewer.wang"])


async def test_a_rejected_appeal_changes_nothing_and_cannot_be_decided_again(status_env, identity_env, clock):
    person, _ = await red_person(status_env, identity_env, clock)
    appeal = await file(status_env, person)
    await grant(status_env, "reviewer.li", NATIONAL_ONLY, REVIEWER)
    request = pb.DecideAppealRequest(appeal_id=appeal.appeal_id, reviewer_id="reviewer.li", approve=False,
                                     decision_reason="the contact is confirmed by two sources")
    decided = await status_env.stub.DecideAppeal(request)
    assert (decided.appeal.state, decided.status.colour) == (pb.APPEAL_STATE_REJECTED, RED)
    assert (await status_env.stub.DecideAppeal(request)).appeal.state == pb.APPEAL_STATE_REJECTED  # a retry
    await grant(status_env, "reviewer.zhao", NATIONAL_ONLY, REVIEWER)
    error = await refused(status_env.stub.DecideAppeal(pb.DecideAppealRequest(
        appeal_id=appeal.appeal_id, reviewer_id="reviewer.zhao", approve=False, decision_reason="again")))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_only_a_reviewer_of_the_persons_province_decides_an_appeal(status_env, identity_env, clock):
    person, key = await red_person(status_env, identity_env, clock)
    appeal = await file(status_env, person)
    await grant(status_env, "reviewer.elsewhere", "110000", REVIEWER)
    error = await refused(status_env.stub.DecideAppeal(pb.DecideAppealRequest(
        appeal_id=appeal.appeal_id, reviewer_id="reviewer.elsewhere", approve=True, decision_reason="x",
        dismissed_finding_keys=[key])))
    assert (error.code(), error_details(error)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "OFFICER_ROLE_MISSING")


async def test_an_approval_names_real_findings_of_the_current_status(status_env, identity_env, clock):
    person, _ = await red_person(status_env, identity_env, clock)
    appeal = await file(status_env, person)
    await grant(status_env, "reviewer.sun", NATIONAL_ONLY, REVIEWER)
    error = await refused(status_env.stub.DecideAppeal(pb.DecideAppealRequest(
        appeal_id=appeal.appeal_id, reviewer_id="reviewer.sun", approve=True, decision_reason="x",
        dismissed_finding_keys=["fact:00000000-0000-0000-0000-000000000000"])))
    assert error_details(error) == ("FINDING_NOT_DISMISSABLE", ["dismissed_finding_keys[0]"])


async def test_a_retried_appeal_is_filed_once(status_env, identity_env, clock):
    person, _ = await red_person(status_env, identity_env, clock)
    first = await file(status_env, person, request_id="appeal-1")
    second = await file(status_env, person, request_id="appeal-1")
    assert first.appeal_id == second.appeal_id


async def test_overdue_appeals_are_listed_oldest_deadline_first(status_env, identity_env, clock):
    person, _ = await red_person(status_env, identity_env, clock)
    appeal = await file(status_env, person)
    overdue = await status_env.stub.ListAppeals(pb.ListAppealsRequest(overdue_only=True, page_size=1000))
    assert appeal.appeal_id not in {a.appeal_id for a in overdue.appeals}
    with later(clock, timedelta(hours=73)):
        overdue = await status_env.stub.ListAppeals(pb.ListAppealsRequest(overdue_only=True, page_size=1000))
        assert appeal.appeal_id in {a.appeal_id for a in overdue.appeals}
        deadlines = [a.deadline_time.ToDatetime() for a in overdue.appeals]
        assert deadlines == sorted(deadlines)


async def test_appeals_page_through_without_repeats(status_env, identity_env, clock):
    person, _ = await red_person(status_env, identity_env, clock)
    for _ in range(3):
        await file(status_env, person)
    seen, token = [], ""
    while True:
        page = await status_env.stub.ListAppeals(pb.ListAppealsRequest(page_size=2, page_token=token))
        seen += [a.appeal_id for a in page.appeals]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) >= 3


async def test_appeals_and_overrides_are_listed_by_the_persons_province(status_env, identity_env, clock):
    person, _ = await red_person(status_env, identity_env, clock)  # of NATIONAL_ONLY (Qinghai)
    appeal = await file(status_env, person)
    await grant(status_env, "officer.listing", NATIONAL_ONLY, OFFICER)
    override = await propose(status_env, person, "officer.listing", clock)

    async def listed(province: str) -> tuple[bool, bool]:
        appeals = await status_env.stub.ListAppeals(pb.ListAppealsRequest(page_size=1000, province_code=province))
        overrides = await status_env.stub.ListOverrides(pb.ListOverridesRequest(page_size=1000,
                                                                                province_code=province))
        return (appeal.appeal_id in {a.appeal_id for a in appeals.appeals},
                override.override_id in {o.override_id for o in overrides.overrides})
    assert await listed(NATIONAL_ONLY) == (True, True)
    assert await listed("420000") == (False, False)
    assert await listed("") == (True, True)
    error = await refused(status_env.stub.ListAppeals(pb.ListAppealsRequest(province_code="42")))
    assert error_details(error)[1] == ["province_code"]


async def propose(status_env, person: str, proposer: str, clock, colour=RED) -> pb.Override:
    response = await status_env.stub.ProposeOverride(pb.ProposeOverrideRequest(
        person_id=person, colour=colour, reason_code="LOCAL_AUTHORITY_DECISION",
        legal_basis="Infectious Disease Law art. 39; order 2022-17", end_time=timestamp(clock.now() +
                                                                                        timedelta(days=7)),
        proposer_id=proposer))
    return response.override


async def test_an_override_takes_effect_only_when_a_second_officer_approves(status_env, identity_env, clock):
    await grant(status_env, "officer.a", NATIONAL_ONLY, OFFICER)
    await grant(status_env, "officer.b", NATIONAL_ONLY, OFFICER)
    person = await person_in(identity_env, NATIONAL_ONLY)
    override = await propose(status_env, person, "officer.a", clock)
    assert override.state == pb.OVERRIDE_STATE_PROPOSED
    assert (await status_of(status_env, person)).colour == GREEN
    decided = await status_env.stub.DecideOverride(pb.DecideOverrideRequest(
        override_id=override.override_id, approver_id="officer.b", approve=True))
    assert decided.override.state == pb.OVERRIDE_STATE_APPROVED
    assert (decided.status.colour, [r.code for r in decided.status.reasons]) == (RED, ["MANUAL_OVERRIDE"])
    assert decided.status.reasons[0].detail == "LOCAL_AUTHORITY_DECISION"
    change = (await status_env.stub.ListStatusChanges(pb.ListStatusChangesRequest(person_id=person))).changes[0]
    assert (change.cause, list(change.officer_ids), change.legal_basis) == (
        pb.CHANGE_CAUSE_OVERRIDE, ["officer.a", "officer.b"], "Infectious Disease Law art. 39; order 2022-17")
    with later(clock, timedelta(days=7, seconds=1)):
        await status_env.parts.retention.review_due()
        assert (await status_of(status_env, person)).colour == GREEN


async def test_the_proposer_alone_cannot_approve_an_override(status_env, identity_env, clock):
    await grant(status_env, "officer.solo", NATIONAL_ONLY, OFFICER)
    person = await person_in(identity_env, NATIONAL_ONLY)
    override = await propose(status_env, person, "officer.solo", clock)
    error = await refused(status_env.stub.DecideOverride(pb.DecideOverrideRequest(
        override_id=override.override_id, approver_id="officer.solo", approve=True)))
    assert (error.code(), error_details(error)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "SECOND_OFFICER_REQUIRED")
    assert (await status_of(status_env, person)).colour == GREEN


async def test_officers_without_the_role_can_neither_propose_nor_approve(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    error = await refused(propose(status_env, person, "clerk.nobody", clock))
    assert error_details(error)[0] == "OFFICER_ROLE_MISSING"
    await grant(status_env, "officer.c", NATIONAL_ONLY, OFFICER)
    await grant(status_env, "reviewer.only", NATIONAL_ONLY, REVIEWER)
    override = await propose(status_env, person, "officer.c", clock)
    error = await refused(status_env.stub.DecideOverride(pb.DecideOverrideRequest(
        override_id=override.override_id, approver_id="reviewer.only", approve=True)))
    assert error_details(error)[0] == "OFFICER_ROLE_MISSING"
    # A revoked officer is refused as well.
    await grant(status_env, "officer.c", NATIONAL_ONLY)
    error = await refused(propose(status_env, person, "officer.c", clock))
    assert error_details(error)[0] == "OFFICER_ROLE_MISSING"


async def test_an_override_needs_a_reason_code_a_legal_basis_and_a_bounded_period(status_env, identity_env, clock):
    await grant(status_env, "officer.d", NATIONAL_ONLY, OFFICER)
    person = await person_in(identity_env, NATIONAL_ONLY)
    base = dict(person_id=person, colour=RED, reason_code="LOCAL_AUTHORITY_DECISION", legal_basis="order 1",
                end_time=timestamp(clock.now() + timedelta(days=1)), proposer_id="officer.d")
    for changes, field_name in [({"reason_code": "no reason"}, "reason_code"), ({"legal_basis": " "}, "legal_basis"),
                                ({"end_time": timestamp(clock.now() + timedelta(days=31))}, "end_time"),
                                ({"start_time": timestamp(clock.now() - timedelta(days=1))}, "start_time"),
                                ({"colour": 0}, "colour")]:
        error = await refused(status_env.stub.ProposeOverride(pb.ProposeOverrideRequest(**{**base, **changes})))
        assert error_details(error)[1] == [field_name]


async def test_a_rejected_override_changes_nothing(status_env, identity_env, clock):
    await grant(status_env, "officer.e", NATIONAL_ONLY, OFFICER)
    await grant(status_env, "officer.f", NATIONAL_ONLY, OFFICER)
    person = await person_in(identity_env, NATIONAL_ONLY)
    override = await propose(status_env, person, "officer.e", clock)
    decided = await status_env.stub.DecideOverride(pb.DecideOverrideRequest(
        override_id=override.override_id, approver_id="officer.f", approve=False))
    assert (decided.override.state, decided.status.colour) == (pb.OVERRIDE_STATE_REJECTED, GREEN)
    listed = await status_env.stub.ListOverrides(pb.ListOverridesRequest(state=pb.OVERRIDE_STATE_REJECTED))
    assert override.override_id in {o.override_id for o in listed.overrides}
