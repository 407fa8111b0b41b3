"""Nobody acts for a person without proof: registration, sign-in and sessions, through both of the
gateway's doors (gRPC with mutual TLS and a relayed session, and HTTP)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc

from gateway.principals import CallerKind
from tests.support.gateway import as_json, bearer, sign_in_challenge
from tests.support import FaceProvider, error_details, id_card, refused


def _document_json(document: identity_pb2.Document) -> dict:
    return {"kind": identity_pb2.DocumentKind.Name(document.kind), "number": document.number}


async def _post(http, url, body, headers=None) -> tuple[int, dict]:
    async with http.post(url, json=body, headers=headers) as response:
        return response.status, await response.json()


# --- 1. registration by the right party only ---------------------------------------------------

async def test_a_signed_in_person_cannot_register_a_strangers_document_without_its_face_check(
        platform, http, provider):
    hubei = platform.hubei
    squatter = await hubei.deployment.resident()
    stranger = id_card()
    body = {"name": "假名字", "document": _document_json(stranger), "home_province_code": "420000"}

    status, answer = await _post(http, f"{hubei.url}/v1/persons", body,
                                 {"Authorization": f"Bearer {hubei.token(CallerKind.PERSON, squatter, '420000')}"})
    persons = identity_pb2_grpc.IdentityServiceStub(hubei.channel("hubei-system"))  # relaying the session
    by_grpc = await refused(persons.RegisterPerson(
        identity_pb2.RegisterPersonRequest(name="假名字", document=stranger, home_province_code="420000"),
        metadata=bearer(hubei.token(CallerKind.PERSON, squatter, "420000"))))

    assert (status, answer["error"]["reason"]) == (400, "FACE_CHECK_REQUIRED")
    assert (by_grpc.code(), error_details(by_grpc)) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                        ("FACE_CHECK_REQUIRED", ["face_attestation"]))
    # Nothing was registered: the holder registers themselves under their own name.
    challenge = await sign_in_challenge(hubei, http)
    status, session = await _post(http, f"{hubei.url}/v1/persons", {
        "name": "真名字", "document": _document_json(stranger), "home_province_code": "420000",
        "face_attestation": as_json(provider.attest(stranger, hubei.deployment.clock.now(), nonce=challenge))})
    assert (status, session.get("person", session)["masked_name"]) == (200, "真*字")


async def test_a_person_registers_a_dependent_with_the_dependents_own_face_check(platform, http, provider):
    hubei = platform.hubei
    parent = await hubei.deployment.resident()
    child = id_card()
    me = {"Authorization": f"Bearer {hubei.token(CallerKind.PERSON, parent, '420000')}"}

    wrong = await _post(http, f"{hubei.url}/v1/persons", {
        "name": "张小宝", "document": _document_json(child),
        "face_attestation": as_json(provider.attest(id_card(), hubei.deployment.clock.now()))}, me)
    right = await _post(http, f"{hubei.url}/v1/persons", {
        "name": "张小宝", "document": _document_json(child),
        "face_attestation": as_json(provider.attest(child, hubei.deployment.clock.now()))}, me)

    assert (wrong[0], wrong[1]["error"]["reason"]) == (400, "ATTESTATION_DOCUMENT_MISMATCH")
    assert (right[0], right[1]["created"]) == (200, True)


async def test_a_province_system_registering_another_provinces_person_learns_nothing_of_them(platform, http):
    hubei = platform.hubei
    document = id_card()
    await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="鄂小明", document=document, home_province_code="420000"))
    # Jiangsu's system, its session relayed over a system connection (gRPC door) and over HTTP.
    jiangsu_token = hubei.token(CallerKind.PROVINCE_SYSTEM, "jiangsu-system", "320000")
    persons = identity_pb2_grpc.IdentityServiceStub(hubei.channel("hubei-system"))

    error = await refused(persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="鄂小明", document=document, home_province_code="320000"), metadata=bearer(jiangsu_token)))
    status, answer = await _post(http, f"{hubei.url}/v1/rpc/healthcode.identity.v1.IdentityService/RegisterPerson",
                                 {"name": "鄂小明", "document": _document_json(document),
                                  "home_province_code": "320000"}, {"Authorization": f"Bearer {jiangsu_token}"})
    own = await persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="鄂小明", document=document, home_province_code="420000"))

    assert (error.code(), error_details(error)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "CALLER_NOT_ALLOWED")
    assert (status, answer["error"]["reason"]) == (403, "CALLER_NOT_ALLOWED")
    assert own.person.person_id not in f"{error.details()} {answer}"
    assert not own.created


# --- signing in: one proof, one session; no answer tells who is registered ----------------------

async def test_sign_in_answers_before_proof_are_the_same_for_registered_and_unregistered_documents(
        platform, http, provider):
    hubei = platform.hubei
    registered, unregistered = id_card(), id_card()
    await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="周八", document=registered, home_province_code="420000"))
    forger = FaceProvider(provider.provider_id, provider.key_id)
    stale = hubei.deployment.clock.now() - timedelta(minutes=6)

    async def attempts(document):
        challenge = await sign_in_challenge(hubei, http)
        answers = []
        for attestation in (provider.attest(document, hubei.deployment.clock.now()),             # no challenge
                            forger.attest(document, hubei.deployment.clock.now(), nonce=challenge),  # forged
                            provider.attest(document, stale, nonce=challenge),          # too old
                            provider.attest(id_card(), hubei.deployment.clock.now(), nonce=challenge)):  # another document
            status, body = await _post(http, f"{hubei.url}/v1/sessions",
                                       {"document": _document_json(document), "face_attestation": as_json(attestation)})
            answers.append((status, body))
        return answers

    first, second = await attempts(registered), await attempts(unregistered)

    assert first == second
    assert [reason["error"]["reason"] for _, reason in first] == [
        "CHALLENGE_INVALID", "ATTESTATION_SIGNATURE_INVALID", "ATTESTATION_EXPIRED", "ATTESTATION_DOCUMENT_MISMATCH"]


async def test_one_captured_attestation_opens_one_session_even_sent_six_times_at_once(platform, http, provider):
    hubei = platform.hubei
    document = id_card()
    await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="周八", document=document, home_province_code="420000"))
    attestation = provider.attest(document, hubei.deployment.clock.now(), nonce=await sign_in_challenge(hubei, http))
    body = {"document": _document_json(document), "face_attestation": as_json(attestation)}

    answers = await asyncio.gather(*(_post(http, f"{hubei.url}/v1/sessions", body) for _ in range(6)))

    assert sorted(status for status, _ in answers) == [200, 400, 400, 400, 400, 400]
    assert {body["error"]["reason"] for status, body in answers if status != 200} == {"ATTESTATION_REPLAYED"}


async def test_a_challenge_is_the_gateways_own_and_expires(platform, http, provider):
    hubei, jiangsu = platform.hubei, platform.jiangsu
    document = id_card()
    await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="周八", document=document, home_province_code="420000"))
    others = await sign_in_challenge(jiangsu, http)  # another deployment's session keys
    expired = hubei.keys.challenge(now=datetime.now(UTC).timestamp() - 301)

    for nonce in (others, expired, "A" * 48):
        status, body = await _post(http, f"{hubei.url}/v1/sessions", {
            "document": _document_json(document),
            "face_attestation": as_json(provider.attest(document, hubei.deployment.clock.now(), nonce=nonce))})
        assert (status, body["error"]["reason"]) == (400, "CHALLENGE_INVALID")


async def test_a_replayed_self_registration_opens_no_second_session(platform, http, provider):
    hubei = platform.hubei
    document = id_card()
    body = {"name": "吴九", "document": _document_json(document), "home_province_code": "420000",
            "face_attestation": as_json(provider.attest(document, hubei.deployment.clock.now(),
                                                        nonce=await sign_in_challenge(hubei, http)))}

    first = await _post(http, f"{hubei.url}/v1/persons", body)
    again = await _post(http, f"{hubei.url}/v1/persons", body)
    sign_in = await _post(http, f"{hubei.url}/v1/sessions", {"document": body["document"],
                                                              "face_attestation": body["face_attestation"]})

    assert first[0] == 200 and "token" in first[1]
    assert (again[0], again[1]["error"]["reason"], "token" in again[1]) == (409, "ALREADY_REGISTERED", False)
    assert (sign_in[0], sign_in[1]["error"]["reason"]) == (400, "ATTESTATION_REPLAYED")


# --- 5. sessions: short, refreshed, revocable on every replica at once --------------------------

async def _signed_in(front, http, provider, document) -> dict:
    attestation = provider.attest(document, front.deployment.clock.now(), nonce=await sign_in_challenge(front, http))
    status, session = await _post(http, f"{front.url}/v1/sessions", {
        "document": _document_json(document), "face_attestation": as_json(attestation)})
    assert status == 200, session
    return session


async def _me(http, front, token) -> tuple[int, str]:
    async with http.get(f"{front.url}/v1/persons/me", headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, (await response.json()).get("error", {}).get("reason", "")


@pytest.fixture(scope="module")
async def replicas(platform, tmp_path_factory):
    """Two more replicas of Hubei's gateway, sharing their session keys as replicas do."""
    from tests.support.gateway import start_front
    from tests.support import random_key

    secret = random_key()
    pki = tmp_path_factory.mktemp("replica-pki")
    fronts = [await start_front(platform.hubei.deployment, pki, HEALTHCODE_GATEWAY_SESSION_KEYS=f"s1:{secret}")
              for _ in range(2)]
    yield fronts
    for front in fronts:
        await front.stop()


