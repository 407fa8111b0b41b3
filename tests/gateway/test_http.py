"""HTTP/JSON: errors as JSON with their fields, the OpenAPI document, the key set, signing in."""

from __future__ import annotations

import base64
from datetime import timedelta

import jwt
from healthcode.identity.v1 import identity_pb2, identity_pb2_grpc
from prometheus_client import REGISTRY, generate_latest

from gateway.principals import CallerKind
from gateway.web import HTTP_ROUTES
from tests.support.gateway import sign_in_challenge
from tests.support import FaceProvider, id_card, timestamp


def _person(front, person_id: str) -> dict:
    return {"Authorization": "Bearer " + front.token(CallerKind.PERSON, person_id, "420000")}


async def test_a_body_that_is_not_json_is_a_400_naming_the_problem(platform, http):
    person = await platform.hubei.deployment.resident()
    async with http.post(f"{platform.hubei.url}/v1/persons/me/check-ins", data=b"{not json",
                         headers={**_person(platform.hubei, person), "Content-Type": "application/json"}) as response:
        body = await response.json()
    assert (response.status, body["error"]["reason"]) == (400, "BODY_INVALID")


async def test_a_field_of_the_wrong_type_is_named(platform, http):
    person = await platform.hubei.deployment.resident()
    async with http.post(f"{platform.hubei.url}/v1/persons/me/check-ins", json={"temperature_celsius": "hot"},
                         headers=_person(platform.hubei, person)) as response:
        body = await response.json()
    assert response.status == 400
    assert body["error"]["field_violations"][0]["field"] == "temperature_celsius"


async def test_a_services_field_violation_reaches_the_app_with_its_field(platform, http):
    person = await platform.hubei.deployment.resident()
    # A face check is there (the gateway asks for one), so the service reads the document and names it.
    async with http.post(f"{platform.hubei.url}/v1/persons", headers=_person(platform.hubei, person), json={
            "name": "孙七", "document": {"kind": "DOCUMENT_KIND_RESIDENT_ID_CARD", "number": "42010119900101123"},
            "face_attestation": {"claims": "", "signature": "AA=="}},
    ) as response:
        body = await response.json()
    assert (response.status, body["error"]["code"]) == (400, "INVALID_ARGUMENT")
    assert [v["field"] for v in body["error"]["field_violations"]] == ["document.number"]
    assert "42010119900101123" not in str(body)


async def test_every_answer_carries_a_request_id_and_keeps_the_callers(platform, http):
    async with http.get(f"{platform.hubei.url}/openapi.json", headers={"x-request-id": "app-123"}) as response:
        assert response.headers["x-request-id"] == "app-123"
    async with http.get(f"{platform.hubei.url}/openapi.json") as response:
        assert len(response.headers["x-request-id"]) == 32


