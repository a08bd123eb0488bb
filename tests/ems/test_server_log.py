"""The embedded server keeps its log under the data directory and rotates it by size (issue 14)."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import psycopg

from ems.store.server import EmbeddedServer


def test_log_is_kept_rotated_at_the_configured_size_and_pruned() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="ems-test-log-"))  # not tmp_path: the server user must reach it
    server = EmbeddedServer(data_dir, timescaledb=False, log_rotation_mb=64 / 1024, log_files=2)
    try:
        url = server.start()
        assert server.log_dir == data_dir.resolve() / "pg" / "pg_log"
        first = sorted(server.log_dir.glob("postgresql-*.log"))
        assert first, "no log file after start"
        line = "x" * 1000
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT 1")
            # 80 LOG lines of 1 kB: past the 64 kB rotation size
            conn.execute(f"DO $$ BEGIN FOR i IN 1..80 LOOP RAISE LOG 'fill %', '{line}'; END LOOP; END $$")
            time.sleep(1.1)  # names carry the second: a rotation within the same second reopens the same file
            # the collector compares the size when the next message arrives, and rotates then
            conn.execute("DO $$ BEGIN RAISE LOG 'next message'; END $$")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # the collector writes asynchronously
                files = sorted(server.log_dir.glob("postgresql-*.log"))
                if len(files) >= 2:
                    break
                time.sleep(0.05)
        assert len(files) >= 2, files
        # a file ends past 64 kB (with the whole batch that passed it), not exactly at it
        assert files[-2].stat().st_size >= 64 * 1024 and "fill" in files[-2].read_text(errors="replace")
        assert "database system is ready" in files[0].read_text(errors="replace")
        assert not server._tune(url)  # the settings read back equal: a later start needs no extra restart
        # pruning keeps the newest `log_files` (names sort by time)
        old = server.log_dir / "postgresql-20000101-000000.log"
        shutil.copy(files[-1], old)
        assert server.prune_logs() == [old] if len(files) == 2 else len(server.prune_logs()) == len(files) - 1
        assert sorted(server.log_dir.glob("postgresql-*.log"))[-1] == files[-1]
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
