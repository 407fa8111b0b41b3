"""gRPC transport for status: the only module that touches status_pb2; no rules here."""

from __future__ import annotations

import dataclasses

import grpc
from healthcode.status.v1 import status_pb2 as pb
from healthcode.status.v1 import status_pb2_grpc as pb_grpc

from services.runtime.errors import InvalidArgument, ResourceExhausted
from services.runtime.requests import parse_uuid
from services.runtime.timestamps import optional_datetime, to_timestamp
from services.status.audit import AuditEntry
from services.status.casework import Appeal, Casework
from services.status.codes import Codes
from services.status.deciding import Decider
from services.status.facts import SubmittedFact, SubmittedFever, SubmittedListing
from services.status.intake import Intake
from services.status.listings import PeerProvinceWord
from services.status.model import Reason, Status, reasons_from_json
from services.status.recompute import Recomputation
from services.status.repository import CorrectionRow, OverrideRow, RecomputeRun, StoredKey, StoredRuleSet
from services.runtime.clock import Clock
from services.status.rulebook import RuleBook
from services.status.signing import Signer
from services.status.watch import MAX_WATCHERS, StatusWatch

# The code of a reason whose details were reduced to a keyed digest after the retention.
REDUCED_REASON = "DETAIL_REDUCED"
RULE_SET_DOCUMENT_FIELD = pb.PublishRuleSetRequest.DESCRIPTOR.fields_by_name["document"].full_name
SERVICE_NAMES = (pb.DESCRIPTOR.services_by_name["StatusService"].full_name,
                 pb.DESCRIPTOR.services_by_name["StatusAdminService"].full_name)


def _row_time(holder, field_name: str):
    """A row's time, or None when unset or out of range: the row is then refused on its own, naming the field."""
    try:
        return optional_datetime(holder, field_name)
    except InvalidArgument:
        return None


def _reason(reason: Reason) -> pb.Reason:
    progress = reason.progress
    return pb.Reason(code=reason.code, finding_key=reason.key, since_time=to_timestamp(reason.since),
                     until_time=to_timestamp(reason.until), detail=reason.detail,
                     release_progress=None if progress is None else pb.ReleaseProgress(
                         check_ins_required=progress.check_ins_required, check_ins_done=progress.check_ins_done,
                         check_ins_consecutive=progress.consecutive, negative_tests_required=progress.tests_required,
                         negative_tests_done=progress.tests_done))


def _status(status: Status, rules: RuleBook) -> pb.Status:
    decision = status.decision
    return pb.Status(
        person_id=status.person_id, colour=int(decision.colour), display_colour=decision.display,
        reasons=[_reason(r) for r in decision.reasons], province_code=status.province_code,
        compute_time=to_timestamp(status.compute_time), valid_until_time=to_timestamp(decision.valid_until),
        version=status.version, rule_set_province_code=decision.rule_province,
        rule_set_version=decision.rule_version, latest_negative_test_time=to_timestamp(decision.negative_test_time),
        rule_set_name=rules.name(decision.rule_province, decision.rule_version))


def _correction(row: CorrectionRow) -> pb.Correction:
    return pb.Correction(
        correction_id=row.correction_id, kind=row.kind, record_id=row.record_id,
        changed_fields=list(row.changed_fields), actor=row.actor, reason=row.reason, legal_basis=row.legal_basis,
        create_time=to_timestamp(row.create_time))


def _change(entry: AuditEntry, correction: CorrectionRow | None = None) -> pb.StatusChange:
    return pb.StatusChange(
        correction=_correction(correction) if correction else None,
        version=entry.version, change_time=to_timestamp(entry.change_time), previous_colour=entry.previous_colour,
        colour=entry.colour, display_colour=entry.display_colour,
        reasons=(_reduced_reasons(entry.reasons) if entry.reduced
                 else [_reason(r) for r in reasons_from_json(entry.reasons)]),
        cause=entry.cause, rule_set_province_code=entry.rule_province, rule_set_version=entry.rule_version,
        officer_ids=list(entry.officer_ids), legal_basis=entry.legal_basis, trace_id=entry.trace_id)


def _reduced_reasons(reduced: list[dict]) -> list[pb.Reason]:
    """Reasons past their retention: only a keyed digest of each is left."""
    return [pb.Reason(code=REDUCED_REASON, detail=f"hmac-sha256:{reason['digest']}") for reason in reduced]


