"""A person corrects their own name with a fresh face check: once at once, later by an identity officer
of their province; names sealed at rest and masked in answers, every correction kept."""

from __future__ import annotations

import asyncio
import secrets

import grpc

from healthcode.identity.v1 import identity_pb2 as pb
from tests.support import error_details, id_card, refused

HUBEI_OFFICER, JIANGSU_OFFICER = "420000.li-wei", "320000.zhou-min"


async def registered(env, name="张小三") -> tuple[pb.Person, pb.Document]:
    document = id_card()
    person = (await env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name=name, document=document, home_province_code="420000"))).person
    return person, document


def correction(env, clock, person: pb.Person, document: pb.Document, name: str, request_id: str | None = None,
               basis="身份证已换发，姓名更正") -> pb.CorrectNameRequest:
    return pb.CorrectNameRequest(person_id=person.person_id, name=name, basis=basis,
                                 face_attestation=env.provider.attest(document, clock.now()),
                                 request_id=request_id or secrets.token_hex(6))


async def test_the_first_correction_applies_at_once_and_is_kept_masked(identity_env, clock):
    person, document = await registered(identity_env)
    response = await identity_env.persons.CorrectName(correction(identity_env, clock, person, document, "张晓三"))
    assert response.correction.state == pb.NAME_CORRECTION_STATE_APPLIED and not response.duplicate
    assert (response.correction.masked_old_name, response.correction.masked_new_name) == ("张*三", "张*三")
    assert response.person.masked_name == "张*三"
    # The registration now answers to the corrected name, and no longer to the old one.
    again = await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(name="张晓三", document=document))
    assert again.person.person_id == person.person_id and not again.created
    old = await refused(identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(name="张小三", document=document)))
    assert error_details(old)[0] == "DOCUMENT_NAME_CONFLICT"
    history = (await identity_env.persons.ListCorrections(pb.ListCorrectionsRequest(
        person_id=person.person_id))).corrections
    assert [(c.kind, c.actor) for c in history] == [("NAME", "holder")]


async def test_names_are_sealed_at_rest(identity_env, clock, db):
    person, document = await registered(identity_env, "欧阳明")
    await identity_env.persons.CorrectName(correction(identity_env, clock, person, document, "欧阳明月"))
    row = await db.fetchrow(
        "SELECT * FROM identity.name_corrections WHERE person_id = $1", person.person_id)
    stored = " ".join(str(value) for value in row.values())
    assert "欧阳明" not in stored and "身份证已换发" not in stored
    assert row["masked_new_name"] == "欧**月"


async def test_a_second_correction_waits_for_an_officer_of_the_province(identity_env, clock):
    person, document = await registered(identity_env)
    await identity_env.persons.CorrectName(correction(identity_env, clock, person, document, "张晓三"))
    second = await identity_env.persons.CorrectName(correction(identity_env, clock, person, document, "章晓三"))
    assert second.correction.state == pb.NAME_CORRECTION_STATE_PENDING
    assert second.person.masked_name == "张*三"
    queue = await identity_env.persons.ListNameCorrections(pb.ListNameCorrectionsRequest(province_code="420000",
                                                                                         page_size=1000))
    assert second.correction.correction_id in [c.correction_id for c in queue.corrections]
    # Another pending one is refused while this one waits.
    third = await refused(identity_env.persons.CorrectName(correction(identity_env, clock, person, document, "章三")))
    assert (third.code(), error_details(third)[0]) == (grpc.StatusCode.FAILED_PRECONDITION, "CORRECTION_PENDING")

    outsider = await refused(identity_env.persons.DecideNameCorrection(pb.DecideNameCorrectionRequest(
        correction_id=second.correction.correction_id, reviewer_id=JIANGSU_OFFICER, approve=True, reason="ok")))
    assert (outsider.code(), error_details(outsider)[0]) == (grpc.StatusCode.PERMISSION_DENIED,
                                                            "NOT_AN_OFFICER_OF_PROVINCE")
    decided = await identity_env.persons.DecideNameCorrection(pb.DecideNameCorrectionRequest(
        correction_id=second.correction.correction_id, reviewer_id=HUBEI_OFFICER, approve=True,
        reason="户籍证明相符"))
    assert (decided.correction.state, decided.correction.reviewer_id) == (pb.NAME_CORRECTION_STATE_APPROVED,
                                                                          HUBEI_OFFICER)
    assert decided.person.masked_name == "章*三"
    history = (await identity_env.persons.ListCorrections(pb.ListCorrectionsRequest(
        person_id=person.person_id))).corrections
    assert [(c.kind, c.actor) for c in history] == [("NAME", HUBEI_OFFICER), ("NAME", "holder")]
    twice = await refused(identity_env.persons.DecideNameCorrection(pb.DecideNameCorrectionRequest(
        correction_id=second.correction.correction_id, reviewer_id=HUBEI_OFFICER, approve=False, reason="no")))
    assert error_details(twice)[0] == "CORRECTION_DECIDED"


