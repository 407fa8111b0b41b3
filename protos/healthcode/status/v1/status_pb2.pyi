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

class FactKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FACT_KIND_UNSPECIFIED: _ClassVar[FactKind]
    FACT_KIND_DIAGNOSIS: _ClassVar[FactKind]
    FACT_KIND_QUARANTINE_ORDER: _ClassVar[FactKind]
    FACT_KIND_NUCLEIC_ACID_TEST: _ClassVar[FactKind]
    FACT_KIND_INBOUND_QUARANTINE: _ClassVar[FactKind]
    FACT_KIND_DISCHARGE: _ClassVar[FactKind]
    FACT_KIND_QUARANTINE_RELEASE: _ClassVar[FactKind]
    FACT_KIND_FEVER_ON_SITE: _ClassVar[FactKind]
    FACT_KIND_APPEAL_GRANTED: _ClassVar[FactKind]
    FACT_KIND_MANUAL_OVERRIDE: _ClassVar[FactKind]
    FACT_KIND_CLOSED_AREA_RESIDENCE: _ClassVar[FactKind]
    FACT_KIND_FEVER_MEDICINE_PURCHASE: _ClassVar[FactKind]
    FACT_KIND_FEVER_CLINIC_VISIT: _ClassVar[FactKind]
    FACT_KIND_HOTEL_REGISTRATION: _ClassVar[FactKind]
    FACT_KIND_CASE_REPORTED_STAY: _ClassVar[FactKind]
    FACT_KIND_POPUP_ACKNOWLEDGEMENT: _ClassVar[FactKind]
    FACT_KIND_PEER_PROVINCE_LISTING: _ClassVar[FactKind]

class Diagnosis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIAGNOSIS_UNSPECIFIED: _ClassVar[Diagnosis]
    DIAGNOSIS_CONFIRMED: _ClassVar[Diagnosis]
    DIAGNOSIS_SUSPECTED: _ClassVar[Diagnosis]
    DIAGNOSIS_ASYMPTOMATIC: _ClassVar[Diagnosis]
    DIAGNOSIS_CLOSE_CONTACT: _ClassVar[Diagnosis]
    DIAGNOSIS_SECONDARY_CONTACT: _ClassVar[Diagnosis]

