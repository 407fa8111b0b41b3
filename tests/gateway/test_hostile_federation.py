"""Bad input on the federation port: every FederationService method over real mutual TLS, with
requests built from the proto descriptors (tests/support/hostile.py), from a peer holding a valid federation
certificate and from the callers a deployment must turn away. No answer is INTERNAL or UNKNOWN, and
no refused call changes what the receiving deployment holds."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, timedelta

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from healthcode.common.v1 import common_pb2
from healthcode.verification.v1 import verification_pb2 as pb
from healthcode.verification.v1 import verification_pb2_grpc
from hypothesis import given, settings
from hypothesis import strategies as st

from services.runtime.timestamps import in_range
from services.verification.bootstrap import exchange_key_from_secret
from services.verification.recognition.exchange import RISK_LIST, RiskRecord, risk_list_bytes, sign
from services.verification.recognition.federation_tls import FederationTls
from services.verification.recognition.mutual import MAX_RISK_RECORDS
from tests.support.hostile import CALL_SECONDS, NEVER, PROFILE, call_code, hostile_text, requests
from tests.support import error_details, refused, timestamp
from tests.support.deployments import HUBEI, JIANGSU, Deployment

pytestmark = pytest.mark.slow

FEDERATION = pb.DESCRIPTOR.services_by_name["FederationService"]
METHODS = [pytest.param(method, id=method.name) for method in FEDERATION.methods]
TRIED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def inputs_tried():
    """The number of requests sent, printed at the end (`-s` shows it)."""
    yield
    print(f"\nhostile federation requests sent: {dict(TRIED)}")


async def held(deployment: Deployment) -> dict[str, str]:
    """A digest of every table of the deployment's verification schema: what a refused call must not change."""
    pool = deployment.parts.recognition.repository.pool
    tables = [row["tablename"] for row in await pool.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'verification' ORDER BY tablename")]
    return {table: await pool.fetchval(
        f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM verification.{table} t")
        for table in tables}


class Callers:
    """Channels to Hubei's federation port: Jiangsu (a configured peer) and the callers it refuses."""

    def __init__(self, platform) -> None:
        self.hubei = platform.hubei.deployment
        self.jiangsu = platform.jiangsu.deployment
        pki = platform.pki
        address = self.hubei.federation_address
        member = pki.tls("fuzz-jiangsu", frozenset({JIANGSU}))
        outsider = pki.tls("fuzz-outsider", frozenset({JIANGSU}), outsider=True)
        self.peer = grpc.aio.secure_channel(address, member.channel_credentials())
        # Each attacker, and the refusal it must get: (code, ErrorInfo reason; None when TLS refuses it).
        self.attackers = {
            # No client certificate: the handshake fails, nothing reaches a handler.
            "no-certificate": (grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(member.ca)),
                               grpc.StatusCode.UNAVAILABLE, None),
            # A certificate naming Jiangsu, issued by a CA the federation does not know.
            "another-ca": (grpc.aio.secure_channel(address, FederationTls(
                member.ca, outsider.certificate, outsider.key).channel_credentials()),
                grpc.StatusCode.UNAVAILABLE, None),
            "hubei-itself": (self._channel(pki, frozenset({HUBEI})), grpc.StatusCode.PERMISSION_DENIED,
                             "PEER_CLAIMS_OWN_PROVINCE"),
            "no-peer-province": (self._channel(pki, frozenset({"310000"})), grpc.StatusCode.PERMISSION_DENIED,
                                 "PEER_UNKNOWN"),
            "no-province": (self._channel(pki, frozenset()), grpc.StatusCode.UNAUTHENTICATED,
                            "PEER_CERTIFICATE_WITHOUT_PROVINCES"),
        }
        self.stub = verification_pb2_grpc.FederationServiceStub(self.peer)
        self.exchange_key = exchange_key_from_secret(self.jiangsu.exchange_secret)
        self.key_id = self.jiangsu.parts.recognition.exchange_key_id.hex()

    def _channel(self, pki, provinces: frozenset[str]) -> grpc.aio.Channel:
        name = "fuzz-" + ("-".join(sorted(provinces)) or "none")
        return grpc.aio.secure_channel(self.hubei.federation_address, pki.tls(name, provinces).channel_credentials())

    def signed(self, batch_id: str, records: list[pb.RiskListRecord], province_code: str = JIANGSU,
               key: ec.EllipticCurvePrivateKey | None = None) -> pb.SubmitRiskListRequest:
        """A batch as Jiangsu's deployment would sign it (by `key` instead: a forgery)."""
        signature = sign(key or self.exchange_key, RISK_LIST, risk_list_bytes(batch_id, province_code, [
            RiskRecord(bytes(r.person_ref), r.colour, r.reason, r.source, r.expire_time.ToDatetime(tzinfo=UTC),
                       r.list_sequence)
            for r in records]))
        return pb.SubmitRiskListRequest(batch_id=batch_id, province_code=province_code, records=records,
                                        key_id=self.key_id, signature=signature)

    def record(self) -> pb.RiskListRecord:
        return pb.RiskListRecord(person_ref=uuid.uuid4().bytes, colour=common_pb2.COLOUR_RED, reason="CLOSE_CONTACT",
                                 source="jiangsu-cdc", expire_time=timestamp(self.hubei.clock.now() + timedelta(days=1)))

    async def close(self) -> None:
        await self.peer.close()
        for channel, _, _ in self.attackers.values():
            await channel.close()


@pytest.fixture(scope="module")
async def callers(hostile_platform):
    both = Callers(hostile_platform)
    yield both
    await both.close()


@pytest.mark.parametrize("method", METHODS)
@settings(settings.get_profile(PROFILE))
@given(data=st.data())
async def test_no_request_from_a_peer_makes_the_federation_port_fail_internally(callers, method, data):
    """Jiangsu's valid certificate: every request reaches the handler; none is signed, so none may store."""
    request = data.draw(requests(method.input_type))
    before = await held(callers.hubei)
    code = await call_code(callers.peer, method, request)
    TRIED["peer"] += 1
    assert code not in NEVER, f"{code.name} for {method.name}: {str(request)[:2000]!r}"
    assert await held(callers.hubei) == before, f"{method.name} changed what Hubei holds: {str(request)[:2000]!r}"


@pytest.mark.parametrize("attacker", ["no-certificate", "another-ca", "hubei-itself", "no-peer-province",
                                      "no-province"])
@pytest.mark.parametrize("method", METHODS)
@settings(settings.get_profile(PROFILE))
@given(data=st.data())
async def test_a_caller_the_federation_does_not_admit_is_refused_whatever_it_sends(callers, method, attacker, data):
    channel, expected, reason = callers.attackers[attacker]
    request = data.draw(requests(method.input_type))
    before = await held(callers.hubei)
    path = f"/{FEDERATION.full_name}/{method.name}"
    call = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=lambda raw: raw)
    error = await refused(call(request, timeout=CALL_SECONDS))
    TRIED["attackers"] += 1
    if reason is None:  # refused by TLS: nothing was read
        assert error.code() == expected, f"{attacker} {method.name}: {error}"
    elif error.code() != grpc.StatusCode.INVALID_ARGUMENT:
        # The runtime reads every request strictly before a handler judges its caller: malformed text
        # is INVALID_ARGUMENT whoever sends it; anything else gets the caller's refusal.
        assert (error.code(), error_details(error)[0]) == (expected, reason), f"{attacker} {method.name}: {error}"
    assert await held(callers.hubei) == before


