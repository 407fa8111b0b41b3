"""gRPC transport for identity: the only module that touches identity_pb2; no rules here."""

from __future__ import annotations

from datetime import date

import grpc
from google.protobuf.message import DecodeError
from healthcode.identity.v1 import identity_pb2 as pb
from healthcode.identity.v1 import identity_pb2_grpc as pb_grpc

from services.identity.attestation import FaceAttestation, FaceCheckClaims, RelationAttestation, RelationClaims
from services.identity.documents import Document, DocumentKind, parse_document
from services.identity.model import (DependentLink, FaceProviderKey, NameCorrection, NameCorrectionState, Person,
                                     ProviderKind, Relation)
from services.identity.registry import PersonRegistry
from services.runtime.errors import InvalidArgument
from services.runtime.timestamps import optional_datetime, to_datetime, to_timestamp

# Requests → domain


def _document(message: pb.Document, prefix: str = "document") -> Document:
    try:
        if message.kind not in DocumentKind._value2member_map_:
            raise InvalidArgument.for_field("document.kind", "must be one of the document kinds",
                                            reason="DOCUMENT_KIND")
        return parse_document(DocumentKind(message.kind), message.number, message.country_code)
    except InvalidArgument as error:
        raise error.rebased("document", prefix) from None


def _attestation(holder, field_name: str) -> FaceAttestation | None:
    if not holder.HasField(field_name):
        return None
    message: pb.FaceAttestation = getattr(holder, field_name)
    claims = pb.FaceCheckClaims()
    try:
        claims.ParseFromString(message.claims)
    except DecodeError:
        raise InvalidArgument.for_field(f"{field_name}.claims", "is not a serialized FaceCheckClaims",
                                        reason="ATTESTATION_MALFORMED") from None
    if not message.signature or not claims.HasField("check_time") or not claims.HasField("document"):
        raise InvalidArgument.for_field(field_name, "needs claims with a document and a check time, and a signature",
                                        reason="ATTESTATION_MALFORMED")
    return FaceAttestation(
        signed_claims=message.claims, signature=message.signature,
        claims=FaceCheckClaims(
            provider_id=claims.provider_id, key_id=claims.key_id,
            document=_document(claims.document, f"{field_name}.claims.document"),
            check_time=to_datetime(claims.check_time, f"{field_name}.claims.check_time"), nonce=claims.nonce))


def _relation_attestation(holder, field_name: str) -> RelationAttestation | None:
    if not holder.HasField(field_name):
        return None
    message: pb.RelationAttestation = getattr(holder, field_name)
    claims = pb.RelationClaims()
    try:
        claims.ParseFromString(message.claims)
    except DecodeError:
        raise InvalidArgument.for_field(f"{field_name}.claims", "is not a serialized RelationClaims",
                                        reason="ATTESTATION_MALFORMED") from None
    if (not message.signature or not claims.HasField("check_time") or not claims.HasField("guardian_document")
            or not claims.HasField("minor_document")):
        raise InvalidArgument.for_field(field_name, "needs claims with both documents and a check time, and a "
                                        "signature", reason="ATTESTATION_MALFORMED")
    return RelationAttestation(
        signed_claims=message.claims, signature=message.signature,
        claims=RelationClaims(
            provider_id=claims.provider_id, key_id=claims.key_id,
            guardian=_document(claims.guardian_document, f"{field_name}.claims.guardian_document"),
            minor=_document(claims.minor_document, f"{field_name}.claims.minor_document"),
            relation=Relation(claims.relation) if claims.relation in Relation._value2member_map_ else None,
            minor_birth_date=_date(claims, "minor_birth_date", f"{field_name}.claims.minor_birth_date"),
            check_time=to_datetime(claims.check_time, f"{field_name}.claims.check_time"), nonce=claims.nonce))


def _date(holder, field_name: str, field_path: str) -> date | None:
    if not holder.HasField(field_name):
        return None
    value = getattr(holder, field_name)
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidArgument.for_field(field_path, "is not a real date", reason="BIRTH_DATE_INVALID") from None


def _birth_date(request: pb.RegisterPersonRequest) -> date | None:
    if not request.HasField("birth_date"):
        return None
    value = request.birth_date
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidArgument.for_field("birth_date", "is not a real date", reason="BIRTH_DATE_INVALID") from None


