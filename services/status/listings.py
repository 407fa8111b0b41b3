"""Other provinces' word about our persons (外省推送红码): the red/yellow list records and delistings
a peer province sent, and the fevers its checkpoints read on our codes, become facts of that
province in the person's status, each call one decision for all its persons.

Verification brings them (it checked the batch's or the code's signature and the caller's
certificate); a peer province's facts are recorded under its own authority
(`<province>.federation`), which no feed may use, and a province can only list, delist and report
fevers: its records end only its own listings, never another fact.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.runtime import requests
from services.runtime.errors import InvalidArgument
from services.runtime.logs import get_logger
from services.runtime.sealing import Keyring
from services.runtime.clock import Clock
from services.status import facts as inbound
from services.status.clients import Identity
from services.status.deciding import Decider, Officers
from services.status.model import ChangeCause, Fact
from services.status.repository import StatusRepository, StatusTransaction

log = get_logger(__name__)


@dataclass(frozen=True)
class ListingsResult:
    stored: int
    duplicates: int
    unknown: int
    rejections: list[tuple[int, str, str]]  # index, reason, field


@dataclass(frozen=True)
class FeversResult:
    outcomes: list[tuple[int, str, bool, str, str]]  # index, fact id, duplicate, rejection reason, field
    stored: int


def _count(values: Sequence, field_path: str) -> None:
    if not 1 <= len(values) <= inbound.MAX_FACTS_PER_CALL:
        raise InvalidArgument.for_field(field_path, f"must hold 1 to {inbound.MAX_FACTS_PER_CALL}",
                                        reason="RECORDS_COUNT_INVALID")


class PeerProvinceWord:
    def __init__(self, decider: Decider, repository: StatusRepository, identity: Identity, keyring: Keyring,
                 clock: Clock, clock_skew: timedelta) -> None:
        self._decider = decider
        self._repository = repository
        self._identity = identity
        self._clock = clock
        self._keyring = keyring
        self._clock_skew = clock_skew

    async def record_listings(self, origin: str, batch_id: str, receive_time: datetime | None,
                              home_provinces: Sequence[str], listings: Sequence[inbound.SubmittedListing]
                              ) -> ListingsResult:
        """A batch (or a page of one) from `origin`: each record about one of our persons becomes a
        PEER_PROVINCE_LISTING fact, idempotent per (origin, batch, record index); one decision for all."""
        requests.province_code(origin, "origin_province_code")
        inbound.check_batch_id(batch_id)
        homes = self._homes(origin, home_provinces)
        now = self._clock.now()
        if receive_time is None:
            raise InvalidArgument.for_field("receive_time", "is required", reason="RECEIVE_TIME_MISSING")
        if receive_time > now + self._clock_skew:
            raise InvalidArgument.for_field("receive_time", "is in the future", reason="RECEIVE_TIME_IN_FUTURE")
        _count(listings, "listings")
        rejections: list[tuple[int, str, str]] = []
        checked: list[tuple[bytes, Fact]] = []
        seen: set[int] = set()
        for index, listing in enumerate(listings):
            try:
                if listing.record_index in seen:
                    raise InvalidArgument.for_field(f"listings[{index}].record_index", "appears twice",
                                                    reason="RECORD_INDEX_DUPLICATE")
                fact = inbound.check_listing(index, listing, origin, batch_id, receive_time, str(uuid.uuid4()))
            except InvalidArgument as error:
                rejections.append((index, error.reason, error.violations[0].field))
                continue
            seen.add(listing.record_index)
            checked.append((listing.person_ref, fact))
        persons = await self._persons(sorted({ref for ref, _ in checked}), homes)
        rows = [(persons[ref], fact) for ref, fact in checked if ref in persons]
        authority = inbound.peer_authority(origin)
        known = await self._repository.stored_fact_keys([(p, authority, f.provenance) for p, f in rows]) \
            if rows else set()
        fresh = [(p, f) for p, f in rows if (p, authority, f.provenance) not in known]
        stored, raced = await self._store(fresh, origin, f"peer:{origin}/{batch_id}", now)
        duplicates = len(rows) - len(fresh) + raced
        unknown = len(checked) - len(rows)
        log.info("peer_listings_recorded", origin_province=origin, batch_id=batch_id, stored=stored,
                 duplicates=duplicates, unknown=unknown, rejected=len(rejections))
        return ListingsResult(stored, duplicates, unknown, rejections)

    async def record_fevers(self, origin: str, fevers: Sequence[inbound.SubmittedFever]) -> FeversResult:
        """Fevers `origin`'s checkpoints read on our codes, as FEVER_ON_SITE facts of that province:
        the person is the one the code names (its federation reference); a code still on record must
        have been issued to them. Accepted when the code was valid at the reading, however late it comes."""
        requests.province_code(origin, "origin_province_code")
        _count(fevers, "fevers")
        now = self._clock.now()
        outcomes: dict[int, tuple[int, str, bool, str, str]] = {}
        checked: list[tuple[int, bytes, bytes, Fact]] = []
        for index, fever in enumerate(fevers):
            try:
                code_id, fact = inbound.check_peer_fever(index, fever, origin, now, self._clock_skew,
                                                        str(uuid.uuid4()))
            except InvalidArgument as error:
                outcomes[index] = (index, "", False, error.reason, error.violations[0].field)
                continue
            checked.append((index, fever.person_ref, code_id, fact))
        # The code's signature (checked by verification) proves we issued it: its holder is ours.
        persons = await self._persons(sorted({ref for _, ref, _, _ in checked}), None)
        codes = await self._repository.codes_issued([code_id for _, _, code_id, _ in checked])
        rows: list[tuple[int, str, Fact]] = []
        for index, ref, code_id, fact in checked:
            issued = codes.get(code_id)
            if ref not in persons:
                outcomes[index] = (index, "", False, "PERSON_NOT_FOUND", f"fevers[{index}].person_ref")
            elif issued is not None and (issued[0] != persons[ref]
                                         or fact.effective_time >= issued[1] + self._clock_skew):
                outcomes[index] = (index, "", False, "CODE_MISMATCH", f"fevers[{index}].code_id")
            else:
                rows.append((index, persons[ref], fact))
        stored_ids = await self._store_keyed([(person_id, fact) for _, person_id, fact in rows], origin,
                                             f"peer:{origin}", now)
        stored = 0
        for index, person_id, fact in rows:
            fact_id, new = stored_ids[(person_id, fact.provenance)]
            first = new and fact_id == fact.fact_id
            outcomes[index] = (index, fact_id, not first, "", "")
            stored += int(first)
        log.info("peer_fevers_recorded", origin_province=origin, received=len(fevers), stored=stored,
                 rejected=sum(1 for o in outcomes.values() if o[3]))
        return FeversResult([outcomes[index] for index in range(len(fevers))], stored)

    async def _persons(self, person_refs: Sequence[bytes], homes: Sequence[str] | None) -> dict[bytes, str]:
        """Whom the references name: enrolled persons first (one query), then identity for the rest (a
        person registered here who has had no status yet is enrolled by the decision)."""
        persons = await self._repository.persons_by_ref(person_refs, homes)
        missing = [ref for ref in person_refs if ref not in persons]
        if missing:
            cards = await self._identity.persons_by_ref(missing)
            persons.update((ref, card.person_id) for ref, card in cards.items()
                           if homes is None or card.province_code in homes)
        return persons

    def _homes(self, origin: str, home_provinces: Sequence[str]) -> list[str]:
        if not home_provinces:
            raise InvalidArgument.for_field("home_province_codes", "is required", reason="HOME_PROVINCES_MISSING")
        for index, code in enumerate(home_provinces):
            requests.province_code(code, f"home_province_codes[{index}]")
        if origin in home_provinces:
            raise InvalidArgument.for_field("origin_province_code", "is one of this deployment's provinces",
                                            reason="ORIGIN_IS_HOME")
        return sorted(set(home_provinces))

    async def _store(self, rows: Sequence[tuple[str, Fact]], origin: str, trace: str, now: datetime
                     ) -> tuple[int, int]:
        stored = await self._store_keyed(rows, origin, trace, now)
        new = sum(1 for (person_id, fact) in rows if stored[(person_id, fact.provenance)] == (fact.fact_id, True))
        return new, len(rows) - new

    async def _store_keyed(self, rows: Sequence[tuple[str, Fact]], origin: str, trace: str, now: datetime
                           ) -> dict[tuple[str, str], tuple[str, bool]]:
        """Stores the facts under the province's authority (record id: the fact's provenance) and decides
        their persons in the same transaction; per (person, record id): the stored fact id and whether new."""
        if not rows:
            return {}
        authority = inbound.peer_authority(origin)
        result: dict[tuple[str, str], tuple[str, bool]] = {}

        async def store(tx: StatusTransaction) -> None:
            sealed = [(person_id, fact.fact_id, authority, fact.provenance, inbound.PEER_PROVINCE,
                       self._keyring.seal(inbound.seal_fact_body(fact), inbound.fact_context(fact.fact_id)), None)
                      for person_id, fact in rows]
            stored = await tx.insert_facts(sealed, now)
            result.update({(person_id, record_id): value for (person_id, _, record_id), value in stored.items()})

        # The trace names the province (and batch) whose word made the change, in every audit entry.
        await self._decider.decide(sorted({person_id for person_id, _ in rows}), ChangeCause.PEER_PROVINCE,
                                 within=store, officers=Officers(trace_id=trace))
        return result
