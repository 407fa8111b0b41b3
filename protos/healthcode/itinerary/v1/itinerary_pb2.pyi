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

class StayCorrectionAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAY_CORRECTION_ACTION_UNSPECIFIED: _ClassVar[StayCorrectionAction]
    STAY_CORRECTION_ACTION_CORRECT: _ClassVar[StayCorrectionAction]
    STAY_CORRECTION_ACTION_WITHDRAW: _ClassVar[StayCorrectionAction]

class StaySource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAY_SOURCE_UNSPECIFIED: _ClassVar[StaySource]
    STAY_SOURCE_CARRIER: _ClassVar[StaySource]
    STAY_SOURCE_DECLARED: _ClassVar[StaySource]
STAY_CORRECTION_ACTION_UNSPECIFIED: StayCorrectionAction
STAY_CORRECTION_ACTION_CORRECT: StayCorrectionAction
STAY_CORRECTION_ACTION_WITHDRAW: StayCorrectionAction
STAY_SOURCE_UNSPECIFIED: StaySource
STAY_SOURCE_CARRIER: StaySource
STAY_SOURCE_DECLARED: StaySource

class StayCorrection(_message.Message):
    __slots__ = ("stay", "action", "corrected", "reason")
    STAY_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    stay: CarrierStay
    action: StayCorrectionAction
    corrected: CarrierStay
    reason: str
    def __init__(self, stay: _Optional[_Union[CarrierStay, _Mapping]] = ..., action: _Optional[_Union[StayCorrectionAction, str]] = ..., corrected: _Optional[_Union[CarrierStay, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class CorrectCarrierStaysRequest(_message.Message):
    __slots__ = ("source_carrier", "request_id", "corrections")
    SOURCE_CARRIER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECTIONS_FIELD_NUMBER: _ClassVar[int]
    source_carrier: str
    request_id: str
    corrections: _containers.RepeatedCompositeFieldContainer[StayCorrection]
    def __init__(self, source_carrier: _Optional[str] = ..., request_id: _Optional[str] = ..., corrections: _Optional[_Iterable[_Union[StayCorrection, _Mapping]]] = ...) -> None: ...

class StayCorrectionOutcome(_message.Message):
    __slots__ = ("index", "correction_id", "rejection_reason", "rejection_field")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    REJECTION_FIELD_FIELD_NUMBER: _ClassVar[int]
    index: int
    correction_id: str
    rejection_reason: str
    rejection_field: str
    def __init__(self, index: _Optional[int] = ..., correction_id: _Optional[str] = ..., rejection_reason: _Optional[str] = ..., rejection_field: _Optional[str] = ...) -> None: ...

class CorrectCarrierStaysResponse(_message.Message):
    __slots__ = ("outcomes", "applied_count", "replayed")
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    APPLIED_COUNT_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    outcomes: _containers.RepeatedCompositeFieldContainer[StayCorrectionOutcome]
    applied_count: int
    replayed: bool
    def __init__(self, outcomes: _Optional[_Iterable[_Union[StayCorrectionOutcome, _Mapping]]] = ..., applied_count: _Optional[int] = ..., replayed: _Optional[bool] = ...) -> None: ...

class StayChange(_message.Message):
    __slots__ = ("person_id", "correction_id", "source_carrier", "action", "changed_fields", "reason", "create_time")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CARRIER_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    correction_id: str
    source_carrier: str
    action: StayCorrectionAction
    changed_fields: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, person_id: _Optional[str] = ..., correction_id: _Optional[str] = ..., source_carrier: _Optional[str] = ..., action: _Optional[_Union[StayCorrectionAction, str]] = ..., changed_fields: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CarrierStay(_message.Message):
    __slots__ = ("person_id", "area_code", "arrival_time", "departure_time")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    AREA_CODE_FIELD_NUMBER: _ClassVar[int]
    ARRIVAL_TIME_FIELD_NUMBER: _ClassVar[int]
    DEPARTURE_TIME_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    area_code: str
    arrival_time: _timestamp_pb2.Timestamp
    departure_time: _timestamp_pb2.Timestamp
    def __init__(self, person_id: _Optional[str] = ..., area_code: _Optional[str] = ..., arrival_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., departure_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IngestCarrierStaysRequest(_message.Message):
    __slots__ = ("batch_id", "source_carrier", "stays")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CARRIER_FIELD_NUMBER: _ClassVar[int]
    STAYS_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    source_carrier: str
    stays: _containers.RepeatedCompositeFieldContainer[CarrierStay]
    def __init__(self, batch_id: _Optional[str] = ..., source_carrier: _Optional[str] = ..., stays: _Optional[_Iterable[_Union[CarrierStay, _Mapping]]] = ...) -> None: ...

class RejectedStay(_message.Message):
    __slots__ = ("row", "field", "reason")
    ROW_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    row: int
    field: str
    reason: str
    def __init__(self, row: _Optional[int] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class IngestCarrierStaysResponse(_message.Message):
    __slots__ = ("batch_id", "received", "stored", "duplicates", "below_threshold", "rejected", "rejected_stays", "replayed")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    BELOW_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_STAYS_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    received: int
    stored: int
    duplicates: int
    below_threshold: int
    rejected: int
    rejected_stays: _containers.RepeatedCompositeFieldContainer[RejectedStay]
    replayed: bool
    def __init__(self, batch_id: _Optional[str] = ..., received: _Optional[int] = ..., stored: _Optional[int] = ..., duplicates: _Optional[int] = ..., below_threshold: _Optional[int] = ..., rejected: _Optional[int] = ..., rejected_stays: _Optional[_Iterable[_Union[RejectedStay, _Mapping]]] = ..., replayed: _Optional[bool] = ...) -> None: ...

class DeclaredStay(_message.Message):
    __slots__ = ("area_code", "arrival_time", "departure_time")
    AREA_CODE_FIELD_NUMBER: _ClassVar[int]
    ARRIVAL_TIME_FIELD_NUMBER: _ClassVar[int]
    DEPARTURE_TIME_FIELD_NUMBER: _ClassVar[int]
    area_code: str
    arrival_time: _timestamp_pb2.Timestamp
    departure_time: _timestamp_pb2.Timestamp
    def __init__(self, area_code: _Optional[str] = ..., arrival_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., departure_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeclareItineraryRequest(_message.Message):
    __slots__ = ("person_id", "stays", "request_id")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    STAYS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    stays: _containers.RepeatedCompositeFieldContainer[DeclaredStay]
    request_id: str
    def __init__(self, person_id: _Optional[str] = ..., stays: _Optional[_Iterable[_Union[DeclaredStay, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeclareItineraryResponse(_message.Message):
    __slots__ = ("stored",)
    STORED_FIELD_NUMBER: _ClassVar[int]
    stored: int
    def __init__(self, stored: _Optional[int] = ...) -> None: ...

class Stay(_message.Message):
    __slots__ = ("area_code", "arrival_time", "departure_time", "source", "source_carrier", "verified", "highest_risk_level")
    AREA_CODE_FIELD_NUMBER: _ClassVar[int]
    ARRIVAL_TIME_FIELD_NUMBER: _ClassVar[int]
    DEPARTURE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CARRIER_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_RISK_LEVEL_FIELD_NUMBER: _ClassVar[int]
    area_code: str
    arrival_time: _timestamp_pb2.Timestamp
    departure_time: _timestamp_pb2.Timestamp
    source: StaySource
    source_carrier: str
    verified: bool
    highest_risk_level: _common_pb2.RiskLevel
    def __init__(self, area_code: _Optional[str] = ..., arrival_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., departure_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[_Union[StaySource, str]] = ..., source_carrier: _Optional[str] = ..., verified: _Optional[bool] = ..., highest_risk_level: _Optional[_Union[_common_pb2.RiskLevel, str]] = ...) -> None: ...

class ListStaysRequest(_message.Message):
    __slots__ = ("person_id",)
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    def __init__(self, person_id: _Optional[str] = ...) -> None: ...

class ListStaysResponse(_message.Message):
    __slots__ = ("stays",)
    STAYS_FIELD_NUMBER: _ClassVar[int]
    stays: _containers.RepeatedCompositeFieldContainer[Stay]
    def __init__(self, stays: _Optional[_Iterable[_Union[Stay, _Mapping]]] = ...) -> None: ...

class RiskDeclaration(_message.Message):
    __slots__ = ("declaration_id", "area_code", "level", "effective_time", "end_time", "authority", "reason", "create_time")
    DECLARATION_ID_FIELD_NUMBER: _ClassVar[int]
    AREA_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    declaration_id: str
    area_code: str
    level: _common_pb2.RiskLevel
    effective_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    authority: str
    reason: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, declaration_id: _Optional[str] = ..., area_code: _Optional[str] = ..., level: _Optional[_Union[_common_pb2.RiskLevel, str]] = ..., effective_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., authority: _Optional[str] = ..., reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeclareRiskAreaRequest(_message.Message):
    __slots__ = ("area_code", "level", "effective_time", "authority", "reason", "request_id")
    AREA_CODE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    area_code: str
    level: _common_pb2.RiskLevel
    effective_time: _timestamp_pb2.Timestamp
    authority: str
    reason: str
    request_id: str
    def __init__(self, area_code: _Optional[str] = ..., level: _Optional[_Union[_common_pb2.RiskLevel, str]] = ..., effective_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., authority: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeclareRiskAreaResponse(_message.Message):
    __slots__ = ("declaration", "raised")
    DECLARATION_FIELD_NUMBER: _ClassVar[int]
    RAISED_FIELD_NUMBER: _ClassVar[int]
    declaration: RiskDeclaration
    raised: bool
    def __init__(self, declaration: _Optional[_Union[RiskDeclaration, _Mapping]] = ..., raised: _Optional[bool] = ...) -> None: ...

class LiftRiskAreaRequest(_message.Message):
    __slots__ = ("area_code", "effective_time", "authority", "reason", "request_id")
    AREA_CODE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    area_code: str
    effective_time: _timestamp_pb2.Timestamp
    authority: str
    reason: str
    request_id: str
    def __init__(self, area_code: _Optional[str] = ..., effective_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., authority: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class LiftRiskAreaResponse(_message.Message):
    __slots__ = ("declaration",)
    DECLARATION_FIELD_NUMBER: _ClassVar[int]
    declaration: RiskDeclaration
    def __init__(self, declaration: _Optional[_Union[RiskDeclaration, _Mapping]] = ...) -> None: ...

class ListRiskAreasRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRiskAreasResponse(_message.Message):
    __slots__ = ("declarations", "next_page_token")
    DECLARATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    declarations: _containers.RepeatedCompositeFieldContainer[RiskDeclaration]
    next_page_token: str
    def __init__(self, declarations: _Optional[_Iterable[_Union[RiskDeclaration, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListRiskDeclarationsRequest(_message.Message):
    __slots__ = ("created_after", "page_size", "page_token")
    CREATED_AFTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    created_after: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, created_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRiskDeclarationsResponse(_message.Message):
    __slots__ = ("declarations", "next_page_token")
    DECLARATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    declarations: _containers.RepeatedCompositeFieldContainer[RiskDeclaration]
    next_page_token: str
    def __init__(self, declarations: _Optional[_Iterable[_Union[RiskDeclaration, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StreamAffectedPersonsRequest(_message.Message):
    __slots__ = ("declaration_id", "after_person_id")
    DECLARATION_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    declaration_id: str
    after_person_id: str
    def __init__(self, declaration_id: _Optional[str] = ..., after_person_id: _Optional[str] = ...) -> None: ...

class StreamAffectedPersonsResponse(_message.Message):
    __slots__ = ("person_ids",)
    PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    person_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, person_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetRiskExposuresRequest(_message.Message):
    __slots__ = ("person_ids",)
    PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    person_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, person_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RiskExposure(_message.Message):
    __slots__ = ("person_id", "area_code", "arrival_time", "departure_time", "level", "declaration_id")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    AREA_CODE_FIELD_NUMBER: _ClassVar[int]
    ARRIVAL_TIME_FIELD_NUMBER: _ClassVar[int]
    DEPARTURE_TIME_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    DECLARATION_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    area_code: str
    arrival_time: _timestamp_pb2.Timestamp
    departure_time: _timestamp_pb2.Timestamp
    level: _common_pb2.RiskLevel
    declaration_id: str
    def __init__(self, person_id: _Optional[str] = ..., area_code: _Optional[str] = ..., arrival_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., departure_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., level: _Optional[_Union[_common_pb2.RiskLevel, str]] = ..., declaration_id: _Optional[str] = ...) -> None: ...

class BatchGetRiskExposuresResponse(_message.Message):
    __slots__ = ("exposures",)
    EXPOSURES_FIELD_NUMBER: _ClassVar[int]
    exposures: _containers.RepeatedCompositeFieldContainer[RiskExposure]
    def __init__(self, exposures: _Optional[_Iterable[_Union[RiskExposure, _Mapping]]] = ...) -> None: ...

class ListNewlyRiskyPersonsRequest(_message.Message):
    __slots__ = ("cursor", "page_size")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    page_size: int
    def __init__(self, cursor: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListNewlyRiskyPersonsResponse(_message.Message):
    __slots__ = ("person_ids", "cursor", "stay_changes")
    PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    STAY_CHANGES_FIELD_NUMBER: _ClassVar[int]
    person_ids: _containers.RepeatedScalarFieldContainer[str]
    cursor: str
    stay_changes: _containers.RepeatedCompositeFieldContainer[StayChange]
    def __init__(self, person_ids: _Optional[_Iterable[str]] = ..., cursor: _Optional[str] = ..., stay_changes: _Optional[_Iterable[_Union[StayChange, _Mapping]]] = ...) -> None: ...
