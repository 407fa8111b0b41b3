"""Verification's SQL for venues and visits: registration, scans, contact tracing and the purge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from services.verification.venues.model import VenueCategory, VenueRecord, VisitRecord

_VENUE_COLUMNS = "venue_id::text, name, area_code, category, create_time"
_VISIT_COLUMNS = "visit_id::text, person_id::text, venue_id::text, visit_time, flagged"

# Everyone else with an unflagged visit at a venue within ±window (inclusive) of an
# unflagged visit one of the sources made from their own start time on, with when they first
# met: the sources' visits come from the primary key, the others' from visits_venue_time alone
# (index-only). A contact's own contacts are traced from that first meeting, not before it.
_CONTACTS_SQL = """
    WITH sources AS (
        SELECT * FROM unnest($1::uuid[], $2::timestamptz[]) AS s(person_id, since)
    ), traced AS (
        SELECT v.venue_id, v.visit_time
        FROM verification.visits v JOIN sources s ON v.person_id = s.person_id
        WHERE v.visit_time >= s.since AND NOT v.flagged
    )
    SELECT other.person_id::text, min(other.visit_time) AS first_met
    FROM traced
    JOIN verification.visits other
      ON other.venue_id = traced.venue_id
     AND other.visit_time BETWEEN traced.visit_time - $3::interval AND traced.visit_time + $3::interval
    WHERE NOT other.flagged AND other.person_id <> ALL($4::uuid[])
    GROUP BY other.person_id
    ORDER BY 1"""


def _venue(row: asyncpg.Record) -> VenueRecord:
    return VenueRecord(venue_id=row["venue_id"], name=row["name"], area_code=row["area_code"],
                       category=VenueCategory(row["category"]), create_time=row["create_time"])


def _visit(row: asyncpg.Record) -> VisitRecord:
    return VisitRecord(visit_id=row["visit_id"], person_id=row["person_id"], venue_id=row["venue_id"],
                       visit_time=row["visit_time"], flagged=row["flagged"])


class VenueRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    # Venues

    async def insert_venue(self, venue: VenueRecord, request_id: str | None) -> VenueRecord | None:
        """The stored venue, or None when `request_id` was already used (then find that one)."""
        row = await self._pool.fetchrow(
            f"""INSERT INTO verification.venues (venue_id, name, area_code, category, request_id, create_time)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (request_id) DO NOTHING
                RETURNING {_VENUE_COLUMNS}""",
            venue.venue_id, venue.name, venue.area_code, int(venue.category), request_id, venue.create_time)
        return _venue(row) if row else None

    async def find_venue_by_request(self, request_id: str) -> VenueRecord | None:
        row = await self._pool.fetchrow(
            f"SELECT {_VENUE_COLUMNS} FROM verification.venues WHERE request_id = $1", request_id)
        return _venue(row) if row else None

    async def get_venue(self, venue_id: str) -> VenueRecord | None:
        row = await self._pool.fetchrow(
            f"SELECT {_VENUE_COLUMNS} FROM verification.venues WHERE venue_id = $1", venue_id)
        return _venue(row) if row else None

    # Visits

    async def insert_visit(self, visit: VisitRecord, request_id: str | None) -> bool:
        """Stores the visit in one statement; False when the venue is unknown or the
        person already used `request_id` (then find that visit)."""
        stored = await self._pool.fetchval(
            """INSERT INTO verification.visits (person_id, visit_time, venue_id, visit_id, flagged, request_id)
               SELECT $1, $2, venue_id, $4, $5, $6 FROM verification.venues WHERE venue_id = $3
               ON CONFLICT (person_id, request_id) WHERE request_id IS NOT NULL DO NOTHING
               RETURNING true""",
            visit.person_id, visit.visit_time, visit.venue_id, visit.visit_id, visit.flagged, request_id)
        return bool(stored)

    async def find_visit_by_request(self, person_id: str, request_id: str) -> VisitRecord | None:
        row = await self._pool.fetchrow(
            f"""SELECT {_VISIT_COLUMNS} FROM verification.visits
                WHERE person_id = $1 AND request_id = $2""", person_id, request_id)
        return _visit(row) if row else None

    async def contacts(self, sources: Sequence[tuple[str, datetime]], window: timedelta,
                       excluding: Sequence[str]) -> dict[str, datetime]:
        """Persons, not in `excluding`, who shared a venue within ±`window` with an unflagged
        visit a source made at or after its own time, each with when they first met; flagged
        visits count for neither side."""
        if not sources:
            return {}
        rows = await self._pool.fetch(_CONTACTS_SQL, [s[0] for s in sources], [s[1] for s in sources], window,
                                      list(excluding))
        return {row[0]: row[1] for row in rows}

    async def purge_visits(self, before: datetime) -> int:
        """Deletes visits made before `before`; returns how many."""
        status = await self._pool.execute("DELETE FROM verification.visits WHERE visit_time < $1", before)
        return int(status.split()[-1])