async def test_a_person_session_is_short_and_refreshes_with_a_one_time_refresh_token(platform, http, provider):
    hubei = platform.hubei
    document = id_card()
    await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="周八", document=document, home_province_code="420000"))
    session = await _signed_in(hubei, http, provider, document)

    refreshed = await _post(http, f"{hubei.url}/v1/sessions/refresh", {"refresh_token": session["refresh_token"]})
    reused = await _post(http, f"{hubei.url}/v1/sessions/refresh", {"refresh_token": session["refresh_token"]})
    malformed = await _post(http, f"{hubei.url}/v1/sessions/refresh", {"refresh_token": 7})

    assert session["expires_in"] <= 600
    assert refreshed[0] == 200 and refreshed[1]["person"]["person_id"] == session["person"]["person_id"]
    assert await _me(http, hubei, refreshed[1]["token"]) == (200, "")
    assert (reused[0], reused[1]["error"]["reason"]) == (400, "SESSION_ENDED")
    assert (malformed[0], malformed[1]["error"]["field_violations"][0]["field"]) == (400, "refresh_token")


async def test_logout_on_one_replica_ends_the_session_on_another_at_once_through_both_doors(replicas, http, provider):
    first, second = replicas
    document = id_card()
    await first.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="周八", document=document, home_province_code="420000"))
    session = await _signed_in(first, http, provider, document)
    other = await _signed_in(first, http, provider, document)
    persons = identity_pb2_grpc.IdentityServiceStub(second.channel("hubei-system"))
    me = identity_pb2.GetPersonRequest(person_id=session["person"]["person_id"])

    # The second replica has just answered for the session (whatever it may remember of it).
    assert await _me(http, second, session["token"]) == (200, "")
    await persons.GetPerson(me, metadata=bearer(session["token"]))
    async with http.delete(f"{first.url}/v1/sessions/current",
                           headers={"Authorization": f"Bearer {session['token']}"}) as response:
        assert (response.status, (await response.json())["revoked_count"]) == (200, 1)

    assert await _me(http, second, session["token"]) == (401, "SESSION_REVOKED")
    by_grpc = await refused(persons.GetPerson(me, metadata=bearer(session["token"])))
    assert (by_grpc.code(), error_details(by_grpc)[0]) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_REVOKED")
    refresh = await _post(http, f"{second.url}/v1/sessions/refresh", {"refresh_token": session["refresh_token"]})
    assert refresh[1]["error"]["reason"] == "SESSION_ENDED"
    # The person's other session is untouched by a logout...
    assert await _me(http, second, other["token"]) == (200, "")
    # ... and ended by "sign out everywhere".
    async with http.delete(f"{second.url}/v1/sessions", headers={"Authorization": f"Bearer {other['token']}"}
                           ) as response:
        assert response.status == 200
    assert await _me(http, first, other["token"]) == (401, "SESSION_REVOKED")


