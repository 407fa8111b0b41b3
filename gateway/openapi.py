"""The OpenAPI 3.1 document of the HTTP/JSON API, generated from the routes and the proto messages,
so it cannot drift from what the gateway actually accepts."""

from __future__ import annotations

import re
from collections.abc import Iterable

from google.protobuf.descriptor import Descriptor, FieldDescriptor

_SCALARS = {
    FieldDescriptor.TYPE_STRING: {"type": "string"}, FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number"}, FieldDescriptor.TYPE_FLOAT: {"type": "number"},
    FieldDescriptor.TYPE_INT32: {"type": "integer"}, FieldDescriptor.TYPE_SINT32: {"type": "integer"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer"}, FieldDescriptor.TYPE_FIXED32: {"type": "integer"},
    # proto3 JSON writes 64-bit integers as strings.
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "format": "uint64"},
}
_WELL_KNOWN = {"google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
               "google.type.Date": {"type": "object", "properties": {
                   "year": {"type": "integer"}, "month": {"type": "integer"}, "day": {"type": "integer"}}}}
_ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "code": {"type": "string"}, "status": {"type": "integer"}, "message": {"type": "string"},
    "reason": {"type": "string"},
    "field_violations": {"type": "array", "items": {"type": "object", "properties": {
        "field": {"type": "string"}, "description": {"type": "string"}}}}}}}}
_CODE_PAGE = {"type": "object", "properties": {
    "payload": {"type": "string"}, "qr_svg": {"type": "string"}, "colour": {"type": "string"},
    "display_colour": {"type": "string"}, "masked_name": {"type": "string"},
    "status_time": {"type": "string", "format": "date-time"},
    "valid_until_time": {"type": "string", "format": "date-time"},
    "expire_time": {"type": "string", "format": "date-time"}, "refresh_in_seconds": {"type": "integer"},
    "person_id": {"type": "string"}, "reasons": {"type": "array", "items": {"type": "object"}}}}


def _schema_of_field(field: FieldDescriptor, components: dict) -> dict:
    if field.message_type is not None:
        name = field.message_type.full_name
        schema = _WELL_KNOWN.get(name) or _ref(field.message_type, components)
    elif field.enum_type is not None:
        schema = {"type": "string", "enum": [value.name for value in field.enum_type.values]}
    else:
        schema = dict(_SCALARS[field.type])
    return {"type": "array", "items": schema} if field.is_repeated else schema


def _ref(descriptor: Descriptor, components: dict) -> dict:
    name = descriptor.full_name
    if name not in components:
        components[name] = {}  # placeholder first: messages may refer to themselves
        components[name] = {"type": "object", "properties": {
            field.name: _schema_of_field(field, components) for field in descriptor.fields}}
    return {"$ref": f"#/components/schemas/{name}"}


def _error_responses() -> dict:
    described = {"400": "invalid argument or failed precondition", "401": "not signed in",
                 "403": "not allowed for this caller", "404": "not found", "409": "conflict",
                 "429": "rate limited or over capacity (see Retry-After)", "503": "a service is unavailable"}
    return {status: {"description": text, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/Error"}}}} for status, text in described.items()}


def _document(routes: tuple, code_path: str) -> dict:
    components: dict = {}
    paths: dict = {}
    for route in routes:
        path_params = re.findall(r"{(\w+)}", route.path)
        operation = {
            "summary": route.summary, "operationId": route.route.name + "_" + route.verb.lower(),
            "x-grpc-method": route.rpc,
            "parameters": [{"name": name, "in": "path", "required": True, "schema": {"type": "string"},
                            "description": "a person id, or `me` for the signed-in person"
                            if name.endswith("person_id") else ""} for name in path_params]
            + [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
               for name in route.query],
            "responses": {"200": {"description": "OK", "content": {"application/json": {
                "schema": _ref(route.route.response.DESCRIPTOR, components)}}}, **_error_responses()},
            "security": [{"session": []}],
        }
        if route.body:
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": _ref(route.route.request.DESCRIPTOR, components)}}}
        paths.setdefault(route.path, {})[route.verb.lower()] = operation
    paths[code_path] = {"get": {
        "summary": "The code to show: payload, QR image (SVG), colour, masked name, status time",
        "operationId": "ShowCode", "x-grpc-method": "/healthcode.status.v1.StatusService/IssueCode",
        "parameters": [{"name": "person_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": _CODE_PAGE}}},
                      **_error_responses()},
        "security": [{"session": []}]}}
    paths["/v1/sessions"] = {"post": {
        "summary": "Sign in with a document and a fresh face-check attestation; returns a session token",
        "operationId": "SignIn", "security": [],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "properties": {
            "document": _ref(_descriptor("healthcode.identity.v1.Document"), components),
            "face_attestation": {"type": "object", "properties": {
                "claims": {"type": "string", "contentEncoding": "base64"},
                "signature": {"type": "string", "contentEncoding": "base64"}}}}}}}},
        "responses": {"200": {"description": "a session", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"token": {"type": "string"}, "expires_in": {"type": "integer"},
                                              "person": {"type": "object"}}}}}}, **_error_responses()}}}
    paths["/v1/rpc/{service}/{method}"] = {"post": {
        "summary": "Any public unary gRPC method, its request and response in proto3 JSON",
        "operationId": "CallRpc", "security": [{"session": []}],
        "parameters": [{"name": "service", "in": "path", "required": True, "schema": {"type": "string"},
                        "example": "healthcode.status.v1.StatusService"},
                       {"name": "method", "in": "path", "required": True, "schema": {"type": "string"},
                        "example": "GetStatus"}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {"200": {"description": "the method's response", "content": {"application/json": {
            "schema": {"type": "object"}}}}, **_error_responses()}}}
    paths["/.well-known/jwks.json"] = {"get": {
        "summary": "The session-token signing keys (JWK set)", "operationId": "SessionKeys", "security": [],
        "responses": {"200": {"description": "a JWK set", "content": {"application/json": {
            "schema": {"type": "object"}}}}}}}
    components["Error"] = _ERROR
    return {
        "openapi": "3.1.0",
        "info": {"title": "healthcode gateway", "version": "1",
                 "description": "HTTP/JSON over the platform's gRPC API. Personal data is masked in every answer."},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "session": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (ES256)"}}},
    }


def _descriptor(full_name: str) -> Descriptor:
    from google.protobuf import descriptor_pool

    return descriptor_pool.Default().FindMessageTypeByName(full_name)


def openapi_document(routes: Iterable, code_path: str) -> dict:
    return _document(tuple(routes), code_path)