def _appeal(appeal: Appeal) -> pb.Appeal:
    row = appeal.row
    return pb.Appeal(
        appeal_id=row.appeal_id, person_id=row.person_id, filer_person_id=row.filer_person_id,
        category=row.category, statement=appeal.statement, evidence_refs=list(appeal.evidence_refs),
        state=row.state, file_time=to_timestamp(row.file_time), deadline_time=to_timestamp(row.deadline_time),
        reviewer_id=row.reviewer_id or "", decision_reason=row.decision_reason or "",
        decide_time=to_timestamp(row.decide_time), dismissed_finding_keys=list(row.dismissed))


def _override(row: OverrideRow) -> pb.Override:
    return pb.Override(
        override_id=row.override_id, person_id=row.person_id, colour=row.colour, reason_code=row.reason_code,
        legal_basis=row.legal_basis, start_time=to_timestamp(row.start_time), end_time=to_timestamp(row.end_time),
        proposer_id=row.proposer_id, approver_id=row.approver_id or "", state=row.state,
        propose_time=to_timestamp(row.propose_time), decide_time=to_timestamp(row.decide_time))


def _rule_set(stored: StoredRuleSet) -> pb.RuleSet:
    return pb.RuleSet(province_code=stored.province_code, version=stored.version,
                      effective_time=to_timestamp(stored.effective_time), document=stored.document,
                      publish_time=to_timestamp(stored.publish_time))


def _key(stored: StoredKey) -> pb.SigningKey:
    return pb.SigningKey(
        key_id=stored.key_id.hex(), province_code=stored.province_code, public_key=stored.public_key,
        not_before_time=to_timestamp(stored.not_before), not_after_time=to_timestamp(stored.not_after),
        revoke_time=to_timestamp(stored.revoke_time))


def _run(run: RecomputeRun) -> pb.RecomputeRun:
    return pb.RecomputeRun(
        declaration_id=run.declaration_id, state=run.state, persons_done=run.persons_done,
        persons_changed=run.persons_changed, start_time=to_timestamp(run.start_time),
        finish_time=to_timestamp(run.finish_time), error=run.error or "")


def _submitted(index: int, fact: pb.Fact) -> SubmittedFact:
    # A time out of range rejects this fact only (the others are kept), as any other bad field does.
    effective = end = refused = None
    try:
        effective = optional_datetime(fact, "effective_time", f"facts[{index}].")
        end = optional_datetime(fact, "end_time", f"facts[{index}].")
    except InvalidArgument as error:
        refused = error
    return SubmittedFact(
        person_id=fact.person_id, code_id=fact.code_id, kind=fact.kind, authority=fact.authority,
        authority_record_id=fact.authority_record_id, source=fact.source,
        effective_time=effective, end_time=end,
        diagnosis=fact.diagnosis, place=fact.place, test_result=fact.test_result,
        temperature=fact.temperature_celsius, area_code=fact.area_code, refused=refused)


