import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from healthcode.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_PASS: _ClassVar[Decision]
    DECISION_DENY: _ClassVar[Decision]
    DECISION_CHECK_MANUALLY: _ClassVar[Decision]

class VenueCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VENUE_CATEGORY_UNSPECIFIED: _ClassVar[VenueCategory]
    VENUE_CATEGORY_RETAIL: _ClassVar[VenueCategory]
    VENUE_CATEGORY_TRANSPORT: _ClassVar[VenueCategory]
    VENUE_CATEGORY_OFFICE: _ClassVar[VenueCategory]
    VENUE_CATEGORY_SCHOOL: _ClassVar[VenueCategory]
    VENUE_CATEGORY_HEALTHCARE: _ClassVar[VenueCategory]
    VENUE_CATEGORY_RESTAURANT: _ClassVar[VenueCategory]
    VENUE_CATEGORY_OTHER: _ClassVar[VenueCategory]

class KeyPurpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KEY_PURPOSE_UNSPECIFIED: _ClassVar[KeyPurpose]
    KEY_PURPOSE_CODES: _ClassVar[KeyPurpose]
    KEY_PURPOSE_EXCHANGES: _ClassVar[KeyPurpose]

class CodeStanding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CODE_STANDING_UNSPECIFIED: _ClassVar[CodeStanding]
    CODE_STANDING_CURRENT: _ClassVar[CodeStanding]
    CODE_STANDING_STALE: _ClassVar[CodeStanding]
    CODE_STANDING_UNKNOWN: _ClassVar[CodeStanding]
DECISION_UNSPECIFIED: Decision
DECISION_PASS: Decision
DECISION_DENY: Decision
DECISION_CHECK_MANUALLY: Decision
VENUE_CATEGORY_UNSPECIFIED: VenueCategory
VENUE_CATEGORY_RETAIL: VenueCategory
VENUE_CATEGORY_TRANSPORT: VenueCategory
VENUE_CATEGORY_OFFICE: VenueCategory
VENUE_CATEGORY_SCHOOL: VenueCategory
VENUE_CATEGORY_HEALTHCARE: VenueCategory
VENUE_CATEGORY_RESTAURANT: VenueCategory
VENUE_CATEGORY_OTHER: VenueCategory
KEY_PURPOSE_UNSPECIFIED: KeyPurpose
KEY_PURPOSE_CODES: KeyPurpose
KEY_PURPOSE_EXCHANGES: KeyPurpose
CODE_STANDING_UNSPECIFIED: CodeStanding
CODE_STANDING_CURRENT: CodeStanding
CODE_STANDING_STALE: CodeStanding
CODE_STANDING_UNKNOWN: CodeStanding

class VerifyCodeRequest(_message.Message):
    __slots__ = ("payload", "checkpoint_id", "area_code", "temperature_celsius", "negative_test_within_hours")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_ID_FIELD_NUMBER: _ClassVar[int]
    AREA_CODE_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_TEST_WITHIN_HOURS_FIELD_NUMBER: _ClassVar[int]
    payload: str
    checkpoint_id: str
    area_code: str
    temperature_celsius: float
    negative_test_within_hours: int
    def __init__(self, payload: _Optional[str] = ..., checkpoint_id: _Optional[str] = ..., area_code: _Optional[str] = ..., temperature_celsius: _Optional[float] = ..., negative_test_within_hours: _Optional[int] = ...) -> None: ...

