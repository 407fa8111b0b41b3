"""The partitioned offline snapshot: a signed manifest (everything small whole, a digest per
partition of the red/yellow records) and the partitions or the changes since a version, so a
device of a million-record deployment bootstraps in pages and then fetches only what changed."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.runtime import requests
from services.runtime.errors import InvalidArgument
from services.runtime.paging import Cursor
from services.verification.recognition import partitions
from services.verification.recognition.dcc_trust import DccTrust
from services.verification.recognition.exchange import Manifest, manifest_bytes, milliseconds, moment_of
from services.verification.recognition.mutual import Recognition
from services.verification.recognition.repository import DELTA_OVERLAP

MAX_CHANGES_PAGE = 50_000  # ~1 MB of records: well within the 8 MB message cap
# A manifest is rebuilt in the background when the records changed, at most this often (one build
# reads every record); a device gets the last one built, a few seconds behind.
DEFAULT_MANIFEST_REUSE_SECONDS = 5.0
_MANIFEST_MAX_AGE = timedelta(seconds=60)
# ListSnapshotChanges pages by the last record sent (records sort as bytes). A page token lives for one
# sync (the device keeps the manifest's version across syncs, never a token), so it is a plain page token.
CHANGES_PAGES = Cursor("snapshot_changes", bytes)


@dataclass(frozen=True)
class SignedManifest:
    manifest: Manifest
    document: bytes
    signature: bytes
    key_id: bytes


class OfflineSnapshots:
    def __init__(self, recognition: Recognition, dcc_trust: DccTrust | None = None,
                 reuse_seconds: float = DEFAULT_MANIFEST_REUSE_SECONDS) -> None:
        self._recognition = recognition
        self._repository = recognition.repository
        self._dcc_trust = dcc_trust
        self._reuse_seconds = reuse_seconds
        self._built: tuple[float, SignedManifest] | None = None
        self._building = asyncio.Lock()
        self._pending: asyncio.Future[SignedManifest] | None = None

    async def manifest(self) -> SignedManifest:
        """The latest manifest built. A build reads every record (seconds at a million), so with a reuse
        interval set it happens in the background (`refresh`) and a device never waits for it, but for
        the very first; with none (tests), every request builds its own."""
        if self._reuse_seconds > 0 and self._built is not None:
            return self._built[1]
        return await self.refresh()

    async def refresh(self) -> SignedManifest:
        """Builds a manifest when the records changed since the last one (or it is a minute old). The build
        runs on by itself when the caller who started it gives up (a deadline): the next one gets it."""
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(self._refresh())
        return await asyncio.shield(self._pending)

    async def _refresh(self) -> SignedManifest:
        async with self._building:
            version = await self._repository.change_version()
            if self._built is not None:
                built_at, held = self._built
                issued_ago = self._recognition.now() - moment_of(held.manifest.issue_ms)
                if time.monotonic() - built_at < self._reuse_seconds or (
                        held.manifest.version == version and issued_ago < _MANIFEST_MAX_AGE):
                    return held
            signed = await self._build(version)
            self._built = (time.monotonic(), signed)
            return signed

    async def _build(self, version: int) -> SignedManifest:
        recognition = self._recognition
        now = recognition.now()
        # Whole seconds: the cutoff partitions are read with, as the device gets it back.
        as_of = now.replace(microsecond=0)
        digests = await self._repository.partition_digests(version, as_of)
        keys = await self._repository.keys()
        agreements = await self._repository.agreements()
        stale = [code for code in await recognition.all_stale_codes() if code.expire_time > now]
        signers = await self._dcc_trust.signers_since(0) if self._dcc_trust is not None else []
        manifest = Manifest(
            version=version, issue_ms=milliseconds(as_of), provinces=tuple(sorted(recognition.own_provinces)),
            skew_seconds=int(recognition.view.clock_skew.total_seconds()),
            keys=tuple((k.key_id, k.province_code, k.purpose, k.public_key, milliseconds(k.not_before),
                        milliseconds(k.not_after), milliseconds(k.revoke_time)) for k in keys),
            agreements=tuple((a.issuer_province, milliseconds(a.accepted_since), dict(a.colour_mapping),
                              milliseconds(a.end_time)) for a in agreements),
            stale=tuple((c.code_id, milliseconds(c.expire_time)) for c in stale),
            dcc=tuple((s.certificate, s.country) for s in signers),
            partitions=tuple(digests.get(p, (0, partitions.EMPTY_DIGEST)) for p in range(partitions.PARTITIONS)))
        document = manifest_bytes(manifest)
        return SignedManifest(manifest, document, recognition.sign_manifest(document),
                              recognition.exchange_key_id)

    async def partition(self, partition: int, as_of_version: int, as_of: datetime | None) -> bytes:
        if not 0 <= partition < partitions.PARTITIONS:
            raise InvalidArgument.for_field("partition", "must be from 0 to 255", reason="PARTITION_INVALID")
        return await self._repository.partition_records(partition, _version(as_of_version, "as_of_version"),
                                                        _as_of(as_of))

    async def changes(self, since_version: int, as_of_version: int, as_of: datetime | None, page_size: int,
                      page_token: str) -> tuple[bytes, str]:
        since = _version(since_version, "since_version")
        until = _version(as_of_version, "as_of_version")
        if page_size < 0:
            raise InvalidArgument.for_field("page_size", "must not be negative", reason="PAGE_SIZE_INVALID")
        limit = min(page_size or MAX_CHANGES_PAGE, MAX_CHANGES_PAGE)
        (after,) = CHANGES_PAGES.after(page_token) or (b"",)
        if page_token and len(after) != partitions.RECORD_BYTES:
            raise requests.invalid_page_token()
        # Rows drawn a little before the device's version may have committed after it: sent again.
        records, count = await self._repository.changed_records(max(0, since - DELTA_OVERLAP), until,
                                                                _as_of(as_of), after, limit)
        return records, (CHANGES_PAGES.token(records[-partitions.RECORD_BYTES:]) if count == limit else "")


def _version(value: int, field_path: str) -> int:
    if value < 0:
        raise InvalidArgument.for_field(field_path, "must not be negative", reason="VERSION_INVALID")
    return value


def _as_of(moment: datetime | None) -> datetime:
    if moment is None:
        raise InvalidArgument.for_field("as_of_time", "is required (the manifest's issue time)",
                                        reason="AS_OF_TIME_MISSING")
    return moment.astimezone(UTC)
