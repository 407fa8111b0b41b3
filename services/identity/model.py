"""Persons, dependent links and provider keys, with the rules that govern links."""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services import areas
from services.identity.documents import Document, DocumentKind, is_minor
from services.runtime.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from services.runtime.requests import parse_uuid

# 他人代查: Beijing allowed at most 4 people per account.
MAX_DEPENDENTS = 4

# A session refreshes for a working day after its sign-in; then the person signs in again.
SESSION_LIFETIME = timedelta(hours=12)
REFRESH_TOKEN_PREFIX = "hcr1."
_REFRESH_TOKEN = re.compile(r"^hcr1\.[A-Za-z0-9_-]{43}$")
_REVOKE_REASON = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")

# Home provinces that follow from the document alone.
_PROVINCE_BY_PERMIT_COUNTRY = {"HKG": "810000", "MAC": "820000", "TWN": "710000"}


class Relation(enum.IntEnum):
    """How the holder relates to the dependent (numbers match the proto)."""

    PARENT = 1
    GUARDIAN = 2
    CHILD = 3
    SPOUSE = 4
    RELATIVE = 5
    OTHER = 6


class LinkBasis(enum.IntEnum):
    DEPENDENT_FACE_CHECK = 1
    # Links made before guardianship had to be attested (a claimed relation to a minor); none are made now.
    GUARDIANSHIP_OF_MINOR = 2
    ATTESTED_GUARDIANSHIP = 3


class ProviderKind(enum.IntEnum):
    """What a provider key attests (numbers match the proto and the database)."""

    FACE_CHECK = 1
    HOUSEHOLD_REGISTER = 2


class ActingBasis(enum.IntEnum):
    NONE = 0
    SELF = 1
    DEPENDENT_LINK = 2


@dataclass(frozen=True)
class Person:
    """A person as the outside sees them: masked only."""

    person_id: str
    masked_name: str
    document_kind: DocumentKind
    masked_document_number: str
    document_country_code: str
    home_province_code: str
    face_check_time: datetime | None
    create_time: datetime
    # The federation person reference (documents.federation_reference); None for a person
    # registered before references existed, until `healthcode reseal` fills it in.
    federation_ref: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class DependentLink:
    holder_person_id: str
    dependent: Person
    relation: Relation
    basis: LinkBasis
    link_time: datetime
    unlink_time: datetime | None


@dataclass(frozen=True)
class Correction:
    """One correction of a person's data: what, by whom, why."""

    kind: str
    actor: str
    reason: str
    links_ended: int
    create_time: datetime


class NameCorrectionState(enum.IntEnum):
    """Numbered as in healthcode.identity.v1.NameCorrectionState."""

    APPLIED = 1
    PENDING = 2
    APPROVED = 3
    REJECTED = 4


# Hubei let a person edit their information once; after that an officer reviews.
CORRECTIONS_WITHOUT_REVIEW = 1
MAX_CORRECTION_TEXT = 500
_OFFICER_ID = re.compile(r"^([0-9]{6})\.[a-z0-9._-]{1,64}$")
NATIONAL = "000000"


@dataclass(frozen=True)
class NameCorrection:
    """A name correction as answered: masked names only; `basis` is the person's own words."""

    correction_id: str
    person_id: str
    state: NameCorrectionState
    masked_old_name: str
    masked_new_name: str
    basis: str
    home_province_code: str
    reviewer_id: str | None
    decision_reason: str | None
    create_time: datetime
    decide_time: datetime | None


def check_correction_text(value: str, field_path: str) -> str:
    text = " ".join((value or "").split())
    if not 1 <= len(text) <= MAX_CORRECTION_TEXT:
        raise InvalidArgument.for_field(field_path, f"must be 1 to {MAX_CORRECTION_TEXT} characters",
                                        reason=f"{field_path.upper()}_INVALID")
    return text


def name_correction_state(applied_before: int) -> NameCorrectionState:
    """Applied at once while the person has used fewer than their corrections without review."""
    if applied_before < CORRECTIONS_WITHOUT_REVIEW:
        return NameCorrectionState.APPLIED
    return NameCorrectionState.PENDING


