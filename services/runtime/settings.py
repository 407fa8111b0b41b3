"""Typed settings read from HEALTHCODE_* environment variables, failing fast and all at once."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "HEALTHCODE_"


class SettingsError(Exception):
    """One or more settings are missing or invalid; the message lists every one."""


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()


class Env:
    """Reads settings and collects every problem, so one start-up reports them all.

    Call `check()` after reading: it raises SettingsError if anything was wrong.
    Values are never echoed in errors, since some are secrets.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ
        self._problems: list[str] = []

    def _raw(self, name: str) -> str | None:
        value = self._environ.get(PREFIX + name)
        return value if value not in (None, "") else None

    def _missing(self, name: str) -> None:
        self._problems.append(f"{PREFIX}{name} is required")

    def text(self, name: str, default: str | _Required = REQUIRED) -> str:
        raw = self._raw(name)
        if raw is not None:
            return raw
        if isinstance(default, _Required):
            self._missing(name)
            return ""
        return default

    def integer(self, name: str, default: int | _Required = REQUIRED, *, minimum: int | None = None,
                maximum: int | None = None) -> int:
        return int(self._converted(name, default, int, "an integer", minimum, maximum))

    def number(self, name: str, default: float | _Required = REQUIRED, *, minimum: float = 0.0) -> float:
        return float(self._converted(name, default, float, "a number", minimum, None))

    def _converted(self, name: str, default, convert, kind: str, minimum, maximum):
        raw = self._raw(name)
        if raw is None:
            if isinstance(default, _Required):
                self._missing(name)
                return 0
            return default
        try:
            value = convert(raw)
        except ValueError:
            self._problems.append(f"{PREFIX}{name} must be {kind}")
            return 0
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self._problems.append(f"{PREFIX}{name} must be between {minimum} and {maximum}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        """`true` or `false` (any case): every boolean setting is read here, so `no` or `0` is refused
        instead of meaning whatever one comparison happened to make of it."""
        raw = self._raw(name)
        if raw is None:
            return default
        if raw.lower() not in ("true", "false"):
            self._problems.append(f"{PREFIX}{name} must be true or false")
            return default
        return raw.lower() == "true"

    def secret_key(self, name: str, *, size: int = 32) -> bytes:
        """A base64 key of exactly `size` bytes."""
        raw = self.text(name)
        return self._decode_key(name, raw, size) if raw else b""

    def secret_keyring(self, name: str, *, size: int = 32) -> dict[str, bytes]:
        """`id:base64key,id2:base64key`: the first is the active key, the rest decrypt old data."""
        raw = self.text(name)
        ring: dict[str, bytes] = {}
        for item in filter(None, (part.strip() for part in raw.split(","))):
            key_id, sep, encoded = item.partition(":")
            if not sep or not key_id:
                self._problems.append(f"{PREFIX}{name} must look like 'id:base64key,...'")
                return {}
            ring[key_id] = self._decode_key(name, encoded, size)
        return ring

    def _decode_key(self, name: str, encoded: str, size: int) -> bytes:
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            self._problems.append(f"{PREFIX}{name} is not valid base64")
            return b""
        if len(key) != size:
            self._problems.append(f"{PREFIX}{name} keys must be {size} bytes")
        return key

    def invalid(self, name: str, description: str) -> None:
        """Records a problem found while interpreting a setting (never quoting its value)."""
        self._problems.append(f"{PREFIX}{name} {description}")

    def check(self) -> None:
        if self._problems:
            raise SettingsError("invalid settings: " + "; ".join(self._problems))


@dataclass(frozen=True)
class ServerSettings:
    """How one service listens and connects to its database."""

    database_url: str
    # A replica for reads that may lag by a moment (CloudNativePG's `-ro` service); empty: the primary.
    read_database_url: str
    host: str
    port: int
    grace_seconds: float
    pool_min_size: int
    pool_max_size: int
    log_level: str
    # Prometheus /metrics of the process, on a port of its own (never the public one).
    metrics_port: int

    @classmethod
    def read(cls, env: Env, service: str, default_port: int) -> ServerSettings:
        upper = service.upper()
        return cls(
            database_url=env.text("DATABASE_URL"),
            read_database_url=env.text("DATABASE_READ_URL", ""),
            host=env.text("HOST", "127.0.0.1"),
            port=env.integer(f"{upper}_PORT", default_port, minimum=0, maximum=65535),
            grace_seconds=env.number("GRACE_SECONDS", 10.0),
            pool_min_size=env.integer("POOL_MIN_SIZE", 2, minimum=0, maximum=100),
            pool_max_size=env.integer("POOL_MAX_SIZE", 10, minimum=1, maximum=200),
            log_level=env.text("LOG_LEVEL", "info"),
            metrics_port=env.integer("METRICS_PORT", 9464, minimum=0, maximum=65535),
        )
