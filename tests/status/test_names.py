"""A corrected name reaches the codes: status follows identity's name corrections (names.py)."""

from __future__ import annotations

import asyncio
import secrets

from healthcode.identity.v1 import identity_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.codes import read_code
from tests.support import id_card


async def _registered(identity_env, name: str) -> tuple[identity_pb2.Person, identity_pb2.Document]:
    document = id_card()
    person = (await identity_env.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name=name, document=document, home_province_code="420000"))).person
    return person, document


async def _corrected(identity_env, clock, person, document, name: str) -> None:
    response = await identity_env.persons.CorrectName(identity_pb2.CorrectNameRequest(
        person_id=person.person_id, name=name, basis="身份证已换发，姓名更正",
        face_attestation=identity_env.provider.attest(document, clock.now()), request_id=secrets.token_hex(6)))
    assert response.correction.state == identity_pb2.NAME_CORRECTION_STATE_APPLIED


async def _code_name(status_env, person_id: str) -> str:
    payload = (await status_env.stub.IssueCode(pb.IssueCodeRequest(person_id=person_id))).payload
    return read_code(payload).claims.masked_name


async def test_a_code_shows_the_name_identity_corrected(status_env, identity_env, clock):
    person, document = await _registered(identity_env, "张小三")
    await status_env.stub.GetStatus(pb.GetStatusRequest(person_id=person.person_id))  # enrolled as 张*三
    assert await _code_name(status_env, person.person_id) == "张*三"
    await _corrected(identity_env, clock, person, document, "李小三")

    assert await status_env.parts.names.follow(clock.now()) >= 1  # (and any earlier test's corrections)

    assert await _code_name(status_env, person.person_id) == "李*三"
    # A second round finds the same correction again (the overlap) and changes nothing.
    assert await status_env.parts.names.follow(clock.now()) == 0
    assert await _code_name(status_env, person.person_id) == "李*三"


async def test_two_replicas_following_at_once_rename_once_and_never_put_an_older_name_back(
        status_env, identity_env, clock):
    person, document = await _registered(identity_env, "王小明")
    await status_env.stub.GetStatus(pb.GetStatusRequest(person_id=person.person_id))
    await _corrected(identity_env, clock, person, document, "赵小明")

    # Two followers of the same database at once (two replicas): one holds the lock, the other passes.
    renamed = await asyncio.gather(*(status_env.parts.names.follow(clock.now()) for _ in range(4)))

    assert renamed.count(0) >= 3  # one round renamed; the others found the lock held, or nothing to do
    assert await _code_name(status_env, person.person_id) == "赵*明"


async def test_a_person_status_never_enrolled_is_left_to_their_enrolment(status_env, identity_env, clock, db):
    person, document = await _registered(identity_env, "孙小红")
    await _corrected(identity_env, clock, person, document, "钱小红")

    await status_env.parts.names.follow(clock.now())

    # Enrolled only now, from identity's card: already the corrected name.
    assert await _code_name(status_env, person.person_id) == "钱*红"
    assert await db.fetchval("SELECT count(*) FROM status.name_cursor") == 1
