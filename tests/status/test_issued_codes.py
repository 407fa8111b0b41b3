"""IssueCode signs a short-lived code with the province's key; a newer status makes it stale."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_der_public_key
from healthcode.common.v1 import common_pb2
from healthcode.identity.v1 import identity_pb2
from healthcode.status.v1 import status_pb2 as pb

from services.codes import CodeRejected, read_code
from services.runtime.sealing import Keyring, Sealed
from tests.support.status import NATIONAL_ONLY, diagnosis, guardian_and_child, later, person_in, record
from tests.support import error_details, refused, timestamp

CURRENT, STALE, UNKNOWN = pb.CODE_STANDING_CURRENT, pb.CODE_STANDING_STALE, pb.CODE_STANDING_UNKNOWN


async def public_keys(status_env, province_code: str) -> dict[bytes, object]:
    listed = await status_env.admin.ListSigningKeys(pb.ListSigningKeysRequest(province_code=province_code))
    return {bytes.fromhex(k.key_id): load_der_public_key(k.public_key) for k in listed.keys if not k.HasField(
        "revoke_time")}


async def issue(status_env, person_id: str, requester: str = "") -> pb.IssueCodeResponse:
    return await status_env.stub.IssueCode(pb.IssueCodeRequest(person_id=person_id, requester_person_id=requester))


async def test_a_code_carries_only_what_a_checkpoint_needs_and_verifies_with_the_provinces_key(
        status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    response = await issue(status_env, person)
    assert response.payload.startswith("HCN1:") and len(response.payload) < 400
    code = read_code(response.payload)
    code.verify((await public_keys(status_env, NATIONAL_ONLY))[code.key_id])
    claims = code.claims
    assert (claims.issuer_province, int(claims.national_colour), claims.display_colour, claims.status_version) == (
        NATIONAL_ONLY, common_pb2.COLOUR_GREEN, "green", response.status.version)
    shown = await identity_env.persons.GetPerson(identity_pb2.GetPersonRequest(person_id=person))
    assert claims.masked_name == shown.person.masked_name and "*" in claims.masked_name
    assert claims.expires_at - claims.issued_at == timedelta(seconds=60)
    assert response.expire_time.ToDatetime().replace(tzinfo=claims.expires_at.tzinfo) == claims.expires_at


async def test_a_newer_status_makes_an_earlier_code_stale(status_env, identity_env, clock):
    person = await person_in(identity_env, NATIONAL_ONLY)
    first = read_code((await issue(status_env, person)).payload)
    assert (await status_env.stub.GetCodeStanding(pb.GetCodeStandingRequest(
        code_ids=[first.claims.code_id.hex()]))).standings == [CURRENT]
    await record(status_env, diagnosis(person, pb.DIAGNOSIS_CLOSE_CONTACT, clock.now()))
    second = read_code((await issue(status_env, person)).payload)
    assert int(second.claims.national_colour) == common_pb2.COLOUR_RED
    standings = await status_env.stub.GetCodeStanding(pb.GetCodeStandingRequest(
        code_ids=[first.claims.code_id.hex(), second.claims.code_id.hex(), "00" * 16]))
    assert list(standings.standings) == [STALE, CURRENT, UNKNOWN]


async def test_an_expired_code_is_forgotten(status_env, identity_env, clock):
    code = read_code((await issue(status_env, await person_in(identity_env, NATIONAL_ONLY))).payload)
    with later(clock, timedelta(seconds=61)):
        standings = await status_env.stub.GetCodeStanding(pb.GetCodeStandingRequest(
            code_ids=[code.claims.code_id.hex()]))
        assert list(standings.standings) == [UNKNOWN]


async def test_a_guardian_gets_a_dependents_code_and_a_stranger_does_not(status_env, identity_env, clock):
    guardian, child = await guardian_and_child(identity_env, clock)
    response = await issue(status_env, child, guardian)
    assert response.status.person_id == child
    stranger = await person_in(identity_env, NATIONAL_ONLY)
    error = await refused(issue(status_env, child, stranger))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_codes_are_signed_by_the_newest_key_in_force_and_never_by_a_revoked_one(status_env, identity_env,
                                                                                      clock):
    province = "530000"  # Yunnan: only this test rotates its keys
    person = await person_in(identity_env, province)
    old_kid = read_code((await issue(status_env, person)).payload).key_id
    newer = await status_env.admin.CreateSigningKey(pb.CreateSigningKeyRequest(
        province_code=province, not_before_time=timestamp(clock.now() + timedelta(hours=1))))
    # Not in force yet: the old key still signs.
    assert read_code((await issue(status_env, person)).payload).key_id == old_kid
    with later(clock, timedelta(hours=2)):
        rotated = read_code((await issue(status_env, person)).payload)
        assert rotated.key_id.hex() == newer.key.key_id
        await status_env.admin.RevokeSigningKey(pb.RevokeSigningKeyRequest(key_id=newer.key.key_id))
        # Revoked: back to the older key, which is still in force.
        assert read_code((await issue(status_env, person)).payload).key_id == old_kid
    listed = await status_env.admin.ListSigningKeys(pb.ListSigningKeysRequest(province_code=province))
    assert {k.key_id: k.HasField("revoke_time") for k in listed.keys} == {old_kid.hex(): False,
                                                                          newer.key.key_id: True}


async def test_without_a_key_in_force_no_code_is_issued(status_env, identity_env):
    province = "710000"  # Taiwan: only this test revokes its key
    person = await person_in(identity_env, province)
    for key in (await status_env.admin.ListSigningKeys(pb.ListSigningKeysRequest(province_code=province))).keys:
        await status_env.admin.RevokeSigningKey(pb.RevokeSigningKeyRequest(key_id=key.key_id))
    error = await refused(issue(status_env, person))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_details(error)[0] == "NO_SIGNING_KEY"


async def test_a_tampered_code_is_refused(status_env, identity_env):
    payload = (await issue(status_env, await person_in(identity_env, NATIONAL_ONLY))).payload
    keys = await public_keys(status_env, NATIONAL_ONLY)
    tampered = payload[:20] + ("A" if payload[20] != "A" else "B") + payload[21:]
    try:
        code = read_code(tampered)
        code.verify(keys[code.key_id])
    except (CodeRejected, KeyError):
        return
    raise AssertionError("a tampered code verified")


async def test_key_admin_requests_are_checked(status_env):
    error = await refused(status_env.admin.CreateSigningKey(pb.CreateSigningKeyRequest(province_code="123456")))
    assert error_details(error) == ("PROVINCE_CODE_INVALID", ["province_code"])
    error = await refused(status_env.admin.RevokeSigningKey(pb.RevokeSigningKeyRequest(key_id="zz")))
    assert error_details(error) == ("KEY_ID_INVALID", ["key_id"])
    error = await refused(status_env.admin.RevokeSigningKey(pb.RevokeSigningKeyRequest(key_id="00" * 8)))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_private_signing_keys_are_sealed_at_rest(status_env, db):
    row = await db.fetchrow("SELECT key_id, public_key, sealed_key_id, sealed FROM status.signing_keys LIMIT 1")
    with pytest.raises(ValueError):
        serialization.load_der_private_key(bytes(row["sealed"]), password=None)  # not a key as stored
    opened = Keyring(status_env.settings.sealing_keys).open(
        Sealed(row["sealed_key_id"], bytes(row["sealed"])), b"status.signing_keys:" + bytes(row["key_id"]))
    public = serialization.load_der_private_key(opened, password=None).public_key()
    assert public.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo) == bytes(row["public_key"])
