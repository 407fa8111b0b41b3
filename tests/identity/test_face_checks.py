"""Face-check attestations: only a registered provider's fresh, unused, matching attestation counts."""

from __future__ import annotations

import secrets
from datetime import timedelta

import grpc
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from healthcode.identity.v1 import identity_pb2 as pb
from services.codes import P256_ORDER
from tests.support import refused, FaceProvider, error_details, id_card, timestamp


async def register(env, document, attestation=None):
    return await env.persons.RegisterPerson(
        pb.RegisterPersonRequest(name="冯小明", document=document, face_attestation=attestation))


async def test_a_valid_attestation_records_the_face_check(identity_env, clock):
    document = id_card()

    response = await register(identity_env, document, identity_env.provider.attest(document, clock.now()))

    assert response.person.face_check_time.ToDatetime().replace(tzinfo=clock.now().tzinfo) == clock.now()


async def test_a_forged_signature_is_refused(identity_env, clock):
    document = id_card()
    forger = FaceProvider(identity_env.provider.provider_id, identity_env.provider.key_id)

    error = await refused(register(identity_env, document, forger.attest(document, clock.now())))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error) == ("ATTESTATION_SIGNATURE_INVALID", ["face_attestation"])


async def test_the_high_s_twin_of_a_genuine_signature_is_refused(identity_env, clock):
    document = id_card()
    genuine = identity_env.provider.attest(document, clock.now())
    r, s = decode_dss_signature(genuine.signature)
    twin = pb.FaceAttestation(claims=genuine.claims, signature=encode_dss_signature(r, P256_ORDER - s))

    error = await refused(register(identity_env, document, twin))

    assert error_details(error) == ("ATTESTATION_SIGNATURE_INVALID", ["face_attestation"])
    assert (await register(identity_env, document, genuine)).person.person_id


async def test_claims_edited_after_signing_are_refused(identity_env, clock):
    document = id_card()
    genuine = identity_env.provider.attest(document, clock.now())
    claims = pb.FaceCheckClaims.FromString(genuine.claims)
    claims.check_time.CopyFrom(timestamp(clock.now() + timedelta(seconds=1)))
    tampered = pb.FaceAttestation(claims=claims.SerializeToString(), signature=genuine.signature)

    error = await refused(register(identity_env, document, tampered))

    assert error_details(error)[0] == "ATTESTATION_SIGNATURE_INVALID"


async def test_an_unknown_provider_key_is_refused(identity_env, clock):
    document = id_card()

    error = await refused(register(identity_env, document, FaceProvider().attest(document, clock.now())))

    assert error_details(error) == ("ATTESTATION_KEY_UNKNOWN", ["face_attestation"])


async def test_an_expired_attestation_is_refused(identity_env, clock):
    document = id_card()
    max_age = identity_env.settings.attestation_max_age
    stale = identity_env.provider.attest(document, clock.now() - max_age - timedelta(seconds=1))

    error = await refused(register(identity_env, document, stale))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(error)[0] == "ATTESTATION_EXPIRED"


async def test_an_attestation_just_within_its_age_is_accepted(identity_env, clock):
    document = id_card()
    max_age = identity_env.settings.attestation_max_age

    response = await register(identity_env, document, identity_env.provider.attest(document, clock.now() - max_age))

    assert response.created


async def test_an_attestation_from_the_future_is_refused(identity_env, clock):
    document = id_card()
    skew = identity_env.settings.attestation_clock_skew
    early = identity_env.provider.attest(document, clock.now() + skew + timedelta(seconds=1))

    error = await refused(register(identity_env, document, early))

    assert error_details(error)[0] == "ATTESTATION_FROM_FUTURE"


async def test_a_replayed_attestation_is_refused(identity_env, clock):
    document = id_card()
    person = (await register(identity_env, document)).person
    attestation = identity_env.provider.attest(document, clock.now())
    await identity_env.persons.RecordFaceCheck(
        pb.RecordFaceCheckRequest(person_id=person.person_id, face_attestation=attestation))
    dependent_holder = (await register(identity_env, id_card())).person

    # The same attestation presented for another purpose (here: consenting to a link).
    error = await refused(identity_env.persons.LinkDependent(pb.LinkDependentRequest(
        holder_person_id=dependent_holder.person_id, dependent_person_id=person.person_id,
        relation=pb.RELATION_RELATIVE, dependent_face_attestation=attestation)))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(error)[0] == "ATTESTATION_REPLAYED"


async def test_a_retried_registration_may_present_its_attestation_again(identity_env, clock):
    document = id_card()
    attestation = identity_env.provider.attest(document, clock.now())

    first = await register(identity_env, document, attestation)
    retry = await register(identity_env, document, attestation)

    assert retry.person.person_id == first.person.person_id
    assert not retry.created


