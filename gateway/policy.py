"""Which caller may call which RPC, on whose behalf: the gateway's whole authorisation, as one table.

Every public RPC is a Route: the upstream service, what it costs (for load shedding), and per
caller kind a Check. A kind missing from a route is refused outright; a check then looks at the
request (and, for a few reads, the response): a person reaches only themselves and their
dependents, a province system and an operator only their province's people and areas, a feed
only the fact kinds its credential names, a checkpoint only verification under its own id.

Fields that name the acting officer or person (reviewer, approver, proposer, tracer, granter, filer,
requester, reporter, a checkpoint's id, a fact's or a risk declaration's authority) are the caller's
own id: filled in when empty, refused when they name someone else. For every caller but a person
that id is qualified by the credential's province (`420000.hubei-operator`), so a Jiangsu
credential named `hubei-operator` acts as `320000.hubei-operator`, who holds no Hubei role.

RPCs not in the table are internal (status ↔ itinerary ↔ verification, federation between
deployments) and the gateway does not forward them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from google.protobuf import message as protobuf_message
from google.protobuf import message_factory
from healthcode.identity.v1 import identity_pb2
from healthcode.itinerary.v1 import itinerary_pb2
from healthcode.status.v1 import status_pb2
from healthcode.verification.v1 import verification_pb2

from gateway.principals import CallerKind, Principal
from services.areas import is_area_code, province_code_of
from services.runtime.errors import InvalidArgument, PermissionDenied
from services.runtime.requests import enum_value, parse_uuid

Message = protobuf_message.Message


class Directory(Protocol):
    """What authorisation needs to know about persons (identity, behind a cache)."""

    async def home_provinces(self, person_ids: Iterable[str]) -> Mapping[str, str]: ...

    async def may_act_for(self, actor_person_id: str, subject_person_id: str) -> bool: ...


@dataclass(frozen=True)
class Scope:
    """What authorisation knows beyond the caller: the persons directory, the deployment's provinces."""

    directory: Directory
    deployment_provinces: frozenset[str]


# A check raises PermissionDenied or returns; it may fill in fields that name the caller.
Check = Callable[[Principal, Message, Scope], Awaitable[None]]
# A response check sees the answer before the caller does (reads whose subject is only known then).
ResponseCheck = Callable[[Principal, Message, Scope], Awaitable[None]]


class Cost(Enum):
    # Point reads and the checkpoint answer: shed last.
    LIGHT = "light"
    # Bulk writes, traces, registrations, administration: shed first.
    HEAVY = "heavy"


@dataclass(frozen=True)
class Route:
    method: str  # /package.Service/Method
    upstream: str  # the service name: identity, itinerary, status, verification
    request: type[Message]
    response: type[Message]
    checks: Mapping[CallerKind, Check]
    cost: Cost
    response_checks: Mapping[CallerKind, ResponseCheck] = field(default_factory=dict)
    client_streaming: bool = False
    server_streaming: bool = False
    # The most items each repeated request field may hold (refused before any check fans out).
    list_limits: Mapping[str, int] = field(default_factory=dict)

    @property
    def service(self) -> str:
        return self.method.split("/")[1]

    def passes_bytes(self, kind: CallerKind) -> bool:
        """True when this kind's check only reads the request: the caller's bytes go upstream as they
        came. A check not declared `reads_only` may fill in the caller's id, so its request is
        serialised again after the check."""
        return getattr(self.checks.get(kind), "reads_only", False)

    @property
    def name(self) -> str:
        return self.method.rsplit("/", 1)[1]


def denied(message: str) -> PermissionDenied:
    return PermissionDenied("CALLER_NOT_ALLOWED", message)


def reads_only(check: Check) -> Check:
    """Declares that a check never changes the request (the gateway then forwards the caller's bytes).
    Undeclared checks are assumed to rewrite; tests/gateway run every declared one to hold it to that."""
    check.reads_only = True
    return check


# --- checks ---------------------------------------------------------------------------------

@reads_only
async def anyone(principal: Principal, request: Message, scope: Scope) -> None:
    """Public data (risk areas, venue posters): any authenticated caller."""


def _values(message: Message, path: str) -> list[str]:
    """The strings at a dotted path, through repeated fields (`facts.person_id`)."""
    head, _, rest = path.partition(".")
    value = getattr(message, head)
    items = list(value) if _is_repeated(message, head) else [value]
    if not rest:
        return [item for item in items if isinstance(item, str)]
    return [found for item in items for found in _values(item, rest)]


