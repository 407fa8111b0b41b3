"""What an operator alerts on in verification: decisions by outcome and reason, how old each peer's
trust list is and each peer's part of the offline snapshots, and when the trusted keys run out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import Counter, Gauge

DECISIONS = Counter("healthcode_verification_decisions", "Codes verified at checkpoints, by decision and reason "
                    "(reason NONE for a plain pass).", ("decision", "reason"))
TRUST_LIST_SYNCED = Gauge("healthcode_verification_trust_list_synced_timestamp_seconds",
                          "When each peer's trust list was last pulled (epoch seconds), by the provinces it speaks for.",
                          ("peer",))
# Times, not ages (as the trust list's): a timestamp nobody refreshes still ages in Prometheus.
PEER_SNAPSHOT = Gauge("healthcode_verification_peer_snapshot_timestamp_seconds",
                      "When each peer's part of the offline snapshots (its stale codes) last came in whole (epoch "
                      "seconds), by the provinces it speaks for; 0 until it first does. A snapshot issued without it "
                      "lets a device pass that peer's stale codes.", ("peer",))
SNAPSHOT_ISSUED = Gauge("healthcode_verification_snapshot_issued_timestamp_seconds",
                        "When this process last issued an offline snapshot to a checkpoint device (epoch seconds).")
KEY_EXPIRY = Gauge("healthcode_verification_trusted_key_expiry_timestamp_seconds",
                   "The latest not_after (epoch seconds) of an unrevoked code-signing or exchange key, per "
                   "province and purpose: codes of a province stop verifying once it is past.",
                   ("province_code", "purpose"))
_PURPOSES = {1: "codes", 2: "exchanges"}


def decided(decision: str, reason: str) -> None:
    DECISIONS.labels(decision, reason or "NONE").inc()


def peer_label(province_codes: Iterable[str]) -> str:
    return ",".join(sorted(province_codes))


def trust_list_synced(province_codes: Iterable[str], at: datetime) -> None:
    TRUST_LIST_SYNCED.labels(peer_label(province_codes)).set(at.timestamp())


def peer_snapshot(province_codes: Iterable[str], at: datetime | None) -> None:
    """A peer's stale codes came in at `at`; None: they did not (its time stays, 0 if they never came)."""
    child = PEER_SNAPSHOT.labels(peer_label(province_codes))
    if at is not None:
        child.set(at.timestamp())


def snapshot_issued(at: datetime) -> None:
    SNAPSHOT_ISSUED.set(at.timestamp())


def keys_expire(keys: Iterable[tuple[str, int, datetime, datetime | None]]) -> None:
    """(province, purpose, not_after, revoke_time) of every trusted key: the gauge shows each pair's
    last unrevoked key's not_after."""
    latest: dict[tuple[str, str], float] = {}
    for province, purpose, not_after, revoked in keys:
        if revoked is not None:
            continue
        key = (province, _PURPOSES.get(purpose, str(purpose)))
        latest[key] = max(latest.get(key, 0.0), not_after.timestamp())
    for (province, purpose), expiry in latest.items():
        KEY_EXPIRY.labels(province, purpose).set(expiry)
