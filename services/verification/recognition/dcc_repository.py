"""Verification's SQL for EU DCCs: the DCC trust list and DCC decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.verification.recognition.repository import DecisionRow


@dataclass(frozen=True)
class SignerRow:
    key_id: bytes
    country: str
    certificate: bytes
    not_before: datetime
    not_after: datetime


def _signer(row: asyncpg.Record) -> SignerRow:
    return SignerRow(bytes(row["key_id"]), row["country"], bytes(row["certificate"]), row["not_before"],
                     row["not_after"])


class DccRepository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add_signers(self, signers: Sequence[SignerRow], now: datetime) -> tuple[set[bytes], set[bytes]]:
        """(key ids stored now, key ids already held with the same certificate); any other key id of
        `signers` is held with a different certificate and is left as it is. One statement: a
        concurrent import of the same signer waits on its row and then finds it the same."""
        rows = await self.pool.fetch(
            """INSERT INTO verification.dcc_signers (key_id, country, certificate, not_before, not_after, import_time)
               SELECT * , $6::timestamptz
                 FROM unnest($1::bytea[], $2::text[], $3::bytea[], $4::timestamptz[], $5::timestamptz[])
               ON CONFLICT (key_id) DO UPDATE SET import_time = dcc_signers.import_time
                 WHERE dcc_signers.certificate = EXCLUDED.certificate
               RETURNING key_id, (xmax = 0) AS inserted""",
            [s.key_id for s in signers], [s.country for s in signers], [s.certificate for s in signers],
            [s.not_before for s in signers], [s.not_after for s in signers], now)
        stored = {bytes(row["key_id"]) for row in rows if row["inserted"]}
        return stored, {bytes(row["key_id"]) for row in rows} - stored

    async def signer(self, key_id: bytes) -> SignerRow | None:
        row = await self.pool.fetchrow("SELECT * FROM verification.dcc_signers WHERE key_id = $1", key_id)
        return _signer(row) if row else None

    async def signers_after(self, after_seq: int) -> list[SignerRow]:
        return [_signer(row) for row in await self.pool.fetch(
            "SELECT * FROM verification.dcc_signers WHERE change_seq > $1 ORDER BY key_id", after_seq)]

    async def record_decision(self, decision: DecisionRow, country: str | None, kind: str | None) -> None:
        await self.pool.execute(
            """INSERT INTO verification.decisions (verification_id, verify_time, checkpoint_id, area_code, decision,
                                                   reason, dcc_country, dcc_kind)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            decision.verification_id, decision.verify_time, decision.checkpoint_id, decision.area_code,
            decision.decision, decision.reason, country, kind)
