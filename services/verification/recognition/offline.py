"""Offline verification on a checkpoint device: a signed snapshot (then deltas) and the same
check the service runs. No call to the service while verifying.

Two forms of snapshot: the one-message `GetOfflineSnapshot` (`apply`), for small deployments, and
the partitioned one (`sync`): a signed manifest, then only the partitions whose digest differs from
what the device holds, brought up to date by the changes since its version where that suffices."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from healthcode.verification.v1 import verification_pb2 as pb

from services import areas
from services.codes import dcc
from services.colours import Colour
from services.runtime.timestamps import answer_datetime, optional_answer_datetime, to_timestamp
from services.verification.recognition import partitions
from services.verification.recognition.checker import (
    Agreement,
    Decision,
    Examined,
    Standing,
    TrustedKey,
    TrustView,
    Verdict,
    conclude,
    examine,
)
from services.verification.recognition.dcc_check import check_dcc
from services.verification.recognition.dcc_checkpoint import verdict_of
from services.verification.recognition.dcc_rules import Rule, load_rules
from services.verification.recognition.exchange import MANIFEST, SNAPSHOT, manifest_from_bytes, moment_of, verifies
from services.verification.recognition.exchange_root import ExchangeRoot, KeyNotCertified

_PARALLEL_FETCHES = 4


@dataclass(frozen=True)
class SyncReport:
    version: int
    # Partitions brought up to date from the changes, and those fetched whole.
    patched: int
    fetched: int


class SnapshotRejected(Exception):
    """The snapshot is not signed by the deployment the device trusts, or does not fit what it holds."""


class OfflineCheckpoint:
    """What a device holds: the trust view, stale codes and red/yellow records from snapshots signed by
    its deployment's exchange key: the key configured on the device, or, given the federation's exchange
    root and the device's provinces, whichever key the root certified for one of them (so a rotated
    exchange key is taken, and an uncertified one refused)."""

    def __init__(self, exchange_key: ec.EllipticCurvePublicKey | None, max_age: timedelta,
                 dcc_rules: tuple[Rule, ...] | None = None, *, exchange_root: ExchangeRoot | None = None,
                 provinces: frozenset[str] = frozenset()) -> None:
        if exchange_key is None and (exchange_root is None or not provinces):
            raise ValueError("a device trusts its deployment's exchange key, or the exchange root and its provinces")
        self._exchange_key = exchange_key
        self._exchange_root = exchange_root
        self._provinces = provinces
        self._dcc_rules = load_rules() if dcc_rules is None else dcc_rules
        self._dcc_signers: dict[bytes, dcc.SignerCertificate] = {}
        self._max_age = max_age
        self.version = 0
        self._issue_time: datetime | None = None
        self._keys: dict[bytes, TrustedKey] = {}
        self._agreements: dict[str, Agreement] = {}
        self._own: frozenset[str] = frozenset()
        self._stale: dict[bytes, datetime] = {}
        self._listed: dict[bytes, set[tuple[Colour, str, str, datetime]]] = {}
        self._skew = timedelta(0)
        # The partitioned form: each partition's sorted records and their digest.
        self._parts: list[bytes] = [b""] * partitions.PARTITIONS
        self._digests: list[bytes] = [partitions.EMPTY_DIGEST] * partitions.PARTITIONS

    async def sync(self, verifier) -> SyncReport:
        """Brings the device up to date from a VerificationService stub: the signed manifest, then the
        changes since the version held (for the partitions they fix) and whole partitions (for the rest);
        every partition is checked against the manifest's digest. All or nothing: on SnapshotRejected
        (or a failed call) the device keeps what it held."""
        response = await verifier.GetOfflineManifest(pb.GetOfflineManifestRequest())
        if not verifies(self._exchange_key, MANIFEST, response.manifest, response.signature):
            raise SnapshotRejected("the manifest's signature does not verify")
        manifest = manifest_from_bytes(response.manifest)
        issue_time = moment_of(manifest.issue_ms)
        if manifest.version < self.version or (self._issue_time is not None and issue_time < self._issue_time):
            raise SnapshotRejected("the manifest is older than the snapshot held")
        cutoff = manifest.issue_ms // 1000
        as_of = {"as_of_version": manifest.version, "as_of_time": to_timestamp(issue_time)}
        parts, digests = list(self._parts), list(self._digests)
        differing = [p for p, (_, expected) in enumerate(manifest.partitions) if digests[p] != expected]
        patched = 0
        if differing and self.version:
            changes: dict[int, list[bytes]] = defaultdict(list)
            token = ""
            while True:
                page = await verifier.ListSnapshotChanges(pb.ListSnapshotChangesRequest(
                    since_version=self.version, page_token=token, **as_of))
                for item in partitions.records_of(page.records):
                    changes[item[0]].append(item)
                token = page.next_page_token
                if not token:
                    break
            for p in differing:
                candidate = partitions.merged(parts[p], changes.get(p, []), cutoff)
                if partitions.digest(candidate) == manifest.partitions[p][1]:
                    parts[p], digests[p] = candidate, manifest.partitions[p][1]
                    patched += 1
        missing = [p for p in differing if digests[p] != manifest.partitions[p][1]]
        limit = asyncio.Semaphore(_PARALLEL_FETCHES)

        async def fetch(p: int) -> None:
            async with limit:
                data = (await verifier.GetSnapshotPartition(pb.GetSnapshotPartitionRequest(
                    partition=p, **as_of))).records
            try:
                partitions.check_partition(data, p)
            except partitions.PartitionInvalid as invalid:
                raise SnapshotRejected(f"partition {p}: {invalid}") from None
            if partitions.digest(data) != manifest.partitions[p][1]:
                # Also what a record committed after the manifest was built looks like: sync again.
                raise SnapshotRejected(f"partition {p} does not match the manifest's digest")
            parts[p], digests[p] = data, manifest.partitions[p][1]

        await asyncio.gather(*(fetch(p) for p in missing))
        self._parts, self._digests = parts, digests
        self._listed = {}
        self._keys = {bytes(k[0]): TrustedKey(bytes(k[0]), k[1], k[2], serialization.load_der_public_key(k[3]),
                                               moment_of(k[4]), moment_of(k[5]), moment_of(k[6]))
                      for k in manifest.keys}
        self._agreements = {a[0]: Agreement(a[0], moment_of(a[1]), {name: Colour(c) for name, c in a[2].items()},
                                            moment_of(a[3])) for a in manifest.agreements}
        self._stale = {bytes(code_id): moment_of(expire) for code_id, expire in manifest.stale}
        self._dcc_signers = {}
        for der, country in manifest.dcc:
            held = dcc.signer_from_der(der, country)
            self._dcc_signers[held.key_id] = held
        self._own = frozenset(manifest.provinces)
        self._skew = timedelta(seconds=manifest.skew_seconds)
        self._issue_time = issue_time
        self.version = manifest.version
        return SyncReport(manifest.version, patched, len(missing))

    def _signer(self, response: pb.GetOfflineSnapshotResponse, now: datetime) -> ec.EllipticCurvePublicKey:
        if self._exchange_key is not None:
            return self._exchange_key
        try:
            certified = self._exchange_root.certified(bytes(response.key_certificate), now)
        except KeyNotCertified as refusal:
            raise SnapshotRejected(refusal.message) from None
        if certified.key_id.hex() != response.key_id or not certified.provinces & self._provinces:
            raise SnapshotRejected("the snapshot's key is not certified for this device's provinces")
        return certified.public_key

    def apply(self, response: pb.GetOfflineSnapshotResponse, now: datetime | None = None) -> None:
        """Takes a whole snapshot or a delta after the version held; refuses anything unsigned (`now`: the
        device's time, to judge the exchange key's certificate; the real time if not given)."""
        signer = self._signer(response, now or datetime.now(UTC))
        if not verifies(signer, SNAPSHOT, response.snapshot, response.signature):
            raise SnapshotRejected("the snapshot's signature does not verify")
        snapshot = pb.OfflineSnapshot.FromString(response.snapshot)
        if snapshot.base_version not in (0, self.version):
            raise SnapshotRejected(f"a delta after version {snapshot.base_version}, but version {self.version} "
                                   "is held")
        if snapshot.base_version == 0:
            self._keys, self._agreements, self._listed, self._dcc_signers = {}, {}, {}, {}
            self._parts = [b""] * partitions.PARTITIONS
            self._digests = [partitions.EMPTY_DIGEST] * partitions.PARTITIONS
        for signer in snapshot.dcc_signers:
            held = dcc.signer_from_der(signer.certificate, signer.country_code)
            self._dcc_signers[held.key_id] = held
        for key in snapshot.keys:
            key_id = bytes.fromhex(key.key_id)
            self._keys[key_id] = TrustedKey(
                key_id, key.province_code, key.purpose, serialization.load_der_public_key(key.public_key),
                answer_datetime(key.not_before_time), answer_datetime(key.not_after_time),
                optional_answer_datetime(key, "revoke_time"))
        for agreement in snapshot.agreements:
            self._agreements[agreement.issuer_province_code] = Agreement(
                agreement.issuer_province_code, answer_datetime(agreement.accepted_since_time),
                {name: Colour(value) for name, value in agreement.colour_mapping.items()},
                optional_answer_datetime(agreement, "end_time"))
        for record in snapshot.risk_records:
            expires = answer_datetime(record.expire_time)
            self._listed.setdefault(bytes(record.person_ref), set()).add(
                (Colour(record.colour), record.reason, record.source, expires))
        self._stale = {bytes.fromhex(code.code_id): answer_datetime(code.expire_time) for code in snapshot.stale_codes}
        self._own = frozenset(snapshot.own_province_codes)
        self._skew = timedelta(seconds=snapshot.clock_skew_seconds)
        self._issue_time = answer_datetime(snapshot.issue_time)
        self.version = snapshot.version

    def verify(self, payload: str, now: datetime, temperature: Decimal | None = None,
               test_within: timedelta | None = None, area_code: str | None = None) -> Verdict:
        """`test_within`: the checkpoint's test requirement (a negative sample at most this old).
        `area_code` (the device's place) picks the DCC acceptance rules; without it a DCC is
        checked against the rules of the one province served, if one, else asks for a manual check."""
        if self._issue_time is None or now - self._issue_time > self._max_age:
            return Verdict(Decision.CHECK_MANUALLY, "SNAPSHOT_TOO_OLD")
        if payload.startswith(dcc.HC1_PREFIX):
            province = areas.province_code_of(area_code) if area_code else (
                next(iter(self._own)) if len(self._own) == 1 else None)
            if province is None:
                return Verdict(Decision.CHECK_MANUALLY, "AREA_UNKNOWN")
            return verdict_of(check_dcc(payload, self._dcc_signers, self._dcc_rules, province, now, self._skew,
                                        temperature, test_within))
        view = TrustView(self._keys, self._own, self._agreements, self._skew)
        examined = examine(payload, view, now)
        if not isinstance(examined, Examined):
            return examined
        claims = examined.code.claims
        stale_until = self._stale.get(claims.code_id)
        # Online, status answers for every unexpired code it issued: current unless listed stale.
        standing = Standing.STALE if stale_until is not None and stale_until > now else Standing.CURRENT
        listed = max((colour for colour, _, _, expires in self._listed.get(claims.person_ref, ())
                      if expires > now), default=None)
        partitioned = partitions.PartitionView(self._parts[claims.person_ref[0]]).most_severe(
            claims.person_ref, now.timestamp())
        if partitioned is not None and (listed is None or partitioned > listed):
            listed = partitioned
        return conclude(examined, view, standing, listed, temperature, now, test_within)
