"""gRPC transport of recognition: checkpoints' RPCs (online and offline), the operators'
RecognitionAdminService and the other provinces' FederationService; no rules here."""

from __future__ import annotations

import base64
from datetime import datetime

import grpc
from healthcode.verification.v1 import verification_pb2 as pb
from healthcode.verification.v1 import verification_pb2_grpc as pb_grpc

from services.codes.ids import parse_code_ids
from services.runtime.errors import InvalidArgument
from services.runtime.timestamps import optional_datetime, to_timestamp
from services.verification.recognition.checkpoint import Checkpoint, OfflineDecision
from services.verification.recognition.dcc_repository import SignerRow
from services.verification.recognition.dcc_trust import DccTrust, SignerInput
from services.verification.recognition.exchange import RiskRecord
from services.verification.recognition.fever_reports import FeverIntake
from services.verification.recognition.model import FeverReport, Rejection, Snapshot
from services.verification.recognition.federation_tls import caller_provinces
from services.verification.recognition.mutual import Recognition
from services.verification.recognition.repository import AgreementRow, KeyRow
from services.verification.recognition.snapshots import OfflineSnapshots

MAX_CODE_IDS = 100  # per GetCodeStanding, as status allows


def _key(row: KeyRow) -> pb.TrustedKey:
    return pb.TrustedKey(key_id=row.key_id.hex(), province_code=row.province_code, public_key=row.public_key,
                         not_before_time=to_timestamp(row.not_before), not_after_time=to_timestamp(row.not_after),
                         revoke_time=to_timestamp(row.revoke_time), purpose=row.purpose)


def _agreement(row: AgreementRow) -> pb.Agreement:
    return pb.Agreement(issuer_province_code=row.issuer_province,
                        accepted_since_time=to_timestamp(row.accepted_since),
                        colour_mapping=row.colour_mapping, end_time=to_timestamp(row.end_time))


def _records(messages, field_path: str = "records") -> list[RiskRecord]:
    records = []
    # An exported batch's records share a few expiry times: each distinct one is read (and checked) once.
    read: dict[tuple[int, int], datetime] = {}
    for index, message in enumerate(messages):
        stamp = message.expire_time
        expire = read.get((stamp.seconds, stamp.nanos)) if message.HasField("expire_time") else None
        if expire is None:
            expire = optional_datetime(message, "expire_time", f"{field_path}[{index}].")
            if expire is not None:
                read[(stamp.seconds, stamp.nanos)] = expire
        if expire is None:
            raise InvalidArgument.for_field(f"{field_path}[{index}].expire_time", "is required",
                                            reason="EXPIRE_TIME_MISSING")
        # The colour stays a plain number here: check_risk_records judges it.
        records.append(RiskRecord(bytes(message.person_ref), message.colour, message.reason, message.source,
                                  expire, message.list_sequence))
    return records


def _dcc_signer(row: SignerRow) -> pb.DccSigner:
    return pb.DccSigner(key_id=base64.b64encode(row.key_id).decode("ascii"), country_code=row.country,
                        certificate=row.certificate, not_before_time=to_timestamp(row.not_before),
                        not_after_time=to_timestamp(row.not_after))


def _rejections(rejections: list[Rejection]) -> list[pb.RecordRejection]:
    return [pb.RecordRejection(index=r.index, field=r.field, reason=r.reason) for r in rejections]


def snapshot_message(snapshot: Snapshot) -> pb.OfflineSnapshot:
    return pb.OfflineSnapshot(
        version=snapshot.version, base_version=snapshot.base_version, issue_time=to_timestamp(snapshot.issue_time),
        own_province_codes=sorted(snapshot.own_provinces), keys=[_key(k) for k in snapshot.keys],
        agreements=[_agreement(a) for a in snapshot.agreements],
        risk_records=[pb.RiskListRecord(person_ref=r.person_ref, colour=int(r.colour), reason=r.reason,
                                        source=r.source, expire_time=to_timestamp(r.expire_time))
                      for r in snapshot.risk_records],
        stale_codes=[pb.StaleCode(code_id=c.code_id.hex(), expire_time=to_timestamp(c.expire_time))
                     for c in snapshot.stale_codes],
        clock_skew_seconds=int(snapshot.clock_skew.total_seconds()))


