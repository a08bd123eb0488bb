"""Plain PostgreSQL vs TimescaleDB: the one place that knows the difference.

The application schema (``migrations/NNNN_*.sql``) is plain PostgreSQL and the
store's API is the same on both. When the ``timescaledb`` extension can be
created, :func:`enable_extras` also applies ``migrations/timescale/*.sql``
(hypertable, compression, retention, continuous aggregates), tracked in their
own ``schema_migrations_timescale`` table.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from ems.store.migrate import MIGRATIONS_DIR, upgrade

TIMESCALE_DIR = MIGRATIONS_DIR / "timescale"


@dataclass(frozen=True)
class Backend:
    name: str  # "postgresql" or "timescaledb"
    server_version: str


def detect(conn: psycopg.Connection) -> Backend:
    version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    row = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
    return Backend("timescaledb" if row else "postgresql", version)


def enable_extras(conn: psycopg.Connection) -> Backend:
    """Create the TimescaleDB extension and apply its migrations if the server offers it."""
    backend = detect(conn)
    if backend.name == "timescaledb":
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        upgrade(conn, TIMESCALE_DIR, table="schema_migrations_timescale")
    return backend