async def test_an_attestation_for_another_document_is_refused(identity_env, clock):
    document = id_card()

    error = await refused(register(identity_env, document, identity_env.provider.attest(id_card(), clock.now())))

    assert error_details(error) == ("ATTESTATION_DOCUMENT_MISMATCH", ["face_attestation"])


async def test_a_revoked_key_is_refused(identity_env, clock):
    provider = FaceProvider()
    await identity_env.admin.RegisterFaceProviderKey(pb.RegisterFaceProviderKeyRequest(
        provider_id=provider.provider_id, key_id=provider.key_id, public_key_der=provider.public_key_der,
        valid_from_time=timestamp(clock.now() - timedelta(days=1))))
    document = id_card()
    attestation = provider.attest(document, clock.now())
    await identity_env.admin.RevokeFaceProviderKey(
        pb.RevokeFaceProviderKeyRequest(provider_id=provider.provider_id, key_id=provider.key_id))

    error = await refused(register(identity_env, document, attestation))

    assert error_details(error)[0] == "ATTESTATION_KEY_REVOKED"


async def test_an_attestation_made_outside_the_key_validity_is_refused(identity_env, clock):
    provider = FaceProvider()
    await identity_env.admin.RegisterFaceProviderKey(pb.RegisterFaceProviderKeyRequest(
        provider_id=provider.provider_id, key_id=provider.key_id, public_key_der=provider.public_key_der,
        valid_from_time=timestamp(clock.now() + timedelta(seconds=10))))
    document = id_card()

    error = await refused(register(identity_env, document, provider.attest(document, clock.now())))

    assert error_details(error)[0] == "ATTESTATION_KEY_NOT_VALID"


async def test_garbage_claims_are_an_invalid_argument(identity_env):
    error = await refused(register(identity_env, id_card(),
                                   pb.FaceAttestation(claims=b"\xff\xff\xff", signature=b"x")))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error) == ("ATTESTATION_MALFORMED", ["face_attestation.claims"])


async def test_an_invalid_document_inside_the_claims_names_its_path(identity_env, clock):
    bad = pb.Document(kind=pb.DOCUMENT_KIND_RESIDENT_ID_CARD, number="123")

    error = await refused(register(identity_env, id_card(), identity_env.provider.attest(bad, clock.now())))

    assert error_details(error) == ("DOCUMENT_NUMBER_FORMAT", ["face_attestation.claims.document.number"])


async def test_a_different_key_under_a_registered_key_id_is_refused(identity_env):
    provider = identity_env.provider
    error = await refused(identity_env.admin.RegisterFaceProviderKey(pb.RegisterFaceProviderKeyRequest(
        provider_id=provider.provider_id, key_id=provider.key_id, public_key_der=FaceProvider().public_key_der)))

    assert error.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_a_key_that_is_not_p256_is_refused(identity_env):
    error = await refused(identity_env.admin.RegisterFaceProviderKey(pb.RegisterFaceProviderKeyRequest(
        provider_id="acme", key_id="k9", public_key_der=b"not a key")))

    assert error_details(error) == ("PUBLIC_KEY_INVALID", ["public_key_der"])


async def test_provider_keys_are_listed_page_by_page(identity_env, clock):
    prefix = f"pager-{secrets.token_hex(3)}"
    for index in range(5):
        provider = FaceProvider(f"{prefix}-{index}")
        await identity_env.admin.RegisterFaceProviderKey(pb.RegisterFaceProviderKeyRequest(
            provider_id=provider.provider_id, key_id="k1", public_key_der=provider.public_key_der))

    seen, token = [], ""
    while True:
        page = await identity_env.admin.ListFaceProviderKeys(
            pb.ListFaceProviderKeysRequest(page_size=2, page_token=token))
        assert len(page.keys) <= 2
        seen += [k.provider_id for k in page.keys]
        token = page.next_page_token
        if not token:
            break

    assert [p for p in seen if p.startswith(prefix)] == [f"{prefix}-{i}" for i in range(5)]
    assert len(seen) == len(set(seen))


async def test_a_page_token_of_another_list_is_refused(identity_env):
    for index in range(2):
        provider = FaceProvider(f"token-{secrets.token_hex(3)}-{index}")
        await identity_env.admin.RegisterFaceProviderKey(pb.RegisterFaceProviderKeyRequest(
            provider_id=provider.provider_id, key_id="k1", public_key_der=provider.public_key_der))
    keys_token = (await identity_env.admin.ListFaceProviderKeys(pb.ListFaceProviderKeysRequest(page_size=1))
                  ).next_page_token

    error = await refused(identity_env.persons.ListNameChanges(pb.ListNameChangesRequest(page_token=keys_token)))

    assert keys_token
    assert error_details(error) == ("PAGE_TOKEN_INVALID", ["page_token"])
