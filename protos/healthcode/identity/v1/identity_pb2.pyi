import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import date_pb2 as _date_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DocumentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOCUMENT_KIND_UNSPECIFIED: _ClassVar[DocumentKind]
    DOCUMENT_KIND_RESIDENT_ID_CARD: _ClassVar[DocumentKind]
    DOCUMENT_KIND_PASSPORT: _ClassVar[DocumentKind]
    DOCUMENT_KIND_HK_MACAO_PERMIT: _ClassVar[DocumentKind]
    DOCUMENT_KIND_TAIWAN_PERMIT: _ClassVar[DocumentKind]
    DOCUMENT_KIND_FOREIGN_PERMANENT_RESIDENT_ID: _ClassVar[DocumentKind]

class Relation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RELATION_UNSPECIFIED: _ClassVar[Relation]
    RELATION_PARENT: _ClassVar[Relation]
    RELATION_GUARDIAN: _ClassVar[Relation]
    RELATION_CHILD: _ClassVar[Relation]
    RELATION_SPOUSE: _ClassVar[Relation]
    RELATION_RELATIVE: _ClassVar[Relation]
    RELATION_OTHER: _ClassVar[Relation]

class LinkBasis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LINK_BASIS_UNSPECIFIED: _ClassVar[LinkBasis]
    LINK_BASIS_DEPENDENT_FACE_CHECK: _ClassVar[LinkBasis]
    LINK_BASIS_GUARDIANSHIP_OF_MINOR: _ClassVar[LinkBasis]
    LINK_BASIS_ATTESTED_GUARDIANSHIP: _ClassVar[LinkBasis]

class ProviderKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROVIDER_KIND_UNSPECIFIED: _ClassVar[ProviderKind]
    PROVIDER_KIND_FACE_CHECK: _ClassVar[ProviderKind]
    PROVIDER_KIND_HOUSEHOLD_REGISTER: _ClassVar[ProviderKind]