class StatusServicer(pb_grpc.StatusServiceServicer):
    def __init__(self, decider: Decider, intake: Intake, codes: Codes, rules: RuleBook, casework: Casework,
                 watch: StatusWatch, peer_word: PeerProvinceWord) -> None:
        self._decider = decider
        self._intake = intake
        self._codes = codes
        self._rules = rules
        self._casework = casework
        self._watch = watch
        self._peer_word = peer_word

    async def GetStatus(self, request: pb.GetStatusRequest, context: grpc.aio.ServicerContext) -> pb.GetStatusResponse:
        status = await self._decider.current(request.person_id, replica=True)
        return pb.GetStatusResponse(status=_status(status, self._rules))

    async def WatchStatus(self, request: pb.WatchStatusRequest, context: grpc.aio.ServicerContext):
        person_id = parse_uuid(request.person_id, "person_id", "PERSON_ID_INVALID")
        if self._watch.watcher_count >= MAX_WATCHERS:
            raise ResourceExhausted(reason="TOO_MANY_WATCHERS", message="this replica watches too many statuses; "
                                    "retry on another or later")
        last_version = 0
        async for _ in self._watch.changes(person_id):
            status = await self._decider.current(person_id)
            if status.version > last_version:
                last_version = status.version
                await context.write(pb.WatchStatusResponse(status=_status(status, self._rules)))

    async def ListStatusChanges(self, request: pb.ListStatusChangesRequest,
            context: grpc.aio.ServicerContext) -> pb.ListStatusChangesResponse:
        entries, corrections, token = await self._decider.changes(request.person_id, request.page_size,
                                                                request.page_token)
        return pb.ListStatusChangesResponse(changes=[_change(e, corrections.get(e.correction_id)) for e in entries],
                                            next_page_token=token)

    async def RetractFact(self, request: pb.RetractFactRequest,
            context: grpc.aio.ServicerContext) -> pb.RetractFactResponse:
        correction, status, duplicate = await self._intake.correct_fact(
            request.person_id, request.authority, request.authority_record_id, None, request.reason,
            request.legal_basis, request.request_id)
        return pb.RetractFactResponse(correction=_correction(correction), status=_status(status, self._rules), duplicate=duplicate)

    async def AmendFact(self, request: pb.AmendFactRequest, context: grpc.aio.ServicerContext) -> pb.AmendFactResponse:
        if not request.HasField("fact"):
            raise InvalidArgument.for_field("fact", "is required: the fact as it should have been",
                                            reason="FACT_REQUIRED")
        for name in ("person_id", "authority", "authority_record_id", "code_id"):
            if getattr(request.fact, name):
                raise InvalidArgument.for_field(f"fact.{name}", "is the request's: leave it empty",
                                                reason="FIELD_UNEXPECTED")
        amended = dataclasses.replace(_submitted(0, request.fact), person_id=request.person_id,
                                      authority=request.authority, authority_record_id=request.authority_record_id)
        if amended.refused is not None:
            raise amended.refused.rebased("facts[0]", "fact")
        correction, status, duplicate = await self._intake.correct_fact(
            request.person_id, request.authority, request.authority_record_id, amended, request.reason,
            request.legal_basis, request.request_id)
        return pb.AmendFactResponse(correction=_correction(correction), status=_status(status, self._rules), duplicate=duplicate)

    async def RecordFacts(self, request: pb.RecordFactsRequest,
            context: grpc.aio.ServicerContext) -> pb.RecordFactsResponse:
        result = await self._intake.record_facts([_submitted(i, fact) for i, fact in enumerate(request.facts)])
        return pb.RecordFactsResponse(
            outcomes=[pb.FactOutcome(index=index, fact_id=fact_id, duplicate=duplicate, rejection_reason=reason,
                                     rejection_field=field_path)
                      for index, fact_id, duplicate, reason, field_path in result.outcomes],
            stored_count=result.stored_count)

    async def RecordCheckIn(self, request: pb.RecordCheckInRequest,
            context: grpc.aio.ServicerContext) -> pb.RecordCheckInResponse:
        status = await self._intake.check_in(request.person_id, request.reporter_person_id,
                                            request.temperature_celsius, list(request.symptoms), request.request_id)
        return pb.RecordCheckInResponse(status=_status(status, self._rules))

    async def AcknowledgePopup(self, request: pb.AcknowledgePopupRequest,
            context: grpc.aio.ServicerContext) -> pb.AcknowledgePopupResponse:
        status = await self._intake.acknowledge_popup(request.person_id, request.actor_person_id, request.request_id)
        return pb.AcknowledgePopupResponse(status=_status(status, self._rules))

    async def IssueCode(self, request: pb.IssueCodeRequest, context: grpc.aio.ServicerContext) -> pb.IssueCodeResponse:
        issued, status = await self._codes.issue_code(request.person_id, request.requester_person_id)
        return pb.IssueCodeResponse(payload=issued.payload, expire_time=to_timestamp(issued.expire_time),
                                    status=_status(status, self._rules))

    async def StreamStatusChanges(self, request: pb.StreamStatusChangesRequest, context: grpc.aio.ServicerContext):
        async for changes in self._watch.every_change():
            await context.write(pb.StreamStatusChangesResponse(changes=[
                pb.StatusVersion(person_id=person_id, version=version) for person_id, version in changes]))

    async def ListColourChanges(self, request: pb.ListColourChangesRequest,
            context: grpc.aio.ServicerContext) -> pb.ListColourChangesResponse:
        changes, last, caught_up = await self._codes.colour_changes(request.after_sequence, request.page_size,
                                                                    list(request.province_codes))
        stamps: dict = {}  # changes of one recomputation share their time: one Timestamp each
        return pb.ListColourChangesResponse(changes=[pb.ColourChange(
            sequence=c.sequence, person_ref=c.person_ref, province_code=c.province_code,
            previous_colour=c.previous_colour, colour=c.colour,
            change_time=stamps.get(c.change_time) or stamps.setdefault(c.change_time, to_timestamp(c.change_time)),
            reason=c.reason) for c in changes], last_sequence=last, caught_up=caught_up)

    async def GetCodeStanding(self, request: pb.GetCodeStandingRequest,
            context: grpc.aio.ServicerContext) -> pb.GetCodeStandingResponse:
        return pb.GetCodeStandingResponse(standings=await self._codes.code_standings(list(request.code_ids)))

    async def ListStaleCodes(self, request: pb.ListStaleCodesRequest,
            context: grpc.aio.ServicerContext) -> pb.ListStaleCodesResponse:
        codes, token = await self._codes.stale_codes(request.page_size, request.page_token)
        return pb.ListStaleCodesResponse(
            codes=[pb.StaleCode(code_id=c.code_id.hex(), expire_time=to_timestamp(c.expire_time)) for c in codes],
            next_page_token=token)

    async def FileAppeal(self, request: pb.FileAppealRequest,
            context: grpc.aio.ServicerContext) -> pb.FileAppealResponse:
        appeal = await self._casework.file_appeal(
            request.person_id, request.filer_person_id, request.category, request.statement,
            list(request.evidence_refs), request.request_id)
        return pb.FileAppealResponse(appeal=_appeal(appeal))

    async def GetAppeal(self, request: pb.GetAppealRequest, context: grpc.aio.ServicerContext) -> pb.GetAppealResponse:
        return pb.GetAppealResponse(appeal=_appeal(await self._casework.get_appeal(request.appeal_id)))

    async def ListAppeals(self, request: pb.ListAppealsRequest,
            context: grpc.aio.ServicerContext) -> pb.ListAppealsResponse:
        appeals, token = await self._casework.list_appeals(request.state, request.overdue_only, request.page_size,
                                                           request.page_token, request.province_code)
        return pb.ListAppealsResponse(appeals=[_appeal(a) for a in appeals], next_page_token=token)

    async def DecideAppeal(self, request: pb.DecideAppealRequest,
            context: grpc.aio.ServicerContext) -> pb.DecideAppealResponse:
        appeal, status = await self._casework.decide_appeal(
            request.appeal_id, request.reviewer_id, request.approve, request.decision_reason,
            list(request.dismissed_finding_keys))
        return pb.DecideAppealResponse(appeal=_appeal(appeal), status=_status(status, self._rules))

    async def ProposeOverride(self, request: pb.ProposeOverrideRequest,
            context: grpc.aio.ServicerContext) -> pb.ProposeOverrideResponse:
        row = await self._casework.propose_override(
            request.person_id, request.colour, request.reason_code, request.legal_basis,
            optional_datetime(request, "start_time"), optional_datetime(request, "end_time"), request.proposer_id,
            request.request_id)
        return pb.ProposeOverrideResponse(override=_override(row))

    async def DecideOverride(self, request: pb.DecideOverrideRequest,
            context: grpc.aio.ServicerContext) -> pb.DecideOverrideResponse:
        row, status = await self._casework.decide_override(request.override_id, request.approver_id,
                                                           request.approve)
        return pb.DecideOverrideResponse(override=_override(row), status=_status(status, self._rules))

    async def ListOverrides(self, request: pb.ListOverridesRequest,
            context: grpc.aio.ServicerContext) -> pb.ListOverridesResponse:
        rows, token = await self._casework.list_overrides(request.state, request.page_size, request.page_token,
                                                          request.province_code)
        return pb.ListOverridesResponse(overrides=[_override(r) for r in rows], next_page_token=token)

    async def RecordTracedContacts(self, request: pb.RecordTracedContactsRequest,
            context: grpc.aio.ServicerContext) -> pb.RecordTracedContactsResponse:
        stored, duplicates, rejected = await self._casework.record_traced_contacts(
            request.trace_id, request.case_person_id, request.tracer_id, request.legal_basis,
            list(request.close_contact_person_ids), list(request.secondary_contact_person_ids),
            request.validate_only)
        return pb.RecordTracedContactsResponse(stored_count=stored, duplicate_count=duplicates,
                                               rejected_count=rejected)


    async def RecordPeerListings(self, request: pb.RecordPeerListingsRequest,
            context: grpc.aio.ServicerContext) -> pb.RecordPeerListingsResponse:
        listings = [SubmittedListing(listing.record_index, bytes(listing.person_ref), listing.colour, listing.reason,
                                     listing.source, _row_time(listing, "expire_time"), listing.list_sequence)
                    for i, listing in enumerate(request.listings)]
        result = await self._peer_word.record_listings(
            request.origin_province_code, request.batch_id, optional_datetime(request, "receive_time"),
            list(request.home_province_codes), listings)
        return pb.RecordPeerListingsResponse(
            stored_count=result.stored, duplicate_count=result.duplicates, unknown_count=result.unknown,
            rejections=[pb.FactOutcome(index=index, rejection_reason=reason, rejection_field=field_path)
                        for index, reason, field_path in result.rejections])

    async def RecordPeerFevers(self, request: pb.RecordPeerFeversRequest,
            context: grpc.aio.ServicerContext) -> pb.RecordPeerFeversResponse:
        fevers = [SubmittedFever(fever.report_id, fever.code_id, bytes(fever.person_ref),
                                 _row_time(fever, "reading_time"), fever.temperature_celsius,
                                 _row_time(fever, "code_expire_time"))
                  for i, fever in enumerate(request.fevers)]
        result = await self._peer_word.record_fevers(request.origin_province_code, fevers)
        return pb.RecordPeerFeversResponse(
            outcomes=[pb.FactOutcome(index=index, fact_id=fact_id, duplicate=duplicate, rejection_reason=reason,
                                     rejection_field=field_path)
                      for index, fact_id, duplicate, reason, field_path in result.outcomes],
            stored_count=result.stored)


