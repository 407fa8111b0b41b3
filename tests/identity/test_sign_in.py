"""SignInPerson: the face check is proven and spent before a document is looked up."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import grpc

from healthcode.identity.v1 import identity_pb2 as pb
from tests.support import FaceProvider, error_details, id_card, refused


async def sign_in(env, document, attestation):
    return await env.persons.SignInPerson(pb.SignInPersonRequest(document=document, face_attestation=attestation))


async def test_a_registered_holder_signs_in_and_the_check_is_recorded(identity_env, clock):
    document = id_card()
    registered = await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(name="冯小明", document=document))

    signed_in = await sign_in(identity_env, document, identity_env.provider.attest(document, clock.now()))

    assert signed_in.person.person_id == registered.person.person_id
    assert signed_in.person.HasField("face_check_time")


async def test_one_attestation_signs_in_once_even_when_sent_at_once_by_many(identity_env, clock):
    document = id_card()
    await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(name="冯小明", document=document))
    attestation = identity_env.provider.attest(document, clock.now())

    answers = await asyncio.gather(*(sign_in(identity_env, document, attestation) for _ in range(6)),
                                   return_exceptions=True)

    assert sum(isinstance(a, pb.SignInPersonResponse) for a in answers) == 1
    assert {error_details(a)[0] for a in answers if isinstance(a, grpc.aio.AioRpcError)} == {"ATTESTATION_REPLAYED"}


async def test_a_bad_attestation_gets_the_same_answer_whether_or_not_the_document_is_registered(identity_env, clock):
    registered, unregistered = id_card(), id_card()
    await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(name="冯小明", document=registered))
    forger = FaceProvider(identity_env.provider.provider_id, identity_env.provider.key_id)
    stale = clock.now() - identity_env.settings.attestation_max_age - timedelta(seconds=1)

    for attest in (lambda d: forger.attest(d, clock.now()), lambda d: identity_env.provider.attest(d, stale)):
        answers = [await refused(sign_in(identity_env, d, attest(d))) for d in (registered, unregistered)]
        assert answers[0].code() == answers[1].code()
        assert answers[0].details() == answers[1].details()
        assert error_details(answers[0]) == error_details(answers[1])


async def test_an_unregistered_document_is_not_found_only_after_the_proof_and_the_proof_is_spent(identity_env, clock):
    document = id_card()
    attestation = identity_env.provider.attest(document, clock.now())

    first = await refused(sign_in(identity_env, document, attestation))
    await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(name="冯小明", document=document))
    again = await refused(sign_in(identity_env, document, attestation))

    assert (first.code(), error_details(first)[0]) == (grpc.StatusCode.NOT_FOUND, "PERSON_NOT_FOUND")
    assert error_details(again)[0] == "ATTESTATION_REPLAYED"


async def test_an_attestation_of_another_document_is_refused(identity_env, clock):
    mine, theirs = id_card(), id_card()
    await identity_env.persons.RegisterPerson(pb.RegisterPersonRequest(name="冯小明", document=theirs))

    error = await refused(sign_in(identity_env, theirs, identity_env.provider.attest(mine, clock.now())))

    assert error_details(error) == ("ATTESTATION_DOCUMENT_MISMATCH", ["face_attestation"])


async def test_signing_in_without_an_attestation_names_the_field(identity_env):
    error = await refused(identity_env.persons.SignInPerson(pb.SignInPersonRequest(document=id_card())))

    assert (error.code(), error_details(error)) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                    ("ATTESTATION_REQUIRED", ["face_attestation"]))


# --- sessions ---------------------------------------------------------------------------------

async def _person(env) -> str:
    return (await env.persons.RegisterPerson(pb.RegisterPersonRequest(name="冯小明", document=id_card()))
            ).person.person_id


async def test_a_refresh_token_buys_one_next_token_and_is_spent(identity_env):
    person = await _person(identity_env)
    started = await identity_env.persons.StartSession(pb.StartSessionRequest(person_id=person))

    answers = await asyncio.gather(*(identity_env.persons.RefreshSession(
        pb.RefreshSessionRequest(refresh_token=started.refresh_token)) for _ in range(5)), return_exceptions=True)
    won = [a for a in answers if isinstance(a, pb.RefreshSessionResponse)]
    lost = [a for a in answers if isinstance(a, grpc.aio.AioRpcError)]
    following = await identity_env.persons.RefreshSession(pb.RefreshSessionRequest(refresh_token=won[0].refresh_token))

    assert (len(won), {error_details(e)[0] for e in lost}) == (1, {"SESSION_ENDED"})
    assert (won[0].session_id, won[0].person.person_id) == (started.session_id, person)
    assert following.session_id == started.session_id


async def test_logout_ends_one_session_and_revoke_all_ends_every_one(identity_env):
    person = await _person(identity_env)
    one, two, three = [await identity_env.persons.StartSession(pb.StartSessionRequest(person_id=person))
                       for _ in range(3)]

    async def live(session):
        return (await identity_env.persons.CheckSession(
            pb.CheckSessionRequest(session_id=session.session_id, person_id=person))).live

    logout = await identity_env.persons.RevokeSessions(pb.RevokeSessionsRequest(
        person_id=person, session_id=one.session_id, reason="LOGOUT"))
    after_logout = [await live(s) for s in (one, two, three)]
    revoke_all = await identity_env.persons.RevokeSessions(pb.RevokeSessionsRequest(
        person_id=person, reason="REVOKE_ALL"))
    refused_refresh = await refused(identity_env.persons.RefreshSession(
        pb.RefreshSessionRequest(refresh_token=two.refresh_token)))

    assert (logout.revoked_count, after_logout) == (1, [False, True, True])
    assert revoke_all.revoked_count == 2
    assert [await live(s) for s in (one, two, three)] == [False, False, False]
    assert error_details(refused_refresh)[0] == "SESSION_ENDED"


async def test_a_session_is_not_live_for_another_person_nor_after_its_end(identity_env, clock):
    person, other = await _person(identity_env), await _person(identity_env)
    started = await identity_env.persons.StartSession(pb.StartSessionRequest(person_id=person))

    as_other = await identity_env.persons.CheckSession(
        pb.CheckSessionRequest(session_id=started.session_id, person_id=other))
    with clock.at(clock.now() + timedelta(hours=12, seconds=1)):
        ended = await identity_env.persons.CheckSession(
            pb.CheckSessionRequest(session_id=started.session_id, person_id=person))
        late = await refused(identity_env.persons.RefreshSession(
            pb.RefreshSessionRequest(refresh_token=started.refresh_token)))

    assert (as_other.live, ended.live, error_details(late)[0]) == (False, False, "SESSION_ENDED")


async def test_session_requests_name_their_bad_fields(identity_env):
    bad_token = await refused(identity_env.persons.RefreshSession(pb.RefreshSessionRequest(refresh_token="x")))
    bad_reason = await refused(identity_env.persons.RevokeSessions(pb.RevokeSessionsRequest(
        person_id=await _person(identity_env), reason="because")))
    bad_session = await refused(identity_env.persons.CheckSession(pb.CheckSessionRequest(
        session_id="nope", person_id=await _person(identity_env))))

    assert error_details(bad_token) == ("REFRESH_TOKEN_INVALID", ["refresh_token"])
    assert error_details(bad_reason) == ("REASON_INVALID", ["reason"])
    assert error_details(bad_session) == ("SESSION_ID_INVALID", ["session_id"])
