"""The audit chains: each status change is bound to the one before it in its chain by a keyed hash.

entry_hash = HMAC-SHA256(key, previous_hash || canonical entry). A plain hash chain can
be recomputed by whoever can write the table; with the key held outside the database,
an edited, inserted or deleted row cannot be re-chained without it. Cutting the tail
is caught by comparing the heads with ones recorded elsewhere (the service logs them).

There is one chain per shard of persons (AUDIT_SHARDS, a person's shard fixed by their id), so
decisions for persons of different shards append at once instead of queueing on one head until
commit. Seqs are one numbering over every chain, drawn while the shard's head is locked: within a
chain they only grow, so a chain is read in seq order, and a person's entries are all in one chain.

The chain protects the log; the row that is served is protected by a binding: a MAC under a
key derived from the same secret over the served fields and the seq of the entry that
recorded the version. A status edited in SQL fails its binding and is decided again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.status.model import Status, reasons_to_json

AUDIT_SHARDS = 16  # the rows of status.audit_head (migration 0012); changing it moves persons between chains


def shard_of(person_id: str) -> int:
    """The chain a person's entries are appended to."""
    return uuid.UUID(person_id).int % AUDIT_SHARDS


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    person_id: str
    version: int
    change_time: datetime
    previous_colour: int          # 0 for the first status
    colour: int
    display_colour: str
    reasons: list[dict]           # as stored: code, key, since, until, detail (and progress, when a release has one)
    cause: int
    rule_province: str
    rule_version: int
    officer_ids: tuple[str, ...] = ()
    legal_basis: str = ""
    trace_id: str = ""            # a contact trace's id (cause CONTACT_TRACE)
    # A keyed digest of `reasons` (AuditChain.detail_digest): what the chain covers in their place,
    # so they can be reduced after the retention without breaking it. Empty on entries written
    # before minimisation existed (their chain covers the reasons themselves).
    detail_digest: bytes = b""
    reduced: bool = False         # reasons reduced to keyed digests: [{"digest": hex}, ...]
    correction_id: str = ""       # the correction that made it (cause CORRECTION)
    shard: int = 0                # the chain it is in (entries written before shards are all in shard 0's)

    def canonical(self) -> bytes:
        """A byte form that does not depend on how the database hands values back. A trace id (and a
        correction id) is appended only when there is one, and the reasons stand in themselves when there is no
        detail digest, so entries written before either chain as before."""
        fields = [
            self.seq, self.person_id, self.version, self.change_time.timestamp(), self.previous_colour,
            self.colour, self.display_colour, self.detail_digest.hex() if self.detail_digest else self.reasons,
            self.cause, self.rule_province, self.rule_version, list(self.officer_ids), self.legal_basis]
        if self.trace_id:
            fields.append(self.trace_id)
        if self.correction_id:
            fields.append(["correction", self.correction_id])
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class AuditChain:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the audit key must be at least 32 bytes")
        self._key = key
        # A key of its own for status bindings, so a binding can never be passed off as a chain link.
        self._binding_key = hmac.new(key, b"healthcode.status.binding", hashlib.sha256).digest()
        # Keys of their own for the digest the chain covers and for the digests a reduced entry keeps.
        self._detail_key = hmac.new(key, b"healthcode.status.audit-detail", hashlib.sha256).digest()
        self._reduced_key = hmac.new(key, b"healthcode.status.audit-reduced", hashlib.sha256).digest()

    def detail_digest(self, reasons: list[dict]) -> bytes:
        """The keyed digest of an entry's reasons that the chain covers in their place."""
        return hmac.new(self._detail_key, _canonical_json(reasons), hashlib.sha256).digest()

    def reduced(self, reasons: list[dict]) -> list[dict]:
        """An entry's reasons past retention: each reduced to a keyed digest. Whoever holds the key and
        a candidate reason (a stay's area, a diagnosis, a record id) can still confirm it was the one;
        nobody can read it back."""
        return [{"digest": hmac.new(self._reduced_key, _canonical_json(reason), hashlib.sha256).hexdigest()}
                for reason in reasons]

    def bind(self, status: Status) -> bytes:
        """The MAC that ties a served status (every field a reader or a code sees, its version and
        the audit entry that recorded that version) to the chain's key."""
        decision = status.decision
        fields = [
            status.person_id, status.version, status.audit_seq, int(decision.colour), decision.display,
            reasons_to_json(decision.reasons), decision.rule_province, decision.rule_version,
            status.compute_time.timestamp(), decision.valid_until.timestamp(),
            decision.next_change_time.timestamp() if decision.next_change_time else None]
        if decision.negative_test_time is not None:
            # Appended only when there is one, so rows bound before test results existed still verify.
            fields.append(decision.negative_test_time.timestamp())
        served = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
        return hmac.new(self._binding_key, served, hashlib.sha256).digest()

    def binds(self, status: Status) -> bool:
        """Whether the stored status is the one this service wrote (False when edited or unbound)."""
        return (status.binding is not None and status.audit_seq is not None
                and hmac.compare_digest(self.bind(status), status.binding))

    def link(self, previous_hash: bytes, entry: AuditEntry) -> bytes:
        return hmac.new(self._key, previous_hash + entry.canonical(), hashlib.sha256).digest()

    def find_breaks(self, rows: Iterable[tuple[AuditEntry, bytes, bytes]], start_hash: bytes = b"",
                    start_seq: int = 0) -> list[str]:
        """Problems in one chain read in seq order as (entry, previous_hash, entry_hash), after the
        entry `start_seq` whose hash is `start_hash`; empty when every row is intact and none is missing.
        Seqs have gaps within a chain (the other chains' entries, an aborted append): a missing or
        inserted row shows as a link that does not follow."""
        problems: list[str] = []
        expected_previous, previous_seq = start_hash, start_seq
        for entry, previous_hash, entry_hash in rows:
            if entry.seq <= previous_seq:
                problems.append(f"seq {entry.seq}: after seq {previous_seq} in its chain (rows inserted)")
            if not hmac.compare_digest(previous_hash, expected_previous):
                problems.append(f"seq {entry.seq}: does not follow the entry before it in its chain "
                                "(rows missing or inserted)")
            if not hmac.compare_digest(self.link(previous_hash, entry), entry_hash):
                problems.append(f"seq {entry.seq}: content does not match its hash (edited)")
            elif entry.detail_digest and not entry.reduced and not hmac.compare_digest(
                    self.detail_digest(entry.reasons), entry.detail_digest):
                problems.append(f"seq {entry.seq}: reasons do not match their digest (edited)")
            expected_previous, previous_seq = entry_hash, entry.seq
        return problems