class StatusAdminServicer(pb_grpc.StatusAdminServiceServicer):
    def __init__(self, rules: RuleBook, signer: Signer, clock: Clock, casework: Casework,
                 recomputation: Recomputation) -> None:
        self._rules = rules
        self._signer = signer
        self._clock = clock
        self._casework = casework
        self._recomputation = recomputation

    async def PublishRuleSet(self, request: pb.PublishRuleSetRequest,
            context: grpc.aio.ServicerContext) -> pb.PublishRuleSetResponse:
        effective = optional_datetime(request, "effective_time")
        if effective is None:
            raise InvalidArgument.for_field("effective_time", "is required", reason="EFFECTIVE_TIME_MISSING")
        stored = await self._rules.publish(request.province_code, effective, request.document,
                                                 self._clock.now())
        return pb.PublishRuleSetResponse(rule_set=_rule_set(stored))

    async def ListRuleSets(self, request: pb.ListRuleSetsRequest,
            context: grpc.aio.ServicerContext) -> pb.ListRuleSetsResponse:
        return pb.ListRuleSetsResponse(
            rule_sets=[_rule_set(s) for s in await self._rules.versions(request.province_code)])

    async def CreateSigningKey(self, request: pb.CreateSigningKeyRequest,
            context: grpc.aio.ServicerContext) -> pb.CreateSigningKeyResponse:
        stored = await self._signer.create_key(
            request.province_code, optional_datetime(request, "not_before_time"),
            optional_datetime(request, "not_after_time"), self._clock.now())
        return pb.CreateSigningKeyResponse(key=_key(stored))

    async def ListSigningKeys(self, request: pb.ListSigningKeysRequest,
            context: grpc.aio.ServicerContext) -> pb.ListSigningKeysResponse:
        keys, token = await self._signer.list_keys(request.province_code, request.page_size,
                                                         request.page_token)
        return pb.ListSigningKeysResponse(keys=[_key(k) for k in keys], next_page_token=token)

    async def RevokeSigningKey(self, request: pb.RevokeSigningKeyRequest,
            context: grpc.aio.ServicerContext) -> pb.RevokeSigningKeyResponse:
        return pb.RevokeSigningKeyResponse(key=_key(await self._signer.revoke_key(request.key_id,
                                                                                         self._clock.now())))

    async def SetOfficerRoles(self, request: pb.SetOfficerRolesRequest,
            context: grpc.aio.ServicerContext) -> pb.SetOfficerRolesResponse:
        roles = await self._casework.set_officer_roles(request.officer_id, request.province_code,
                                                       list(request.roles), request.granted_by_id)
        return pb.SetOfficerRolesResponse(roles=roles)

    async def StartRecompute(self, request: pb.StartRecomputeRequest,
            context: grpc.aio.ServicerContext) -> pb.StartRecomputeResponse:
        return pb.StartRecomputeResponse(run=_run(await self._recomputation.start(request.declaration_id)))

    async def ListRecomputeRuns(self, request: pb.ListRecomputeRunsRequest,
            context: grpc.aio.ServicerContext) -> pb.ListRecomputeRunsResponse:
        runs, token = await self._recomputation.list_runs(request.page_size, request.page_token)
        return pb.ListRecomputeRunsResponse(runs=[_run(r) for r in runs], next_page_token=token)


def add_to_server(status: StatusServicer, admin: StatusAdminServicer, server: grpc.aio.Server) -> None:
    pb_grpc.add_StatusServiceServicer_to_server(status, server)
    pb_grpc.add_StatusAdminServiceServicer_to_server(admin, server)
