"""A gRPC request as h2load sends it: one length-prefixed message (RFC-less but fixed by the gRPC
HTTP/2 protocol: a 0 byte for "not compressed", the length as 4 bytes big-endian, the message).

`./dev grpc-frame healthcode.status.v1.GetStatusRequest '{"person_id": "..."}' > getstatus.bin`
writes one for any request message of the API, from its proto3 JSON.
"""

from __future__ import annotations

import importlib
import pkgutil
import struct

from google.protobuf import descriptor_pool, json_format, message, message_factory

import healthcode


def frame(request: message.Message) -> bytes:
    body = request.SerializeToString()
    return b"\0" + struct.pack(">I", len(body)) + body


def unframe(data: bytes) -> bytes:
    """The one message a frame carries (what a server reads); ValueError if it is not one whole frame."""
    if len(data) < 5 or data[0] != 0 or struct.unpack(">I", data[1:5])[0] != len(data) - 5:
        raise ValueError("not one uncompressed length-prefixed gRPC message")
    return data[5:]


def message_class(full_name: str) -> type[message.Message]:
    """The generated class of a message of this API, by its full name (healthcode.status.v1.GetStatusRequest)."""
    for module in pkgutil.walk_packages(healthcode.__path__, "healthcode."):
        if module.name.endswith("_pb2"):
            importlib.import_module(module.name)
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(full_name)
    except KeyError:
        raise ValueError(f"no message {full_name!r} in the API") from None
    return message_factory.GetMessageClass(descriptor)


def frame_from_json(full_name: str, text: str) -> bytes:
    return frame(json_format.Parse(text or "{}", message_class(full_name)()))