async def test_an_operator_revokes_every_session_of_a_person_of_their_province(platform, http, provider):
    hubei = platform.hubei
    document = id_card()
    await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="周八", document=document, home_province_code="420000"))
    session = await _signed_in(hubei, http, provider, document)
    operator = identity_pb2_grpc.IdentityServiceStub(hubei.channel("hubei-operator"))

    revoked = await operator.RevokeSessions(identity_pb2.RevokeSessionsRequest(
        person_id=session["person"]["person_id"], reason="DATA_CORRECTED"))
    by_stranger = await refused(identity_pb2_grpc.IdentityServiceStub(hubei.channel("hubei-system")).RevokeSessions(
        identity_pb2.RevokeSessionsRequest(person_id=session["person"]["person_id"], reason="LOGOUT"),
        metadata=bearer(hubei.token(CallerKind.PERSON, await hubei.deployment.resident(), "420000"))))

    assert revoked.revoked_count == 1
    assert await _me(http, hubei, session["token"]) == (401, "SESSION_REVOKED")
    assert error_details(by_stranger)[0] == "CALLER_NOT_ALLOWED"


# --- 2. guardianship proven, not claimed ---------------------------------------------------------

@pytest.fixture(scope="module")
async def household_register(platform):
    from tests.support import HouseholdRegister

    register = HouseholdRegister()
    admin = identity_pb2_grpc.FaceProviderAdminServiceStub(platform.hubei.channel("national-operator"))
    await admin.RegisterFaceProviderKey(register.key_request(platform.hubei.deployment.clock.now() - timedelta(days=1)))
    return register