def _is_repeated(message: Message, name: str) -> bool:
    return message.DESCRIPTOR.fields_by_name[name].is_repeated


def self_or_dependent(path: str) -> Check:
    """A person acts for themselves or a dependent they hold a live link to."""
    async def check(principal: Principal, request: Message, scope: Scope) -> None:
        for person_id in _values(request, path):
            parse_uuid(person_id, path, "PERSON_ID_INVALID")
            if person_id != principal.subject and not await scope.directory.may_act_for(principal.subject, person_id):
                raise denied(f"{path}: a person may act only for themselves and their dependents")
    return reads_only(check)


def own_people(*paths: str) -> Check:
    """A province system or operator reaches only persons whose home province it covers."""
    async def check(principal: Principal, request: Message, scope: Scope) -> None:
        if principal.national:
            return
        for path in paths:
            person_ids = [parse_uuid(person_id, path, "PERSON_ID_INVALID")
                          for person_id in _values(request, path) if person_id]
            if not person_ids:
                continue
            provinces = await scope.directory.home_provinces(set(person_ids))
            if any(provinces.get(person_id) != principal.province for person_id in person_ids):
                raise denied(f"{path}: not a person of province {principal.province}")
    return reads_only(check)


def as_caller(path: str) -> Check:
    """The field naming who acts is the caller: filled in when empty, refused when it is someone else.
    Officers, checkpoints and authorities act under their province-qualified id (`Principal.acting_id`)."""
    async def check(principal: Principal, request: Message, scope: Scope) -> None:
        current = getattr(request, path)
        if current and current != principal.acting_id:
            raise denied(f"{path}: must be the caller's own id ({principal.acting_id})")
        setattr(request, path, principal.acting_id)
    return check


def own_province(path: str) -> Check:
    """The request's province is the caller's (empty means every province: national callers only)."""
    async def check(principal: Principal, request: Message, scope: Scope) -> None:
        province = getattr(request, path)
        if not province and not principal.national:
            raise denied(f"{path}: must name the caller's province {principal.province}")
        if province and not principal.covers(province):
            raise denied(f"{path}: outside the caller's province {principal.province}")
    return reads_only(check)


async def party_to_link(principal: Principal, request: Message, scope: Scope) -> None:
    """A link is ended by its holder, by the dependent, or by another person who acts for the dependent
    (another guardian). An empty holder is the caller."""
    if not request.holder_person_id:
        request.holder_person_id = principal.subject
    holder = parse_uuid(request.holder_person_id, "holder_person_id", "PERSON_ID_INVALID")
    dependent = parse_uuid(request.dependent_person_id, "dependent_person_id", "PERSON_ID_INVALID")
    if principal.subject in (holder, dependent):
        return
    if not await scope.directory.may_act_for(principal.subject, dependent):
        raise denied("a link is ended by its holder, the dependent or another of the dependent's guardians")


def face_checked(path: str) -> Check:
    """A person registers only a document whose holder's face was just checked (themselves, or a
    dependent standing in front of them); identity verifies that the check is of that document."""
    async def check(principal: Principal, request: Message, scope: Scope) -> None:
        if not request.HasField(path):
            raise InvalidArgument.for_field(path, "a person registers a document only with its holder's face check",
                                            reason="FACE_CHECK_REQUIRED")
    return reads_only(check)


def own_area(path: str) -> Check:
    """The request's area lies in the caller's province (a malformed area is left to the service)."""
    async def check(principal: Principal, request: Message, scope: Scope) -> None:
        area = getattr(request, path)
        if is_area_code(area) and not principal.covers(province_code_of(area)):
            raise denied(f"{path}: outside the caller's province {principal.province}")
    return reads_only(check)


@reads_only
async def covers_deployment(principal: Principal, request: Message, scope: Scope) -> None:
    """Deployment-wide administration (agreements, risk lists, trust sync, recompute, revoking a key
    by id): only a caller whose jurisdiction covers every province this deployment serves."""
    if not (principal.national or scope.deployment_provinces == {principal.province}):
        raise denied("deployment-wide administration needs an operator of every province this deployment serves")


