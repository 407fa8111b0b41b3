"""Hostile requests built from the proto descriptors: valid shapes, values chosen to break readers.

Every field of every request message gets a strategy from its type: extreme and ordinary numbers,
timestamps far outside any real time, long and odd Unicode (NUL, full-width digits, a trailing
newline, astral characters), empty and repeated fields, enum numbers nobody declared. A few
values that are *almost* right (a province code, a UUID) are mixed in, so readers past the first
check are reached too.

Budgets are Hypothesis profiles: `HEALTHCODE_FUZZ_PROFILE=release` runs the long one (README).
"""

from __future__ import annotations

import asyncio
import os
import uuid

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# The suite's budget: no shrinking (a failure prints the request as generated), no example database.
settings.register_profile("suite", max_examples=12, deadline=None, database=None, derandomize=True,
                          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
settings.register_profile("release", max_examples=400, deadline=None,
                          suppress_health_check=list(HealthCheck))
PROFILE = os.environ.get("HEALTHCODE_FUZZ_PROFILE", "suite")
# What no request may ever be answered with, and how long one call may take.
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
CALL_SECONDS = 10

_INT64 = (-(2**63), 2**63 - 1)
_INT32 = (-(2**31), 2**31 - 1)

_ALMOST_RIGHT = [
    "", " ", "420000", "420100", "420100\n", "42０１００", "４２００００", "4201OO", "000000", "999999",
    "\x00", "a\x00b", "9" * 5000, "²", "٤٢٠١٠٠", "-1", "0", "1e309", "NaN", str(2**63), str(-(2**63)),
    "9|x", "2026-01-01T00:00:00+00:00|" + str(uuid.UUID(int=1)), "\ud7ff", "𠀀" * 300, "\u202e", "'; --",
    str(uuid.UUID(int=0)), str(uuid.uuid4()), "me", "HCN1:", "HCN1:" + "A" * 200, "https://x/../..", "🙂",
    "11010519491231002X", "DIAGNOSIS", "{}", "[]", "\\", "%00", "\r\n",
]


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(_ALMOST_RIGHT),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=3000),
    )


def _integer(field: FieldDescriptor) -> st.SearchStrategy[int]:
    low, high = {
        FieldDescriptor.TYPE_INT32: _INT32, FieldDescriptor.TYPE_SINT32: _INT32, FieldDescriptor.TYPE_SFIXED32: _INT32,
        FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1), FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
        FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1), FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
    }.get(field.type, _INT64)
    return st.one_of(st.sampled_from([low, high, 0, 1, -1 if low < 0 else 2, 1000, 1001, 10_001]),
                     st.integers(low, high))


def _timestamp_values() -> st.SearchStrategy[dict]:
    seconds = st.one_of(st.sampled_from([_INT64[0], _INT64[1], -(2**40), 2**40, -62135596801, 253402300800,
                                         0, -1, 1_800_000_000]),
                        st.integers(*_INT64), st.integers(1_500_000_000, 2_000_000_000))
    nanos = st.one_of(st.just(0), st.sampled_from([-1, 999_999_999, 1_000_000_000, _INT32[0], _INT32[1]]))
    return st.fixed_dictionaries({"seconds": seconds, "nanos": nanos})


def _scalar(field: FieldDescriptor, depth: int) -> st.SearchStrategy:
    kind = field.type
    if kind == FieldDescriptor.TYPE_MESSAGE:
        return message_values(field.message_type, depth + 1)
    if kind == FieldDescriptor.TYPE_STRING:
        return hostile_text()
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"\x00" * 17, b"\xff" * 16, b"\x0a\x05"]))
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64 if kind == 1 else 32),
                         st.sampled_from([0.0, -0.0, 36.5, 37.3, 1e308]))
    if kind == FieldDescriptor.TYPE_ENUM:
        known = [value.number for value in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.sampled_from([-1, 99, _INT32[0], _INT32[1]]))
    return _integer(field)


def message_values(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[dict]:
    """A dict of field values for one message (nested messages as dicts), any subset of fields set."""
    if descriptor.full_name == "google.protobuf.Timestamp":
        return _timestamp_values()
    if depth > 3:
        return st.just({})
    optional = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            optional[field.name] = st.dictionaries(_scalar(key, depth), _scalar(value, depth), max_size=3)
        elif field.is_repeated:
            optional[field.name] = st.one_of(
                st.lists(_scalar(field, depth), max_size=3),
                # the same value many times: duplicates inside one request
                _scalar(field, depth).map(lambda value: [value] * 5))
        else:
            optional[field.name] = _scalar(field, depth)
    return st.fixed_dictionaries({}, optional=optional)


def build(descriptor: Descriptor, values: dict):
    """The message `values` describes (setting oneof members in turn leaves the last one set)."""
    message = message_factory.GetMessageClass(descriptor)()
    for name, value in values.items():
        field = descriptor.fields_by_name[name]
        target = getattr(message, name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            for key, item in value.items():
                if value_field.message_type is not None:
                    target[key].CopyFrom(build(value_field.message_type, item))
                else:
                    target[key] = item
        elif field.is_repeated:
            if field.message_type is not None:
                for item in value:
                    target.add().CopyFrom(build(field.message_type, item))
            else:
                target.extend(value)
        elif field.message_type is not None:
            target.CopyFrom(build(field.message_type, value))
        else:
            setattr(message, name, value)
    return message


def requests(descriptor: Descriptor) -> st.SearchStrategy:
    return message_values(descriptor).map(lambda values: build(descriptor, values))


async def call_code(channel: grpc.aio.Channel, method, request, metadata=()) -> grpc.StatusCode:
    """Makes the call with its shape (unary, client or server stream); the code it ends with."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    response_class = message_factory.GetMessageClass(method.output_type)
    serialize, deserialize = (lambda m: m.SerializeToString()), response_class.FromString
    try:
        if method.client_streaming:
            async def chunks():
                for _ in range(2):
                    yield request
            call = channel.stream_unary(path, request_serializer=serialize, response_deserializer=deserialize)
            await call(chunks(), timeout=CALL_SECONDS, metadata=metadata)
        elif method.server_streaming:
            call = channel.unary_stream(path, request_serializer=serialize, response_deserializer=deserialize)
            stream = call(request, timeout=CALL_SECONDS, metadata=metadata)
            # A watch never ends on its own: its first answer (or its refusal) is what input decides.
            async for _ in stream:
                stream.cancel()
                break
        else:
            call = channel.unary_unary(path, request_serializer=serialize, response_deserializer=deserialize)
            await call(request, timeout=CALL_SECONDS, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        return error.code()
    except asyncio.CancelledError:
        return grpc.StatusCode.OK
    return grpc.StatusCode.OK
