"""Plain PostgreSQL vs TimescaleDB: the one place that decides which path a database takes.

The application schema (``migrations/NNNN_*.sql``) is plain PostgreSQL and the store's API
is the same on both. On top of it, exactly one set of extras is applied, each tracked in
its own table:

- ``migrations/timescale/*.sql`` (hypertable, compression, retention, continuous aggregates)
  when the server can run TimescaleDB;
- ``migrations/plain/*.sql`` (plain views with the same names and columns as the continuous
  aggregates, so Grafana's SQL works on both) otherwise.

The server's TimescaleDB can be in four states, each handled without failing the store:

===========================================  ==============================================
extension not offered by the server          plain path
offered, library not preloaded               plain path + one warning naming
                                             ``shared_preload_libraries``
preloaded, version >= MIN_VERSION            TimescaleDB path
preloaded, version < MIN_VERSION             plain path + one message naming both versions
===========================================  ==============================================

One state has no plain path: a database already converted to TimescaleDB (its telemetry is a
hypertable) on a server that no longer preloads it. PostgreSQL then ends any session that
runs DDL (TimescaleDB's event triggers need the library), so the store refuses to start with
a :class:`~ems.store.errors.StoreError` naming ``shared_preload_libraries`` before touching it.

A database that once ran plain switches to TimescaleDB when the server gains it (the plain
views are dropped, ``create_hypertable(..., migrate_data => true)`` converts the table).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import psycopg

from ems.store.errors import StoreError
from ems.store.migrate import _LOCK_ID as MIGRATION_LOCK_ID
from ems.store.migrate import MIGRATIONS_DIR, upgrade

log = logging.getLogger(__name__)
TIMESCALE_DIR = MIGRATIONS_DIR / "timescale"
PLAIN_DIR = MIGRATIONS_DIR / "plain"
# by_range() dimension builders (2.13) and hierarchical continuous aggregates (2.9)
MIN_VERSION = (2, 13, 0)
_warned: set[tuple[str, str]] = set()  # (server, message): each said once per process


@dataclass(frozen=True)
class ServerState:
    """What the server offers, read from the catalog."""

    server_version: str
    available: str | None  # TimescaleDB default_version the server could create
    installed: str | None  # version created in this database
    preloaded: bool


@dataclass(frozen=True)
class Backend:
    name: str  # "postgresql" or "timescaledb"
    server_version: str
    timescaledb_version: str | None = None
    note: str | None = None  # why TimescaleDB is not used although the server has it


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("-")[0].split(".") if p.isdigit())


def read_state(conn: psycopg.Connection) -> ServerState:
    version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    row = conn.execute(
        "SELECT default_version, installed_version FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]  # type: ignore[index]
    libs = {p.strip().strip('"') for p in str(preload).split(",")}
    return ServerState(version, row[0] if row else None, row[1] if row else None, "timescaledb" in libs)


def decide(state: ServerState) -> Backend:
    """The backend for a server in ``state`` (pure: the whole state table in one function).

    Raises StoreError for a TimescaleDB database on a server that does not preload the library.
    """
    plain = Backend("postgresql", state.server_version)
    if state.available is None and state.installed is None:
        return plain
    version = state.installed or state.available or ""
    if state.installed and not state.preloaded:
        raise StoreError(
            f"this database uses TimescaleDB {state.installed} (its telemetry is a hypertable) but the server does "
            "not preload it: add 'timescaledb' to shared_preload_libraries in postgresql.conf and restart the server"
        )
    if not state.preloaded:
        return Backend(
            "postgresql",
            state.server_version,
            note=f"TimescaleDB {version} is installed on this PostgreSQL server but not preloaded, so the store "
            "uses plain PostgreSQL: add 'timescaledb' to shared_preload_libraries in postgresql.conf and restart "
            "the server to use it",
        )
    if _version(version) < MIN_VERSION:
        need = ".".join(map(str, MIN_VERSION))
        return Backend(
            "postgresql",
            state.server_version,
            note=f"TimescaleDB {version} is older than the {need} this store needs, so it uses plain PostgreSQL: "
            f"install TimescaleDB >= {need} and run ALTER EXTENSION timescaledb UPDATE",
        )
    return Backend("timescaledb", state.server_version, version)


def detect(conn: psycopg.Connection) -> Backend:
    return decide(read_state(conn))


def enable_extras(conn: psycopg.Connection) -> Backend:
    """Apply the extras of the backend this server supports; say once why TimescaleDB is not used."""
    state = read_state(conn)
    backend = decide(state)
    if backend.note:
        key = (f"{conn.info.host}:{conn.info.port}", backend.note)
        if key not in _warned:
            _warned.add(key)
            log.warning(backend.note)
    if backend.name == "timescaledb":
        # under the migration lock (session-level, re-entrant): API and poller may start together
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_ID,))
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            _drop_plain_extras(conn)
            upgrade(conn, TIMESCALE_DIR, table="schema_migrations_timescale")
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_ID,))
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
        return Backend("timescaledb", state.server_version, version[0] if version else backend.timescaledb_version)
    if state.installed is None:  # a database already converted to TimescaleDB keeps its objects untouched
        upgrade(conn, PLAIN_DIR, table="schema_migrations_plain")
    return backend


def _drop_plain_extras(conn: psycopg.Connection) -> None:
    """Remove the plain views (their names become continuous aggregates) when a database switches to TimescaleDB."""
    if conn.execute("SELECT to_regclass('schema_migrations_plain')").fetchone()[0] is None:  # type: ignore[index]
        return
    with conn.transaction():
        conn.execute("DROP VIEW IF EXISTS telemetry_1h, telemetry_15m")
        conn.execute("DROP TABLE schema_migrations_plain")