@reads_only
async def national_only(principal: Principal, request: Message, scope: Scope) -> None:
    if not principal.national:
        raise denied("national operators only")


_feed_people = own_people("facts.person_id")


async def feed_facts(principal: Principal, request: Message, scope: Scope) -> None:
    """A feed sends only the fact kinds its credential names, under its own (province-qualified)
    authority, about persons of its own province unless it is national. A fever on site may name the
    code shown instead of a person (a visitor from elsewhere, seen at this province's checkpoint)."""
    for index, fact in enumerate(request.facts):
        number = enum_value(status_pb2.FactKind, fact.kind, f"facts[{index}].kind", "FACT_KIND_INVALID")
        kind = status_pb2.FactKind.Name(number).removeprefix("FACT_KIND_")
        if kind not in principal.scopes:
            raise denied(f"facts[{index}].kind: this feed may not send {kind} facts")
        if fact.authority and fact.authority != principal.acting_id:
            raise denied(f"facts[{index}].authority: must be the feed's own authority ({principal.acting_id})")
        fact.authority = principal.acting_id
    await _feed_people(principal, request, scope)


_fact_person = own_people("person_id")
_fact_authority = as_caller("authority")


async def feed_correction(principal: Principal, request: Message, scope: Scope) -> None:
    """A feed corrects only its own facts (status refuses another authority's record by name), of
    persons of its province, and amends a fact only into a kind its credential names."""
    if request.DESCRIPTOR.fields_by_name.get("fact") is not None and request.HasField("fact"):
        number = enum_value(status_pb2.FactKind, request.fact.kind, "fact.kind", "FACT_KIND_INVALID")
        kind = status_pb2.FactKind.Name(number).removeprefix("FACT_KIND_")
        if kind not in principal.scopes:
            raise denied(f"fact.kind: this feed may not send {kind} facts")
    await _fact_authority(principal, request, scope)
    await _fact_person(principal, request, scope)


@reads_only
async def feed_stays(principal: Principal, request: Message, scope: Scope) -> None:
    if "STAYS" not in principal.scopes:
        raise denied("this feed may not send carrier stays")


async def own_carrier(principal: Principal, request: Message, scope: Scope) -> None:
    """A carrier feed sends and corrects stays under its own name only (its credential's subject, as carriers
    name themselves in batches: `china-mobile`), filled in when left empty: in every chunk of an upload."""
    await feed_stays(principal, request, scope)
    if request.source_carrier and request.source_carrier != principal.subject:
        raise denied(f"source_carrier: must be the feed's own name ({principal.subject})")
    request.source_carrier = principal.subject


def checkpoint_at(id_path: str, area_path: str) -> Check:
    """A checkpoint verifies under its own id, in its own province."""
    fill = as_caller(id_path)
    area = own_area(area_path)

    async def check(principal: Principal, request: Message, scope: Scope) -> None:
        await fill(principal, request, scope)
        await area(principal, request, scope)
    return check


def all_of(*checks: Check) -> Check:
    async def check(principal: Principal, request: Message, scope: Scope) -> None:
        for each in checks:
            await each(principal, request, scope)
    return reads_only(check) if all(getattr(each, "reads_only", False) for each in checks) else check


def resident_found(path: str) -> ResponseCheck:
    """The person an answer names lives in the caller's province (the answer says where)."""
    async def check(principal: Principal, response: Message, scope: Scope) -> None:
        if not principal.covers(getattr(response, path).home_province_code):
            raise denied(f"{path}: not a person of province {principal.province}")
    return check


def in_response(path: str, check_of: Callable[[str], Check]) -> ResponseCheck:
    """Applies a person check to the person a response names (e.g. an appeal's person)."""
    head, _, rest = path.partition(".")

    async def check(principal: Principal, response: Message, scope: Scope) -> None:
        await check_of(rest)(principal, getattr(response, head), scope)
    return check


# --- the table ------------------------------------------------------------------------------

P, S, F, C, O = (CallerKind.PERSON, CallerKind.PROVINCE_SYSTEM, CallerKind.FEED, CallerKind.CHECKPOINT,
                 CallerKind.OPERATOR)
LIGHT, HEAVY = Cost.LIGHT, Cost.HEAVY