class RecognitionServicer:
    """VerificationService's checkpoint RPCs: a code checked online, the offline snapshot in both forms,
    and the decisions a device made offline (VerificationServicer hands each of them here)."""

    def __init__(self, checkpoint: Checkpoint, recognition: Recognition, snapshots: OfflineSnapshots,
                 dcc_trust: DccTrust | None = None) -> None:
        self._checkpoint = checkpoint
        self._recognition = recognition
        self._snapshots = snapshots
        self._dcc_trust = dcc_trust

    async def VerifyCode(self, request: pb.VerifyCodeRequest,
                         context: grpc.aio.ServicerContext) -> pb.VerifyCodeResponse:
        temperature = request.temperature_celsius if request.HasField("temperature_celsius") else None
        recorded = await self._checkpoint.verify(request.payload, request.checkpoint_id, request.area_code,
                                                 temperature, request.negative_test_within_hours)
        verdict = recorded.verdict
        return pb.VerifyCodeResponse(
            decision=int(verdict.decision), colour=int(verdict.colour or 0), display_colour=verdict.display_colour,
            masked_name=verdict.masked_name, reason=verdict.reason, issuer_province_code=verdict.issuer_province,
            clock_skew_seconds=verdict.clock_skew_seconds, verification_id=recorded.verification_id,
            negative_test_time=to_timestamp(verdict.negative_test_time))

    async def GetOfflineSnapshot(self, request: pb.GetOfflineSnapshotRequest,
                                 context: grpc.aio.ServicerContext) -> pb.GetOfflineSnapshotResponse:
        message = snapshot_message(await self._recognition.snapshot(request.since_version))
        if self._dcc_trust is not None:
            message.dcc_signers.extend(_dcc_signer(row) for row in
                                       await self._dcc_trust.signers_since(request.since_version))
        serialized = message.SerializeToString()
        return pb.GetOfflineSnapshotResponse(snapshot=serialized,
                                             signature=self._recognition.sign_snapshot(serialized),
                                             key_id=self._recognition.exchange_key_id.hex(),
                                             key_certificate=self._recognition.exchange_certificate)

    async def GetOfflineManifest(self, request: pb.GetOfflineManifestRequest,
                                 context: grpc.aio.ServicerContext) -> pb.GetOfflineManifestResponse:
        signed = await self._snapshots.manifest()
        return pb.GetOfflineManifestResponse(manifest=signed.document, signature=signed.signature,
                                             key_id=signed.key_id.hex())

    async def GetSnapshotPartition(self, request: pb.GetSnapshotPartitionRequest,
                                   context: grpc.aio.ServicerContext) -> pb.GetSnapshotPartitionResponse:
        return pb.GetSnapshotPartitionResponse(records=await self._snapshots.partition(
            request.partition, request.as_of_version, optional_datetime(request, "as_of_time")))

    async def ListSnapshotChanges(self, request: pb.ListSnapshotChangesRequest,
                                  context: grpc.aio.ServicerContext) -> pb.ListSnapshotChangesResponse:
        records, token = await self._snapshots.changes(
            request.since_version, request.as_of_version, optional_datetime(request, "as_of_time"),
            request.page_size, request.page_token)
        return pb.ListSnapshotChangesResponse(records=records, next_page_token=token)

    async def RecordOfflineDecisions(self, request: pb.RecordOfflineDecisionsRequest,
                                     context: grpc.aio.ServicerContext) -> pb.RecordOfflineDecisionsResponse:
        decisions = [OfflineDecision(d.decision_id, optional_datetime(d, "verify_time", f"decisions[{i}]."),
                                     d.decision, d.reason, d.issuer_province_code, d.colour, d.code_id)
                     for i, d in enumerate(request.decisions)]
        stored, duplicates, rejections = await self._checkpoint.record_offline(
            request.checkpoint_id, request.area_code, decisions)
        return pb.RecordOfflineDecisionsResponse(stored_count=stored, duplicate_count=duplicates,
                                                 rejections=_rejections(rejections))


class RecognitionAdminServicer(pb_grpc.RecognitionAdminServiceServicer):
    def __init__(self, recognition: Recognition, dcc_trust: DccTrust | None = None) -> None:
        self._recognition = recognition
        self._dcc_trust = dcc_trust

    async def SetAgreement(self, request: pb.SetAgreementRequest,
                           context: grpc.aio.ServicerContext) -> pb.SetAgreementResponse:
        agreement = request.agreement
        stored = await self._recognition.set_agreement(
            agreement.issuer_province_code, optional_datetime(agreement, "accepted_since_time", "agreement."),
            dict(agreement.colour_mapping), optional_datetime(agreement, "end_time", "agreement."))
        return pb.SetAgreementResponse(agreement=_agreement(stored))

    async def ListAgreements(self, request: pb.ListAgreementsRequest,
                             context: grpc.aio.ServicerContext) -> pb.ListAgreementsResponse:
        return pb.ListAgreementsResponse(
            agreements=[_agreement(a) for a in await self._recognition.agreements()])

    async def PublishRiskList(self, request: pb.PublishRiskListRequest,
                              context: grpc.aio.ServicerContext) -> pb.PublishRiskListResponse:
        stored, rejections, delivered = await self._recognition.publish_risk_list(request.batch_id,
                                                                                  _records(request.records))
        return pb.PublishRiskListResponse(stored_count=stored, rejections=_rejections(rejections),
                                          delivered_to_province_codes=delivered)

    async def SyncTrustList(self, request: pb.SyncTrustListRequest,
                            context: grpc.aio.ServicerContext) -> pb.SyncTrustListResponse:
        count, unreachable = await self._recognition.sync()
        return pb.SyncTrustListResponse(key_count=count, unreachable_province_codes=unreachable)

    async def ImportDccSigners(self, request: pb.ImportDccSignersRequest,
                               context: grpc.aio.ServicerContext) -> pb.ImportDccSignersResponse:
        result = await self._dcc_trust.import_signers(
            [SignerInput(bytes(s.certificate), s.country_code, s.key_id) for s in request.signers])
        return pb.ImportDccSignersResponse(stored_count=result.stored, unchanged_count=result.unchanged,
                                           rejections=_rejections(result.rejections))


