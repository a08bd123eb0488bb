"""Store access for forecast runs and their accuracy (migration 0002), as plain rows.

The conversion between a :class:`ems.forecast.Forecast` and these rows lives in
:mod:`ems.forecast.runs`; this module only runs the SQL. Functions take a psycopg
connection in autocommit mode; each write is one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import psycopg

from ems.store.errors import StoreError


@dataclass(frozen=True)
class SeriesRow:
    """One forecast series: ``series`` is a device id, or ``price`` / ``ef``; ``kind`` the group."""

    series: str
    kind: str  # pv | wind | load | direct | price | ef
    method: str
    unit: str
    vals: list[float]


@dataclass(frozen=True)
class ForecastRun:
    run_id: int
    start: dt.datetime
    interval_minutes: int
    series: list[SeriesRow]
    note: str = ""


@dataclass(frozen=True)
class AccuracyRow:
    """Accuracy of one series of one run, in the series' unit (None = no finite interval)."""

    run_id: int
    series: str
    method: str
    n: int
    mae: float | None
    rmse: float | None
    bias: float | None
    skill_vs_persistence: float | None
    unit: str = "kW"


def insert_forecast_run(
    conn: psycopg.Connection, start: dt.datetime, interval_minutes: int, series: list[SeriesRow], note: str = ""
) -> int:
    """Store one forecast run with all its series; returns the run id."""
    n = len(series[0].vals) if series else 0
    if n == 0:
        raise StoreError("forecast has no intervals")
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO forecast_run (start_time, interval_minutes, n_intervals, note) "
            "VALUES (%s, %s, %s, %s) RETURNING run_id",
            (start.astimezone(dt.UTC), interval_minutes, n, note),
        ).fetchone()
        assert row is not None
        run_id = int(row[0])
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO forecast_series (run_id, series, kind, method, unit, vals) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [(run_id, s.series, s.kind, s.method, s.unit, s.vals) for s in series],
            )
    return run_id


def forecast_run(conn: psycopg.Connection, run_id: int) -> ForecastRun:
    """The run stored as ``run_id`` with its series (ordered by series name)."""
    head = conn.execute(
        "SELECT start_time, interval_minutes, note FROM forecast_run WHERE run_id = %s", (run_id,)
    ).fetchone()
    if head is None:
        raise StoreError(f"no forecast run {run_id}")
    rows = conn.execute(
        "SELECT series, kind, method, unit, vals FROM forecast_series WHERE run_id = %s ORDER BY series", (run_id,)
    ).fetchall()
    return ForecastRun(run_id, head[0], int(head[1]), [SeriesRow(*r) for r in rows], head[2])


def upsert_accuracy(conn: psycopg.Connection, rows: list[AccuracyRow]) -> None:
    """Store accuracy rows in one statement; evaluating a run again replaces its earlier figures."""
    if not rows:
        return
    columns = [[getattr(r, f.name) for r in rows] for f in fields(AccuracyRow)]
    conn.execute(
        "INSERT INTO forecast_accuracy (run_id, series, method, n, mae, rmse, bias, skill_vs_persistence, unit) "
        "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::int[], %s::float8[], %s::float8[], "
        "%s::float8[], %s::float8[], %s::text[]) "
        "ON CONFLICT (run_id, series) DO UPDATE SET "
        "n = EXCLUDED.n, mae = EXCLUDED.mae, rmse = EXCLUDED.rmse, bias = EXCLUDED.bias, "
        "skill_vs_persistence = EXCLUDED.skill_vs_persistence, evaluated_at = now()",
        columns,
    )


def accuracy_rows(conn: psycopg.Connection, run_id: int) -> list[AccuracyRow]:
    """The stored accuracy of every evaluated series of run ``run_id``."""
    rows = conn.execute(
        "SELECT run_id, series, method, n, mae, rmse, bias, skill_vs_persistence, unit FROM forecast_accuracy "
        "WHERE run_id = %s ORDER BY series",
        (run_id,),
    ).fetchall()
    return [AccuracyRow(*r) for r in rows]


def runs_overlapping(conn: psycopg.Connection, since: dt.datetime, until: dt.datetime) -> list[ForecastRun]:
    """Every run with an interval in [since, until), with its series, oldest first (one query)."""
    rows = conn.execute(
        """
        SELECT r.run_id, r.start_time, r.interval_minutes, r.note, s.series, s.kind, s.method, s.unit, s.vals
        FROM forecast_run r JOIN forecast_series s USING (run_id)
        WHERE r.start_time < %s AND r.start_time + make_interval(mins => r.interval_minutes * r.n_intervals) > %s
        ORDER BY r.start_time, r.run_id, s.series
        """,
        (until, since),
    ).fetchall()
    runs: dict[int, ForecastRun] = {}
    for run_id, start, minutes, note, *series in rows:
        run = runs.setdefault(run_id, ForecastRun(run_id, start, int(minutes), [], note))
        run.series.append(SeriesRow(*series))
    return list(runs.values())


@dataclass(frozen=True)
class AccuracySummary:
    series: str
    method: str
    runs: int
    intervals: int
    mae: float
    rmse: float
    bias: float


def accuracy_summary(conn: psycopg.Connection, since: dt.datetime | None = None) -> list[AccuracySummary]:
    """Interval-weighted MAE/bias and pooled RMSE per (series, method), runs starting at/after ``since``."""
    rows = conn.execute(
        """
        SELECT a.series, a.method, count(*), sum(a.n),
               sum(a.mae * a.n) / nullif(sum(a.n), 0),
               sqrt(sum(a.rmse * a.rmse * a.n) / nullif(sum(a.n), 0)),
               sum(a.bias * a.n) / nullif(sum(a.n), 0)
        FROM forecast_accuracy a JOIN forecast_run r USING (run_id)
        WHERE a.n > 0 AND (%(since)s::timestamptz IS NULL OR r.start_time >= %(since)s)
        GROUP BY a.series, a.method ORDER BY a.series, a.method
        """,
        {"since": since},
    ).fetchall()
    return [AccuracySummary(r[0], r[1], int(r[2]), int(r[3]), float(r[4]), float(r[5]), float(r[6])) for r in rows]


def forecast_load_series(conn: psycopg.Connection, start: dt.datetime, end: dt.datetime) -> dict[dt.datetime, float]:
    """Park load forecast [kW, positive] per interval: from the most recent run issued for that interval."""
    rows = conn.execute(
        """
        SELECT r.start_time, r.interval_minutes, r.n_intervals, s.vals
        FROM forecast_run r JOIN forecast_series s USING (run_id)
        WHERE s.kind = 'load' AND r.start_time < %s
          AND r.start_time + make_interval(mins => r.interval_minutes * r.n_intervals) > %s
        ORDER BY r.start_time, r.run_id
        """,
        (end, start),
    ).fetchall()
    sums: dict[tuple[dt.datetime, dt.datetime], float] = {}
    for run_start, minutes, n, vals in rows:
        for k in range(n):
            t = run_start + dt.timedelta(minutes=minutes * k)
            if start <= t < end:
                sums[(t, run_start)] = sums.get((t, run_start), 0.0) + abs(float(vals[k]))
    latest: dict[dt.datetime, tuple[dt.datetime, float]] = {}
    for (t, run_start), v in sums.items():
        if t not in latest or run_start > latest[t][0]:
            latest[t] = (run_start, v)
    return {t: v for t, (_, v) in latest.items()}
