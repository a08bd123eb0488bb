"""A readiness probe that answers within a deadline whatever the database does.

The probe runs ``SELECT 1`` on its own connection (not the pool's: a pool busy with long
queries, or connections broken by a restart, do not delay it) in a daemon thread, and waits
at most ``deadline_s`` for it. A stopped server refuses the connection at once; a frozen one
(a paused VM, a stuck network) leaves the query hanging, so the caller gets "not ready" at the
deadline while that one query stays in flight: later calls wait on it rather than start
another, so a hung server costs one thread and one connection, never more. A connection
broken by a restart is replaced within the same call.
"""

from __future__ import annotations

import contextlib
import threading

import psycopg

DEADLINE_S = 0.8  # under the 1 s a health check allows, with room for the HTTP round trip


class Probe:
    def __init__(self, url: str, deadline_s: float = DEADLINE_S) -> None:
        self.url, self.deadline_s = url, deadline_s
        self._conn: psycopg.Connection | None = None
        self._lock = threading.Lock()
        self._done: threading.Event | None = None  # the query in flight
        self._ok = False

    def ping(self) -> bool:
        """Whether the database answered ``SELECT 1`` within the deadline."""
        with self._lock:
            if self._done is None or self._done.is_set():
                done = self._done = threading.Event()
                threading.Thread(target=self._run, args=(done,), name="db-probe", daemon=True).start()
            done = self._done
        return done.wait(self.deadline_s) and self._ok

    def _run(self, done: threading.Event) -> None:
        try:
            self._ok = self._query()
        finally:
            done.set()

    def _query(self) -> bool:
        for _ in range(2):  # a connection broken since the last probe is replaced once
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
                self._conn.execute("SELECT 1")
                return True
            except psycopg.Error:
                self._close()
        return False

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def close(self) -> None:
        """Close the probe's connection unless a query is still in flight on it (then it dies with the thread)."""
        with self._lock:
            if self._done is None or self._done.is_set():
                self._close()