class VerifyCodeResponse(_message.Message):
    __slots__ = ("decision", "colour", "display_colour", "masked_name", "reason", "issuer_province_code", "clock_skew_seconds", "verification_id", "negative_test_time")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_COLOUR_FIELD_NUMBER: _ClassVar[int]
    MASKED_NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ISSUER_PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    CLOCK_SKEW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_TEST_TIME_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    colour: _common_pb2.Colour
    display_colour: str
    masked_name: str
    reason: str
    issuer_province_code: str
    clock_skew_seconds: int
    verification_id: str
    negative_test_time: _timestamp_pb2.Timestamp
    def __init__(self, decision: _Optional[_Union[Decision, str]] = ..., colour: _Optional[_Union[_common_pb2.Colour, str]] = ..., display_colour: _Optional[str] = ..., masked_name: _Optional[str] = ..., reason: _Optional[str] = ..., issuer_province_code: _Optional[str] = ..., clock_skew_seconds: _Optional[int] = ..., verification_id: _Optional[str] = ..., negative_test_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TrustedKey(_message.Message):
    __slots__ = ("key_id", "province_code", "public_key", "not_before_time", "not_after_time", "revoke_time", "purpose")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_TIME_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    province_code: str
    public_key: bytes
    not_before_time: _timestamp_pb2.Timestamp
    not_after_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    purpose: KeyPurpose
    def __init__(self, key_id: _Optional[str] = ..., province_code: _Optional[str] = ..., public_key: _Optional[bytes] = ..., not_before_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_after_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., purpose: _Optional[_Union[KeyPurpose, str]] = ...) -> None: ...

class Agreement(_message.Message):
    __slots__ = ("issuer_province_code", "accepted_since_time", "colour_mapping", "end_time")
    class ColourMappingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.Colour
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.Colour, str]] = ...) -> None: ...
    ISSUER_PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_SINCE_TIME_FIELD_NUMBER: _ClassVar[int]
    COLOUR_MAPPING_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    issuer_province_code: str
    accepted_since_time: _timestamp_pb2.Timestamp
    colour_mapping: _containers.ScalarMap[str, _common_pb2.Colour]
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, issuer_province_code: _Optional[str] = ..., accepted_since_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., colour_mapping: _Optional[_Mapping[str, _common_pb2.Colour]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RiskListRecord(_message.Message):
    __slots__ = ("person_ref", "colour", "reason", "source", "expire_time", "list_sequence")
    PERSON_REF_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    LIST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    person_ref: bytes
    colour: _common_pb2.Colour
    reason: str
    source: str
    expire_time: _timestamp_pb2.Timestamp
    list_sequence: int
    def __init__(self, person_ref: _Optional[bytes] = ..., colour: _Optional[_Union[_common_pb2.Colour, str]] = ..., reason: _Optional[str] = ..., source: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., list_sequence: _Optional[int] = ...) -> None: ...

class StaleCode(_message.Message):
    __slots__ = ("code_id", "expire_time")
    CODE_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    code_id: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, code_id: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OfflineSnapshot(_message.Message):
    __slots__ = ("version", "base_version", "issue_time", "own_province_codes", "keys", "agreements", "risk_records", "stale_codes", "clock_skew_seconds", "dcc_signers")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BASE_VERSION_FIELD_NUMBER: _ClassVar[int]
    ISSUE_TIME_FIELD_NUMBER: _ClassVar[int]
    OWN_PROVINCE_CODES_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    AGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    RISK_RECORDS_FIELD_NUMBER: _ClassVar[int]
    STALE_CODES_FIELD_NUMBER: _ClassVar[int]
    CLOCK_SKEW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DCC_SIGNERS_FIELD_NUMBER: _ClassVar[int]
    version: int
    base_version: int
    issue_time: _timestamp_pb2.Timestamp
    own_province_codes: _containers.RepeatedScalarFieldContainer[str]
    keys: _containers.RepeatedCompositeFieldContainer[TrustedKey]
    agreements: _containers.RepeatedCompositeFieldContainer[Agreement]
    risk_records: _containers.RepeatedCompositeFieldContainer[RiskListRecord]
    stale_codes: _containers.RepeatedCompositeFieldContainer[StaleCode]
    clock_skew_seconds: int
    dcc_signers: _containers.RepeatedCompositeFieldContainer[DccSigner]
    def __init__(self, version: _Optional[int] = ..., base_version: _Optional[int] = ..., issue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., own_province_codes: _Optional[_Iterable[str]] = ..., keys: _Optional[_Iterable[_Union[TrustedKey, _Mapping]]] = ..., agreements: _Optional[_Iterable[_Union[Agreement, _Mapping]]] = ..., risk_records: _Optional[_Iterable[_Union[RiskListRecord, _Mapping]]] = ..., stale_codes: _Optional[_Iterable[_Union[StaleCode, _Mapping]]] = ..., clock_skew_seconds: _Optional[int] = ..., dcc_signers: _Optional[_Iterable[_Union[DccSigner, _Mapping]]] = ...) -> None: ...

class GetOfflineSnapshotRequest(_message.Message):
    __slots__ = ("since_version",)
    SINCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    since_version: int
    def __init__(self, since_version: _Optional[int] = ...) -> None: ...

class GetOfflineSnapshotResponse(_message.Message):
    __slots__ = ("snapshot", "signature", "key_id", "key_certificate")
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    snapshot: bytes
    signature: bytes
    key_id: str
    key_certificate: bytes
    def __init__(self, snapshot: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., key_id: _Optional[str] = ..., key_certificate: _Optional[bytes] = ...) -> None: ...

class Venue(_message.Message):
    __slots__ = ("venue_id", "name", "area_code", "category", "create_time")
    VENUE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    AREA_CODE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    venue_id: str
    name: str
    area_code: str
    category: VenueCategory
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, venue_id: _Optional[str] = ..., name: _Optional[str] = ..., area_code: _Optional[str] = ..., category: _Optional[_Union[VenueCategory, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterVenueRequest(_message.Message):
    __slots__ = ("name", "area_code", "category", "request_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    AREA_CODE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    area_code: str
    category: VenueCategory
    request_id: str
    def __init__(self, name: _Optional[str] = ..., area_code: _Optional[str] = ..., category: _Optional[_Union[VenueCategory, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class RegisterVenueResponse(_message.Message):
    __slots__ = ("venue",)
    VENUE_FIELD_NUMBER: _ClassVar[int]
    venue: Venue
    def __init__(self, venue: _Optional[_Union[Venue, _Mapping]] = ...) -> None: ...

class GetVenueCodeRequest(_message.Message):
    __slots__ = ("venue_id",)
    VENUE_ID_FIELD_NUMBER: _ClassVar[int]
    venue_id: str
    def __init__(self, venue_id: _Optional[str] = ...) -> None: ...

class GetVenueCodeResponse(_message.Message):
    __slots__ = ("payload", "expire_time")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    payload: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, payload: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Visit(_message.Message):
    __slots__ = ("visit_id", "person_id", "venue_id", "visit_time", "flagged")
    VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    VENUE_ID_FIELD_NUMBER: _ClassVar[int]
    VISIT_TIME_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    visit_id: str
    person_id: str
    venue_id: str
    visit_time: _timestamp_pb2.Timestamp
    flagged: bool
    def __init__(self, visit_id: _Optional[str] = ..., person_id: _Optional[str] = ..., venue_id: _Optional[str] = ..., visit_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., flagged: _Optional[bool] = ...) -> None: ...

class RecordVisitRequest(_message.Message):
    __slots__ = ("person_id", "venue_code", "request_id")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    VENUE_CODE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    venue_code: str
    request_id: str
    def __init__(self, person_id: _Optional[str] = ..., venue_code: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RecordVisitResponse(_message.Message):
    __slots__ = ("visit",)
    VISIT_FIELD_NUMBER: _ClassVar[int]
    visit: Visit
    def __init__(self, visit: _Optional[_Union[Visit, _Mapping]] = ...) -> None: ...

class TraceContactsRequest(_message.Message):
    __slots__ = ("case_person_id", "window_minutes", "since_time", "include_secondary", "trace_id", "tracer_id", "legal_basis")
    CASE_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_MINUTES_FIELD_NUMBER: _ClassVar[int]
    SINCE_TIME_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SECONDARY_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACER_ID_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    case_person_id: str
    window_minutes: int
    since_time: _timestamp_pb2.Timestamp
    include_secondary: bool
    trace_id: str
    tracer_id: str
    legal_basis: str
    def __init__(self, case_person_id: _Optional[str] = ..., window_minutes: _Optional[int] = ..., since_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., include_secondary: _Optional[bool] = ..., trace_id: _Optional[str] = ..., tracer_id: _Optional[str] = ..., legal_basis: _Optional[str] = ...) -> None: ...

class TraceContactsResponse(_message.Message):
    __slots__ = ("close_contact_person_ids", "secondary_contact_person_ids")
    CLOSE_CONTACT_PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    SECONDARY_CONTACT_PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    close_contact_person_ids: _containers.RepeatedScalarFieldContainer[str]
    secondary_contact_person_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, close_contact_person_ids: _Optional[_Iterable[str]] = ..., secondary_contact_person_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SetAgreementRequest(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: Agreement
    def __init__(self, agreement: _Optional[_Union[Agreement, _Mapping]] = ...) -> None: ...

class SetAgreementResponse(_message.Message):
    __slots__ = ("agreement",)
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    agreement: Agreement
    def __init__(self, agreement: _Optional[_Union[Agreement, _Mapping]] = ...) -> None: ...

class ListAgreementsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAgreementsResponse(_message.Message):
    __slots__ = ("agreements",)
    AGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    agreements: _containers.RepeatedCompositeFieldContainer[Agreement]
    def __init__(self, agreements: _Optional[_Iterable[_Union[Agreement, _Mapping]]] = ...) -> None: ...

class PublishRiskListRequest(_message.Message):
    __slots__ = ("batch_id", "records")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    records: _containers.RepeatedCompositeFieldContainer[RiskListRecord]
    def __init__(self, batch_id: _Optional[str] = ..., records: _Optional[_Iterable[_Union[RiskListRecord, _Mapping]]] = ...) -> None: ...

class PublishRiskListResponse(_message.Message):
    __slots__ = ("stored_count", "rejections", "delivered_to_province_codes")
    STORED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_TO_PROVINCE_CODES_FIELD_NUMBER: _ClassVar[int]
    stored_count: int
    rejections: _containers.RepeatedCompositeFieldContainer[RecordRejection]
    delivered_to_province_codes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, stored_count: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[RecordRejection, _Mapping]]] = ..., delivered_to_province_codes: _Optional[_Iterable[str]] = ...) -> None: ...

class RecordRejection(_message.Message):
    __slots__ = ("index", "field", "reason")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    index: int
    field: str
    reason: str
    def __init__(self, index: _Optional[int] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DccSigner(_message.Message):
    __slots__ = ("key_id", "country_code", "certificate", "not_before_time", "not_after_time")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_TIME_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_TIME_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    country_code: str
    certificate: bytes
    not_before_time: _timestamp_pb2.Timestamp
    not_after_time: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., country_code: _Optional[str] = ..., certificate: _Optional[bytes] = ..., not_before_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_after_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ImportDccSignersRequest(_message.Message):
    __slots__ = ("signers",)
    SIGNERS_FIELD_NUMBER: _ClassVar[int]
    signers: _containers.RepeatedCompositeFieldContainer[DccSigner]
    def __init__(self, signers: _Optional[_Iterable[_Union[DccSigner, _Mapping]]] = ...) -> None: ...

class ImportDccSignersResponse(_message.Message):
    __slots__ = ("stored_count", "unchanged_count", "rejections")
    STORED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    stored_count: int
    unchanged_count: int
    rejections: _containers.RepeatedCompositeFieldContainer[RecordRejection]
    def __init__(self, stored_count: _Optional[int] = ..., unchanged_count: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[RecordRejection, _Mapping]]] = ...) -> None: ...

class SyncTrustListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SyncTrustListResponse(_message.Message):
    __slots__ = ("key_count", "unreachable_province_codes")
    KEY_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNREACHABLE_PROVINCE_CODES_FIELD_NUMBER: _ClassVar[int]
    key_count: int
    unreachable_province_codes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key_count: _Optional[int] = ..., unreachable_province_codes: _Optional[_Iterable[str]] = ...) -> None: ...

class GetTrustListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetTrustListResponse(_message.Message):
    __slots__ = ("province_codes", "signing_keys", "exchange_key", "document", "signature")
    PROVINCE_CODES_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEYS_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_KEY_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    province_codes: _containers.RepeatedScalarFieldContainer[str]
    signing_keys: _containers.RepeatedCompositeFieldContainer[TrustedKey]
    exchange_key: TrustedKey
    document: bytes
    signature: bytes
    def __init__(self, province_codes: _Optional[_Iterable[str]] = ..., signing_keys: _Optional[_Iterable[_Union[TrustedKey, _Mapping]]] = ..., exchange_key: _Optional[_Union[TrustedKey, _Mapping]] = ..., document: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class NotifyTrustListChangedRequest(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: int
    def __init__(self, version: _Optional[int] = ...) -> None: ...

class NotifyTrustListChangedResponse(_message.Message):
    __slots__ = ("applied",)
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    def __init__(self, applied: _Optional[bool] = ...) -> None: ...

class TrustListDocument(_message.Message):
    __slots__ = ("version", "issue_time", "province_codes", "signing_keys", "exchange_key", "exchange_key_certificate")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ISSUE_TIME_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODES_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEYS_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_KEY_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_KEY_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    version: int
    issue_time: _timestamp_pb2.Timestamp
    province_codes: _containers.RepeatedScalarFieldContainer[str]
    signing_keys: _containers.RepeatedCompositeFieldContainer[TrustedKey]
    exchange_key: TrustedKey
    exchange_key_certificate: bytes
    def __init__(self, version: _Optional[int] = ..., issue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., province_codes: _Optional[_Iterable[str]] = ..., signing_keys: _Optional[_Iterable[_Union[TrustedKey, _Mapping]]] = ..., exchange_key: _Optional[_Union[TrustedKey, _Mapping]] = ..., exchange_key_certificate: _Optional[bytes] = ...) -> None: ...

class SubmitRiskListRequest(_message.Message):
    __slots__ = ("batch_id", "province_code", "records", "key_id", "signature", "exchange_key_certificate")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    EXCHANGE_KEY_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    province_code: str
    records: _containers.RepeatedCompositeFieldContainer[RiskListRecord]
    key_id: str
    signature: bytes
    exchange_key_certificate: bytes
    def __init__(self, batch_id: _Optional[str] = ..., province_code: _Optional[str] = ..., records: _Optional[_Iterable[_Union[RiskListRecord, _Mapping]]] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ..., exchange_key_certificate: _Optional[bytes] = ...) -> None: ...

class SubmitRiskListResponse(_message.Message):
    __slots__ = ("stored_count", "duplicate", "rejections")
    STORED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    stored_count: int
    duplicate: bool
    rejections: _containers.RepeatedCompositeFieldContainer[RecordRejection]
    def __init__(self, stored_count: _Optional[int] = ..., duplicate: _Optional[bool] = ..., rejections: _Optional[_Iterable[_Union[RecordRejection, _Mapping]]] = ...) -> None: ...

class GetCodeStandingRequest(_message.Message):
    __slots__ = ("code_ids",)
    CODE_IDS_FIELD_NUMBER: _ClassVar[int]
    code_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, code_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCodeStandingResponse(_message.Message):
    __slots__ = ("standings",)
    STANDINGS_FIELD_NUMBER: _ClassVar[int]
    standings: _containers.RepeatedScalarFieldContainer[CodeStanding]
    def __init__(self, standings: _Optional[_Iterable[_Union[CodeStanding, str]]] = ...) -> None: ...

class ListStaleCodesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListStaleCodesResponse(_message.Message):
    __slots__ = ("codes",)
    CODES_FIELD_NUMBER: _ClassVar[int]
    codes: _containers.RepeatedCompositeFieldContainer[StaleCode]
    def __init__(self, codes: _Optional[_Iterable[_Union[StaleCode, _Mapping]]] = ...) -> None: ...

class FeverReport(_message.Message):
    __slots__ = ("report_id", "reporter_province_code", "payload", "reading_time", "temperature_celsius")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    REPORTER_PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    READING_TIME_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    reporter_province_code: str
    payload: str
    reading_time: _timestamp_pb2.Timestamp
    temperature_celsius: float
    def __init__(self, report_id: _Optional[str] = ..., reporter_province_code: _Optional[str] = ..., payload: _Optional[str] = ..., reading_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., temperature_celsius: _Optional[float] = ...) -> None: ...

class ReportFeversRequest(_message.Message):
    __slots__ = ("reports",)
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    reports: _containers.RepeatedCompositeFieldContainer[FeverReport]
    def __init__(self, reports: _Optional[_Iterable[_Union[FeverReport, _Mapping]]] = ...) -> None: ...

class FeverReportOutcome(_message.Message):
    __slots__ = ("index", "accepted", "rejection_reason")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    index: int
    accepted: bool
    rejection_reason: str
    def __init__(self, index: _Optional[int] = ..., accepted: _Optional[bool] = ..., rejection_reason: _Optional[str] = ...) -> None: ...

class ReportFeversResponse(_message.Message):
    __slots__ = ("outcomes",)
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[FeverReportOutcome]
    def __init__(self, outcomes: _Optional[_Iterable[_Union[FeverReportOutcome, _Mapping]]] = ...) -> None: ...