# Domain → responses


def _person(person: Person) -> pb.Person:
    return pb.Person(
        person_id=person.person_id, masked_name=person.masked_name,
        document_kind=int(person.document_kind), masked_document_number=person.masked_document_number,
        document_country_code=person.document_country_code, home_province_code=person.home_province_code,
        face_check_time=to_timestamp(person.face_check_time), create_time=to_timestamp(person.create_time),
        federation_ref=person.federation_ref or b"")


def _link(link: DependentLink) -> pb.DependentLink:
    return pb.DependentLink(
        holder_person_id=link.holder_person_id, dependent=_person(link.dependent), relation=int(link.relation),
        basis=int(link.basis), link_time=to_timestamp(link.link_time), unlink_time=to_timestamp(link.unlink_time))


def _name_correction(correction: NameCorrection) -> pb.NameCorrection:
    return pb.NameCorrection(
        correction_id=correction.correction_id, person_id=correction.person_id, state=int(correction.state),
        masked_old_name=correction.masked_old_name, masked_new_name=correction.masked_new_name,
        basis=correction.basis, home_province_code=correction.home_province_code,
        reviewer_id=correction.reviewer_id or "", decision_reason=correction.decision_reason or "",
        create_time=to_timestamp(correction.create_time), decide_time=to_timestamp(correction.decide_time))


def _key(key: FaceProviderKey) -> pb.FaceProviderKey:
    return pb.FaceProviderKey(
        provider_id=key.provider_id, key_id=key.key_id, public_key_der=key.public_key_der,
        valid_from_time=to_timestamp(key.valid_from_time), valid_until_time=to_timestamp(key.valid_until_time),
        revoke_time=to_timestamp(key.revoke_time), create_time=to_timestamp(key.create_time), kind=int(key.kind))


