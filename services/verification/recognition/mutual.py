"""Mutual recognition: the trust list (own and peers' keys), agreements, red/yellow lists
exchanged between provinces, and the signed snapshots offline checkpoints verify with."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from services.colours import Colour
from services.runtime.clock import Clock
from services.runtime.errors import InvalidArgument, PermissionDenied, Unauthenticated, Unavailable
from services.runtime import requests
from services.runtime.logs import get_logger
from services.verification.recognition.checker import SIGNS_CODES, SIGNS_EXCHANGES, Agreement, Standing, TrustedKey, TrustView
from services.codes import is_p256_public_key, key_id_of
from services.verification.recognition.exchange import (MANIFEST, RISK_LIST, SNAPSHOT, TRUST_LIST, RiskRecord,
                                            risk_list_bytes, sign, verifies)
from services.verification.clients import LocalStatus
from services.verification.recognition.federation import PeerProvince, TrustListRefused
from services.verification.recognition.model import PeerTrustList, Rejection, Snapshot, StaleCode
from services.verification import signals
from services.verification.recognition.exchange_root import ExchangeRoot
from services.verification.recognition.outbox import Outbox
from services.verification.recognition.repository import (DELTA_OVERLAP, AgreementRow, KeyRow, SignedBatch,
                                              VerificationRepository)

log = get_logger(__name__)

MAX_RISK_RECORDS = 100_000
STATUS_PAGE = 1000  # records per RecordPeerListings call (status's limit)
MAX_RISK_LIFETIME = timedelta(days=30)
OUTBOX_KEEP = timedelta(days=1)
_BATCH_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
_REASON = re.compile(r"^[A-Z0-9_]{1,64}\Z")
_SOURCE = re.compile(r"^[a-z0-9-]{1,64}\Z")
_FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def check_risk_records(records: Sequence[RiskRecord], now: datetime) -> tuple[list[RiskRecord], list[Rejection]]:
    """The good records and why each bad one was refused (a bad record never sinks the batch)."""
    good, rejected = [], []
    for index, record in enumerate(records):
        problem = None
        if len(record.person_ref) != 16:
            problem = ("person_ref", "PERSON_REF_INVALID")
        elif not 0 <= record.list_sequence < 2 ** 63:
            problem = ("list_sequence", "LIST_SEQUENCE_INVALID")
        elif record.colour not in (Colour.GREEN, Colour.YELLOW, Colour.RED):
            # RED or YELLOW lists the person; GREEN delists them: the exporter's with the sequence it
            # lifts in, one published by hand ends the province's earlier hand records.
            problem = ("colour", "COLOUR_INVALID")
        elif not _REASON.match(record.reason):
            problem = ("reason", "REASON_INVALID")
        elif not _SOURCE.match(record.source):
            problem = ("source", "SOURCE_INVALID")
        elif not now < record.expire_time <= now + MAX_RISK_LIFETIME:
            problem = ("expire_time", "EXPIRE_TIME_INVALID")
        if problem:
            rejected.append(Rejection(index, f"records[{index}].{problem[0]}", problem[1]))
        else:
            good.append(record)
    return good, rejected


def _is_p256(key: KeyRow) -> bool:
    """Only well-formed P-256 keys enter the trust list: one bad key must not break every reload."""
    try:
        public = serialization.load_der_public_key(key.public_key)
    except ValueError:
        public = None
    if not is_p256_public_key(public):
        log.warning("trust_key_refused", province_code=key.province_code, key_id=key.key_id.hex())
        return False
    return True


class Recognition:
    def __init__(self, repository: VerificationRepository, status: LocalStatus, peers: Sequence[PeerProvince],
                 own_provinces: frozenset[str], exchange_key: ec.EllipticCurvePrivateKey, clock_skew: timedelta,
                 clock: Clock, outbox: Outbox | None = None, *, exchange_root: ExchangeRoot | None = None,
                 exchange_certificate: bytes = b"") -> None:
        self.repository = repository
        self.outbox = outbox or Outbox(repository, peers, clock)
        # The federation's exchange root: peers' exchange keys are kept only when it certified them.
        self.exchange_root = exchange_root
        # The root's certificate (DER) of our exchange key: sent with everything the key signs.
        self.exchange_certificate = exchange_certificate
        self.status = status
        self.peers = list(peers)
        self.own_provinces = own_provinces
        self.home_province = min(own_provinces)
        self._exchange_key = exchange_key
        self.exchange_key_id = key_id_of(exchange_key.public_key())
        if exchange_certificate:
            self.outbox.key_certificates[self.exchange_key_id] = exchange_certificate
        self._clock_skew = clock_skew
        self._clock = clock
        self.view = TrustView({}, own_provinces, {}, clock_skew)
        # Our trust-list version every peer was last told of.
        self._pushed_version = 0

    def now(self) -> datetime:
        return self._clock.now()

    def authorise_peer(self, caller: frozenset[str]) -> frozenset[str]:
        """The provinces a federation caller's certificate names, if it is one of our peers: never ours,
        and only provinces a configured peer speaks for."""
        if not caller:
            raise Unauthenticated(reason="PEER_CERTIFICATE_WITHOUT_PROVINCES",
                                  message="the client certificate names no province (healthcode://federation/<code>)")
        if caller & self.own_provinces:
            raise PermissionDenied(reason="PEER_CLAIMS_OWN_PROVINCE",
                                   message="the certificate names a province this deployment serves")
        known = frozenset().union(*(peer.province_codes for peer in self.peers))
        if not caller <= known:
            raise PermissionDenied(reason="PEER_UNKNOWN",
                                   message="the certificate names provinces this deployment has no peer for")
        return caller

    def peer_for(self, province_code: str) -> PeerProvince | None:
        return next((peer for peer in self.peers if province_code in peer.province_codes), None)

    # Trust list

    def _own_exchange_key(self) -> KeyRow:
        public = self._exchange_key.public_key()
        not_before, not_after = _EPOCH, _FOREVER
        if self.exchange_certificate:
            # Valid as long as the root certified it: peers hold it so.
            certificate = x509.load_der_x509_certificate(self.exchange_certificate)
            not_before, not_after = certificate.not_valid_before_utc, certificate.not_valid_after_utc
        return KeyRow(self.exchange_key_id, self.home_province, SIGNS_EXCHANGES,
                      public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
                      not_before, not_after, None)

    async def sync(self) -> tuple[int, list[str]]:
        """Pulls this deployment's signing keys from status and each peer's signed trust list; a peer
        speaks only for its configured provinces, and never for ours. A peer's list is applied only
        when correctly signed and newer than its last good one (which is kept otherwise)."""
        await self.refresh_own_keys()
        unreachable: list[str] = []
        for peer in self.peers:
            try:
                await self.pull_trust_list(peer)
            except Unavailable:
                unreachable += sorted(peer.province_codes)
        await self.reload()
        if unreachable:
            log.warning("trust_sync_peers_unreachable", provinces=unreachable)
        return len(self.view.keys), unreachable

    async def refresh_own_keys(self) -> None:
        """Our status's signing keys now (a short job: a new or revoked key reaches the checkpoints here at
        once), and when our trust list's version grew, every peer is told to pull it (push; their
        periodic pull is the backstop)."""
        keys = [key for key in await self.status.signing_keys() if key.province_code in self.own_provinces]
        keys.append(self._own_exchange_key())
        if await self.repository.upsert_keys([key for key in keys if _is_p256(key)]):
            await self.reload()
        version = await self.repository.trust_list_version(sorted(self.own_provinces))
        if version > self._pushed_version:
            results = await asyncio.gather(*(peer.notify_trust_list_changed(version) for peer in self.peers),
                                           return_exceptions=True)
            missed = [p for peer, result in zip(self.peers, results) if isinstance(result, Exception)
                      for p in sorted(peer.province_codes)]
            if missed:
                log.warning("trust_list_push_missed", provinces=missed, version=version)
            else:
                self._pushed_version = version

    async def pull_trust_list(self, peer: PeerProvince) -> bool:
        try:
            accepted = await self.accept_trust_list(peer, await peer.trust_list(self.exchange_root, self.now()))
        except TrustListRefused as refusal:
            log.warning("trust_list_refused", provinces=sorted(peer.province_codes), reason=refusal.reason)
            return False
        # A good list, newer or not: the peer's keys as this deployment holds them are current as of now.
        signals.trust_list_synced(peer.province_codes, self.now())
        return accepted

    async def trust_list_changed(self, caller: frozenset[str]) -> bool:
        """A peer says its list changed: pull it now from the peer its certificate speaks for."""
        peer = self.peer_for(min(caller))
        applied = await self.pull_trust_list(peer)
        if applied:
            await self.reload()
        return applied

    async def accept_trust_list(self, peer: PeerProvince, listed: PeerTrustList) -> bool:
        """Applies a peer's checked list if newer than the last good one; False (logged) if not."""
        keys = [key for key in listed.keys if key.province_code not in self.own_provinces and _is_p256(key)]
        if await self.repository.accept_peer_keys(peer.address, listed.version, keys, self.now()):
            return True
        known = await self.repository.peer_trust_version(peer.address)
        if known is not None and listed.version < known:
            log.warning("trust_list_version_lower", provinces=sorted(peer.province_codes), version=listed.version,
                        kept_version=known)
        return False

    async def reload(self) -> None:
        keys = {row.key_id: TrustedKey(row.key_id, row.province_code, row.purpose,
                                       serialization.load_der_public_key(row.public_key), row.not_before,
                                       row.not_after, row.revoke_time)
                for row in await self.repository.keys()}
        agreements = {row.issuer_province: Agreement(row.issuer_province, row.accepted_since,
                                                     {name: Colour(value) for name, value in row.colour_mapping.items()},
                                                     row.end_time)
                      for row in await self.repository.agreements()}
        self.view = TrustView(keys, self.own_provinces, agreements, self._clock_skew)
        signals.keys_expire((key.province_code, key.purpose, key.not_after, key.revoke_time) for key in keys.values())

    async def trust_list(self) -> tuple[int, frozenset[str], list[KeyRow], KeyRow]:
        """What peers pull from us: its version, our provinces' code-signing keys and our exchange key (from
        the read replica if there is one: a key a moment late reaches the peer at its next sync; a replica
        behind a list already served gives a lower version, which the peer refuses, keeping the newer)."""
        rows = [row for row in await self.repository.keys(replica=True)
                if row.purpose == SIGNS_CODES and row.province_code in self.own_provinces]
        version = await self.repository.trust_list_version(sorted(self.own_provinces), replica=True)
        return version, self.own_provinces, rows, self._own_exchange_key()

    def sign_risk_list(self, batch_id: str, province_code: str, records: Sequence[RiskRecord]) -> SignedBatch:
        """One signature over a whole batch (the exporter's: thousands of records, one ES256)."""
        payload = risk_list_bytes(batch_id, province_code, records)
        return SignedBatch(payload, self.exchange_key_id, sign(self._exchange_key, RISK_LIST, payload))

    def export_peer_addresses(self, now: datetime) -> list[str]:
        """The peers the exporter sends to: those speaking for a province we have an agreement with, in force."""
        agreed = {issuer for issuer, agreement in self.view.agreements.items()
                  if agreement.end_time is None or now < agreement.end_time}
        return sorted(peer.address for peer in self.peers if peer.province_codes & agreed)

    def sign_trust_list(self, document: bytes) -> bytes:
        return sign(self._exchange_key, TRUST_LIST, document)

    # Agreements

    async def set_agreement(self, issuer_province: str, accepted_since: datetime | None,
                            mapping: dict[str, int], end_time: datetime | None) -> AgreementRow:
        requests.province_code(issuer_province, "agreement.issuer_province_code")
        if issuer_province in self.own_provinces:
            raise InvalidArgument.for_field("agreement.issuer_province_code", "is this deployment's own province",
                                            reason="PROVINCE_IS_OWN")
        if accepted_since is None:
            raise InvalidArgument.for_field("agreement.accepted_since_time", "is required",
                                            reason="ACCEPTED_SINCE_MISSING")
        for name, colour in mapping.items():
            if not name or len(name) > 16 or not name.isascii() or not name.isalpha() or not name.islower():
                raise InvalidArgument.for_field(f"agreement.colour_mapping[{name}]", "must name a display colour "
                                                "(1 to 16 lower-case letters)", reason="COLOUR_MAPPING_INVALID")
            if colour not in (Colour.GREEN, Colour.YELLOW, Colour.RED):
                raise InvalidArgument.for_field(f"agreement.colour_mapping[{name}]", "must map to a national "
                                                "colour", reason="COLOUR_MAPPING_INVALID")
        stored = await self.repository.set_agreement(
            AgreementRow(issuer_province, accepted_since, dict(mapping), end_time), self.now())
        await self.reload()
        log.info("agreement_set", issuer_province=issuer_province, ended=end_time is not None)
        return stored

    # Red/yellow lists

    async def publish_risk_list(self, batch_id: str, records: Sequence[RiskRecord]
                                ) -> tuple[int, list[Rejection], list[str]]:
        """Our province's records: kept here, signed with our exchange key, and in the same transaction
        one outbox delivery per peer; delivered at once where the peer answers, by the outbox job
        (with backoff, until acknowledged) where not. A batch id published before changes nothing."""
        now = self.now()
        good, rejected = self._checked_batch(batch_id, records, now)
        payload = risk_list_bytes(batch_id, self.home_province, good)
        signed = SignedBatch(payload, self.exchange_key_id, sign(self._exchange_key, RISK_LIST, payload))
        published = await self.repository.publish_batch(batch_id, self.home_province, good, now, signed,
                                                        self.outbox.peer_addresses(), self.outbox.lease_until())
        if published is None:
            return 0, rejected, []
        stored, claimed = published
        delivered = (await self.outbox.deliver_claimed(claimed)).delivered
        addresses = {address for _, address in delivered}
        return stored, rejected, sorted(p for peer in self.peers if peer.address in addresses
                                        for p in peer.province_codes)

    async def receive_risk_list(self, batch_id: str, province_code: str, records: Sequence[RiskRecord],
                                key_id: bytes, signature: bytes, caller: frozenset[str], key_certificate: bytes = b""
                                ) -> tuple[int, bool, list[Rejection]]:
        """A peer's batch: accepted only from a caller whose certificate names its province, and
        only when signed by that province's exchange key."""
        if province_code not in caller:
            raise PermissionDenied(reason="PROVINCE_NOT_IN_CERTIFICATE",
                                   message="the batch's province is not one the caller's certificate names")
        public_key = await self._exchange_key_of(province_code, key_id, key_certificate)
        if not verifies(public_key, RISK_LIST, risk_list_bytes(batch_id, province_code, records), signature):
            raise PermissionDenied(reason="SIGNATURE_INVALID", message="the batch's signature does not verify")
        now = self.now()
        good, rejected = self._checked_batch(batch_id, records, now)
        stored = await self.repository.store_risk_batch(batch_id, province_code, good, now)
        log.info("risk_list_received", province_code=province_code, records=len(good), duplicate=stored is None)
        # A resend of a batch status has not taken whole goes on from where it stopped, as first received.
        progress = (0, now) if stored is not None else await self.repository.status_pages_done(province_code, batch_id)
        if progress is not None:
            await self._reach_our_persons(batch_id, province_code, records, {r.index for r in rejected}, *progress)
        return stored or 0, stored is None, rejected

    async def _reach_our_persons(self, batch_id: str, province_code: str, records: Sequence[RiskRecord],
                                 rejected: set[int], done: int, received: datetime) -> None:
        """The batch's good records go to our status, which keeps those about our persons as facts of
        the province (外省推送红码), a page of 1000 a call, from page `done` on. Until status has taken them
        all the batch is not acknowledged (Unavailable): the sender's outbox sends it again, and this goes
        on from the page it stopped at (the pages of a validly signed batch are the same every time)."""
        indexed = [(index, record) for index, record in enumerate(records) if index not in rejected]
        pages = [indexed[start:start + STATUS_PAGE] for start in range(0, len(indexed), STATUS_PAGE)]
        for number in range(done, len(pages)):
            await self.status.record_peer_listings(province_code, batch_id, received, sorted(self.own_provinces),
                                                   pages[number])
            await self.repository.mark_status_pages(province_code, batch_id, number + 1, None)
        await self.repository.mark_status_pages(province_code, batch_id, len(pages), self.now())

    async def _exchange_key_of(self, province_code: str, key_id: bytes, certificate: bytes
                               ) -> ec.EllipticCurvePublicKey:
        """The province's exchange key that signed a batch: one we hold, or a rotated one the batch's
        certificate shows the federation's exchange root certified (then kept, as a trust list would)."""
        key = self.view.keys.get(key_id)
        if province_code in self.own_provinces:
            pass  # nobody speaks for our provinces but us
        elif key is not None:
            if key.purpose == SIGNS_EXCHANGES and key.province_code == province_code:
                return key.public_key
        elif certificate and self.exchange_root is not None:
            certified = self.exchange_root.certified(certificate, self.now())
            if certified.key_id == key_id and province_code in certified.provinces:
                await self.repository.upsert_keys([KeyRow(key_id, province_code, SIGNS_EXCHANGES, certified.public_der,
                                                          certified.not_before, certified.not_after, None)])
                await self.reload()
                log.info("exchange_key_certified", province_code=province_code, key_id=key_id.hex())
                return certified.public_key
        raise PermissionDenied(reason="EXCHANGE_KEY_UNKNOWN",
                               message="the batch is not signed by a known or certified exchange key of its province")

    @staticmethod
    def _checked_batch(batch_id: str, records: Sequence[RiskRecord], now: datetime
                       ) -> tuple[list[RiskRecord], list[Rejection]]:
        if not _BATCH_ID.match(batch_id):
            raise InvalidArgument.for_field("batch_id", "must be 1 to 128 of A-Z, a-z, 0-9, '.', '_', ':', '-'",
                                            reason="BATCH_ID_INVALID")
        if len(records) > MAX_RISK_RECORDS:
            raise InvalidArgument.for_field("records", f"at most {MAX_RISK_RECORDS} per batch",
                                            reason="TOO_MANY_RECORDS")
        return check_risk_records(records, now)

    # Offline snapshots and peers' questions

    async def snapshot(self, since_version: int) -> Snapshot:
        if since_version < 0:
            raise InvalidArgument.for_field("since_version", "must not be negative", reason="VERSION_INVALID")
        now = self.now()
        version = await self.repository.change_version()
        after = max(0, since_version - DELTA_OVERLAP) if since_version else 0
        signals.snapshot_issued(now)
        return Snapshot(
            version=version, base_version=since_version, issue_time=now, own_provinces=self.own_provinces,
            keys=await self.repository.keys(after), agreements=await self.repository.agreements(after),
            risk_records=await self.repository.risk_records(after, now),
            stale_codes=[code for code in await self.all_stale_codes() if code.expire_time > now],
            clock_skew=self._clock_skew)

    async def all_stale_codes(self) -> list[StaleCode]:
        """Ours and every peer's: an offline device cannot ask an issuer about a code."""
        codes = await self.status.stale_codes()
        for peer in self.peers:
            try:
                codes += await peer.stale_codes()
                signals.peer_snapshot(peer.province_codes, self.now())
            except Unavailable:
                # The device then passes such a code until its next snapshot: logged, and short-lived (60 s).
                log.warning("stale_codes_unavailable", provinces=sorted(peer.province_codes))
                signals.peer_snapshot(peer.province_codes, None)
        return codes

    async def stale_codes(self) -> list[StaleCode]:
        """What a peer asks for: our status's stale, unexpired codes."""
        now = self.now()
        return [code for code in await self.status.stale_codes() if code.expire_time > now]

    async def agreements(self) -> list[AgreementRow]:
        return await self.repository.agreements()

    def sign_snapshot(self, serialized: bytes) -> bytes:
        return sign(self._exchange_key, SNAPSHOT, serialized)

    def sign_manifest(self, document: bytes) -> bytes:
        return sign(self._exchange_key, MANIFEST, document)

    async def standings_for_peer(self, code_ids: Sequence[bytes]) -> list[Standing]:
        standings = await self.status.standings(code_ids)
        if standings is None:
            raise Unavailable(reason="STATUS_UNAVAILABLE", message="status could not be asked; retry")
        return standings

    async def purge(self) -> None:
        purged = await self.repository.purge_expired_records(self.now())
        # Acknowledged batches leave the outbox after a day (kept that long for inspection); undelivered stay.
        sent = await self.repository.purge_delivered_batches(self.now() - OUTBOX_KEEP)
        log.info("risk_records_purged", records=purged, outbox_batches=sent)