def _hostile_records() -> st.SearchStrategy[list[pb.RiskListRecord]]:
    """Records with hostile values but times a signer can encode (times out of the strict range are
    refused before the signature is checked: the peer fuzz above reaches them)."""
    record = requests(pb.RiskListRecord.DESCRIPTOR).filter(lambda r: in_range(r.expire_time))
    return st.lists(record, max_size=4)


@settings(settings.get_profile(PROFILE))
@given(data=st.data())
async def test_a_signed_batch_of_hostile_records_keeps_the_good_ones_and_never_fails_internally(callers, data):
    """Signed by Jiangsu's real exchange key, so the records' own readers and the store are reached."""
    records = data.draw(_hostile_records())
    batch_id = data.draw(st.one_of(st.uuids().map(str), hostile_text()))
    request = callers.signed(batch_id, records)
    before = await held(callers.hubei)
    pool = callers.hubei.parts.recognition.repository.pool
    stored_before = await pool.fetchval("SELECT count(*) FROM verification.risk_records")
    try:
        response = await callers.stub.SubmitRiskList(request, timeout=CALL_SECONDS)
    except grpc.aio.AioRpcError as error:
        TRIED["signed"] += 1
        assert error.code() not in NEVER, f"{error.code().name}: {str(request)[:2000]!r}"
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
        assert await held(callers.hubei) == before
        return
    TRIED["signed"] += 1
    stored = await pool.fetchval("SELECT count(*) FROM verification.risk_records") - stored_before
    if response.duplicate:
        assert (response.stored_count, stored) == (0, 0)
    else:
        assert stored == response.stored_count == len(records) - len(response.rejections)
        assert all(r.field.startswith(f"records[{r.index}].") for r in response.rejections)


