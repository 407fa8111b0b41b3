"""An embedded PostgreSQL (pgserver, which ships PostgreSQL 16) for `up` and tests without a URL."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from services.runtime.logs import get_logger
from services.runtime.settings import PREFIX, SettingsError

log = get_logger(__name__)

# PostgreSQL's default of 100 is what `up` (four services, each pool up to its maximum, background jobs'
# own connections, a load run's baselines) and the test suite (several replicas of a service at once)
# come near: set once in the data directory's postgresql.auto.conf, which a restart applies.
MAX_CONNECTIONS = 300


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in `data_dir`.

    `keep=True` keeps the data and stops the server when this process exits (for
    `healthcode up`); `keep=False` deletes the data directory at exit (for tests).
    Run as root, pgserver creates a `pgserver` system user that owns the data
    directory and opens read access on its parent directories: keep the data
    directory inside the project's data directory.
    """

    def __init__(self, data_dir: Path, *, keep: bool) -> None:
        self.data_dir = data_dir
        self._keep = keep
        self._server = None

    def start(self) -> str:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # pgserver's platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
            warnings.simplefilter("ignore")
            try:
                import pgserver
            except ModuleNotFoundError:  # the production image: a configured database, no extras
                raise SettingsError(f"{PREFIX}DATABASE_URL is required (the embedded PostgreSQL is the "
                                    "development extra healthcode[embedded])") from None

            cleanup_mode = "stop" if self._keep else "delete"
            server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
            connections = _max_connections(server)
            if connections < MAX_CONNECTIONS:
                # A new data directory: the setting is written, and applied by starting the server again.
                server.psql(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS};")
                server.cleanup()
                server = pgserver.get_server(self.data_dir, cleanup_mode=cleanup_mode)
                connections = _max_connections(server)
            server.cleanup_mode = cleanup_mode
            self._server = server
        log.info("embedded_postgres_started", data_dir=str(self.data_dir), max_connections=connections)
        return self._server.get_uri()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _max_connections(server) -> int:
    answer = server.psql("SELECT 'max_connections=' || setting FROM pg_settings WHERE name = 'max_connections';")
    found = re.search(r"max_connections=(\d+)", answer)
    if found is None:
        raise RuntimeError(f"the embedded PostgreSQL did not say its max_connections: {answer!r}")
    return int(found[1])