class QuarantinePlace(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUARANTINE_PLACE_UNSPECIFIED: _ClassVar[QuarantinePlace]
    QUARANTINE_PLACE_CENTRAL: _ClassVar[QuarantinePlace]
    QUARANTINE_PLACE_HOME: _ClassVar[QuarantinePlace]

class TestResult(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TEST_RESULT_UNSPECIFIED: _ClassVar[TestResult]
    TEST_RESULT_POSITIVE: _ClassVar[TestResult]
    TEST_RESULT_NEGATIVE: _ClassVar[TestResult]

class FactSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FACT_SOURCE_UNSPECIFIED: _ClassVar[FactSource]
    FACT_SOURCE_HEALTH: _ClassVar[FactSource]
    FACT_SOURCE_POLICE: _ClassVar[FactSource]
    FACT_SOURCE_BORDER: _ClassVar[FactSource]
    FACT_SOURCE_COMMUNITY: _ClassVar[FactSource]
    FACT_SOURCE_AVIATION: _ClassVar[FactSource]
    FACT_SOURCE_RAIL: _ClassVar[FactSource]
    FACT_SOURCE_CHECKPOINT: _ClassVar[FactSource]
    FACT_SOURCE_MARKET_REGULATION: _ClassVar[FactSource]
    FACT_SOURCE_LABORATORY: _ClassVar[FactSource]
    FACT_SOURCE_PEER_PROVINCE: _ClassVar[FactSource]

class Symptom(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SYMPTOM_UNSPECIFIED: _ClassVar[Symptom]
    SYMPTOM_FEVER: _ClassVar[Symptom]
    SYMPTOM_COUGH: _ClassVar[Symptom]
    SYMPTOM_SORE_THROAT: _ClassVar[Symptom]
    SYMPTOM_SHORTNESS_OF_BREATH: _ClassVar[Symptom]
    SYMPTOM_DIARRHOEA: _ClassVar[Symptom]
    SYMPTOM_FATIGUE: _ClassVar[Symptom]
    SYMPTOM_LOSS_OF_SMELL_OR_TASTE: _ClassVar[Symptom]
    SYMPTOM_DRY_COUGH: _ClassVar[Symptom]
    SYMPTOM_SPUTUM: _ClassVar[Symptom]
    SYMPTOM_NASAL_CONGESTION: _ClassVar[Symptom]
    SYMPTOM_RUNNY_NOSE: _ClassVar[Symptom]
    SYMPTOM_DIFFICULTY_BREATHING: _ClassVar[Symptom]
    SYMPTOM_MUSCLE_ACHE: _ClassVar[Symptom]
    SYMPTOM_HEADACHE: _ClassVar[Symptom]
    SYMPTOM_JOINT_PAIN: _ClassVar[Symptom]
    SYMPTOM_ABDOMINAL_PAIN: _ClassVar[Symptom]
    SYMPTOM_NAUSEA_OR_VOMITING: _ClassVar[Symptom]
    SYMPTOM_CONJUNCTIVAL_CONGESTION: _ClassVar[Symptom]
    SYMPTOM_OTHER_RESPIRATORY: _ClassVar[Symptom]

class ChangeCause(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_CAUSE_UNSPECIFIED: _ClassVar[ChangeCause]
    CHANGE_CAUSE_ENROLMENT: _ClassVar[ChangeCause]
    CHANGE_CAUSE_FACT: _ClassVar[ChangeCause]
    CHANGE_CAUSE_CHECK_IN: _ClassVar[ChangeCause]
    CHANGE_CAUSE_SCHEDULE: _ClassVar[ChangeCause]
    CHANGE_CAUSE_RISK_DECLARATION: _ClassVar[ChangeCause]
    CHANGE_CAUSE_APPEAL: _ClassVar[ChangeCause]
    CHANGE_CAUSE_OVERRIDE: _ClassVar[ChangeCause]
    CHANGE_CAUSE_REVALIDATION: _ClassVar[ChangeCause]
    CHANGE_CAUSE_STAY: _ClassVar[ChangeCause]
    CHANGE_CAUSE_CONTACT_TRACE: _ClassVar[ChangeCause]
    CHANGE_CAUSE_CORRECTION: _ClassVar[ChangeCause]
    CHANGE_CAUSE_PEER_PROVINCE: _ClassVar[ChangeCause]

class CorrectionKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CORRECTION_KIND_UNSPECIFIED: _ClassVar[CorrectionKind]
    CORRECTION_KIND_FACT_RETRACTED: _ClassVar[CorrectionKind]
    CORRECTION_KIND_FACT_AMENDED: _ClassVar[CorrectionKind]
    CORRECTION_KIND_STAY_CORRECTED: _ClassVar[CorrectionKind]
    CORRECTION_KIND_STAY_WITHDRAWN: _ClassVar[CorrectionKind]

class AppealState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPEAL_STATE_UNSPECIFIED: _ClassVar[AppealState]
    APPEAL_STATE_PENDING: _ClassVar[AppealState]
    APPEAL_STATE_APPROVED: _ClassVar[AppealState]
    APPEAL_STATE_REJECTED: _ClassVar[AppealState]

class AppealCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APPEAL_CATEGORY_UNSPECIFIED: _ClassVar[AppealCategory]
    APPEAL_CATEGORY_ITINERARY: _ClassVar[AppealCategory]
    APPEAL_CATEGORY_DIAGNOSIS: _ClassVar[AppealCategory]
    APPEAL_CATEGORY_QUARANTINE: _ClassVar[AppealCategory]
    APPEAL_CATEGORY_READING: _ClassVar[AppealCategory]
    APPEAL_CATEGORY_OTHER: _ClassVar[AppealCategory]

class OverrideState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OVERRIDE_STATE_UNSPECIFIED: _ClassVar[OverrideState]
    OVERRIDE_STATE_PROPOSED: _ClassVar[OverrideState]
    OVERRIDE_STATE_APPROVED: _ClassVar[OverrideState]
    OVERRIDE_STATE_REJECTED: _ClassVar[OverrideState]

class OfficerRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OFFICER_ROLE_UNSPECIFIED: _ClassVar[OfficerRole]
    OFFICER_ROLE_APPEAL_REVIEWER: _ClassVar[OfficerRole]
    OFFICER_ROLE_OVERRIDE_OFFICER: _ClassVar[OfficerRole]
    OFFICER_ROLE_CONTACT_TRACER: _ClassVar[OfficerRole]
    OFFICER_ROLE_ADMINISTRATOR: _ClassVar[OfficerRole]

class CodeStanding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CODE_STANDING_UNSPECIFIED: _ClassVar[CodeStanding]
    CODE_STANDING_CURRENT: _ClassVar[CodeStanding]
    CODE_STANDING_STALE: _ClassVar[CodeStanding]
    CODE_STANDING_UNKNOWN: _ClassVar[CodeStanding]

class RecomputeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECOMPUTE_STATE_UNSPECIFIED: _ClassVar[RecomputeState]
    RECOMPUTE_STATE_RUNNING: _ClassVar[RecomputeState]
    RECOMPUTE_STATE_DONE: _ClassVar[RecomputeState]
    RECOMPUTE_STATE_FAILED: _ClassVar[RecomputeState]
FACT_KIND_UNSPECIFIED: FactKind
FACT_KIND_DIAGNOSIS: FactKind
FACT_KIND_QUARANTINE_ORDER: FactKind
FACT_KIND_NUCLEIC_ACID_TEST: FactKind
FACT_KIND_INBOUND_QUARANTINE: FactKind
FACT_KIND_DISCHARGE: FactKind
FACT_KIND_QUARANTINE_RELEASE: FactKind
FACT_KIND_FEVER_ON_SITE: FactKind
FACT_KIND_APPEAL_GRANTED: FactKind
FACT_KIND_MANUAL_OVERRIDE: FactKind
FACT_KIND_CLOSED_AREA_RESIDENCE: FactKind
FACT_KIND_FEVER_MEDICINE_PURCHASE: FactKind
FACT_KIND_FEVER_CLINIC_VISIT: FactKind
FACT_KIND_HOTEL_REGISTRATION: FactKind
FACT_KIND_CASE_REPORTED_STAY: FactKind
FACT_KIND_POPUP_ACKNOWLEDGEMENT: FactKind
FACT_KIND_PEER_PROVINCE_LISTING: FactKind
DIAGNOSIS_UNSPECIFIED: Diagnosis
DIAGNOSIS_CONFIRMED: Diagnosis
DIAGNOSIS_SUSPECTED: Diagnosis
DIAGNOSIS_ASYMPTOMATIC: Diagnosis
DIAGNOSIS_CLOSE_CONTACT: Diagnosis
DIAGNOSIS_SECONDARY_CONTACT: Diagnosis
QUARANTINE_PLACE_UNSPECIFIED: QuarantinePlace
QUARANTINE_PLACE_CENTRAL: QuarantinePlace
QUARANTINE_PLACE_HOME: QuarantinePlace
TEST_RESULT_UNSPECIFIED: TestResult
TEST_RESULT_POSITIVE: TestResult
TEST_RESULT_NEGATIVE: TestResult
FACT_SOURCE_UNSPECIFIED: FactSource
FACT_SOURCE_HEALTH: FactSource
FACT_SOURCE_POLICE: FactSource
FACT_SOURCE_BORDER: FactSource
FACT_SOURCE_COMMUNITY: FactSource
FACT_SOURCE_AVIATION: FactSource
FACT_SOURCE_RAIL: FactSource
FACT_SOURCE_CHECKPOINT: FactSource
FACT_SOURCE_MARKET_REGULATION: FactSource
FACT_SOURCE_LABORATORY: FactSource
FACT_SOURCE_PEER_PROVINCE: FactSource
SYMPTOM_UNSPECIFIED: Symptom
SYMPTOM_FEVER: Symptom
SYMPTOM_COUGH: Symptom
SYMPTOM_SORE_THROAT: Symptom
SYMPTOM_SHORTNESS_OF_BREATH: Symptom
SYMPTOM_DIARRHOEA: Symptom
SYMPTOM_FATIGUE: Symptom
SYMPTOM_LOSS_OF_SMELL_OR_TASTE: Symptom
SYMPTOM_DRY_COUGH: Symptom
SYMPTOM_SPUTUM: Symptom
SYMPTOM_NASAL_CONGESTION: Symptom
SYMPTOM_RUNNY_NOSE: Symptom
SYMPTOM_DIFFICULTY_BREATHING: Symptom
SYMPTOM_MUSCLE_ACHE: Symptom
SYMPTOM_HEADACHE: Symptom
SYMPTOM_JOINT_PAIN: Symptom
SYMPTOM_ABDOMINAL_PAIN: Symptom
SYMPTOM_NAUSEA_OR_VOMITING: Symptom
SYMPTOM_CONJUNCTIVAL_CONGESTION: Symptom
SYMPTOM_OTHER_RESPIRATORY: Symptom
CHANGE_CAUSE_UNSPECIFIED: ChangeCause
CHANGE_CAUSE_ENROLMENT: ChangeCause
CHANGE_CAUSE_FACT: ChangeCause
CHANGE_CAUSE_CHECK_IN: ChangeCause
CHANGE_CAUSE_SCHEDULE: ChangeCause
CHANGE_CAUSE_RISK_DECLARATION: ChangeCause
CHANGE_CAUSE_APPEAL: ChangeCause
CHANGE_CAUSE_OVERRIDE: ChangeCause
CHANGE_CAUSE_REVALIDATION: ChangeCause
CHANGE_CAUSE_STAY: ChangeCause
CHANGE_CAUSE_CONTACT_TRACE: ChangeCause
CHANGE_CAUSE_CORRECTION: ChangeCause
CHANGE_CAUSE_PEER_PROVINCE: ChangeCause
CORRECTION_KIND_UNSPECIFIED: CorrectionKind
CORRECTION_KIND_FACT_RETRACTED: CorrectionKind
CORRECTION_KIND_FACT_AMENDED: CorrectionKind
CORRECTION_KIND_STAY_CORRECTED: CorrectionKind
CORRECTION_KIND_STAY_WITHDRAWN: CorrectionKind
APPEAL_STATE_UNSPECIFIED: AppealState
APPEAL_STATE_PENDING: AppealState
APPEAL_STATE_APPROVED: AppealState
APPEAL_STATE_REJECTED: AppealState
APPEAL_CATEGORY_UNSPECIFIED: AppealCategory
APPEAL_CATEGORY_ITINERARY: AppealCategory
APPEAL_CATEGORY_DIAGNOSIS: AppealCategory
APPEAL_CATEGORY_QUARANTINE: AppealCategory
APPEAL_CATEGORY_READING: AppealCategory
APPEAL_CATEGORY_OTHER: AppealCategory
OVERRIDE_STATE_UNSPECIFIED: OverrideState
OVERRIDE_STATE_PROPOSED: OverrideState
OVERRIDE_STATE_APPROVED: OverrideState
OVERRIDE_STATE_REJECTED: OverrideState
OFFICER_ROLE_UNSPECIFIED: OfficerRole
OFFICER_ROLE_APPEAL_REVIEWER: OfficerRole
OFFICER_ROLE_OVERRIDE_OFFICER: OfficerRole
OFFICER_ROLE_CONTACT_TRACER: OfficerRole
OFFICER_ROLE_ADMINISTRATOR: OfficerRole
CODE_STANDING_UNSPECIFIED: CodeStanding
CODE_STANDING_CURRENT: CodeStanding
CODE_STANDING_STALE: CodeStanding
CODE_STANDING_UNKNOWN: CodeStanding
RECOMPUTE_STATE_UNSPECIFIED: RecomputeState
RECOMPUTE_STATE_RUNNING: RecomputeState
RECOMPUTE_STATE_DONE: RecomputeState
RECOMPUTE_STATE_FAILED: RecomputeState

class Correction(_message.Message):
    __slots__ = ("correction_id", "kind", "record_id", "changed_fields", "actor", "reason", "legal_basis", "create_time")
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    correction_id: str
    kind: CorrectionKind
    record_id: str
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    actor: str
    reason: str
    legal_basis: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, correction_id: _Optional[str] = ..., kind: _Optional[_Union[CorrectionKind, str]] = ..., record_id: _Optional[str] = ..., changed_fields: _Optional[_Iterable[str]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., legal_basis: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Reason(_message.Message):
    __slots__ = ("code", "finding_key", "since_time", "until_time", "detail", "release_progress")
    CODE_FIELD_NUMBER: _ClassVar[int]
    FINDING_KEY_FIELD_NUMBER: _ClassVar[int]
    SINCE_TIME_FIELD_NUMBER: _ClassVar[int]
    UNTIL_TIME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    RELEASE_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    code: str
    finding_key: str
    since_time: _timestamp_pb2.Timestamp
    until_time: _timestamp_pb2.Timestamp
    detail: str
    release_progress: ReleaseProgress
    def __init__(self, code: _Optional[str] = ..., finding_key: _Optional[str] = ..., since_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detail: _Optional[str] = ..., release_progress: _Optional[_Union[ReleaseProgress, _Mapping]] = ...) -> None: ...

class ReleaseProgress(_message.Message):
    __slots__ = ("check_ins_required", "check_ins_done", "check_ins_consecutive", "negative_tests_required", "negative_tests_done")
    CHECK_INS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    CHECK_INS_DONE_FIELD_NUMBER: _ClassVar[int]
    CHECK_INS_CONSECUTIVE_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_TESTS_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_TESTS_DONE_FIELD_NUMBER: _ClassVar[int]
    check_ins_required: int
    check_ins_done: int
    check_ins_consecutive: bool
    negative_tests_required: int
    negative_tests_done: int
    def __init__(self, check_ins_required: _Optional[int] = ..., check_ins_done: _Optional[int] = ..., check_ins_consecutive: _Optional[bool] = ..., negative_tests_required: _Optional[int] = ..., negative_tests_done: _Optional[int] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ("person_id", "colour", "display_colour", "reasons", "province_code", "compute_time", "valid_until_time", "version", "rule_set_province_code", "rule_set_version", "latest_negative_test_time", "rule_set_name")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_COLOUR_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TIME_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_TIME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_VERSION_FIELD_NUMBER: _ClassVar[int]
    LATEST_NEGATIVE_TEST_TIME_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_NAME_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    colour: _common_pb2.Colour
    display_colour: str
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    province_code: str
    compute_time: _timestamp_pb2.Timestamp
    valid_until_time: _timestamp_pb2.Timestamp
    version: int
    rule_set_province_code: str
    rule_set_version: int
    latest_negative_test_time: _timestamp_pb2.Timestamp
    rule_set_name: str
    def __init__(self, person_id: _Optional[str] = ..., colour: _Optional[_Union[_common_pb2.Colour, str]] = ..., display_colour: _Optional[str] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., province_code: _Optional[str] = ..., compute_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., version: _Optional[int] = ..., rule_set_province_code: _Optional[str] = ..., rule_set_version: _Optional[int] = ..., latest_negative_test_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rule_set_name: _Optional[str] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ("person_id",)
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    def __init__(self, person_id: _Optional[str] = ...) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: Status
    def __init__(self, status: _Optional[_Union[Status, _Mapping]] = ...) -> None: ...

class WatchStatusRequest(_message.Message):
    __slots__ = ("person_id",)
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    def __init__(self, person_id: _Optional[str] = ...) -> None: ...

class WatchStatusResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: Status
    def __init__(self, status: _Optional[_Union[Status, _Mapping]] = ...) -> None: ...

class StreamStatusChangesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamStatusChangesResponse(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[StatusVersion]
    def __init__(self, changes: _Optional[_Iterable[_Union[StatusVersion, _Mapping]]] = ...) -> None: ...

class ListColourChangesRequest(_message.Message):
    __slots__ = ("after_sequence", "page_size", "province_codes")
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODES_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    page_size: int
    province_codes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, after_sequence: _Optional[int] = ..., page_size: _Optional[int] = ..., province_codes: _Optional[_Iterable[str]] = ...) -> None: ...

class ListColourChangesResponse(_message.Message):
    __slots__ = ("changes", "last_sequence", "caught_up")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[ColourChange]
    last_sequence: int
    caught_up: bool
    def __init__(self, changes: _Optional[_Iterable[_Union[ColourChange, _Mapping]]] = ..., last_sequence: _Optional[int] = ..., caught_up: _Optional[bool] = ...) -> None: ...

class ColourChange(_message.Message):
    __slots__ = ("sequence", "person_ref", "province_code", "previous_colour", "colour", "change_time", "reason")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    PERSON_REF_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_COLOUR_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    person_ref: bytes
    province_code: str
    previous_colour: _common_pb2.Colour
    colour: _common_pb2.Colour
    change_time: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, sequence: _Optional[int] = ..., person_ref: _Optional[bytes] = ..., province_code: _Optional[str] = ..., previous_colour: _Optional[_Union[_common_pb2.Colour, str]] = ..., colour: _Optional[_Union[_common_pb2.Colour, str]] = ..., change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class StatusVersion(_message.Message):
    __slots__ = ("person_id", "version")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    version: int
    def __init__(self, person_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class StatusChange(_message.Message):
    __slots__ = ("version", "change_time", "previous_colour", "colour", "display_colour", "reasons", "cause", "rule_set_province_code", "rule_set_version", "officer_ids", "legal_basis", "trace_id", "correction")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_COLOUR_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_COLOUR_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    RULE_SET_VERSION_FIELD_NUMBER: _ClassVar[int]
    OFFICER_IDS_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    version: int
    change_time: _timestamp_pb2.Timestamp
    previous_colour: _common_pb2.Colour
    colour: _common_pb2.Colour
    display_colour: str
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    cause: ChangeCause
    rule_set_province_code: str
    rule_set_version: int
    officer_ids: _containers.RepeatedScalarFieldContainer[str]
    legal_basis: str
    trace_id: str
    correction: Correction
    def __init__(self, version: _Optional[int] = ..., change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., previous_colour: _Optional[_Union[_common_pb2.Colour, str]] = ..., colour: _Optional[_Union[_common_pb2.Colour, str]] = ..., display_colour: _Optional[str] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., cause: _Optional[_Union[ChangeCause, str]] = ..., rule_set_province_code: _Optional[str] = ..., rule_set_version: _Optional[int] = ..., officer_ids: _Optional[_Iterable[str]] = ..., legal_basis: _Optional[str] = ..., trace_id: _Optional[str] = ..., correction: _Optional[_Union[Correction, _Mapping]] = ...) -> None: ...

class ListStatusChangesRequest(_message.Message):
    __slots__ = ("person_id", "page_size", "page_token")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    page_size: int
    page_token: str
    def __init__(self, person_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStatusChangesResponse(_message.Message):
    __slots__ = ("changes", "next_page_token")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[StatusChange]
    next_page_token: str
    def __init__(self, changes: _Optional[_Iterable[_Union[StatusChange, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Fact(_message.Message):
    __slots__ = ("person_id", "kind", "authority", "authority_record_id", "source", "effective_time", "end_time", "diagnosis", "place", "test_result", "temperature_celsius", "code_id", "area_code")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DIAGNOSIS_FIELD_NUMBER: _ClassVar[int]
    PLACE_FIELD_NUMBER: _ClassVar[int]
    TEST_RESULT_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    CODE_ID_FIELD_NUMBER: _ClassVar[int]
    AREA_CODE_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    kind: FactKind
    authority: str
    authority_record_id: str
    source: FactSource
    effective_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    diagnosis: Diagnosis
    place: QuarantinePlace
    test_result: TestResult
    temperature_celsius: float
    code_id: str
    area_code: str
    def __init__(self, person_id: _Optional[str] = ..., kind: _Optional[_Union[FactKind, str]] = ..., authority: _Optional[str] = ..., authority_record_id: _Optional[str] = ..., source: _Optional[_Union[FactSource, str]] = ..., effective_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., diagnosis: _Optional[_Union[Diagnosis, str]] = ..., place: _Optional[_Union[QuarantinePlace, str]] = ..., test_result: _Optional[_Union[TestResult, str]] = ..., temperature_celsius: _Optional[float] = ..., code_id: _Optional[str] = ..., area_code: _Optional[str] = ...) -> None: ...

class RetractFactRequest(_message.Message):
    __slots__ = ("person_id", "authority", "authority_record_id", "reason", "legal_basis", "request_id")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    authority: str
    authority_record_id: str
    reason: str
    legal_basis: str
    request_id: str
    def __init__(self, person_id: _Optional[str] = ..., authority: _Optional[str] = ..., authority_record_id: _Optional[str] = ..., reason: _Optional[str] = ..., legal_basis: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class RetractFactResponse(_message.Message):
    __slots__ = ("correction", "status", "duplicate")
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    correction: Correction
    status: Status
    duplicate: bool
    def __init__(self, correction: _Optional[_Union[Correction, _Mapping]] = ..., status: _Optional[_Union[Status, _Mapping]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class AmendFactRequest(_message.Message):
    __slots__ = ("person_id", "authority", "authority_record_id", "fact", "reason", "legal_basis", "request_id")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    FACT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    authority: str
    authority_record_id: str
    fact: Fact
    reason: str
    legal_basis: str
    request_id: str
    def __init__(self, person_id: _Optional[str] = ..., authority: _Optional[str] = ..., authority_record_id: _Optional[str] = ..., fact: _Optional[_Union[Fact, _Mapping]] = ..., reason: _Optional[str] = ..., legal_basis: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AmendFactResponse(_message.Message):
    __slots__ = ("correction", "status", "duplicate")
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    correction: Correction
    status: Status
    duplicate: bool
    def __init__(self, correction: _Optional[_Union[Correction, _Mapping]] = ..., status: _Optional[_Union[Status, _Mapping]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class RecordFactsRequest(_message.Message):
    __slots__ = ("facts",)
    FACTS_FIELD_NUMBER: _ClassVar[int]
    facts: _containers.RepeatedCompositeFieldContainer[Fact]
    def __init__(self, facts: _Optional[_Iterable[_Union[Fact, _Mapping]]] = ...) -> None: ...

class FactOutcome(_message.Message):
    __slots__ = ("index", "fact_id", "duplicate", "rejection_reason", "rejection_field")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    FACT_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    REJECTION_FIELD_FIELD_NUMBER: _ClassVar[int]
    index: int
    fact_id: str
    duplicate: bool
    rejection_reason: str
    rejection_field: str
    def __init__(self, index: _Optional[int] = ..., fact_id: _Optional[str] = ..., duplicate: _Optional[bool] = ..., rejection_reason: _Optional[str] = ..., rejection_field: _Optional[str] = ...) -> None: ...

class RecordFactsResponse(_message.Message):
    __slots__ = ("outcomes", "stored_count")
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    STORED_COUNT_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[FactOutcome]
    stored_count: int
    def __init__(self, outcomes: _Optional[_Iterable[_Union[FactOutcome, _Mapping]]] = ..., stored_count: _Optional[int] = ...) -> None: ...

class RecordCheckInRequest(_message.Message):
    __slots__ = ("person_id", "reporter_person_id", "temperature_celsius", "symptoms", "request_id")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    REPORTER_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    SYMPTOMS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    reporter_person_id: str
    temperature_celsius: float
    symptoms: _containers.RepeatedScalarFieldContainer[Symptom]
    request_id: str
    def __init__(self, person_id: _Optional[str] = ..., reporter_person_id: _Optional[str] = ..., temperature_celsius: _Optional[float] = ..., symptoms: _Optional[_Iterable[_Union[Symptom, str]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class RecordCheckInResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: Status
    def __init__(self, status: _Optional[_Union[Status, _Mapping]] = ...) -> None: ...

class AcknowledgePopupRequest(_message.Message):
    __slots__ = ("person_id", "actor_person_id", "request_id")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    actor_person_id: str
    request_id: str
    def __init__(self, person_id: _Optional[str] = ..., actor_person_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AcknowledgePopupResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: Status
    def __init__(self, status: _Optional[_Union[Status, _Mapping]] = ...) -> None: ...

class IssueCodeRequest(_message.Message):
    __slots__ = ("person_id", "requester_person_id")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    requester_person_id: str
    def __init__(self, person_id: _Optional[str] = ..., requester_person_id: _Optional[str] = ...) -> None: ...

class IssueCodeResponse(_message.Message):
    __slots__ = ("payload", "expire_time", "status")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    payload: str
    expire_time: _timestamp_pb2.Timestamp
    status: Status
    def __init__(self, payload: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[Status, _Mapping]] = ...) -> None: ...

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
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStaleCodesResponse(_message.Message):
    __slots__ = ("codes", "next_page_token")
    CODES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    codes: _containers.RepeatedCompositeFieldContainer[StaleCode]
    next_page_token: str
    def __init__(self, codes: _Optional[_Iterable[_Union[StaleCode, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StaleCode(_message.Message):
    __slots__ = ("code_id", "expire_time")
    CODE_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    code_id: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, code_id: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Appeal(_message.Message):
    __slots__ = ("appeal_id", "person_id", "filer_person_id", "category", "statement", "evidence_refs", "state", "file_time", "deadline_time", "reviewer_id", "decision_reason", "decide_time", "dismissed_finding_keys")
    APPEAL_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    FILER_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_REFS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FILE_TIME_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_REASON_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    DISMISSED_FINDING_KEYS_FIELD_NUMBER: _ClassVar[int]
    appeal_id: str
    person_id: str
    filer_person_id: str
    category: AppealCategory
    statement: str
    evidence_refs: _containers.RepeatedScalarFieldContainer[str]
    state: AppealState
    file_time: _timestamp_pb2.Timestamp
    deadline_time: _timestamp_pb2.Timestamp
    reviewer_id: str
    decision_reason: str
    decide_time: _timestamp_pb2.Timestamp
    dismissed_finding_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, appeal_id: _Optional[str] = ..., person_id: _Optional[str] = ..., filer_person_id: _Optional[str] = ..., category: _Optional[_Union[AppealCategory, str]] = ..., statement: _Optional[str] = ..., evidence_refs: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[AppealState, str]] = ..., file_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deadline_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reviewer_id: _Optional[str] = ..., decision_reason: _Optional[str] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dismissed_finding_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class FileAppealRequest(_message.Message):
    __slots__ = ("person_id", "filer_person_id", "category", "statement", "evidence_refs", "request_id")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    FILER_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_REFS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    filer_person_id: str
    category: AppealCategory
    statement: str
    evidence_refs: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, person_id: _Optional[str] = ..., filer_person_id: _Optional[str] = ..., category: _Optional[_Union[AppealCategory, str]] = ..., statement: _Optional[str] = ..., evidence_refs: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class FileAppealResponse(_message.Message):
    __slots__ = ("appeal",)
    APPEAL_FIELD_NUMBER: _ClassVar[int]
    appeal: Appeal
    def __init__(self, appeal: _Optional[_Union[Appeal, _Mapping]] = ...) -> None: ...

class GetAppealRequest(_message.Message):
    __slots__ = ("appeal_id",)
    APPEAL_ID_FIELD_NUMBER: _ClassVar[int]
    appeal_id: str
    def __init__(self, appeal_id: _Optional[str] = ...) -> None: ...

class GetAppealResponse(_message.Message):
    __slots__ = ("appeal",)
    APPEAL_FIELD_NUMBER: _ClassVar[int]
    appeal: Appeal
    def __init__(self, appeal: _Optional[_Union[Appeal, _Mapping]] = ...) -> None: ...

class ListAppealsRequest(_message.Message):
    __slots__ = ("state", "overdue_only", "page_size", "page_token", "province_code")
    STATE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    state: AppealState
    overdue_only: bool
    page_size: int
    page_token: str
    province_code: str
    def __init__(self, state: _Optional[_Union[AppealState, str]] = ..., overdue_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., province_code: _Optional[str] = ...) -> None: ...

class ListAppealsResponse(_message.Message):
    __slots__ = ("appeals", "next_page_token")
    APPEALS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    appeals: _containers.RepeatedCompositeFieldContainer[Appeal]
    next_page_token: str
    def __init__(self, appeals: _Optional[_Iterable[_Union[Appeal, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DecideAppealRequest(_message.Message):
    __slots__ = ("appeal_id", "reviewer_id", "approve", "decision_reason", "dismissed_finding_keys")
    APPEAL_ID_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    DECISION_REASON_FIELD_NUMBER: _ClassVar[int]
    DISMISSED_FINDING_KEYS_FIELD_NUMBER: _ClassVar[int]
    appeal_id: str
    reviewer_id: str
    approve: bool
    decision_reason: str
    dismissed_finding_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, appeal_id: _Optional[str] = ..., reviewer_id: _Optional[str] = ..., approve: _Optional[bool] = ..., decision_reason: _Optional[str] = ..., dismissed_finding_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class DecideAppealResponse(_message.Message):
    __slots__ = ("appeal", "status")
    APPEAL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    appeal: Appeal
    status: Status
    def __init__(self, appeal: _Optional[_Union[Appeal, _Mapping]] = ..., status: _Optional[_Union[Status, _Mapping]] = ...) -> None: ...

class Override(_message.Message):
    __slots__ = ("override_id", "person_id", "colour", "reason_code", "legal_basis", "start_time", "end_time", "proposer_id", "approver_id", "state", "propose_time", "decide_time")
    OVERRIDE_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVER_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PROPOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    override_id: str
    person_id: str
    colour: _common_pb2.Colour
    reason_code: str
    legal_basis: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    proposer_id: str
    approver_id: str
    state: OverrideState
    propose_time: _timestamp_pb2.Timestamp
    decide_time: _timestamp_pb2.Timestamp
    def __init__(self, override_id: _Optional[str] = ..., person_id: _Optional[str] = ..., colour: _Optional[_Union[_common_pb2.Colour, str]] = ..., reason_code: _Optional[str] = ..., legal_basis: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., proposer_id: _Optional[str] = ..., approver_id: _Optional[str] = ..., state: _Optional[_Union[OverrideState, str]] = ..., propose_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ProposeOverrideRequest(_message.Message):
    __slots__ = ("person_id", "colour", "reason_code", "legal_basis", "start_time", "end_time", "proposer_id", "request_id")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PROPOSER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    colour: _common_pb2.Colour
    reason_code: str
    legal_basis: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    proposer_id: str
    request_id: str
    def __init__(self, person_id: _Optional[str] = ..., colour: _Optional[_Union[_common_pb2.Colour, str]] = ..., reason_code: _Optional[str] = ..., legal_basis: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., proposer_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ProposeOverrideResponse(_message.Message):
    __slots__ = ("override",)
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    override: Override
    def __init__(self, override: _Optional[_Union[Override, _Mapping]] = ...) -> None: ...

class DecideOverrideRequest(_message.Message):
    __slots__ = ("override_id", "approver_id", "approve")
    OVERRIDE_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVER_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    override_id: str
    approver_id: str
    approve: bool
    def __init__(self, override_id: _Optional[str] = ..., approver_id: _Optional[str] = ..., approve: _Optional[bool] = ...) -> None: ...

class DecideOverrideResponse(_message.Message):
    __slots__ = ("override", "status")
    OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    override: Override
    status: Status
    def __init__(self, override: _Optional[_Union[Override, _Mapping]] = ..., status: _Optional[_Union[Status, _Mapping]] = ...) -> None: ...

class ListOverridesRequest(_message.Message):
    __slots__ = ("state", "page_size", "page_token", "province_code")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    state: OverrideState
    page_size: int
    page_token: str
    province_code: str
    def __init__(self, state: _Optional[_Union[OverrideState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., province_code: _Optional[str] = ...) -> None: ...

class ListOverridesResponse(_message.Message):
    __slots__ = ("overrides", "next_page_token")
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    overrides: _containers.RepeatedCompositeFieldContainer[Override]
    next_page_token: str
    def __init__(self, overrides: _Optional[_Iterable[_Union[Override, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RuleSet(_message.Message):
    __slots__ = ("province_code", "version", "effective_time", "document", "publish_time")
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    PUBLISH_TIME_FIELD_NUMBER: _ClassVar[int]
    province_code: str
    version: int
    effective_time: _timestamp_pb2.Timestamp
    document: str
    publish_time: _timestamp_pb2.Timestamp
    def __init__(self, province_code: _Optional[str] = ..., version: _Optional[int] = ..., effective_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., document: _Optional[str] = ..., publish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PublishRuleSetRequest(_message.Message):
    __slots__ = ("province_code", "effective_time", "document")
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    province_code: str
    effective_time: _timestamp_pb2.Timestamp
    document: str
    def __init__(self, province_code: _Optional[str] = ..., effective_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., document: _Optional[str] = ...) -> None: ...

class PublishRuleSetResponse(_message.Message):
    __slots__ = ("rule_set",)
    RULE_SET_FIELD_NUMBER: _ClassVar[int]
    rule_set: RuleSet
    def __init__(self, rule_set: _Optional[_Union[RuleSet, _Mapping]] = ...) -> None: ...

class ListRuleSetsRequest(_message.Message):
    __slots__ = ("province_code",)
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    province_code: str
    def __init__(self, province_code: _Optional[str] = ...) -> None: ...

class ListRuleSetsResponse(_message.Message):
    __slots__ = ("rule_sets",)
    RULE_SETS_FIELD_NUMBER: _ClassVar[int]
    rule_sets: _containers.RepeatedCompositeFieldContainer[RuleSet]
    def __init__(self, rule_sets: _Optional[_Iterable[_Union[RuleSet, _Mapping]]] = ...) -> None: ...

class SigningKey(_message.Message):
    __slots__ = ("key_id", "province_code", "public_key", "not_before_time", "not_after_time", "revoke_time")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_TIME_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    province_code: str
    public_key: bytes
    not_before_time: _timestamp_pb2.Timestamp
    not_after_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., province_code: _Optional[str] = ..., public_key: _Optional[bytes] = ..., not_before_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_after_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateSigningKeyRequest(_message.Message):
    __slots__ = ("province_code", "not_before_time", "not_after_time")
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_TIME_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_TIME_FIELD_NUMBER: _ClassVar[int]
    province_code: str
    not_before_time: _timestamp_pb2.Timestamp
    not_after_time: _timestamp_pb2.Timestamp
    def __init__(self, province_code: _Optional[str] = ..., not_before_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_after_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateSigningKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: SigningKey
    def __init__(self, key: _Optional[_Union[SigningKey, _Mapping]] = ...) -> None: ...

class ListSigningKeysRequest(_message.Message):
    __slots__ = ("province_code", "page_size", "page_token")
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    province_code: str
    page_size: int
    page_token: str
    def __init__(self, province_code: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSigningKeysResponse(_message.Message):
    __slots__ = ("keys", "next_page_token")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[SigningKey]
    next_page_token: str
    def __init__(self, keys: _Optional[_Iterable[_Union[SigningKey, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RevokeSigningKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class RevokeSigningKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: SigningKey
    def __init__(self, key: _Optional[_Union[SigningKey, _Mapping]] = ...) -> None: ...

class RecordTracedContactsRequest(_message.Message):
    __slots__ = ("trace_id", "case_person_id", "tracer_id", "legal_basis", "close_contact_person_ids", "secondary_contact_person_ids", "validate_only")
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    TRACER_ID_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    CLOSE_CONTACT_PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    SECONDARY_CONTACT_PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    trace_id: str
    case_person_id: str
    tracer_id: str
    legal_basis: str
    close_contact_person_ids: _containers.RepeatedScalarFieldContainer[str]
    secondary_contact_person_ids: _containers.RepeatedScalarFieldContainer[str]
    validate_only: bool
    def __init__(self, trace_id: _Optional[str] = ..., case_person_id: _Optional[str] = ..., tracer_id: _Optional[str] = ..., legal_basis: _Optional[str] = ..., close_contact_person_ids: _Optional[_Iterable[str]] = ..., secondary_contact_person_ids: _Optional[_Iterable[str]] = ..., validate_only: _Optional[bool] = ...) -> None: ...

class RecordTracedContactsResponse(_message.Message):
    __slots__ = ("stored_count", "duplicate_count", "rejected_count")
    STORED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    stored_count: int
    duplicate_count: int
    rejected_count: int
    def __init__(self, stored_count: _Optional[int] = ..., duplicate_count: _Optional[int] = ..., rejected_count: _Optional[int] = ...) -> None: ...

class SetOfficerRolesRequest(_message.Message):
    __slots__ = ("officer_id", "province_code", "roles", "granted_by_id")
    OFFICER_ID_FIELD_NUMBER: _ClassVar[int]
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    GRANTED_BY_ID_FIELD_NUMBER: _ClassVar[int]
    officer_id: str
    province_code: str
    roles: _containers.RepeatedScalarFieldContainer[OfficerRole]
    granted_by_id: str
    def __init__(self, officer_id: _Optional[str] = ..., province_code: _Optional[str] = ..., roles: _Optional[_Iterable[_Union[OfficerRole, str]]] = ..., granted_by_id: _Optional[str] = ...) -> None: ...

class SetOfficerRolesResponse(_message.Message):
    __slots__ = ("roles",)
    ROLES_FIELD_NUMBER: _ClassVar[int]
    roles: _containers.RepeatedScalarFieldContainer[OfficerRole]
    def __init__(self, roles: _Optional[_Iterable[_Union[OfficerRole, str]]] = ...) -> None: ...

class RecomputeRun(_message.Message):
    __slots__ = ("declaration_id", "state", "persons_done", "persons_changed", "start_time", "finish_time", "error")
    DECLARATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PERSONS_DONE_FIELD_NUMBER: _ClassVar[int]
    PERSONS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    declaration_id: str
    state: RecomputeState
    persons_done: int
    persons_changed: int
    start_time: _timestamp_pb2.Timestamp
    finish_time: _timestamp_pb2.Timestamp
    error: str
    def __init__(self, declaration_id: _Optional[str] = ..., state: _Optional[_Union[RecomputeState, str]] = ..., persons_done: _Optional[int] = ..., persons_changed: _Optional[int] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finish_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class StartRecomputeRequest(_message.Message):
    __slots__ = ("declaration_id",)
    DECLARATION_ID_FIELD_NUMBER: _ClassVar[int]
    declaration_id: str
    def __init__(self, declaration_id: _Optional[str] = ...) -> None: ...

class StartRecomputeResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: RecomputeRun
    def __init__(self, run: _Optional[_Union[RecomputeRun, _Mapping]] = ...) -> None: ...

class ListRecomputeRunsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRecomputeRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[RecomputeRun]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[RecomputeRun, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class PeerListing(_message.Message):
    __slots__ = ("record_index", "person_ref", "colour", "reason", "source", "expire_time", "list_sequence")
    RECORD_INDEX_FIELD_NUMBER: _ClassVar[int]
    PERSON_REF_FIELD_NUMBER: _ClassVar[int]
    COLOUR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    LIST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    record_index: int
    person_ref: bytes
    colour: _common_pb2.Colour
    reason: str
    source: str
    expire_time: _timestamp_pb2.Timestamp
    list_sequence: int
    def __init__(self, record_index: _Optional[int] = ..., person_ref: _Optional[bytes] = ..., colour: _Optional[_Union[_common_pb2.Colour, str]] = ..., reason: _Optional[str] = ..., source: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., list_sequence: _Optional[int] = ...) -> None: ...

class RecordPeerListingsRequest(_message.Message):
    __slots__ = ("origin_province_code", "batch_id", "receive_time", "home_province_codes", "listings")
    ORIGIN_PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    HOME_PROVINCE_CODES_FIELD_NUMBER: _ClassVar[int]
    LISTINGS_FIELD_NUMBER: _ClassVar[int]
    origin_province_code: str
    batch_id: str
    receive_time: _timestamp_pb2.Timestamp
    home_province_codes: _containers.RepeatedScalarFieldContainer[str]
    listings: _containers.RepeatedCompositeFieldContainer[PeerListing]
    def __init__(self, origin_province_code: _Optional[str] = ..., batch_id: _Optional[str] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., home_province_codes: _Optional[_Iterable[str]] = ..., listings: _Optional[_Iterable[_Union[PeerListing, _Mapping]]] = ...) -> None: ...

class RecordPeerListingsResponse(_message.Message):
    __slots__ = ("stored_count", "duplicate_count", "unknown_count", "rejections")
    STORED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    stored_count: int
    duplicate_count: int
    unknown_count: int
    rejections: _containers.RepeatedCompositeFieldContainer[FactOutcome]
    def __init__(self, stored_count: _Optional[int] = ..., duplicate_count: _Optional[int] = ..., unknown_count: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[FactOutcome, _Mapping]]] = ...) -> None: ...

class PeerFever(_message.Message):
    __slots__ = ("report_id", "code_id", "person_ref", "reading_time", "temperature_celsius", "code_expire_time")
    REPORT_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_REF_FIELD_NUMBER: _ClassVar[int]
    READING_TIME_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_CELSIUS_FIELD_NUMBER: _ClassVar[int]
    CODE_EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    report_id: str
    code_id: str
    person_ref: bytes
    reading_time: _timestamp_pb2.Timestamp
    temperature_celsius: float
    code_expire_time: _timestamp_pb2.Timestamp
    def __init__(self, report_id: _Optional[str] = ..., code_id: _Optional[str] = ..., person_ref: _Optional[bytes] = ..., reading_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., temperature_celsius: _Optional[float] = ..., code_expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordPeerFeversRequest(_message.Message):
    __slots__ = ("origin_province_code", "fevers")
    ORIGIN_PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    FEVERS_FIELD_NUMBER: _ClassVar[int]
    origin_province_code: str
    fevers: _containers.RepeatedCompositeFieldContainer[PeerFever]
    def __init__(self, origin_province_code: _Optional[str] = ..., fevers: _Optional[_Iterable[_Union[PeerFever, _Mapping]]] = ...) -> None: ...

class RecordPeerFeversResponse(_message.Message):
    __slots__ = ("outcomes", "stored_count")
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    STORED_COUNT_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[FactOutcome]
    stored_count: int
    def __init__(self, outcomes: _Optional[_Iterable[_Union[FactOutcome, _Mapping]]] = ..., stored_count: _Optional[int] = ...) -> None: ...
