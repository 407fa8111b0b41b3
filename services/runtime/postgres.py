"""An embedded PostgreSQL (pgserver, which ships PostgreSQL 16) for `up` and tests without a URL."""

from __future__ import annotations

import warnings
from pathlib import Path

from services.runtime.logs import get_logger
from services.runtime.settings import PREFIX, SettingsError

log = get_logger(__name__)


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

            self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop" if self._keep else "delete")
        log.info("embedded_postgres_started", data_dir=str(self.data_dir))
        return self._server.get_uri()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
