"""The one page-token format: a token resumes where its page ended, and nothing else is accepted."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timezone

import pytest

from services.runtime.clients import Upstream, open_channel
from services.runtime.errors import InvalidArgument, Unavailable
from services.runtime.paging import Cursor

DECLARATIONS = Cursor("declarations", datetime, uuid.UUID)


def test_a_token_gives_back_the_key_it_was_made_from():
    moment = datetime(2026, 12, 2, 8, 30, 0, 123456, tzinfo=timezone.utc)
    row = str(uuid.uuid4())
    assert DECLARATIONS.after(DECLARATIONS.token(moment, row)) == (moment, row)
    keys = Cursor("keys", str, int, bytes)
    assert keys.after(keys.token("省-提供方", 7, b"\x00\xff")) == ("省-提供方", 7, b"\x00\xff")
    assert DECLARATIONS.after("") is None


def _forged(body) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("token", [
    "not base64 at all!",
    _forged({"declarations": 1}),
    _forged(["declarations", "2026-12-02T08:30:00+00:00"]),                         # a field short
    _forged(["persons", "2026-12-02T08:30:00+00:00", str(uuid.uuid4())]),             # another list's
    _forged(["declarations", "2026-12-02T08:30:00", str(uuid.uuid4())]),              # a naive time
    _forged(["declarations", "2026-12-02T08:30:00+00:00", "1; DROP TABLE stays"]),
    _forged(["declarations", 12, str(uuid.uuid4())]),
    "A" * 2000,
])
def test_a_token_not_issued_here_is_refused_naming_the_field(token):
    with pytest.raises(InvalidArgument) as refused:
        DECLARATIONS.after(token)
    assert refused.value.reason == "PAGE_TOKEN_INVALID"
    assert [v.field for v in refused.value.violations] == ["page_token"]


@pytest.mark.parametrize("value", [-1, 2**63, True, "7"])
def test_a_number_outside_a_bigint_or_not_a_number_is_refused(value):
    with pytest.raises(InvalidArgument):
        Cursor("changes", int).after(_forged(["changes", value]))


async def test_batches_keep_their_order_and_never_exceed_the_limit():
    upstream = Upstream("identity", batch=3, parallel=2)
    seen: list[int] = []

    async def call(chunk):
        seen.append(len(chunk))
        return list(chunk)

    answers = await upstream.in_batches(list(range(10)), call)
    assert [x for answer in answers for x in answer] == list(range(10))
    assert max(seen) == 3 and sum(seen) == 10


async def test_a_service_that_does_not_answer_is_unavailable_by_name():
    channel = open_channel("127.0.0.1:1", default_timeout=0.5)  # nothing listens on port 1
    try:
        call = channel.unary_unary("/grpc.health.v1.Health/Check")
        with pytest.raises(Unavailable) as refused:
            await Upstream("identity").in_batches([b""], lambda chunk: call(chunk[0]))
        assert refused.value.reason == "IDENTITY_UNAVAILABLE"
        with pytest.raises(Unavailable):
            await Upstream("status").every_page(lambda token: call(b""), lambda page: [])
    finally:
        await channel.close()