class FederationServicer(pb_grpc.FederationServiceServicer):
    """Served on the federation port only: every call is from a peer whose client certificate the
    TLS handshake verified; what it may do is judged on the provinces that certificate names."""

    def __init__(self, recognition: Recognition, fever_intake: FeverIntake) -> None:
        self._recognition = recognition
        self._fever_intake = fever_intake

    def _peer(self, context: grpc.aio.ServicerContext) -> frozenset[str]:
        return self._recognition.authorise_peer(caller_provinces(context))

    async def GetTrustList(self, request: pb.GetTrustListRequest,
                           context: grpc.aio.ServicerContext) -> pb.GetTrustListResponse:
        self._peer(context)
        version, provinces, keys, exchange = await self._recognition.trust_list()
        document = pb.TrustListDocument(
            version=version, issue_time=to_timestamp(self._recognition.now()), province_codes=sorted(provinces),
            signing_keys=[_key(k) for k in keys], exchange_key=_key(exchange),
            exchange_key_certificate=self._recognition.exchange_certificate).SerializeToString()
        return pb.GetTrustListResponse(province_codes=sorted(provinces), signing_keys=[_key(k) for k in keys],
                                       exchange_key=_key(exchange), document=document,
                                       signature=self._recognition.sign_trust_list(document))

    async def SubmitRiskList(self, request: pb.SubmitRiskListRequest,
                             context: grpc.aio.ServicerContext) -> pb.SubmitRiskListResponse:
        caller = self._peer(context)
        try:
            key_id = bytes.fromhex(request.key_id)
        except ValueError:
            raise InvalidArgument.for_field("key_id", "must be hexadecimal", reason="KEY_ID_INVALID") from None
        stored, duplicate, rejections = await self._recognition.receive_risk_list(
            request.batch_id, request.province_code, _records(request.records), key_id, request.signature, caller,
            bytes(request.exchange_key_certificate))
        return pb.SubmitRiskListResponse(stored_count=stored, duplicate=duplicate, rejections=_rejections(rejections))

    async def GetCodeStanding(self, request: pb.GetCodeStandingRequest,
                              context: grpc.aio.ServicerContext) -> pb.GetCodeStandingResponse:
        self._peer(context)
        standings = await self._recognition.standings_for_peer(parse_code_ids(request.code_ids, MAX_CODE_IDS))
        return pb.GetCodeStandingResponse(standings=[int(s) for s in standings])

    async def NotifyTrustListChanged(self, request: pb.NotifyTrustListChangedRequest,
                                     context: grpc.aio.ServicerContext) -> pb.NotifyTrustListChangedResponse:
        applied = await self._recognition.trust_list_changed(self._peer(context))
        return pb.NotifyTrustListChangedResponse(applied=applied)

    async def ReportFevers(self, request: pb.ReportFeversRequest,
                           context: grpc.aio.ServicerContext) -> pb.ReportFeversResponse:
        caller = self._peer(context)
        reports = []
        for report in request.reports:
            try:
                reading = optional_datetime(report, "reading_time")
            except InvalidArgument:
                reading = None  # refused on its own (READING_TIME_INVALID), the other reports kept
            reports.append(FeverReport(report.report_id, report.reporter_province_code, report.payload, reading,
                                       report.temperature_celsius))
        outcomes = await self._fever_intake.receive(reports, caller)
        return pb.ReportFeversResponse(outcomes=[pb.FeverReportOutcome(index=o.index, accepted=o.accepted,
                                                                       rejection_reason=o.reason) for o in outcomes])

    async def ListStaleCodes(self, request: pb.ListStaleCodesRequest,
                             context: grpc.aio.ServicerContext) -> pb.ListStaleCodesResponse:
        self._peer(context)
        return pb.ListStaleCodesResponse(codes=[pb.StaleCode(code_id=c.code_id.hex(),
                                                             expire_time=to_timestamp(c.expire_time))
                                                for c in await self._recognition.stale_codes()])
