"""TimescaleDB-only operations: which features are on, chunk compression and its ratio.

Called by the store only on the TimescaleDB path (``Store.backend.name == "timescaledb"``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class Features:
    hypertable: bool
    compression_after: str | None  # the compression policy's compress_after, None = no policy
    retention_keep: str | None  # the report-aware retention job's keep window, None = no job
    continuous_aggregates: list[str]


@dataclass(frozen=True)
class CompressionStats:
    chunks: int
    compressed_chunks: int
    before_bytes: int  # of the compressed chunks, before compression
    after_bytes: int

    @property
    def ratio(self) -> float | None:
        return self.before_bytes / self.after_bytes if self.after_bytes else None


def features(conn: psycopg.Connection) -> Features:
    hyper = conn.execute(
        "SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = 'telemetry'"
    ).fetchone()
    compress = conn.execute(
        "SELECT config ->> 'compress_after' FROM timescaledb_information.jobs "
        "WHERE proc_name = 'policy_compression' AND hypertable_name = 'telemetry'"
    ).fetchone()
    keep = conn.execute(
        "SELECT config ->> 'keep' FROM timescaledb_information.jobs WHERE proc_name = 'ems_telemetry_retention'"
    ).fetchone()
    caggs = conn.execute(
        "SELECT view_name FROM timescaledb_information.continuous_aggregates ORDER BY view_name"
    ).fetchall()
    return Features(
        hyper is not None, compress[0] if compress else None, keep[0] if keep else None, [r[0] for r in caggs]
    )


def compress_older_than(conn: psycopg.Connection, older_than: dt.datetime) -> int:
    """Compress every uncompressed telemetry chunk ending before ``older_than``; returns how many this
    call compressed. The compression policy's background job may compress the same chunk at the same
    moment ("already compressed" despite ``if_not_compressed``): that chunk is skipped, not an error."""
    chunks = conn.execute(
        "SELECT c::text FROM show_chunks('telemetry', older_than => %s::timestamptz) c "
        "JOIN timescaledb_information.chunks i ON format('%%I.%%I', i.chunk_schema, i.chunk_name)::regclass = c "
        "WHERE NOT i.is_compressed",
        (older_than,),
    ).fetchall()
    done = 0
    for (chunk,) in chunks:
        try:
            with conn.transaction():  # a savepoint: a lost race leaves the rest of the work intact
                conn.execute("SELECT compress_chunk(%s::regclass, if_not_compressed => true)", (chunk,))
            done += 1
        except psycopg.errors.DuplicateObject:
            continue  # compressed by the policy job meanwhile
    return done


def compression_stats(conn: psycopg.Connection) -> CompressionStats:
    row = conn.execute(
        "SELECT total_chunks, number_compressed_chunks, before_compression_total_bytes, "
        "after_compression_total_bytes FROM hypertable_compression_stats('telemetry')"
    ).fetchone()
    if row is None:
        return CompressionStats(0, 0, 0, 0)
    return CompressionStats(*(int(v or 0) for v in row))
