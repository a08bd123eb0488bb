"""Bounded on-disk spool of readings, delivered in order: the poller's write-ahead journal.

Storage is one SQLite file (stdlib ``sqlite3``), chosen over hand-rolled segment
files because it gives atomic, crash-safe appends (a batch is one transaction, WAL
journal), order by ``rowid`` for free, cheap deletion of the replayed prefix and no
torn records after a power cut.

Bound: at most ``max_rows`` readings. When a new batch would exceed it, the *oldest*
rows are dropped (ring buffer: the controller and operators need the latest state
first) and counted in ``dropped`` (persisted, so a restart does not forget a loss).
Within the bound nothing is lost: rows are deleted only after the sink accepted them.
Replay is at-least-once; the store's first-write-wins rule on (device, quantity, time)
makes a repeated row a counted duplicate, never a second row.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np

from ems.telemetry import ReadingBatch

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reading (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_us INTEGER NOT NULL, device TEXT NOT NULL, quantity TEXT NOT NULL,
    value REAL NOT NULL, quality INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('dropped', 0);
"""


class Spool:
    """Append-only FIFO of readings on disk, bounded by ``max_rows``."""

    def __init__(self, path: str | Path, max_rows: int = 1_000_000, durable: bool = False) -> None:
        """``durable``: fsync every append (SQLite ``synchronous=FULL``), for use as a write-ahead log;
        otherwise a power cut may lose the last appends (``NORMAL``), never corrupt the file."""
        if max_rows < 1:
            raise ValueError("max_rows must be >= 1")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_rows = max_rows
        self._lock = threading.Lock()  # the poller calls from a worker thread, tests from the main one
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._db.executescript(_SCHEMA)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM reading").fetchone()[0])

    @property
    def dropped(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT value FROM meta WHERE key='dropped'").fetchone()[0])

    def append(self, batch: ReadingBatch) -> int:
        """Store a batch; returns how many of the oldest rows were dropped to respect the bound."""
        if len(batch) == 0:
            return 0
        rows = zip(
            batch.time_us.tolist(),
            batch.device.tolist(),
            batch.quantity.tolist(),
            batch.value.tolist(),
            batch.quality.tolist(),
            strict=True,
        )
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.executemany(
                    "INSERT INTO reading (time_us, device, quantity, value, quality) VALUES (?, ?, ?, ?, ?)", rows
                )
                n = int(cur.execute("SELECT count(*) FROM reading").fetchone()[0])
                excess = max(0, n - self.max_rows)
                if excess:
                    cur.execute(
                        "DELETE FROM reading WHERE id IN (SELECT id FROM reading ORDER BY id LIMIT ?)", (excess,)
                    )
                    cur.execute("UPDATE meta SET value = value + ? WHERE key='dropped'", (excess,))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return excess

    def peek(self, limit: int) -> tuple[int, ReadingBatch]:
        """The oldest ``limit`` rows and the id of the last one (0 if empty)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, time_us, device, quantity, value, quality FROM reading ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        if not rows:
            return 0, ReadingBatch.empty()
        ids, t, d, q, v, f = zip(*rows, strict=True)
        batch = ReadingBatch(
            np.array(t, dtype=np.int64),
            np.array(d, dtype=object),
            np.array(q, dtype=object),
            np.array(v, dtype=np.float64),
            np.array(f, dtype=np.int16),
        )
        return int(ids[-1]), batch

    def remove_through(self, last_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM reading WHERE id <= ?", (last_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
