"""SQL for the hash-chained document tables (``carbon_report``, ``footprint_document``).

Both tables hold one chain each with the same columns (migrations 0003, 0005 and 0008); the
footprint chain adds the document type and tenant. Rows are returned as the dicts the chain hash is computed
on (:mod:`ems.documents.chain`), timestamps as UTC ISO strings. Every function takes an open
psycopg connection.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

_COMMON = (
    "seq",
    "content_sha256",
    "prev_chain_sha256",
    "chain_sha256",
    "park",
    "period_start",
    "period_end",
    "replaces_sha256",
    "software_version",
    "files",
    "issued_at",
    "hash_rule",  # migration 0008
    "public_key",
    "signature",
)


@dataclass(frozen=True)
class ChainTable:
    """One chain's table and its columns (the common chain columns plus the table's own)."""

    name: str
    columns: tuple[str, ...]

    @property
    def select(self) -> sql.Composed:
        return sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(map(sql.Identifier, self.columns)), sql.Identifier(self.name)
        )


CARBON_REPORTS = ChainTable("carbon_report", _COMMON)
FOOTPRINT_DOCUMENTS = ChainTable("footprint_document", (*_COMMON[:1], "doc_type", "tenant_id", *_COMMON[1:]))


def _row(table: ChainTable, row: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(table.columns, row, strict=True))
    for k in ("period_start", "period_end"):
        d[k] = d[k].astimezone(dt.UTC).isoformat()
    # as issued (ems.documents.service): always with microseconds, also when they happen to be 0
    d["issued_at"] = d["issued_at"].astimezone(dt.UTC).isoformat(timespec="microseconds")
    return d


def entries(conn: psycopg.Connection, table: ChainTable, tenant_id: str | None = None) -> list[dict[str, Any]]:
    """The whole chain in order, or one tenant's entries (footprint chain only)."""
    q = table.select
    params: tuple[Any, ...] = ()
    if tenant_id is not None:
        q = sql.SQL("{} WHERE tenant_id = %s").format(q)
        params = (tenant_id,)
    return [_row(table, r) for r in conn.execute(sql.SQL("{} ORDER BY seq").format(q), params).fetchall()]


def find(conn: psycopg.Connection, table: ChainTable, content_sha256: str) -> dict[str, Any] | None:
    """One entry by content hash (unique index), or None."""
    r = conn.execute(sql.SQL("{} WHERE content_sha256 = %s").format(table.select), (content_sha256,)).fetchone()
    return None if r is None else _row(table, r)


def lock(conn: psycopg.Connection, table: ChainTable) -> None:
    """Serialise writers of one chain for the current transaction (the next seq depends on the last)."""
    conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(sql.Identifier(table.name)))


def last(conn: psycopg.Connection, table: ChainTable) -> tuple[int, str] | None:
    """(seq, chain_sha256) of the chain's last entry, or None for an empty chain."""
    r = conn.execute(
        sql.SQL("SELECT seq, chain_sha256 FROM {} ORDER BY seq DESC LIMIT 1").format(sql.Identifier(table.name))
    ).fetchone()
    return None if r is None else (int(r[0]), str(r[1]))


def insert(conn: psycopg.Connection, table: ChainTable, entry: dict[str, Any]) -> None:
    conn.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            sql.Identifier(table.name),
            sql.SQL(", ").join(map(sql.Identifier, table.columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(table.columns)),
        ),
        tuple(Jsonb(entry[k]) if k == "files" else entry[k] for k in table.columns),
    )


def timestamps(conn: psycopg.Connection, table: ChainTable) -> dict[str, tuple[bytes, dt.datetime, str]]:
    """chain_sha256 -> (DER token, genTime, authority URL) of the chain's timestamped entries."""
    rows = conn.execute(
        "SELECT chain_sha256, token, gen_time, tsa_url FROM document_timestamp WHERE chain_table = %s",
        (table.name,),
    ).fetchall()
    return {r[0]: (bytes(r[1]), r[2], r[3]) for r in rows}


def add_timestamp(
    conn: psycopg.Connection, table: ChainTable, chain_sha256: str, tsa_url: str, token: bytes, gen_time: dt.datetime
) -> None:
    """Store an entry's token (once: a second token for the same entry is ignored)."""
    conn.execute(
        "INSERT INTO document_timestamp (chain_table, chain_sha256, tsa_url, token, gen_time) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (table.name, chain_sha256, tsa_url, token, gen_time),
    )