def check_reviewer(reviewer_id: str, home_province_code: str) -> str:
    """An identity officer decides only for persons of their own province (national ones anywhere); their
    id is province-qualified (`420000.li-wei`), as the gateway fills it from the credential."""
    match = _OFFICER_ID.match(reviewer_id or "")
    if match is None:
        raise InvalidArgument.for_field("reviewer_id", "must be a province-qualified officer id (420000.li-wei)",
                                        reason="REVIEWER_ID_INVALID")
    if match.group(1) not in (NATIONAL, home_province_code):
        raise PermissionDenied(reason="NOT_AN_OFFICER_OF_PROVINCE",
                               message="only an identity officer of the person's home province decides this")
    return reviewer_id


@dataclass(frozen=True)
class FaceProviderKey:
    provider_id: str
    key_id: str
    public_key_der: bytes
    valid_from_time: datetime
    valid_until_time: datetime | None
    revoke_time: datetime | None
    create_time: datetime
    kind: ProviderKind = ProviderKind.FACE_CHECK


def parse_person_id(value: str, field_path: str) -> str:
    return parse_uuid(value, field_path, "PERSON_ID_INVALID")


def new_person_id() -> str:
    return str(uuid.uuid4())


def resolve_home_province(document: Document, given: str) -> str:
    """The given province if valid, else the one the document implies, else an error."""
    if given:
        if not areas.is_province_code(given):
            raise InvalidArgument.for_field("home_province_code", "must be a six-digit GB/T 2260 province code",
                                            reason="PROVINCE_CODE_INVALID")
        return given
    if document.kind is DocumentKind.RESIDENT_ID_CARD:
        return areas.province_code_of(document.number)
    if document.country_code in _PROVINCE_BY_PERMIT_COUNTRY and document.kind in (
            DocumentKind.HK_MACAO_PERMIT, DocumentKind.TAIWAN_PERMIT):
        return _PROVINCE_BY_PERMIT_COUNTRY[document.country_code]
    raise InvalidArgument.for_field("home_province_code", "is required for this kind of document",
                                    reason="PROVINCE_CODE_REQUIRED")


def resolve_birth_date(document: Document, given: date | None, today: date) -> date | None:
    """The document's birth date wins; a different one given beside it is an error."""
    if given is not None and given > today:
        raise InvalidArgument.for_field("birth_date", "is in the future", reason="BIRTH_DATE_INVALID")
    if document.birth_date is not None:
        if given is not None and given != document.birth_date:
            raise InvalidArgument.for_field("birth_date", "does not agree with the document",
                                            reason="BIRTH_DATE_MISMATCH")
        return document.birth_date
    return given


def decide_link_basis(relation: Relation, dependent_birth_date: date | None, today: date,
                      has_dependent_face_check: bool, attested_relation: Relation | None = None) -> LinkBasis:
    """A dependent consents by their own face check; a minor may instead be linked by a parent or
    guardian whom the household register attests (`attested_relation`), the minor's birth date coming
    from their document or from the register — never from whoever registered them."""
    if has_dependent_face_check:
        return LinkBasis.DEPENDENT_FACE_CHECK
    if attested_relation is not None:
        if attested_relation is not relation or relation not in (Relation.PARENT, Relation.GUARDIAN):
            raise FailedPrecondition(reason="RELATION_NOT_ATTESTED",
                                     message="the household register attests another relation than the one asked")
        if dependent_birth_date is None or not is_minor(dependent_birth_date, today):
            raise FailedPrecondition(reason="DEPENDENT_NOT_A_MINOR",
                                     message="the dependent is not a minor; they consent by their own face check")
        return LinkBasis.ATTESTED_GUARDIANSHIP
    raise FailedPrecondition(
        reason="DEPENDENT_CONSENT_REQUIRED",
        message="the dependent must pass their own face check, or, for a minor, the household register "
                "must attest the parent or guardian")


def check_dependent_limit(live_links: int) -> None:
    if live_links >= MAX_DEPENDENTS:
        raise FailedPrecondition(
            reason="DEPENDENT_LIMIT_REACHED",
            message=f"a person may act for at most {MAX_DEPENDENTS} dependents; remove a link first",
            metadata={"max_dependents": str(MAX_DEPENDENTS)})


def is_refresh_token(value: str) -> bool:
    return bool(_REFRESH_TOKEN.match(value or ""))


def check_revoke_reason(reason: str) -> str:
    """Why sessions end, as a stable code (LOGOUT, REVOKE_ALL, DATA_CORRECTED, ...)."""
    if not _REVOKE_REASON.match(reason or ""):
        raise InvalidArgument.for_field("reason", "must be an upper-case code such as LOGOUT", reason="REASON_INVALID")
    return reason