# (service, method) → (cost, {caller kind: check}, {caller kind: response check})
_TABLE: dict[tuple[str, str], tuple[Cost, dict[CallerKind, Check], dict[CallerKind, ResponseCheck]]] = {
    # identity
    # A system's registration of a document already registered elsewhere is refused, not answered with
    # that person (it would bypass LookupPersonByDocument's residency check).
    ("identity", "IdentityService/RegisterPerson"): (
        HEAVY, {P: face_checked("face_attestation"), S: own_province("home_province_code")},
        {S: resident_found("person")}),
    ("identity", "IdentityService/GetPerson"): (
        LIGHT, {P: self_or_dependent("person_id"), S: own_people("person_id"), O: own_people("person_id")}, {}),
    ("identity", "IdentityService/LookupPersonByDocument"): (
        LIGHT, {S: anyone}, {S: resident_found("person")}),
    ("identity", "IdentityService/BatchGetPersons"): (LIGHT, {S: own_people("person_ids")}, {}),
    ("identity", "IdentityService/RecordFaceCheck"): (
        HEAVY, {P: self_or_dependent("person_id"), S: own_people("person_id")}, {}),
    ("identity", "IdentityService/LinkDependent"): (
        HEAVY, {P: as_caller("holder_person_id"), S: own_people("holder_person_id")}, {}),
    ("identity", "IdentityService/UnlinkDependent"): (
        HEAVY, {P: party_to_link, S: own_people("holder_person_id"), O: own_people("dependent_person_id")}, {}),
    ("identity", "IdentityService/ListDependents"): (
        LIGHT, {P: as_caller("holder_person_id"), S: own_people("holder_person_id")}, {}),
    ("identity", "IdentityService/ListCorrections"): (
        LIGHT, {P: self_or_dependent("person_id"), S: own_people("person_id"), O: own_people("person_id")}, {}),
    ("identity", "IdentityService/ListGuardians"): (
        LIGHT, {P: self_or_dependent("dependent_person_id"), S: own_people("dependent_person_id"),
                O: own_people("dependent_person_id")}, {}),
    # A person corrects only their own name, with a face check of their own document (identity checks
    # the document is theirs); an identity officer (an operator) decides the later ones of their province.
    ("identity", "IdentityService/CorrectName"): (
        HEAVY, {P: all_of(as_caller("person_id"), face_checked("face_attestation"))}, {}),
    ("identity", "IdentityService/ListNameCorrections"): (HEAVY, {O: own_province("province_code")}, {}),
    ("identity", "IdentityService/DecideNameCorrection"): (HEAVY, {O: as_caller("reviewer_id")}, {}),
    # A person ends their own sessions; an operator all sessions of a person of their province.
    ("identity", "IdentityService/RevokeSessions"): (
        HEAVY, {P: as_caller("person_id"), O: own_people("person_id")}, {}),
    ("identity", "FaceProviderAdminService/RegisterFaceProviderKey"): (HEAVY, {O: national_only}, {}),
    ("identity", "FaceProviderAdminService/RevokeFaceProviderKey"): (HEAVY, {O: national_only}, {}),
    ("identity", "FaceProviderAdminService/ListFaceProviderKeys"): (HEAVY, {O: anyone}, {}),
    # itinerary
    ("itinerary", "ItineraryService/IngestCarrierStays"): (HEAVY, {F: own_carrier}, {}),
    ("itinerary", "ItineraryService/CorrectCarrierStays"): (HEAVY, {F: own_carrier}, {}),
    ("itinerary", "ItineraryService/DeclareItinerary"): (
        HEAVY, {P: self_or_dependent("person_id"), S: own_people("person_id")}, {}),
    ("itinerary", "ItineraryService/ListStays"): (
        LIGHT, {P: self_or_dependent("person_id"), S: own_people("person_id")}, {}),
    ("itinerary", "ItineraryService/DeclareRiskArea"): (
        HEAVY, {S: all_of(own_area("area_code"), as_caller("authority")),
                O: all_of(own_area("area_code"), as_caller("authority"))}, {}),
    ("itinerary", "ItineraryService/LiftRiskArea"): (
        HEAVY, {S: all_of(own_area("area_code"), as_caller("authority")),
                O: all_of(own_area("area_code"), as_caller("authority"))}, {}),
    ("itinerary", "ItineraryService/ListRiskAreas"): (LIGHT, {P: anyone, S: anyone, C: anyone, O: anyone}, {}),
    # status
    ("status", "StatusService/GetStatus"): (
        LIGHT, {P: self_or_dependent("person_id"), S: own_people("person_id"), O: own_people("person_id")}, {}),
    ("status", "StatusService/WatchStatus"): (
        LIGHT, {P: self_or_dependent("person_id"), S: own_people("person_id")}, {}),
    ("status", "StatusService/ListStatusChanges"): (
        LIGHT, {P: self_or_dependent("person_id"), S: own_people("person_id"), O: own_people("person_id")}, {}),
    ("status", "StatusService/RecordFacts"): (HEAVY, {F: feed_facts}, {}),
    ("status", "StatusService/RetractFact"): (HEAVY, {F: feed_correction}, {}),
    ("status", "StatusService/AmendFact"): (HEAVY, {F: feed_correction}, {}),
    ("status", "StatusService/RecordCheckIn"): (
        LIGHT, {P: all_of(as_caller("reporter_person_id"), self_or_dependent("person_id")),
                S: own_people("person_id", "reporter_person_id")}, {}),
    ("status", "StatusService/AcknowledgePopup"): (
        LIGHT, {P: all_of(as_caller("actor_person_id"), self_or_dependent("person_id")),
                S: own_people("person_id", "actor_person_id")}, {}),
    ("status", "StatusService/IssueCode"): (
        LIGHT, {P: all_of(as_caller("requester_person_id"), self_or_dependent("person_id")),
                S: own_people("person_id", "requester_person_id")}, {}),
    ("status", "StatusService/FileAppeal"): (
        HEAVY, {P: all_of(as_caller("filer_person_id"), self_or_dependent("person_id")),
                S: own_people("person_id", "filer_person_id")}, {}),
    ("status", "StatusService/GetAppeal"): (
        LIGHT, {P: anyone, O: anyone},
        {P: in_response("appeal.person_id", self_or_dependent), O: in_response("appeal.person_id", own_people)}),
    ("status", "StatusService/ListAppeals"): (HEAVY, {O: own_province("province_code")}, {}),
    ("status", "StatusService/DecideAppeal"): (HEAVY, {O: as_caller("reviewer_id")}, {}),
    ("status", "StatusService/ProposeOverride"): (
        HEAVY, {O: all_of(as_caller("proposer_id"), own_people("person_id"))}, {}),
    ("status", "StatusService/DecideOverride"): (HEAVY, {O: as_caller("approver_id")}, {}),
    ("status", "StatusService/ListOverrides"): (HEAVY, {O: own_province("province_code")}, {}),
    ("status", "StatusAdminService/PublishRuleSet"): (HEAVY, {O: own_province("province_code")}, {}),
    ("status", "StatusAdminService/ListRuleSets"): (HEAVY, {O: own_province("province_code")}, {}),
    ("status", "StatusAdminService/CreateSigningKey"): (HEAVY, {O: own_province("province_code")}, {}),
    ("status", "StatusAdminService/ListSigningKeys"): (HEAVY, {O: own_province("province_code")}, {}),
    ("status", "StatusAdminService/RevokeSigningKey"): (HEAVY, {O: covers_deployment}, {}),
    ("status", "StatusAdminService/SetOfficerRoles"): (
        HEAVY, {O: all_of(own_province("province_code"), as_caller("granted_by_id"))}, {}),
    ("status", "StatusAdminService/StartRecompute"): (HEAVY, {O: covers_deployment}, {}),
    ("status", "StatusAdminService/ListRecomputeRuns"): (HEAVY, {O: covers_deployment}, {}),
    # verification
    ("verification", "VerificationService/VerifyCode"): (LIGHT, {C: checkpoint_at("checkpoint_id", "area_code")}, {}),
    ("verification", "VerificationService/GetOfflineSnapshot"): (HEAVY, {C: anyone}, {}),
    ("verification", "VerificationService/GetOfflineManifest"): (HEAVY, {C: anyone}, {}),
    ("verification", "VerificationService/GetSnapshotPartition"): (HEAVY, {C: anyone}, {}),
    ("verification", "VerificationService/ListSnapshotChanges"): (HEAVY, {C: anyone}, {}),
    ("verification", "VerificationService/RecordOfflineDecisions"): (
        LIGHT, {C: checkpoint_at("checkpoint_id", "area_code")}, {}),
    ("verification", "VerificationService/RegisterVenue"): (
        HEAVY, {S: own_area("area_code"), O: own_area("area_code")}, {}),
    ("verification", "VerificationService/GetVenueCode"): (LIGHT, {S: anyone, C: anyone, O: anyone}, {}),
    ("verification", "VerificationService/RecordVisit"): (LIGHT, {P: self_or_dependent("person_id")}, {}),
    ("verification", "VerificationService/TraceContacts"): (
        HEAVY, {O: all_of(as_caller("tracer_id"), own_people("case_person_id"))}, {}),
    ("verification", "RecognitionAdminService/SetAgreement"): (HEAVY, {O: covers_deployment}, {}),
    ("verification", "RecognitionAdminService/ListAgreements"): (LIGHT, {S: anyone, C: anyone, O: anyone}, {}),
    ("verification", "RecognitionAdminService/PublishRiskList"): (HEAVY, {O: covers_deployment}, {}),
    ("verification", "RecognitionAdminService/SyncTrustList"): (HEAVY, {O: covers_deployment}, {}),
    ("verification", "RecognitionAdminService/ImportDccSigners"): (HEAVY, {O: covers_deployment}, {}),
}

