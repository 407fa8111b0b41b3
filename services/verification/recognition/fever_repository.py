"""Verification's SQL for fever reports to other provinces (the reports' outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.verification.recognition.model import FeverReport


@dataclass(frozen=True)
class QueuedFever:
    peer_address: str
    issuer_province: str
    attempts: int
    report: FeverReport


@dataclass(frozen=True)
class FeverRetry:
    report_id: str
    next_attempt: datetime
    error: str


class FeverRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def queue(self, queued: QueuedFever, now: datetime, lease_until: datetime) -> None:
        """A report, born claimed by the checkpoint that read it until `lease_until` (its first try)."""
        report = queued.report
        await self.pool.execute(
            """INSERT INTO verification.fever_reports (report_id, issuer_province, peer_address, reporter_province,
                   payload, reading_time, temperature, create_time, attempts, next_attempt_time)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9) ON CONFLICT DO NOTHING""",
            report.report_id, queued.issuer_province, queued.peer_address, report.reporter_province, report.payload,
            report.reading_time, report.temperature, now, lease_until)

    async def claim(self, now: datetime, lease_until: datetime, limit: int,
                    report_id: str | None = None) -> list[QueuedFever]:
        """Due reports, claimed until `lease_until` (replicas never claim the same row; a claim whose
        sender died is due again once its lease ends)."""
        rows = await self.pool.fetch(
            """WITH due AS (
                   SELECT report_id FROM verification.fever_reports
                   WHERE deliver_time IS NULL AND next_attempt_time <= $1 AND ($4::uuid IS NULL OR report_id = $4)
                   ORDER BY next_attempt_time LIMIT $3 FOR UPDATE SKIP LOCKED)
               UPDATE verification.fever_reports f SET next_attempt_time = $2, attempts = f.attempts + 1
               FROM due WHERE f.report_id = due.report_id
               RETURNING f.report_id::text, f.peer_address, f.issuer_province, f.attempts, f.reporter_province,
                   f.payload, f.reading_time, f.temperature""",
            now, lease_until, limit, report_id)
        return [QueuedFever(r["peer_address"], r["issuer_province"], r["attempts"],
                            FeverReport(r["report_id"], r["reporter_province"], r["payload"], r["reading_time"],
                                        r["temperature"]))
                for r in rows]

    async def settle(self, answered: Sequence[tuple[str, str]], retries: Sequence[FeverRetry], now: datetime) -> None:
        """Answered reports (id, "" or the issuer's refusal) are done; failed ones wait for their next try."""
        async with self.pool.acquire() as connection, connection.transaction():
            if answered:
                await connection.execute(
                    """UPDATE verification.fever_reports f SET deliver_time = $3, last_error = nullif(x.error, '')
                       FROM unnest($1::uuid[], $2::text[]) AS x(report_id, error)
                       WHERE f.report_id = x.report_id AND f.deliver_time IS NULL""",
                    [a for a, _ in answered], [e for _, e in answered], now)
            if retries:
                await connection.execute(
                    """UPDATE verification.fever_reports f SET next_attempt_time = x.next_time, last_error = x.error
                       FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS x(report_id, next_time, error)
                       WHERE f.report_id = x.report_id AND f.deliver_time IS NULL""",
                    [r.report_id for r in retries], [r.next_attempt for r in retries], [r.error for r in retries])

    async def purge(self, settled_before: datetime, read_before: datetime) -> int:
        """Reports answered before `settled_before`, and those read before `read_before` that never were
        (the issuer would refuse them as too old): the code payloads they hold go with them."""
        result = await self.pool.execute(
            "DELETE FROM verification.fever_reports WHERE deliver_time < $1 OR reading_time < $2",
            settled_before, read_before)
        return int(result.split()[-1])

    async def backlog(self) -> tuple[int, datetime | None]:
        row = await self.pool.fetchrow(
            "SELECT count(*) AS depth, min(create_time) AS oldest FROM verification.fever_reports "
            "WHERE deliver_time IS NULL")
        return row["depth"], row["oldest"]