class ActingBasis(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACTING_BASIS_UNSPECIFIED: _ClassVar[ActingBasis]
    ACTING_BASIS_SELF: _ClassVar[ActingBasis]
    ACTING_BASIS_DEPENDENT_LINK: _ClassVar[ActingBasis]

class NameCorrectionState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NAME_CORRECTION_STATE_UNSPECIFIED: _ClassVar[NameCorrectionState]
    NAME_CORRECTION_STATE_APPLIED: _ClassVar[NameCorrectionState]
    NAME_CORRECTION_STATE_PENDING: _ClassVar[NameCorrectionState]
    NAME_CORRECTION_STATE_APPROVED: _ClassVar[NameCorrectionState]
    NAME_CORRECTION_STATE_REJECTED: _ClassVar[NameCorrectionState]
DOCUMENT_KIND_UNSPECIFIED: DocumentKind
DOCUMENT_KIND_RESIDENT_ID_CARD: DocumentKind
DOCUMENT_KIND_PASSPORT: DocumentKind
DOCUMENT_KIND_HK_MACAO_PERMIT: DocumentKind
DOCUMENT_KIND_TAIWAN_PERMIT: DocumentKind
DOCUMENT_KIND_FOREIGN_PERMANENT_RESIDENT_ID: DocumentKind
RELATION_UNSPECIFIED: Relation
RELATION_PARENT: Relation
RELATION_GUARDIAN: Relation
RELATION_CHILD: Relation
RELATION_SPOUSE: Relation
RELATION_RELATIVE: Relation
RELATION_OTHER: Relation
LINK_BASIS_UNSPECIFIED: LinkBasis
LINK_BASIS_DEPENDENT_FACE_CHECK: LinkBasis
LINK_BASIS_GUARDIANSHIP_OF_MINOR: LinkBasis
LINK_BASIS_ATTESTED_GUARDIANSHIP: LinkBasis
PROVIDER_KIND_UNSPECIFIED: ProviderKind
PROVIDER_KIND_FACE_CHECK: ProviderKind
PROVIDER_KIND_HOUSEHOLD_REGISTER: ProviderKind
ACTING_BASIS_UNSPECIFIED: ActingBasis
ACTING_BASIS_SELF: ActingBasis
ACTING_BASIS_DEPENDENT_LINK: ActingBasis
NAME_CORRECTION_STATE_UNSPECIFIED: NameCorrectionState
NAME_CORRECTION_STATE_APPLIED: NameCorrectionState
NAME_CORRECTION_STATE_PENDING: NameCorrectionState
NAME_CORRECTION_STATE_APPROVED: NameCorrectionState
NAME_CORRECTION_STATE_REJECTED: NameCorrectionState

class Document(_message.Message):
    __slots__ = ("kind", "number", "country_code")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    kind: DocumentKind
    number: str
    country_code: str
    def __init__(self, kind: _Optional[_Union[DocumentKind, str]] = ..., number: _Optional[str] = ..., country_code: _Optional[str] = ...) -> None: ...

class RelationAttestation(_message.Message):
    __slots__ = ("claims", "signature")
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    claims: bytes
    signature: bytes
    def __init__(self, claims: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class RelationClaims(_message.Message):
    __slots__ = ("provider_id", "key_id", "guardian_document", "minor_document", "relation", "minor_birth_date", "check_time", "nonce")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    GUARDIAN_DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    MINOR_DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    RELATION_FIELD_NUMBER: _ClassVar[int]
    MINOR_BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    CHECK_TIME_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    key_id: str
    guardian_document: Document
    minor_document: Document
    relation: Relation
    minor_birth_date: _date_pb2.Date
    check_time: _timestamp_pb2.Timestamp
    nonce: str
    def __init__(self, provider_id: _Optional[str] = ..., key_id: _Optional[str] = ..., guardian_document: _Optional[_Union[Document, _Mapping]] = ..., minor_document: _Optional[_Union[Document, _Mapping]] = ..., relation: _Optional[_Union[Relation, str]] = ..., minor_birth_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., check_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., nonce: _Optional[str] = ...) -> None: ...

class FaceAttestation(_message.Message):
    __slots__ = ("claims", "signature")
    CLAIMS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    claims: bytes
    signature: bytes
    def __init__(self, claims: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class FaceCheckClaims(_message.Message):
    __slots__ = ("provider_id", "key_id", "document", "check_time", "nonce")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    CHECK_TIME_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    key_id: str
    document: Document
    check_time: _timestamp_pb2.Timestamp
    nonce: str
    def __init__(self, provider_id: _Optional[str] = ..., key_id: _Optional[str] = ..., document: _Optional[_Union[Document, _Mapping]] = ..., check_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., nonce: _Optional[str] = ...) -> None: ...

class Person(_message.Message):
    __slots__ = ("person_id", "masked_name", "document_kind", "masked_document_number", "document_country_code", "home_province_code", "face_check_time", "create_time", "federation_ref")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    MASKED_NAME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_KIND_FIELD_NUMBER: _ClassVar[int]
    MASKED_DOCUMENT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_COUNTRY_CODE_FIELD_NUMBER: _ClassVar[int]
    HOME_PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    FACE_CHECK_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    FEDERATION_REF_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    masked_name: str
    document_kind: DocumentKind
    masked_document_number: str
    document_country_code: str
    home_province_code: str
    face_check_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    federation_ref: bytes
    def __init__(self, person_id: _Optional[str] = ..., masked_name: _Optional[str] = ..., document_kind: _Optional[_Union[DocumentKind, str]] = ..., masked_document_number: _Optional[str] = ..., document_country_code: _Optional[str] = ..., home_province_code: _Optional[str] = ..., face_check_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., federation_ref: _Optional[bytes] = ...) -> None: ...

class DependentLink(_message.Message):
    __slots__ = ("holder_person_id", "dependent", "relation", "basis", "link_time", "unlink_time")
    HOLDER_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    DEPENDENT_FIELD_NUMBER: _ClassVar[int]
    RELATION_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    LINK_TIME_FIELD_NUMBER: _ClassVar[int]
    UNLINK_TIME_FIELD_NUMBER: _ClassVar[int]
    holder_person_id: str
    dependent: Person
    relation: Relation
    basis: LinkBasis
    link_time: _timestamp_pb2.Timestamp
    unlink_time: _timestamp_pb2.Timestamp
    def __init__(self, holder_person_id: _Optional[str] = ..., dependent: _Optional[_Union[Person, _Mapping]] = ..., relation: _Optional[_Union[Relation, str]] = ..., basis: _Optional[_Union[LinkBasis, str]] = ..., link_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unlink_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FaceProviderKey(_message.Message):
    __slots__ = ("provider_id", "key_id", "public_key_der", "valid_from_time", "valid_until_time", "revoke_time", "create_time", "kind")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_DER_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_TIME_FIELD_NUMBER: _ClassVar[int]
    REVOKE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    key_id: str
    public_key_der: bytes
    valid_from_time: _timestamp_pb2.Timestamp
    valid_until_time: _timestamp_pb2.Timestamp
    revoke_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    kind: ProviderKind
    def __init__(self, provider_id: _Optional[str] = ..., key_id: _Optional[str] = ..., public_key_der: _Optional[bytes] = ..., valid_from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoke_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[ProviderKind, str]] = ...) -> None: ...

class RegisterPersonRequest(_message.Message):
    __slots__ = ("name", "document", "home_province_code", "birth_date", "face_attestation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    HOME_PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    BIRTH_DATE_FIELD_NUMBER: _ClassVar[int]
    FACE_ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    document: Document
    home_province_code: str
    birth_date: _date_pb2.Date
    face_attestation: FaceAttestation
    def __init__(self, name: _Optional[str] = ..., document: _Optional[_Union[Document, _Mapping]] = ..., home_province_code: _Optional[str] = ..., birth_date: _Optional[_Union[_date_pb2.Date, _Mapping]] = ..., face_attestation: _Optional[_Union[FaceAttestation, _Mapping]] = ...) -> None: ...

class RegisterPersonResponse(_message.Message):
    __slots__ = ("person", "created", "reclaimed")
    PERSON_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    RECLAIMED_FIELD_NUMBER: _ClassVar[int]
    person: Person
    created: bool
    reclaimed: bool
    def __init__(self, person: _Optional[_Union[Person, _Mapping]] = ..., created: _Optional[bool] = ..., reclaimed: _Optional[bool] = ...) -> None: ...

class GetPersonRequest(_message.Message):
    __slots__ = ("person_id",)
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    def __init__(self, person_id: _Optional[str] = ...) -> None: ...

class GetPersonResponse(_message.Message):
    __slots__ = ("person",)
    PERSON_FIELD_NUMBER: _ClassVar[int]
    person: Person
    def __init__(self, person: _Optional[_Union[Person, _Mapping]] = ...) -> None: ...

class LookupPersonByDocumentRequest(_message.Message):
    __slots__ = ("document",)
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: Document
    def __init__(self, document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class LookupPersonByDocumentResponse(_message.Message):
    __slots__ = ("person",)
    PERSON_FIELD_NUMBER: _ClassVar[int]
    person: Person
    def __init__(self, person: _Optional[_Union[Person, _Mapping]] = ...) -> None: ...

class BatchGetPersonsRequest(_message.Message):
    __slots__ = ("person_ids",)
    PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    person_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, person_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetPersonsResponse(_message.Message):
    __slots__ = ("persons", "missing_person_ids")
    PERSONS_FIELD_NUMBER: _ClassVar[int]
    MISSING_PERSON_IDS_FIELD_NUMBER: _ClassVar[int]
    persons: _containers.RepeatedCompositeFieldContainer[Person]
    missing_person_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, persons: _Optional[_Iterable[_Union[Person, _Mapping]]] = ..., missing_person_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchLookupPersonsByFederationRefRequest(_message.Message):
    __slots__ = ("federation_refs",)
    FEDERATION_REFS_FIELD_NUMBER: _ClassVar[int]
    federation_refs: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, federation_refs: _Optional[_Iterable[bytes]] = ...) -> None: ...

class BatchLookupPersonsByFederationRefResponse(_message.Message):
    __slots__ = ("persons",)
    PERSONS_FIELD_NUMBER: _ClassVar[int]
    persons: _containers.RepeatedCompositeFieldContainer[Person]
    def __init__(self, persons: _Optional[_Iterable[_Union[Person, _Mapping]]] = ...) -> None: ...

class ListNameChangesRequest(_message.Message):
    __slots__ = ("changed_after", "page_size", "page_token")
    CHANGED_AFTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    changed_after: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, changed_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class NameChange(_message.Message):
    __slots__ = ("person_id", "masked_name", "change_time")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    MASKED_NAME_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    masked_name: str
    change_time: _timestamp_pb2.Timestamp
    def __init__(self, person_id: _Optional[str] = ..., masked_name: _Optional[str] = ..., change_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListNameChangesResponse(_message.Message):
    __slots__ = ("changes", "next_page_token")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[NameChange]
    next_page_token: str
    def __init__(self, changes: _Optional[_Iterable[_Union[NameChange, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RecordFaceCheckRequest(_message.Message):
    __slots__ = ("person_id", "face_attestation")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    FACE_ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    face_attestation: FaceAttestation
    def __init__(self, person_id: _Optional[str] = ..., face_attestation: _Optional[_Union[FaceAttestation, _Mapping]] = ...) -> None: ...

class RecordFaceCheckResponse(_message.Message):
    __slots__ = ("person",)
    PERSON_FIELD_NUMBER: _ClassVar[int]
    person: Person
    def __init__(self, person: _Optional[_Union[Person, _Mapping]] = ...) -> None: ...

class SignInPersonRequest(_message.Message):
    __slots__ = ("document", "face_attestation")
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    FACE_ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    document: Document
    face_attestation: FaceAttestation
    def __init__(self, document: _Optional[_Union[Document, _Mapping]] = ..., face_attestation: _Optional[_Union[FaceAttestation, _Mapping]] = ...) -> None: ...

class SignInPersonResponse(_message.Message):
    __slots__ = ("person",)
    PERSON_FIELD_NUMBER: _ClassVar[int]
    person: Person
    def __init__(self, person: _Optional[_Union[Person, _Mapping]] = ...) -> None: ...

class StartSessionRequest(_message.Message):
    __slots__ = ("person_id",)
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    def __init__(self, person_id: _Optional[str] = ...) -> None: ...

class StartSessionResponse(_message.Message):
    __slots__ = ("session_id", "refresh_token", "expire_time")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    refresh_token: str
    expire_time: _timestamp_pb2.Timestamp
    def __init__(self, session_id: _Optional[str] = ..., refresh_token: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RefreshSessionRequest(_message.Message):
    __slots__ = ("refresh_token",)
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    def __init__(self, refresh_token: _Optional[str] = ...) -> None: ...

class RefreshSessionResponse(_message.Message):
    __slots__ = ("session_id", "person", "refresh_token")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    person: Person
    refresh_token: str
    def __init__(self, session_id: _Optional[str] = ..., person: _Optional[_Union[Person, _Mapping]] = ..., refresh_token: _Optional[str] = ...) -> None: ...

class CheckSessionRequest(_message.Message):
    __slots__ = ("session_id", "person_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    person_id: str
    def __init__(self, session_id: _Optional[str] = ..., person_id: _Optional[str] = ...) -> None: ...

class CheckSessionResponse(_message.Message):
    __slots__ = ("live",)
    LIVE_FIELD_NUMBER: _ClassVar[int]
    live: bool
    def __init__(self, live: _Optional[bool] = ...) -> None: ...

class RevokeSessionsRequest(_message.Message):
    __slots__ = ("person_id", "session_id", "reason")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    session_id: str
    reason: str
    def __init__(self, person_id: _Optional[str] = ..., session_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RevokeSessionsResponse(_message.Message):
    __slots__ = ("revoked_count",)
    REVOKED_COUNT_FIELD_NUMBER: _ClassVar[int]
    revoked_count: int
    def __init__(self, revoked_count: _Optional[int] = ...) -> None: ...

class LinkDependentRequest(_message.Message):
    __slots__ = ("holder_person_id", "dependent_person_id", "relation", "dependent_face_attestation", "relation_attestation")
    HOLDER_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    DEPENDENT_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    RELATION_FIELD_NUMBER: _ClassVar[int]
    DEPENDENT_FACE_ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    RELATION_ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    holder_person_id: str
    dependent_person_id: str
    relation: Relation
    dependent_face_attestation: FaceAttestation
    relation_attestation: RelationAttestation
    def __init__(self, holder_person_id: _Optional[str] = ..., dependent_person_id: _Optional[str] = ..., relation: _Optional[_Union[Relation, str]] = ..., dependent_face_attestation: _Optional[_Union[FaceAttestation, _Mapping]] = ..., relation_attestation: _Optional[_Union[RelationAttestation, _Mapping]] = ...) -> None: ...

class LinkDependentResponse(_message.Message):
    __slots__ = ("link", "created")
    LINK_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    link: DependentLink
    created: bool
    def __init__(self, link: _Optional[_Union[DependentLink, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class UnlinkDependentRequest(_message.Message):
    __slots__ = ("holder_person_id", "dependent_person_id")
    HOLDER_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    DEPENDENT_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    holder_person_id: str
    dependent_person_id: str
    def __init__(self, holder_person_id: _Optional[str] = ..., dependent_person_id: _Optional[str] = ...) -> None: ...

class UnlinkDependentResponse(_message.Message):
    __slots__ = ("link",)
    LINK_FIELD_NUMBER: _ClassVar[int]
    link: DependentLink
    def __init__(self, link: _Optional[_Union[DependentLink, _Mapping]] = ...) -> None: ...

class ListDependentsRequest(_message.Message):
    __slots__ = ("holder_person_id",)
    HOLDER_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    holder_person_id: str
    def __init__(self, holder_person_id: _Optional[str] = ...) -> None: ...

class ListDependentsResponse(_message.Message):
    __slots__ = ("links",)
    LINKS_FIELD_NUMBER: _ClassVar[int]
    links: _containers.RepeatedCompositeFieldContainer[DependentLink]
    def __init__(self, links: _Optional[_Iterable[_Union[DependentLink, _Mapping]]] = ...) -> None: ...

class Correction(_message.Message):
    __slots__ = ("kind", "actor", "reason", "links_ended", "create_time")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LINKS_ENDED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    kind: str
    actor: str
    reason: str
    links_ended: int
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, kind: _Optional[str] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., links_ended: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class NameCorrection(_message.Message):
    __slots__ = ("correction_id", "person_id", "state", "masked_old_name", "masked_new_name", "basis", "home_province_code", "reviewer_id", "decision_reason", "create_time", "decide_time")
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MASKED_OLD_NAME_FIELD_NUMBER: _ClassVar[int]
    MASKED_NEW_NAME_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    HOME_PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DECIDE_TIME_FIELD_NUMBER: _ClassVar[int]
    correction_id: str
    person_id: str
    state: NameCorrectionState
    masked_old_name: str
    masked_new_name: str
    basis: str
    home_province_code: str
    reviewer_id: str
    decision_reason: str
    create_time: _timestamp_pb2.Timestamp
    decide_time: _timestamp_pb2.Timestamp
    def __init__(self, correction_id: _Optional[str] = ..., person_id: _Optional[str] = ..., state: _Optional[_Union[NameCorrectionState, str]] = ..., masked_old_name: _Optional[str] = ..., masked_new_name: _Optional[str] = ..., basis: _Optional[str] = ..., home_province_code: _Optional[str] = ..., reviewer_id: _Optional[str] = ..., decision_reason: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decide_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CorrectNameRequest(_message.Message):
    __slots__ = ("person_id", "name", "face_attestation", "basis", "request_id")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FACE_ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    name: str
    face_attestation: FaceAttestation
    basis: str
    request_id: str
    def __init__(self, person_id: _Optional[str] = ..., name: _Optional[str] = ..., face_attestation: _Optional[_Union[FaceAttestation, _Mapping]] = ..., basis: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class CorrectNameResponse(_message.Message):
    __slots__ = ("correction", "person", "duplicate")
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    correction: NameCorrection
    person: Person
    duplicate: bool
    def __init__(self, correction: _Optional[_Union[NameCorrection, _Mapping]] = ..., person: _Optional[_Union[Person, _Mapping]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class ListNameCorrectionsRequest(_message.Message):
    __slots__ = ("province_code", "state", "page_size", "page_token")
    PROVINCE_CODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    province_code: str
    state: NameCorrectionState
    page_size: int
    page_token: str
    def __init__(self, province_code: _Optional[str] = ..., state: _Optional[_Union[NameCorrectionState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNameCorrectionsResponse(_message.Message):
    __slots__ = ("corrections", "next_page_token")
    CORRECTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    corrections: _containers.RepeatedCompositeFieldContainer[NameCorrection]
    next_page_token: str
    def __init__(self, corrections: _Optional[_Iterable[_Union[NameCorrection, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DecideNameCorrectionRequest(_message.Message):
    __slots__ = ("correction_id", "reviewer_id", "approve", "reason")
    CORRECTION_ID_FIELD_NUMBER: _ClassVar[int]
    REVIEWER_ID_FIELD_NUMBER: _ClassVar[int]
    APPROVE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    correction_id: str
    reviewer_id: str
    approve: bool
    reason: str
    def __init__(self, correction_id: _Optional[str] = ..., reviewer_id: _Optional[str] = ..., approve: _Optional[bool] = ..., reason: _Optional[str] = ...) -> None: ...

class DecideNameCorrectionResponse(_message.Message):
    __slots__ = ("correction", "person")
    CORRECTION_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    correction: NameCorrection
    person: Person
    def __init__(self, correction: _Optional[_Union[NameCorrection, _Mapping]] = ..., person: _Optional[_Union[Person, _Mapping]] = ...) -> None: ...

class ListCorrectionsRequest(_message.Message):
    __slots__ = ("person_id",)
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    def __init__(self, person_id: _Optional[str] = ...) -> None: ...

class ListCorrectionsResponse(_message.Message):
    __slots__ = ("corrections",)
    CORRECTIONS_FIELD_NUMBER: _ClassVar[int]
    corrections: _containers.RepeatedCompositeFieldContainer[Correction]
    def __init__(self, corrections: _Optional[_Iterable[_Union[Correction, _Mapping]]] = ...) -> None: ...

class ListGuardiansRequest(_message.Message):
    __slots__ = ("dependent_person_id",)
    DEPENDENT_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    dependent_person_id: str
    def __init__(self, dependent_person_id: _Optional[str] = ...) -> None: ...

class ListGuardiansResponse(_message.Message):
    __slots__ = ("links",)
    LINKS_FIELD_NUMBER: _ClassVar[int]
    links: _containers.RepeatedCompositeFieldContainer[DependentLink]
    def __init__(self, links: _Optional[_Iterable[_Union[DependentLink, _Mapping]]] = ...) -> None: ...

class CheckActingRightRequest(_message.Message):
    __slots__ = ("actor_person_id", "subject_person_id")
    ACTOR_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    actor_person_id: str
    subject_person_id: str
    def __init__(self, actor_person_id: _Optional[str] = ..., subject_person_id: _Optional[str] = ...) -> None: ...

class CheckActingRightResponse(_message.Message):
    __slots__ = ("allowed", "basis")
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    basis: ActingBasis
    def __init__(self, allowed: _Optional[bool] = ..., basis: _Optional[_Union[ActingBasis, str]] = ...) -> None: ...

class RegisterFaceProviderKeyRequest(_message.Message):
    __slots__ = ("provider_id", "key_id", "public_key_der", "valid_from_time", "valid_until_time", "kind")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_DER_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_TIME_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    key_id: str
    public_key_der: bytes
    valid_from_time: _timestamp_pb2.Timestamp
    valid_until_time: _timestamp_pb2.Timestamp
    kind: ProviderKind
    def __init__(self, provider_id: _Optional[str] = ..., key_id: _Optional[str] = ..., public_key_der: _Optional[bytes] = ..., valid_from_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_until_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[ProviderKind, str]] = ...) -> None: ...

class RegisterFaceProviderKeyResponse(_message.Message):
    __slots__ = ("key", "created")
    KEY_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    key: FaceProviderKey
    created: bool
    def __init__(self, key: _Optional[_Union[FaceProviderKey, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class RevokeFaceProviderKeyRequest(_message.Message):
    __slots__ = ("provider_id", "key_id")
    PROVIDER_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    provider_id: str
    key_id: str
    def __init__(self, provider_id: _Optional[str] = ..., key_id: _Optional[str] = ...) -> None: ...

class RevokeFaceProviderKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: FaceProviderKey
    def __init__(self, key: _Optional[_Union[FaceProviderKey, _Mapping]] = ...) -> None: ...

class ListFaceProviderKeysRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFaceProviderKeysResponse(_message.Message):
    __slots__ = ("keys", "next_page_token")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[FaceProviderKey]
    next_page_token: str
    def __init__(self, keys: _Optional[_Iterable[_Union[FaceProviderKey, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
