"""Bad input from the other side: a peer deployment (over real mutual TLS) answering with hostile
values built from the proto descriptors (tests/support/hostile.py). Whatever it sends, reading it gives
good data or a refusal the callers handle (Unavailable, TrustListRefused, no standing): never an
exception that would make this deployment's own answer INTERNAL."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from healthcode.verification.v1 import verification_pb2 as pb
from healthcode.verification.v1 import verification_pb2_grpc
from hypothesis import given, settings
from hypothesis import strategies as st

from services.codes import key_id_of
from services.runtime.errors import Unavailable
from services.verification.recognition.checker import Standing
from services.verification.recognition.exchange import TRUST_LIST, sign
from services.verification.recognition.federation import PeerProvince, TrustListRefused
from services.verification.recognition.model import PeerTrustList
from tests.support.hostile import PROFILE, requests
from tests.support import timestamp
from tests.support.deployments import HUBEI, JIANGSU, FederationPki, free_port

pytestmark = pytest.mark.slow
OUTCOMES: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def outcomes():
    """What hostile trust lists came to, printed at the end (`-s` shows it)."""
    yield
    print(f"\nhostile trust lists: {dict(OUTCOMES)}")


class HostilePeer(verification_pb2_grpc.FederationServiceServicer):
    """Answers every call with whatever the test put in `answer`."""

    answer = None

    async def GetTrustList(self, request, context):
        return self.answer

    async def GetCodeStanding(self, request, context):
        return self.answer

    async def ListStaleCodes(self, request, context):
        return self.answer


class Far:
    def __init__(self, servicer: HostilePeer, peer: PeerProvince, server: grpc.aio.Server) -> None:
        self.servicer, self.peer, self.server = servicer, peer, server
        self.exchange_key = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
async def far() -> AsyncIterator[Far]:
    """A hostile Jiangsu, and Hubei's client of it (each with a federation certificate of its province)."""
    pki = FederationPki()
    servicer = HostilePeer()
    server = grpc.aio.server()
    verification_pb2_grpc.add_FederationServiceServicer_to_server(servicer, server)
    port = server.add_secure_port("127.0.0.1:0", pki.tls("hostile-jiangsu", frozenset({JIANGSU})).server_credentials())
    await server.start()
    peer = PeerProvince(f"127.0.0.1:{port}", frozenset({JIANGSU}),
                        pki.tls("hubei", frozenset({HUBEI})).channel_credentials())
    yield Far(servicer, peer, server)
    await peer.close()
    await server.stop(0)
    pki.close()


def _signed_trust_list(far: Far, document: pb.TrustListDocument) -> pb.GetTrustListResponse:
    """The hostile document signed by an exchange key of Jiangsu's: the signature check passes, so the
    reading of every key in it is reached."""
    public = far.exchange_key.public_key()
    document.exchange_key.CopyFrom(pb.TrustedKey(
        key_id=key_id_of(public).hex(), province_code=JIANGSU, purpose=pb.KEY_PURPOSE_EXCHANGES,
        public_key=public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        not_before_time=timestamp(datetime(2020, 1, 1, tzinfo=UTC)),
        not_after_time=timestamp(datetime(2040, 1, 1, tzinfo=UTC))))
    raw = document.SerializeToString()
    return pb.GetTrustListResponse(document=raw, signature=sign(far.exchange_key, TRUST_LIST, raw))


@settings(settings.get_profile(PROFILE))
@given(data=st.data())
async def test_a_hostile_trust_list_is_kept_or_refused(far, data):
    signed = data.draw(st.booleans())
    far.servicer.answer = (_signed_trust_list(far, data.draw(requests(pb.TrustListDocument.DESCRIPTOR))) if signed
                           else data.draw(requests(pb.GetTrustListResponse.DESCRIPTOR)))
    try:
        listed = await far.peer.trust_list()
    except (TrustListRefused, Unavailable) as refusal:
        OUTCOMES[refusal.reason] += 1
        return
    OUTCOMES["kept"] += 1
    assert isinstance(listed, PeerTrustList)
    # Each key fits the trust list's table as it is (its id's length, both validity times).
    assert all(key.province_code == JIANGSU and len(key.key_id) == 8 and key.not_before and key.not_after
               for key in listed.keys)


@settings(settings.get_profile(PROFILE))
@given(data=st.data())
async def test_hostile_stale_codes_are_read_or_the_peer_counts_as_unavailable(far, data):
    far.servicer.answer = data.draw(requests(pb.ListStaleCodesResponse.DESCRIPTOR))
    try:
        codes = await far.peer.stale_codes()
    except Unavailable:
        return
    assert all(len(code.code_id) == 16 and code.expire_time.tzinfo is not None for code in codes)


@settings(settings.get_profile(PROFILE))
@given(data=st.data())
async def test_hostile_standings_are_read_or_none(far, data):
    far.servicer.answer = data.draw(requests(pb.GetCodeStandingResponse.DESCRIPTOR))
    standings = await far.peer.standings([b"\x01" * 16])
    assert standings is None or (len(standings) == 1 and isinstance(standings[0], Standing))


async def test_a_peer_answering_an_unknown_standing_or_too_many_gives_none(far):
    for answer in (pb.GetCodeStandingResponse(standings=[99]), pb.GetCodeStandingResponse(standings=[1, 1]),
                   pb.GetCodeStandingResponse()):
        far.servicer.answer = answer
        assert await far.peer.standings([b"\x01" * 16]) is None
    far.servicer.answer = pb.GetCodeStandingResponse(standings=[pb.CODE_STANDING_STALE])
    assert await far.peer.standings([b"\x01" * 16]) == [Standing.STALE]


async def test_a_peer_that_does_not_answer_is_peer_unavailable_naming_its_address():
    pki = FederationPki()
    address = f"127.0.0.1:{free_port()}"
    peer = PeerProvince(address, frozenset({JIANGSU}), pki.tls("hubei", frozenset({HUBEI})).channel_credentials())
    try:
        for call in (peer.trust_list(), peer.stale_codes(), peer.notify_trust_list_changed(1)):
            with pytest.raises(Unavailable) as refusal:
                await call
            assert refusal.value.reason == "PEER_UNAVAILABLE" and address in refusal.value.message
    finally:
        await peer.close()
        pki.close()