async def test_a_claimed_parent_cannot_link_a_minor_and_an_attested_one_can_through_both_doors(
        platform, http, household_register):
    hubei = platform.hubei
    from datetime import date

    adult_document, child_document = id_card(date(1985, 1, 1)), id_card(date(2019, 3, 3))
    adult = (await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="张大", document=adult_document, home_province_code="420000"))).person.person_id
    child = (await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="张小宝", document=child_document, home_province_code="420000"))).person.person_id
    token = hubei.token(CallerKind.PERSON, adult, "420000")
    claim = {"dependent_person_id": child, "relation": "RELATION_PARENT"}

    by_http = await _post(http, f"{hubei.url}/v1/persons/me/dependents", claim, {"Authorization": f"Bearer {token}"})
    persons = identity_pb2_grpc.IdentityServiceStub(hubei.channel("hubei-system"))
    by_grpc = await refused(persons.LinkDependent(identity_pb2.LinkDependentRequest(
        dependent_person_id=child, relation=identity_pb2.RELATION_PARENT), metadata=bearer(token)))
    status_before = await http.get(f"{hubei.url}/v1/persons/{child}/status",
                                   headers={"Authorization": f"Bearer {token}"})
    attested = await persons.LinkDependent(identity_pb2.LinkDependentRequest(
        dependent_person_id=child, relation=identity_pb2.RELATION_PARENT,
        relation_attestation=household_register.relation(adult_document, child_document,
                                                          hubei.deployment.clock.now())), metadata=bearer(token))

    assert (by_http[0], by_http[1]["error"]["reason"]) == (400, "DEPENDENT_CONSENT_REQUIRED")
    assert error_details(by_grpc)[0] == "DEPENDENT_CONSENT_REQUIRED"
    assert status_before.status == 403
    assert attested.link.basis == identity_pb2.LINK_BASIS_ATTESTED_GUARDIANSHIP


async def _family(platform, household_register):
    from datetime import date

    hubei = platform.hubei
    parent_document, child_document = id_card(date(1985, 1, 1)), id_card(date(2019, 3, 3))
    parent, child = [(await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name=name, document=document, home_province_code="420000"))).person.person_id
        for name, document in (("张大", parent_document), ("张小宝", child_document))]
    await hubei.deployment.persons.LinkDependent(identity_pb2.LinkDependentRequest(
        holder_person_id=parent, dependent_person_id=child, relation=identity_pb2.RELATION_PARENT,
        relation_attestation=household_register.relation(parent_document, child_document,
                                                          hubei.deployment.clock.now())))
    return parent, child


