"""Apply versioned SQL migrations (``ems/store/migrations/NNNN_name.sql``) in order, once each.

Each file runs in its own transaction together with its row in ``schema_migrations``,
so a failing migration leaves the database at the previous version. A advisory lock
serialises concurrent starters (API and poller starting together).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_ID = 0x454D53  # "EMS"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for p in sorted(directory.glob("*.sql")):
        m = _NAME.match(p.name)
        if not m:
            raise ValueError(f"migration file {p.name!r} does not match NNNN_name.sql")
        found.append(Migration(int(m.group(1)), p.stem, p))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions in {directory}: {versions}")
    return found


def applied_versions(conn: psycopg.Connection, table: str = "schema_migrations") -> set[int]:
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {table} (version integer PRIMARY KEY, name text NOT NULL, "
        "applied_at timestamptz NOT NULL DEFAULT now())"
    )
    return {r[0] for r in conn.execute(f"SELECT version FROM {table}").fetchall()}


def upgrade(
    conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR, table: str = "schema_migrations"
) -> list[Migration]:
    """Apply pending migrations; returns those applied. ``conn`` must be in autocommit mode."""
    applied: list[Migration] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
    try:
        done = applied_versions(conn, table)
        for mig in discover(directory):
            if mig.version in done:
                continue
            with conn.transaction():
                conn.execute(mig.sql().encode())
                conn.execute(f"INSERT INTO {table} (version, name) VALUES (%s, %s)", (mig.version, mig.name))
            applied.append(mig)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied
