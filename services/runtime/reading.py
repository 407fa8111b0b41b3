"""The runtime's strict reading of every request before a servicer sees it.

- Bytes that do not decode as the method's request message are INVALID_ARGUMENT
  (reason REQUEST_UNDECODABLE), not grpc's INTERNAL "Exception deserializing request".
- No string field anywhere in a request may hold NUL (Postgres text cannot), and none may be
  longer than MAX_TEXT characters unless the service declares a longer limit for that field
  (`App.text_limits`, by the field's full proto name). Each refusal names the field's path
  (`facts[3].authority`).

Client-streaming requests (bulk ingest) are decoded the same way but not walked: their servicers
judge each row themselves, so one bad row is a rejected row, not a failed stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from services.runtime.errors import InvalidArgument

MAX_TEXT = 4096


class Undecodable:
    """Stands in for a request whose bytes did not decode; the wrapped handler refuses it."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


def tolerant(deserializer: Callable[[bytes], Message] | None) -> Callable[[bytes], object] | None:
    if deserializer is None:
        return None
    descriptor = getattr(getattr(deserializer, "__self__", None), "DESCRIPTOR", None)
    type_name = descriptor.full_name if descriptor is not None else "request"

    def deserialize(raw: bytes):
        try:
            return deserializer(raw)
        except (DecodeError, RuntimeWarning, ValueError, RecursionError):
            return Undecodable(type_name)
    return deserialize


def refuse_undecodable(request: Undecodable) -> InvalidArgument:
    return InvalidArgument(reason="REQUEST_UNDECODABLE", message="the request bytes are not a valid "
                           f"{request.type_name} message", violations=[])


def check_text(message: Message, limits: Mapping[str, int], path: str = "") -> None:
    """INVALID_ARGUMENT naming the first string field that holds NUL or is too long."""
    _check(message, message.DESCRIPTOR, limits, path)


def _check(message: Message, descriptor: Descriptor, limits: Mapping[str, int], path: str) -> None:
    for field, value in message.ListFields():
        name = f"{path}{field.name}"
        if field.type == FieldDescriptor.TYPE_STRING:
            limit = limits.get(field.full_name, MAX_TEXT)
            for index, text in enumerate(value) if field.is_repeated else ((None, value),):
                _text(text, name if index is None else f"{name}[{index}]", limit)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                for key, item in value.items():
                    if isinstance(key, str):
                        _text(key, f"{name}[{key[:32]!r}]", MAX_TEXT)
                    if isinstance(item, str):
                        _text(item, f"{name}[{key!r}]", MAX_TEXT)
                    elif isinstance(item, Message):
                        _check(item, item.DESCRIPTOR, limits, f"{name}[{key!r}].")
            elif field.is_repeated:
                for index, item in enumerate(value):
                    _check(item, field.message_type, limits, f"{name}[{index}].")
            else:
                _check(value, field.message_type, limits, f"{name}.")


def _text(text: str, path: str, limit: int) -> None:
    if "\x00" in text:
        raise InvalidArgument.for_field(path, "must not contain NUL characters", reason="TEXT_INVALID")
    if len(text) > limit:
        raise InvalidArgument.for_field(path, f"must be at most {limit} characters", reason="TEXT_TOO_LONG")