async def test_a_forged_or_altered_batch_is_refused_and_changes_nothing(callers):
    before = await held(callers.hubei)
    records = [callers.record(), callers.record()]
    forger = ec.generate_private_key(ec.SECP256R1())
    genuine = callers.signed("forged-" + uuid.uuid4().hex, records)
    altered = pb.SubmitRiskListRequest()
    altered.CopyFrom(genuine)
    altered.records[1].colour = common_pb2.COLOUR_YELLOW
    unknown_key = pb.SubmitRiskListRequest()
    unknown_key.CopyFrom(genuine)
    unknown_key.key_id = "00" * 8
    for request, reason in ((callers.signed("forged-" + uuid.uuid4().hex, records, key=forger), "SIGNATURE_INVALID"),
                            (altered, "SIGNATURE_INVALID"), (unknown_key, "EXCHANGE_KEY_UNKNOWN"),
                            # Jiangsu's key over a batch in the name of a province its certificate does not name
                            (callers.signed("forged-" + uuid.uuid4().hex, records, province_code="310000"),
                             "PROVINCE_NOT_IN_CERTIFICATE")):
        error = await refused(callers.stub.SubmitRiskList(request, timeout=CALL_SECONDS))
        assert (error.code(), error_details(error)[0]) == (grpc.StatusCode.PERMISSION_DENIED, reason)
    error = await refused(callers.stub.SubmitRiskList(pb.SubmitRiskListRequest(
        batch_id="b", province_code=JIANGSU, key_id="not hex", records=records), timeout=CALL_SECONDS))
    assert error_details(error) == ("KEY_ID_INVALID", ["key_id"])
    assert await held(callers.hubei) == before


async def test_a_replayed_batch_is_stored_once_even_when_replayed_concurrently(callers):
    request = callers.signed("replay-" + uuid.uuid4().hex, [callers.record() for _ in range(3)])
    answers = await asyncio.gather(*(callers.stub.SubmitRiskList(request, timeout=CALL_SECONDS) for _ in range(6)))
    assert sorted((a.duplicate, a.stored_count) for a in answers) == [(False, 3)] + [(True, 0)] * 5
    after_first = await held(callers.hubei)
    again = await callers.stub.SubmitRiskList(request, timeout=CALL_SECONDS)
    assert (again.duplicate, again.stored_count) == (True, 0)
    assert await held(callers.hubei) == after_first


async def test_oversize_lists_are_invalid_argument_or_too_large_and_change_nothing(callers):
    before = await held(callers.hubei)
    record = callers.record()
    too_many = callers.signed("oversize-" + uuid.uuid4().hex, [record] * (MAX_RISK_RECORDS + 1))
    error = await refused(callers.stub.SubmitRiskList(too_many, timeout=60))
    assert (error.code(), error_details(error)) == (grpc.StatusCode.INVALID_ARGUMENT, ("TOO_MANY_RECORDS", ["records"]))
    error = await refused(callers.stub.GetCodeStanding(pb.GetCodeStandingRequest(code_ids=["00" * 16] * 101),
                                                       timeout=CALL_SECONDS))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Past the port's 8 MiB message limit: refused by grpc before any handler.
    beyond = pb.SubmitRiskListRequest(batch_id="huge", province_code=JIANGSU, records=[record] * 200_000)
    error = await refused(callers.stub.SubmitRiskList(beyond, timeout=60))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert await held(callers.hubei) == before


@pytest.mark.parametrize("method", METHODS)
async def test_bytes_that_are_not_the_request_are_invalid_argument_on_the_federation_port(callers, method):
    call = callers.peer.unary_unary(f"/{FEDERATION.full_name}/{method.name}", request_serializer=lambda raw: raw,
                                    response_deserializer=lambda raw: raw)
    error = await refused(call(b"\x0a\xff\xff\xff\xff\x0f", timeout=CALL_SECONDS))
    assert (error.code(), error_details(error)) == (grpc.StatusCode.INVALID_ARGUMENT, ("REQUEST_UNDECODABLE", []))