def _canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


ChainRows = Sequence[tuple[AuditEntry, bytes, bytes]]


Heads = dict[int, tuple[int, bytes]]  # shard -> (seq, entry hash) of its chain's last entry ((0, b"") when empty)


async def verify_chain(chain: AuditChain, read_after: Callable[[int, int], Awaitable[ChainRows]], heads: Heads,
                       expected_heads: Iterable[tuple[int, bytes]] = ()) -> list[str]:
    """Walks every shard's chain page by page (`read_after(shard, seq)` gives the shard's rows after
    seq, in order) and lists every problem: edited, inserted or missing rows, a head that does not
    match its chain's last row, and a tail cut before a head recorded elsewhere (`expected_heads`,
    each (seq, hash): seqs are unique over every chain, so each names its own)."""
    problems: list[str] = []
    expected = {seq: entry_hash for seq, entry_hash in expected_heads if seq}  # seq 0: a chain empty then
    seen: dict[int, bytes] = {}
    for shard, head in sorted(heads.items()):
        previous_hash, seq = b"", 0
        while rows := await read_after(shard, seq):
            problems += chain.find_breaks(rows, previous_hash, seq)
            seen.update((entry.seq, entry_hash) for entry, _, entry_hash in rows if entry.seq in expected)
            seq, previous_hash = rows[-1][0].seq, rows[-1][2]
        if (seq, previous_hash) != head:
            problems.append(f"shard {shard}: the chain ends at seq {seq} but its head says seq {head[0]}")
    for seq, entry_hash in sorted(expected.items()):
        if seen.get(seq) != entry_hash:
            problems.append(f"seq {seq} does not match the head recorded elsewhere (cut or rewritten)")
    return problems


def find_unbound_statuses(chain: AuditChain, rows: Iterable[tuple[Status, AuditEntry | None]]) -> list[str]:
    """Stored statuses that are not what the audit log says: a binding that fails (an edited row),
    or a row that does not carry its person's newest entry's seq, version, colour and reasons (an
    old row put back). Each problem names the person."""
    problems = []
    for status, entry in rows:
        decision = status.decision
        if not chain.binds(status):
            problems.append(f"status of {status.person_id}: binding does not verify (edited or unbound)")
        elif entry is None or entry.seq != status.audit_seq or (
                entry.version, entry.colour, entry.display_colour, entry.reasons) != (
                status.version, int(decision.colour), decision.display, reasons_to_json(decision.reasons)):
            problems.append(f"status of {status.person_id}: is not its newest audit entry")
    return problems