async def _watch(hubei, parent, child):
    from healthcode.status.v1 import status_pb2, status_pb2_grpc

    stub = status_pb2_grpc.StatusServiceStub(hubei.channel("hubei-system"))
    watch = stub.WatchStatus(status_pb2.WatchStatusRequest(person_id=child),
                             metadata=bearer(hubei.token(CallerKind.PERSON, parent, "420000")))
    await asyncio.wait_for(watch.read(), 10)  # the status as it is
    return watch


async def _ended(watch) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        while True:
            await asyncio.wait_for(watch.read(), 10)
    return ended.value


async def test_an_unlink_ends_an_open_watch_of_the_child_at_once(platform, http, household_register):
    hubei = platform.hubei
    parent, child = await _family(platform, household_register)
    watch = await _watch(hubei, parent, child)

    async with http.delete(f"{hubei.url}/v1/persons/me/dependents/{child}",
                           headers={"Authorization": f"Bearer {hubei.token(CallerKind.PERSON, parent, '420000')}"}
                           ) as response:
        assert response.status == 200

    assert (await _ended(watch)).code() == grpc.StatusCode.PERMISSION_DENIED


async def test_no_replica_answers_from_a_remembered_acting_right_after_an_unlink_elsewhere(
        platform, http, household_register):
    hubei = platform.hubei
    parent, child = await _family(platform, household_register)
    me = {"Authorization": f"Bearer {hubei.token(CallerKind.PERSON, parent, '420000')}"}
    async with http.get(f"{hubei.url}/v1/persons/{child}/status", headers=me) as response:
        assert response.status == 200  # the gateway has just granted it
    watch = await _watch(hubei, parent, child)

    # Unlinked behind this gateway's back (another replica, an operator, identity directly).
    await hubei.deployment.persons.UnlinkDependent(identity_pb2.UnlinkDependentRequest(
        holder_person_id=parent, dependent_person_id=child))

    async with http.get(f"{hubei.url}/v1/persons/{child}/status", headers=me) as response:
        assert (response.status, (await response.json())["error"]["reason"]) == (403, "CALLER_NOT_ALLOWED")
    assert (await _ended(watch)).code() == grpc.StatusCode.PERMISSION_DENIED


async def test_the_dependent_another_guardian_or_an_operator_sees_and_ends_a_link(
        platform, http, household_register):
    from datetime import date

    hubei = platform.hubei
    documents = {"father": id_card(date(1985, 1, 1)), "mother": id_card(date(1986, 2, 2)),
                 "child": id_card(date(2012, 3, 3))}
    ids = {who: (await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="王某", document=document, home_province_code="420000"))).person.person_id
        for who, document in documents.items()}
    for guardian in ("father", "mother"):
        await hubei.deployment.persons.LinkDependent(identity_pb2.LinkDependentRequest(
            holder_person_id=ids[guardian], dependent_person_id=ids["child"], relation=identity_pb2.RELATION_PARENT,
            relation_attestation=household_register.relation(documents[guardian], documents["child"],
                                                              hubei.deployment.clock.now())))
    stranger = await hubei.deployment.resident()
    child = ids["child"]

    def as_person(who):
        return {"Authorization": f"Bearer {hubei.token(CallerKind.PERSON, who, '420000')}"}

    async def guardians(who) -> tuple[int, list[str]]:
        async with http.get(f"{hubei.url}/v1/persons/{child}/guardians", headers=as_person(who)) as response:
            body = await response.json()
            return response.status, sorted(link["holder_person_id"] for link in body.get("links", []))

    # The child (signed in themselves) sees who acts for them; a stranger does not.
    assert await guardians(child) == (200, sorted([ids["father"], ids["mother"]]))
    assert (await guardians(stranger))[0] == 403
    # A stranger cannot end a link; the other guardian can (HTTP); the child can (gRPC door).
    async with http.delete(f"{hubei.url}/v1/persons/{ids['father']}/dependents/{child}",
                           headers=as_person(stranger)) as response:
        assert response.status == 403
    async with http.delete(f"{hubei.url}/v1/persons/{ids['father']}/dependents/{child}",
                           headers=as_person(ids["mother"])) as response:
        assert response.status == 200
    persons = identity_pb2_grpc.IdentityServiceStub(hubei.channel("hubei-system"))
    ended = await persons.UnlinkDependent(identity_pb2.UnlinkDependentRequest(
        holder_person_id=ids["mother"], dependent_person_id=child), metadata=bearer(hubei.token(
            CallerKind.PERSON, child, "420000")))
    assert ended.link.HasField("unlink_time")
    assert await guardians(child) == (200, [])


