"""Who is calling: the five kinds of caller the gateway knows, with their province and scopes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# The national government-service platform and national operators act for every province.
NATIONAL = "000000"


class CallerKind(StrEnum):
    # A province's own systems (its government-service app backend, its health commission).
    PROVINCE_SYSTEM = "province-system"
    # An authority feed: a hospital, a CDC or a community office sending facts, or a carrier
    # sending stays. Its scopes name what it may send.
    FEED = "feed"
    # A checkpoint device: verifies codes, nothing else.
    CHECKPOINT = "checkpoint"
    # An operator of the platform in a province: rule sets, keys, officers, risk areas, casework.
    OPERATOR = "operator"
    # A person's app session: themselves and their dependents.
    PERSON = "person"


# What a feed may send: the fact kinds (status.v1 FactKind without its prefix) and carrier stays.
FEED_SCOPES = frozenset({"DIAGNOSIS", "QUARANTINE_ORDER", "NUCLEIC_ACID_TEST", "INBOUND_QUARANTINE", "DISCHARGE",
                         "QUARANTINE_RELEASE", "FEVER_ON_SITE", "CLOSED_AREA_RESIDENCE", "FEVER_MEDICINE_PURCHASE",
                         "FEVER_CLINIC_VISIT", "HOTEL_REGISTRATION", "CASE_REPORTED_STAY", "STAYS"})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    `subject` is the caller's own id: the person id of an app session, the checkpoint id of a
    device, the officer id of an operator, the system or feed name otherwise. Operators act in
    casework under this id, so a reviewer or approver is always the caller, never a field.
    """

    kind: CallerKind
    subject: str
    province: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    # A person's sign-in session (identity's), named by their access tokens: revocable. Empty for
    # certificates and for tokens minted by hand (devices, development).
    session_id: str = ""

    @property
    def national(self) -> bool:
        return self.province == NATIONAL

    def covers(self, province: str) -> bool:
        """Whether this caller's jurisdiction includes `province` (a six-digit code)."""
        return self.national or province == self.province

    @property
    def acting_id(self) -> str:
        """The id this caller acts under in the services: a person's own id; for every other kind the
        subject qualified by the credential's province (`420000.wuhan-cdc`), so a credential of one
        province can never pass for an officer, checkpoint or authority of another by its name."""
        return self.subject if self.kind == CallerKind.PERSON else f"{self.province}.{self.subject}"

    @property
    def key(self) -> str:
        """The caller's identity for rate limits and logs (no personal data: ids only)."""
        return f"{self.kind}:{self.province}:{self.subject}"
