"""What a cached carbon-accounting result depends on, read cheaply (for the notifier's cache).

Every carbon ledger table is append-only (migration 0003), so their row counts and largest ids
change exactly when an entry is added. The energy rollup of a window changes when a reading lands
in it: each new ``p_kw`` row raises its bucket's ``samples`` (duplicates are not stored), so the
count and sum of samples over the window detect it; rollups are refreshed by the caller first.
"""

from __future__ import annotations

import datetime as dt

import psycopg

_VERSION = """
SELECT (SELECT count(*) FROM carbon_factor),
       (SELECT count(*) FROM carbon_factor_series),
       (SELECT count(*) FROM carbon_factor_point),
       (SELECT coalesce(max(event_id), 0) FROM carbon_certificate_event),
       (SELECT coalesce(max(delivery_id), 0) FROM carbon_contract_delivery),
       r.n, r.samples
FROM (SELECT count(*) AS n, coalesce(sum(samples), 0) AS samples
      FROM energy_rollup WHERE bucket >= %(start)s AND bucket < %(end)s) AS r
"""


def accounting_inputs_version(conn: psycopg.Connection, start: dt.datetime, end: dt.datetime) -> tuple[int, ...]:
    """Changes whenever a factor, series, retirement or delivery is added, or a reading lands in [start, end)."""
    row = conn.execute(_VERSION, {"start": start, "end": end}).fetchone()
    assert row is not None  # an aggregate always returns one row
    return tuple(int(x) for x in row)