async def test_an_operator_of_the_dependents_province_sees_and_ends_a_link(platform, household_register):
    parent, child = await _family(platform, household_register)
    operator = identity_pb2_grpc.IdentityServiceStub(platform.hubei.channel("hubei-operator"))

    seen = await operator.ListGuardians(identity_pb2.ListGuardiansRequest(dependent_person_id=child))
    await operator.UnlinkDependent(identity_pb2.UnlinkDependentRequest(holder_person_id=parent,
                                                                        dependent_person_id=child))
    after = await operator.ListGuardians(identity_pb2.ListGuardiansRequest(dependent_person_id=child))

    assert ([link.holder_person_id for link in seen.links], list(after.links)) == ([parent], [])


# --- 3. correcting data: the holder reclaims a registration made by someone else ------------------

async def test_the_holder_reclaims_a_registration_made_under_a_false_name(platform, http, provider, household_register):
    hubei = platform.hubei
    document = id_card()
    # Made before registration needed proof: a false name, and a stranger linked to the person.
    squatted = (await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="假名字", document=document, home_province_code="420000"))).person
    stranger = await hubei.deployment.resident()
    await hubei.deployment.persons.LinkDependent(identity_pb2.LinkDependentRequest(
        holder_person_id=stranger, dependent_person_id=squatted.person_id, relation=identity_pb2.RELATION_OTHER,
        dependent_face_attestation=provider.attest(document, hubei.deployment.clock.now())))
    body = {"name": "真名字", "document": _document_json(document), "home_province_code": "420000"}

    without_proof = await _post(http, f"{hubei.url}/v1/persons", {
        **body, "face_attestation": {"claims": "", "signature": "AA=="}},
        {"Authorization": f"Bearer {hubei.token(CallerKind.PERSON, stranger, '420000')}"})
    reclaimed = await _post(http, f"{hubei.url}/v1/persons", {**body, "face_attestation": as_json(provider.attest(
        document, hubei.deployment.clock.now(), nonce=await sign_in_challenge(hubei, http)))})
    me = {"Authorization": f"Bearer {reclaimed[1].get('token')}"}
    async with http.get(f"{hubei.url}/v1/persons/{squatted.person_id}/guardians", headers=me) as response:
        guardians = (await response.json()).get("links", []) if response.status == 200 else None
    history = await _post(http, f"{hubei.url}/v1/rpc/healthcode.identity.v1.IdentityService/ListCorrections",
                          {"person_id": squatted.person_id}, me)
    stale_link = await _post(http, f"{hubei.url}/v1/persons/{squatted.person_id}/check-ins",
                             {"temperature_celsius": 39.0},
                             {"Authorization": f"Bearer {hubei.token(CallerKind.PERSON, stranger, '420000')}"})

    assert without_proof[0] == 400  # a signed attestation is needed; a bogus one proves nothing
    assert reclaimed[0] == 200, reclaimed
    assert (reclaimed[1]["person"]["person_id"], reclaimed[1]["person"]["masked_name"]) == (
        squatted.person_id, "真*字")
    assert guardians == []
    assert [(c["kind"], c["actor"], c["links_ended"]) for c in history[1]["corrections"]] == [("RECLAIM", "holder", 1)]
    assert (stale_link[0], stale_link[1]["error"]["reason"]) == (403, "CALLER_NOT_ALLOWED")
