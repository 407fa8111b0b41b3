"""What an operator alerts on in verification: decisions by outcome and reason, how old each peer's
trust list is, and when the trusted keys run out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import Counter, Gauge

DECISIONS = Counter("healthcode_verification_decisions", "Codes verified at checkpoints, by decision and reason "
                    "(reason NONE for a plain pass).", ("decision", "reason"))
TRUST_LIST_SYNCED = Gauge("healthcode_verification_trust_list_synced_timestamp_seconds",
                          "When each peer's trust list was last pulled (epoch seconds), by the provinces it speaks for.",
                          ("peer",))
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