# Repeated request fields are bounded at the door, before any check asks identity about their
# persons: a 200,000-id BatchGetPersons is refused with no call at all. These are the services'
# own limits; any other repeated field is held to DEFAULT_LIST_LIMIT.
DEFAULT_LIST_LIMIT = 1000
_LIST_LIMITS: dict[tuple[str, str], dict[str, int]] = {
    ("identity", "IdentityService/BatchGetPersons"): {"person_ids": 1000},
    ("status", "StatusService/RecordFacts"): {"facts": 1000},
    ("status", "StatusService/FileAppeal"): {"evidence_refs": 10},
    ("itinerary", "ItineraryService/IngestCarrierStays"): {"stays": 10_000},  # per message of the stream
    ("itinerary", "ItineraryService/CorrectCarrierStays"): {"corrections": 1000},
    ("verification", "RecognitionAdminService/PublishRiskList"): {"records": 10_000},
}

_PACKAGES = {"identity": identity_pb2, "itinerary": itinerary_pb2, "status": status_pb2,
             "verification": verification_pb2}


def _build_routes() -> dict[str, Route]:
    routes = {}
    for (upstream, path), (cost, checks, response_checks) in _TABLE.items():
        service_name, method_name = path.split("/")
        service = _PACKAGES[upstream].DESCRIPTOR.services_by_name[service_name]
        method = service.methods_by_name[method_name]
        full = f"/{service.full_name}/{method_name}"
        routes[full] = Route(
            method=full, upstream=upstream,
            request=message_factory.GetMessageClass(method.input_type),
            response=message_factory.GetMessageClass(method.output_type),
            checks=checks, cost=cost, response_checks=response_checks,
            client_streaming=method.client_streaming, server_streaming=method.server_streaming,
            list_limits=_LIST_LIMITS.get((upstream, path), {}))
    return routes