def _provider_kind(value: int) -> ProviderKind:
    if value == pb.PROVIDER_KIND_UNSPECIFIED:
        return ProviderKind.FACE_CHECK
    if value not in ProviderKind._value2member_map_:
        raise InvalidArgument.for_field("kind", "must be one of the provider kinds", reason="PROVIDER_KIND_INVALID")
    return ProviderKind(value)


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    def __init__(self, registry: PersonRegistry) -> None:
        self._registry = registry

    async def RegisterPerson(self, request: pb.RegisterPersonRequest,
                             context: grpc.aio.ServicerContext) -> pb.RegisterPersonResponse:
        person, created, reclaimed = await self._registry.register(
            request.name, _document(request.document), request.home_province_code, _birth_date(request),
            _attestation(request, "face_attestation"))
        return pb.RegisterPersonResponse(person=_person(person), created=created, reclaimed=reclaimed)

    async def GetPerson(self, request: pb.GetPersonRequest, context: grpc.aio.ServicerContext) -> pb.GetPersonResponse:
        return pb.GetPersonResponse(person=_person(await self._registry.get(request.person_id)))

    async def LookupPersonByDocument(self, request: pb.LookupPersonByDocumentRequest,
                                     context: grpc.aio.ServicerContext) -> pb.LookupPersonByDocumentResponse:
        person = await self._registry.find_by_document(_document(request.document))
        return pb.LookupPersonByDocumentResponse(person=_person(person))

    async def BatchGetPersons(self, request: pb.BatchGetPersonsRequest,
                              context: grpc.aio.ServicerContext) -> pb.BatchGetPersonsResponse:
        persons, missing = await self._registry.get_many(list(request.person_ids))
        return pb.BatchGetPersonsResponse(persons=[_person(p) for p in persons], missing_person_ids=missing)

    async def BatchLookupPersonsByFederationRef(
            self, request: pb.BatchLookupPersonsByFederationRefRequest,
            context: grpc.aio.ServicerContext) -> pb.BatchLookupPersonsByFederationRefResponse:
        persons = await self._registry.find_by_federation_refs([bytes(r) for r in request.federation_refs])
        return pb.BatchLookupPersonsByFederationRefResponse(persons=[_person(p) for p in persons])

    async def ListNameChanges(self, request: pb.ListNameChangesRequest,
                              context: grpc.aio.ServicerContext) -> pb.ListNameChangesResponse:
        changes, token = await self._registry.name_changes(optional_datetime(request, "changed_after"),
                                                           request.page_size, request.page_token)
        return pb.ListNameChangesResponse(changes=[pb.NameChange(
            person_id=person_id, masked_name=masked, change_time=to_timestamp(when))
            for person_id, masked, when in changes], next_page_token=token)

    async def RecordFaceCheck(self, request: pb.RecordFaceCheckRequest,
                              context: grpc.aio.ServicerContext) -> pb.RecordFaceCheckResponse:
        attestation = _attestation(request, "face_attestation")
        if attestation is None:
            raise InvalidArgument.for_field("face_attestation", "is required", reason="ATTESTATION_REQUIRED")
        person = await self._registry.record_face_check(request.person_id, attestation)
        return pb.RecordFaceCheckResponse(person=_person(person))

    async def SignInPerson(self, request: pb.SignInPersonRequest,
                           context: grpc.aio.ServicerContext) -> pb.SignInPersonResponse:
        document = _document(request.document)
        attestation = _attestation(request, "face_attestation")
        if attestation is None:
            raise InvalidArgument.for_field("face_attestation", "is required", reason="ATTESTATION_REQUIRED")
        return pb.SignInPersonResponse(person=_person(await self._registry.sign_in(document, attestation)))

    async def StartSession(self, request: pb.StartSessionRequest,
                           context: grpc.aio.ServicerContext) -> pb.StartSessionResponse:
        session_id, refresh_token, expire_time = await self._registry.start_session(request.person_id)
        return pb.StartSessionResponse(session_id=session_id, refresh_token=refresh_token,
                                       expire_time=to_timestamp(expire_time))

    async def RefreshSession(self, request: pb.RefreshSessionRequest,
                             context: grpc.aio.ServicerContext) -> pb.RefreshSessionResponse:
        session_id, person, refresh_token = await self._registry.refresh_session(request.refresh_token)
        return pb.RefreshSessionResponse(session_id=session_id, person=_person(person), refresh_token=refresh_token)

    async def CheckSession(self, request: pb.CheckSessionRequest,
                           context: grpc.aio.ServicerContext) -> pb.CheckSessionResponse:
        return pb.CheckSessionResponse(live=await self._registry.session_is_live(request.session_id,
                                                                                  request.person_id))

    async def RevokeSessions(self, request: pb.RevokeSessionsRequest,
                             context: grpc.aio.ServicerContext) -> pb.RevokeSessionsResponse:
        count = await self._registry.revoke_sessions(request.person_id, request.session_id, request.reason)
        return pb.RevokeSessionsResponse(revoked_count=count)

    async def LinkDependent(self, request: pb.LinkDependentRequest,
                            context: grpc.aio.ServicerContext) -> pb.LinkDependentResponse:
        relation = Relation(request.relation) if request.relation in Relation._value2member_map_ else None
        link, created = await self._registry.link_dependent(
            request.holder_person_id, request.dependent_person_id, relation,
            _attestation(request, "dependent_face_attestation"), _relation_attestation(request, "relation_attestation"))
        return pb.LinkDependentResponse(link=_link(link), created=created)

    async def UnlinkDependent(self, request: pb.UnlinkDependentRequest,
                              context: grpc.aio.ServicerContext) -> pb.UnlinkDependentResponse:
        link = await self._registry.unlink_dependent(request.holder_person_id, request.dependent_person_id)
        return pb.UnlinkDependentResponse(link=_link(link))

    async def ListDependents(self, request: pb.ListDependentsRequest,
                             context: grpc.aio.ServicerContext) -> pb.ListDependentsResponse:
        links = await self._registry.list_dependents(request.holder_person_id)
        return pb.ListDependentsResponse(links=[_link(link) for link in links])

    async def ListCorrections(self, request: pb.ListCorrectionsRequest,
                              context: grpc.aio.ServicerContext) -> pb.ListCorrectionsResponse:
        corrections = await self._registry.list_corrections(request.person_id)
        return pb.ListCorrectionsResponse(corrections=[pb.Correction(
            kind=c.kind, actor=c.actor, reason=c.reason, links_ended=c.links_ended,
            create_time=to_timestamp(c.create_time)) for c in corrections])

    async def CorrectName(self, request: pb.CorrectNameRequest,
                          context: grpc.aio.ServicerContext) -> pb.CorrectNameResponse:
        attestation = _attestation(request, "face_attestation")
        if attestation is None:
            raise InvalidArgument.for_field("face_attestation", "is required: a face check of the person's own "
                                            "document", reason="ATTESTATION_REQUIRED")
        correction, person, duplicate = await self._registry.correct_name(
            request.person_id, request.name, attestation, request.basis, request.request_id)
        return pb.CorrectNameResponse(correction=_name_correction(correction), person=_person(person),
                                      duplicate=duplicate)

    async def ListNameCorrections(self, request: pb.ListNameCorrectionsRequest,
                                  context: grpc.aio.ServicerContext) -> pb.ListNameCorrectionsResponse:
        if request.state and request.state not in NameCorrectionState._value2member_map_:
            raise InvalidArgument.for_field("state", "must be one of the correction states", reason="STATE_INVALID")
        state = NameCorrectionState(request.state) if request.state else NameCorrectionState.PENDING
        corrections, token = await self._registry.list_name_corrections(
            request.province_code, state, request.page_size, request.page_token)
        return pb.ListNameCorrectionsResponse(corrections=[_name_correction(c) for c in corrections],
                                              next_page_token=token)

    async def DecideNameCorrection(self, request: pb.DecideNameCorrectionRequest,
                                   context: grpc.aio.ServicerContext) -> pb.DecideNameCorrectionResponse:
        correction, person = await self._registry.decide_name_correction(
            request.correction_id, request.reviewer_id, request.approve, request.reason)
        return pb.DecideNameCorrectionResponse(correction=_name_correction(correction), person=_person(person))

    async def ListGuardians(self, request: pb.ListGuardiansRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListGuardiansResponse:
        links = await self._registry.list_guardians(request.dependent_person_id)
        return pb.ListGuardiansResponse(links=[_link(link) for link in links])

    async def CheckActingRight(self, request: pb.CheckActingRightRequest,
                               context: grpc.aio.ServicerContext) -> pb.CheckActingRightResponse:
        basis = await self._registry.acting_basis(request.actor_person_id, request.subject_person_id)
        return pb.CheckActingRightResponse(allowed=bool(basis), basis=int(basis))


class FaceProviderAdminServicer(pb_grpc.FaceProviderAdminServiceServicer):
    def __init__(self, registry: PersonRegistry) -> None:
        self._registry = registry

    async def RegisterFaceProviderKey(self, request: pb.RegisterFaceProviderKeyRequest,
                                      context: grpc.aio.ServicerContext) -> pb.RegisterFaceProviderKeyResponse:
        key, created = await self._registry.register_provider_key(
            request.provider_id, request.key_id, request.public_key_der,
            optional_datetime(request, "valid_from_time"), optional_datetime(request, "valid_until_time"),
            _provider_kind(request.kind))
        return pb.RegisterFaceProviderKeyResponse(key=_key(key), created=created)

    async def RevokeFaceProviderKey(self, request: pb.RevokeFaceProviderKeyRequest,
                                    context: grpc.aio.ServicerContext) -> pb.RevokeFaceProviderKeyResponse:
        key = await self._registry.revoke_provider_key(request.provider_id, request.key_id)
        return pb.RevokeFaceProviderKeyResponse(key=_key(key))

    async def ListFaceProviderKeys(self, request: pb.ListFaceProviderKeysRequest,
                                   context: grpc.aio.ServicerContext) -> pb.ListFaceProviderKeysResponse:
        keys, token = await self._registry.list_provider_keys(request.page_size, request.page_token)
        return pb.ListFaceProviderKeysResponse(keys=[_key(k) for k in keys], next_page_token=token)


def add_to_server(registry: PersonRegistry, server) -> None:
    pb_grpc.add_IdentityServiceServicer_to_server(IdentityServicer(registry), server)
    pb_grpc.add_FaceProviderAdminServiceServicer_to_server(FaceProviderAdminServicer(registry), server)


SERVICE_NAMES = (
    pb.DESCRIPTOR.services_by_name["IdentityService"].full_name,
    pb.DESCRIPTOR.services_by_name["FaceProviderAdminService"].full_name,
)