async def test_a_rejected_correction_keeps_the_name(identity_env, clock):
    person, document = await registered(identity_env)
    await identity_env.persons.CorrectName(correction(identity_env, clock, person, document, "张晓三"))
    second = await identity_env.persons.CorrectName(correction(identity_env, clock, person, document, "王五"))
    decided = await identity_env.persons.DecideNameCorrection(pb.DecideNameCorrectionRequest(
        correction_id=second.correction.correction_id, reviewer_id="000000.national-officer", approve=False,
        reason="与户籍不符"))
    assert (decided.correction.state, decided.person.masked_name) == (pb.NAME_CORRECTION_STATE_REJECTED, "张*三")
    assert (await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(
        name="张晓三", document=document))).person.person_id == person.person_id


async def test_a_retried_correction_is_recorded_once(identity_env, clock, db):
    person, document = await registered(identity_env)
    request = correction(identity_env, clock, person, document, "张晓三")
    answers = await asyncio.gather(*(identity_env.persons.CorrectName(request) for _ in range(3)))
    assert len({a.correction.correction_id for a in answers}) == 1
    assert sorted(a.duplicate for a in answers) == [False, True, True]
    count = await db.fetchval(
        "SELECT count(*) FROM identity.name_corrections WHERE person_id = $1", person.person_id)
    assert count == 1


async def test_of_concurrent_corrections_one_applies_and_the_other_waits(identity_env, clock):
    person, document = await registered(identity_env)
    answers = await asyncio.gather(
        identity_env.persons.CorrectName(correction(identity_env, clock, person, document, "张晓三")),
        identity_env.persons.CorrectName(correction(identity_env, clock, person, document, "章晓三")))
    assert sorted(a.correction.state for a in answers) == [pb.NAME_CORRECTION_STATE_APPLIED,
                                                          pb.NAME_CORRECTION_STATE_PENDING]
    applied = next(a for a in answers if a.correction.state == pb.NAME_CORRECTION_STATE_APPLIED)
    current = (await identity_env.persons.GetPerson(pb.GetPersonRequest(person_id=person.person_id))).person
    assert current.masked_name == applied.correction.masked_new_name


async def test_a_correction_needs_the_persons_own_face_check(identity_env, clock):
    person, _ = await registered(identity_env)
    stranger = id_card()
    request = correction(identity_env, clock, person, stranger, "张晓三")
    error = await refused(identity_env.persons.CorrectName(request))
    assert (error.code(), error_details(error)) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                    ("ATTESTATION_DOCUMENT_MISMATCH", ["face_attestation"]))
    request.ClearField("face_attestation")
    error = await refused(identity_env.persons.CorrectName(request))
    assert error_details(error)[1] == ["face_attestation"]


async def test_bad_corrections_name_their_field(identity_env, clock):
    person, document = await registered(identity_env)
    for request, field in [
            (correction(identity_env, clock, person, document, ""), "name"),
            (correction(identity_env, clock, person, document, "张小三"), "name"),
            (correction(identity_env, clock, person, document, "张晓三", basis=""), "basis"),
            (correction(identity_env, clock, person, document, "张晓三", request_id="has space"), "request_id")]:
        error = await refused(identity_env.persons.CorrectName(request))
        assert (error.code(), error_details(error)[1]) == (grpc.StatusCode.INVALID_ARGUMENT, [field])
    for request, field in [
            (pb.DecideNameCorrectionRequest(correction_id="nope", reviewer_id=HUBEI_OFFICER, reason="x"),
             "correction_id"),
            (pb.DecideNameCorrectionRequest(correction_id="7c1f7a36-0c4e-4e8e-9d55-000000000001",
                                            reviewer_id=HUBEI_OFFICER, reason=""), "reason")]:
        error = await refused(identity_env.persons.DecideNameCorrection(request))
        assert (error.code(), error_details(error)[1]) == (grpc.StatusCode.INVALID_ARGUMENT, [field])
    error = await refused(identity_env.persons.ListNameCorrections(pb.ListNameCorrectionsRequest(
        province_code="420100")))
    assert error_details(error)[1] == ["province_code"]