async def test_the_openapi_document_covers_every_route_and_its_references_resolve(platform, http):
    async with http.get(f"{platform.hubei.url}/openapi.json") as response:
        document = await response.json()
    assert document["openapi"].startswith("3.1")
    for route in HTTP_ROUTES:
        assert route.verb.lower() in document["paths"][route.path]
    schemas = document["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)
    for ref in refs(document):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


async def test_a_session_token_verifies_against_the_published_key_set(platform, http):
    token = platform.hubei.token(CallerKind.PERSON, "a-person", "420000")
    async with http.get(f"{platform.hubei.url}/.well-known/jwks.json") as response:
        key_set = jwt.PyJWKSet.from_dict(await response.json())
    key = key_set[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["ES256"], audience="healthcode")
    assert (claims["sub"], claims["kind"], claims["prov"]) == ("a-person", "person", "420000")
    assert all("d" not in jwk for jwk in (await (await http.get(
        f"{platform.hubei.url}/.well-known/jwks.json")).json())["keys"])


async def test_a_person_signs_in_with_a_face_check_of_their_own_document(platform, http):
    hubei = platform.hubei
    provider = FaceProvider()
    await identity_pb2_grpc.FaceProviderAdminServiceStub(hubei.channel("national-operator")).RegisterFaceProviderKey(
        identity_pb2.RegisterFaceProviderKeyRequest(
            provider_id=provider.provider_id, key_id=provider.key_id, public_key_der=provider.public_key_der,
            valid_from_time=timestamp(hubei.deployment.clock.now() - timedelta(days=1))))
    document = id_card()
    registered = await hubei.deployment.persons.RegisterPerson(identity_pb2.RegisterPersonRequest(
        name="周八", document=document, home_province_code="420000"))
    attestation = provider.attest(document, hubei.deployment.clock.now(), nonce=await sign_in_challenge(hubei, http))
    body = {"document": {"kind": "DOCUMENT_KIND_RESIDENT_ID_CARD", "number": document.number},
            "face_attestation": {"claims": base64.b64encode(attestation.claims).decode(),
                                 "signature": base64.b64encode(attestation.signature).decode()}}
    async with http.post(f"{hubei.url}/v1/sessions", json=body) as response:
        session = await response.json()
    # A face check against another document.
    someone_else = provider.attest(id_card(), hubei.deployment.clock.now(), nonce=await sign_in_challenge(hubei, http))
    forged = {**body, "face_attestation": {"claims": base64.b64encode(someone_else.claims).decode(),
                                           "signature": base64.b64encode(someone_else.signature).decode()}}
    async with http.post(f"{hubei.url}/v1/sessions", json=forged) as response:
        refused = (response.status, "token" in await response.json())
    async with http.get(f"{hubei.url}/v1/persons/me", headers={"Authorization": f"Bearer {session.get('token')}"}
                        ) as response:
        me = await response.json()
    assert "token" in session, session
    assert me["person"]["person_id"] == registered.person.person_id
    assert refused[0] in (400, 403) and not refused[1]


async def test_development_sign_in_is_off_unless_configured(platform, http):
    async with http.post(f"{platform.hubei.url}/dev/sessions", json={"person_id": "x"}) as response:
        assert response.status == 404


async def test_gateway_calls_are_counted_for_prometheus(platform, http):
    async with http.get(f"{platform.hubei.url}/v1/risk-areas") as response:
        assert response.status == 401
    exposition = generate_latest(REGISTRY).decode()
    assert 'http_server_requests_total{method="GET",route="/v1/risk-areas",status="401"}' in exposition
    assert 'http_server_request_duration_seconds_bucket{le="0.001",method="GET",route="/v1/risk-areas"}' in exposition
    # the HTTP door is not mixed into the gRPC series
    assert 'grpc_method="GET /v1/risk-areas"' not in exposition


async def test_the_gateways_certificate_expiry_is_exported_for_alerts(platform):
    from cryptography import x509

    served = x509.load_pem_x509_certificate(platform.hubei.credentials.server_certificate.read_bytes())
    exported = REGISTRY.get_sample_value("healthcode_certificate_expiry_timestamp_seconds",
                                         {"certificate": "gateway-server"})
    # Every test gateway of the session lives in this one process, each minting its development
    # certificate (a year's validity) at its start: the gauge holds the one loaded last, minted within
    # the session, so the bound is the session's length, not a time between two starts.
    assert abs(exported - served.not_valid_after_utc.timestamp()) < 3600
    assert REGISTRY.get_sample_value("healthcode_certificate_expiry_timestamp_seconds",
                                     {"certificate": "gateway-client-ca"}) > 0


async def test_probes_reach_health_without_a_certificate_on_a_port_of_its_own(platform):
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    port = platform.hubei.started.grpc.health_port
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="healthcode.status.v1.StatusService"))
        try:
            await channel.unary_unary("/healthcode.status.v1.StatusService/GetStatus")(b"")
            forwarded = True
        except grpc.aio.AioRpcError as error:
            forwarded = error.code() != grpc.StatusCode.UNIMPLEMENTED
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    assert not forwarded  # the health port serves health, nothing else


async def test_a_body_nested_too_deep_is_a_400_before_it_is_parsed(platform, http):
    person = await platform.hubei.deployment.resident()
    headers = {**_person(platform.hubei, person), "Content-Type": "application/json"}
    for body in (b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 40 + b"1" + b"}" * 40):
        async with http.post(f"{platform.hubei.url}/v1/persons/me/check-ins", data=body, headers=headers) as response:
            answer = await response.json()
        assert (response.status, answer["error"]["reason"]) == (400, "BODY_TOO_DEEP")
    # Brackets inside strings are text, not nesting.
    async with http.post(f"{platform.hubei.url}/v1/persons/me/check-ins", headers=headers,
                         data=b'{"no_such_field": "' + b"[{" * 1000 + b'"}') as response:
        answer = await response.json()
    assert (response.status, answer["error"]["reason"]) == (400, "BODY_INVALID")  # the unknown field, not depth


async def test_a_number_json_cannot_hold_and_a_body_too_large_are_refused_not_500(platform, http):
    person = await platform.hubei.deployment.resident()
    headers = {**_person(platform.hubei, person), "Content-Type": "application/json"}
    async with http.post(f"{platform.hubei.url}/v1/persons/me/check-ins", headers=headers,
                         data=b'{"temperature_celsius": ' + b"9" * 5000 + b"}") as response:
        answer = await response.json()
    assert (response.status, answer["error"]["reason"]) == (400, "BODY_INVALID")
    async with http.post(f"{platform.hubei.url}/v1/persons/me/check-ins", headers=headers,
                         data=b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}') as response:
        assert response.status == 413
