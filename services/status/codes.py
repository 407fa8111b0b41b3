"""Codes: issuing a person's signed code, the standing of issued codes, and the feeds checkpoints
and exporters read (stale codes, colour changes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from services.codes.ids import parse_code_ids
from services.runtime.clock import Clock
from services.runtime.errors import InvalidArgument
from services.runtime import requests
from services.runtime.paging import Cursor
from services.runtime.requests import invalid_page_token
from services.runtime.requests import page_size as requested_page_size
from services.runtime.requests import parse_uuid
from services.status.clients import Identity
from services.status.deciding import Decider, require_acting_right
from services.status.model import Status
from services.status.repository import ColourChange, StaleCode, StatusRepository
from services.status.signing import IssuedCode, Signer

MAX_COLOUR_CHANGES = 10_000  # per ListColourChanges page
MAX_CODE_STANDINGS = 100
STALE_CODES = Cursor("stale_codes", bytes)  # by code id
CODE_ID_BYTES = 16


class Codes:
    def __init__(self, decider: Decider, repository: StatusRepository, signer: Signer, identity: Identity,
                 clock: Clock) -> None:
        self._decider = decider
        self._repository = repository
        self._signer = signer
        self._identity = identity
        self._clock = clock

    async def issue_code(self, person_id: str, requester_id: str) -> tuple[IssuedCode, Status]:
        person_id = parse_uuid(person_id, "person_id", "PERSON_ID_INVALID")
        requester_id = parse_uuid(requester_id or person_id, "requester_person_id", "PERSON_ID_INVALID")
        await require_acting_right(self._identity, requester_id, person_id, "requester_person_id")
        status = await self._decider.current(person_id)
        if status.person_ref is None:
            status = await self._with_person_ref(status)
        now = self._clock.now()
        issued = self._signer.issue(status, now)
        await self._repository.record_code(issued.code_id, person_id, status.version, issued.expire_time)
        return issued, status

    async def _with_person_ref(self, status: Status) -> Status:
        """A person enrolled before federation references existed: identity is asked again,
        and the enrolment completed, so this happens once per person."""
        card = (await self._identity.persons([status.person_id])).get(status.person_id)
        if card is None or card.person_ref is None:
            return status  # the signer refuses it: PERSON_REFERENCE_MISSING
        await self._repository.fill_person_ref(status.person_id, card.person_ref)
        return replace(status, person_ref=card.person_ref)

    async def code_standings(self, code_ids_hex: Sequence[str]) -> list[int]:
        """1 current, 2 stale, 3 unknown (as CodeStanding), per code id in order."""
        code_ids = parse_code_ids(code_ids_hex, MAX_CODE_STANDINGS)
        now = self._clock.now()
        held = await self._repository.code_versions(code_ids, now)
        current = await self._decider.current_versions((person_id for person_id, _ in held.values()), now)
        return [3 if code_id not in held or held[code_id][0] not in current
                else (1 if held[code_id][1] == current[held[code_id][0]] else 2)
                for code_id in code_ids]

    async def stale_codes(self, page_size: int, page_token: str) -> tuple[list[StaleCode], str]:
        """Unexpired codes carrying an older status version than their person's current one, by
        code id: what an offline checkpoint's snapshot refuses without asking."""
        size = requested_page_size(page_size)
        after = STALE_CODES.after(page_token)
        if after is not None and len(after[0]) != CODE_ID_BYTES:
            raise invalid_page_token()
        codes = await self._repository.stale_codes(after[0] if after else None, self._clock.now(), size + 1)
        if len(codes) <= size:
            return codes, ""
        return codes[:size], STALE_CODES.token(codes[size - 1].code_id)

    async def colour_changes(self, after_sequence: int, page_size: int, province_codes: Sequence[str]
                             ) -> tuple[list[ColourChange], int, bool]:
        """Colour changes of these provinces' persons after a sequence number (the exporter's feed)."""
        if after_sequence < 0:
            raise InvalidArgument.for_field("after_sequence", "must not be negative", reason="SEQUENCE_INVALID")
        if page_size < 0:
            raise InvalidArgument.for_field("page_size", "must not be negative", reason="PAGE_SIZE_INVALID")
        if not province_codes:
            raise InvalidArgument.for_field("province_codes", "is required", reason="PROVINCE_CODES_MISSING")
        for index, code in enumerate(province_codes):
            requests.province_code(code, f"province_codes[{index}]")
        return await self._repository.colour_changes(after_sequence, min(page_size or 100, MAX_COLOUR_CHANGES),
                                                    sorted(set(province_codes)))
