"""The request file h2load sends (docs/benchmarks.md): one length-prefixed gRPC message, made by
`healthcode grpc-frame`, and answered by a real server as the message it encodes."""

from __future__ import annotations

import asyncio
import re
import shutil
import struct

import pytest
from healthcode.status.v1 import status_pb2
from prometheus_client import REGISTRY

from tools.load.frames import frame, frame_from_json, unframe
from tests.support.status import NATIONAL_ONLY, person_in

GET_STATUS = "/healthcode.status.v1.StatusService/GetStatus"


def test_a_frame_is_a_zero_flag_a_big_endian_length_and_the_message():
    request = status_pb2.GetStatusRequest(person_id="0b7a1a63-3a0f-4c3e-8e51-0a6a9b1f6e33")
    data = frame_from_json("healthcode.status.v1.GetStatusRequest", '{"person_id": "%s"}' % request.person_id)
    assert data == frame(request)
    assert data[:5] == b"\0" + struct.pack(">I", request.ByteSize())
    assert status_pb2.GetStatusRequest.FromString(unframe(data)) == request


def test_unknown_messages_and_fields_are_refused_by_name():
    with pytest.raises(ValueError, match="no message"):
        frame_from_json("healthcode.status.v1.NoSuchRequest", "{}")
    with pytest.raises(Exception, match="colour"):
        frame_from_json("healthcode.status.v1.GetStatusRequest", '{"colour": 1}')
    with pytest.raises(ValueError):
        unframe(b"\0\0\0\0\x09abc")  # says 9 bytes, carries 3


@pytest.mark.skipif(shutil.which("h2load") is None, reason="h2load (Debian's nghttp2-client) is not installed")
async def test_h2load_with_the_frame_gets_answers_from_a_real_server(status_env, identity_env, tmp_path):
    person = await person_in(identity_env, NATIONAL_ONLY)
    request_file = tmp_path / "getstatus.bin"
    request_file.write_bytes(frame(status_pb2.GetStatusRequest(person_id=person)))
    labels = {"grpc_type": "unary", "grpc_service": "healthcode.status.v1.StatusService", "grpc_method": "GetStatus",
              "grpc_code": "OK"}
    before = REGISTRY.get_sample_value("grpc_server_handled_total", labels) or 0.0
    # A subprocess: the server answers on this test's own event loop.
    process = await asyncio.create_subprocess_exec(
        "h2load", "-n", "40", "-c", "1", "-m", "4", "-d", str(request_file),
        "-H", "content-type: application/grpc", "-H", "te: trailers",
        f"http://{status_env.server.address}{GET_STATUS}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output = (await asyncio.wait_for(process.communicate(), 60))[0].decode()
    assert process.returncode == 0, output
    assert re.search(r"40 succeeded, 0 failed", output), output
    # h2load sees HTTP 200 for every gRPC answer; the server's own count says they were OK.
    assert (REGISTRY.get_sample_value("grpc_server_handled_total", labels) or 0.0) - before == 40