ROUTES: dict[str, Route] = _build_routes()
PUBLIC_SERVICES: tuple[str, ...] = tuple(sorted({route.service for route in ROUTES.values()}))


def check_list_sizes(route: Route, request: Message) -> None:
    """INVALID_ARGUMENT naming the field when a repeated field holds more than its limit."""
    for descriptor in request.DESCRIPTOR.fields:
        if descriptor.is_repeated:
            count = len(getattr(request, descriptor.name))
            limit = route.list_limits.get(descriptor.name, DEFAULT_LIST_LIMIT)
            if count > limit:
                raise InvalidArgument.for_field(descriptor.name, f"holds {count} items; at most {limit}",
                                                reason="LIST_TOO_LONG")


async def authorize(route: Route, principal: Principal, request: Message, scope: Scope) -> None:
    """Raises PermissionDenied unless the caller may make this request (filling in its own id);
    InvalidArgument first when a list is longer than the service takes."""
    check = route.checks.get(principal.kind)
    if check is None:
        raise denied(f"a {principal.kind} may not call {route.name}")
    check_list_sizes(route, request)
    await check(principal, request, scope)


async def authorize_response(route: Route, principal: Principal, response: Message, scope: Scope) -> None:
    check = route.response_checks.get(principal.kind)
    if check is not None:
        await check(principal, response, scope)
