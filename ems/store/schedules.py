"""Store access for forecasts, forecast accuracy and versioned dispatch schedules (migration 0002).

Functions take a psycopg connection (``with store.connection() as conn``) in autocommit
mode; each write is one transaction. A schedule saved again for the same ``kind`` and
horizon start gets the next version, so what was planned when stays visible.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import psycopg

from ems.forecast.accuracy import Accuracy, accuracy
from ems.forecast.base import Forecast
from ems.store.errors import StoreError

if TYPE_CHECKING:
    from dispatch.schedule import Schedule

SCHEDULE_KINDS = ("day_ahead", "mpc", "baseline", "what_if")


def _utc(t: np.datetime64) -> dt.datetime:
    us = int(np.asarray(t).astype("datetime64[us]").astype(np.int64))
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC)


def save_forecast(conn: psycopg.Connection, fc: Forecast, note: str = "") -> int:
    """Store every series of ``fc``; returns the forecast run id."""
    series: list[tuple[str, str, str, str, list[float]]] = []
    for kind, group in (
        ("pv", fc.pv_kw),
        ("wind", fc.wind_kw),
        ("load", fc.load_kw),
        ("direct", fc.direct_avail_kw),
    ):
        for dev, vals in group.items():
            series.append((dev, kind, fc.methods.get(dev, "input"), "kW", np.asarray(vals, dtype=float).tolist()))
    if fc.import_price is not None:
        series.append(("price", "price", "tariff", "CNY/kWh", np.asarray(fc.import_price, dtype=float).tolist()))
    if fc.ef_kg_per_kwh is not None:
        series.append(("ef", "ef", fc.ef_source or "input", "kgCO2/kWh", np.asarray(fc.ef_kg_per_kwh).tolist()))
    if fc.T == 0:
        raise StoreError("forecast has no intervals")
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO forecast_run (start_time, interval_minutes, n_intervals, note) "
            "VALUES (%s, %s, %s, %s) RETURNING run_id",
            (fc.start.astimezone(dt.UTC), fc.interval_minutes, fc.T, note),
        ).fetchone()
        assert row is not None
        run_id = int(row[0])
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO forecast_series (run_id, series, kind, method, unit, vals) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [(run_id, *s) for s in series],
            )
    return run_id


def load_forecast(conn: psycopg.Connection, run_id: int) -> Forecast:
    """The forecast stored as ``run_id``."""
    head = conn.execute("SELECT start_time, interval_minutes FROM forecast_run WHERE run_id = %s", (run_id,)).fetchone()
    if head is None:
        raise StoreError(f"no forecast run {run_id}")
    fc = Forecast(head[0], int(head[1]))
    for series, kind, method, vals in conn.execute(
        "SELECT series, kind, method, vals FROM forecast_series WHERE run_id = %s ORDER BY series", (run_id,)
    ):
        arr = np.array(vals, dtype=float)
        if kind == "price":
            fc.import_price = arr
        elif kind == "ef":
            fc.ef_kg_per_kwh, fc.ef_source = arr, method
        else:
            {"pv": fc.pv_kw, "wind": fc.wind_kw, "load": fc.load_kw, "direct": fc.direct_avail_kw}[kind][series] = arr
            fc.methods[series] = method
    return fc


def evaluate_forecast(
    conn: psycopg.Connection,
    run_id: int,
    actual: dict[str, np.ndarray],
    persistence: dict[str, np.ndarray] | None = None,
) -> dict[str, Accuracy]:
    """Compute and store MAE/RMSE/bias of each series of run ``run_id`` that has an ``actual`` array.

    Re-evaluating (e.g. once late data arrived) replaces the earlier figures of that run.
    """
    fc = load_forecast(conn, run_id)
    groups = {**fc.pv_kw, **fc.wind_kw, **fc.load_kw, **fc.direct_avail_kw}
    out: dict[str, Accuracy] = {}
    rows = []
    for series, values in actual.items():
        if series not in groups:
            raise StoreError(f"forecast run {run_id} has no series {series!r}")
        acc = accuracy(groups[series], values, (persistence or {}).get(series))
        out[series] = acc
        rows.append(
            (
                run_id,
                series,
                fc.methods.get(series, "input"),
                acc.n,
                _num(acc.mae),
                _num(acc.rmse),
                _num(acc.bias),
                acc.skill_vs_persistence,
                "kW",
            )
        )
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO forecast_accuracy "
            "(run_id, series, method, n, mae, rmse, bias, skill_vs_persistence, unit) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (run_id, series) DO UPDATE SET "
            "n = EXCLUDED.n, mae = EXCLUDED.mae, rmse = EXCLUDED.rmse, bias = EXCLUDED.bias, "
            "skill_vs_persistence = EXCLUDED.skill_vs_persistence, evaluated_at = now()",
            rows,
        )
    return out


def _num(x: float) -> float | None:
    return None if np.isnan(x) else x


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


def save_schedule(
    conn: psycopg.Connection, s: Schedule, kind: str = "day_ahead", forecast_run_id: int | None = None
) -> tuple[int, int]:
    """Store schedule ``s`` as the next version for (kind, start); returns (schedule_id, version)."""
    if kind not in SCHEDULE_KINDS:
        raise StoreError(f"unknown schedule kind {kind!r}; known: {', '.join(SCHEDULE_KINDS)}")
    start = s.start.astimezone(dt.UTC)
    kpis = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in vars(s.kpis).items()}
    intervals = _interval_rows(s)
    with conn.transaction():
        # serialise versions of the same horizon: concurrent planners get 1, 2, ... not a unique violation
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"schedule:{kind}:{start.isoformat()}",))
        row = conn.execute(
            """
            INSERT INTO schedule (kind, start_time, version, interval_minutes, n_intervals, method, status,
                                  objective_mode, solver_status, fallback_reason, solve_time_s,
                                  forecast_run_id,
                                  kpis, summary)
            SELECT %(kind)s, %(start)s, coalesce(max(version), 0) + 1, %(im)s, %(n)s, %(method)s, %(status)s,
                   %(mode)s, %(solver)s, %(reason)s, %(st)s, %(run)s, %(kpis)s, %(summary)s
            FROM schedule WHERE kind = %(kind)s AND start_time = %(start)s
            RETURNING schedule_id, version
            """,
            {
                "kind": kind,
                "start": start,
                "im": round(s.dt_h * 60),
                "n": s.T,
                "method": s.method,
                "status": s.status,
                "mode": s.objective_mode,
                "solver": s.solver_status,
                "reason": s.fallback_reason,
                "st": s.solve_time_s,
                "run": forecast_run_id,
                "kpis": json.dumps(kpis),
                "summary": json.dumps(s.summary()),
            },
        ).fetchone()
        assert row is not None
        sid, version = int(row[0]), int(row[1])
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY schedule_interval (schedule_id, time, grid_import_kw, grid_export_kw, local_re_kw, "
                "green_kw, "
                "curtail_kw, consumption_kw, emissions_kg, park_ef_kg_per_kwh, devices) FROM STDIN"
            ) as cp,
        ):
            for r in intervals:
                cp.write_row((sid, *r))
    return sid, version


def _interval_rows(s: Schedule) -> list[tuple[Any, ...]]:
    curtail = sum(s.curtail_kw.values(), np.zeros(s.T))
    cons, local, green, em, ef = (
        s.consumption_kw,
        s.local_re_kw,
        s.green_kw,
        s.emissions_kg,
        s.park_ef_kg_per_kwh,
    )
    per_device: list[dict[str, dict[str, float]]] = [{} for _ in range(s.T)]
    for b, p in s.battery_p_kw.items():
        for t in range(s.T):
            per_device[t][b] = {"p_kw": float(p[t]), "soc": float(s.soc[b][t])}
    for group, key in (
        (s.gen_p_kw, "p_kw"),
        (s.curtail_kw, "curtail_kw"),
        (s.contract_kw, "p_kw"),
        (s.direct_kw, "p_kw"),
        (s.flex_kw, "p_kw"),
    ):
        for dev, vals in group.items():
            for t in range(s.T):
                per_device[t].setdefault(dev, {})[key] = float(vals[t])
    return [
        (
            _utc(s.times[t]),
            float(s.grid_import_kw[t]),
            float(s.grid_export_kw[t]),
            float(local[t]),
            float(green[t]),
            float(curtail[t]),
            float(cons[t]),
            float(em[t]),
            float(ef[t]),
            json.dumps(per_device[t]),
        )
        for t in range(s.T)
    ]


@dataclass
class StoredSchedule:
    """A schedule as stored: header fields and per-interval park totals and device decisions."""

    schedule_id: int
    kind: str
    start: dt.datetime
    version: int
    status: str
    method: str
    objective_mode: str
    fallback_reason: str | None
    forecast_run_id: int | None
    kpis: dict[str, Any]
    times: list[dt.datetime]
    grid_import_kw: np.ndarray
    curtail_kw: np.ndarray
    devices: list[dict[str, dict[str, float]]]
    created_at: dt.datetime | None = None
    interval_minutes: int = 15
    grid_export_kw: np.ndarray | None = None
    consumption_kw: np.ndarray | None = None
    emissions_kg: np.ndarray | None = None
    park_ef_kg_per_kwh: np.ndarray | None = None
    solver_status: str = ""
    summary: dict[str, Any] | None = None

    def device_series(self, device: str, key: str) -> np.ndarray:
        """One decision of one device over the horizon (0 where the schedule has none)."""
        return np.array([float(d.get(device, {}).get(key, 0.0)) for d in self.devices])


_HEAD = (
    "SELECT schedule_id, kind, start_time, version, status, method, objective_mode, fallback_reason, "
    "forecast_run_id, kpis, created_at, interval_minutes, solver_status, summary FROM schedule "
)


def _load(conn: psycopg.Connection, head: tuple[Any, ...]) -> StoredSchedule:
    rows = conn.execute(
        "SELECT time, grid_import_kw, curtail_kw, devices, grid_export_kw, consumption_kw, emissions_kg, "
        "park_ef_kg_per_kwh FROM schedule_interval WHERE schedule_id = %s ORDER BY time",
        (head[0],),
    ).fetchall()
    col = lambda k: np.array([r[k] for r in rows], dtype=float)  # noqa: E731
    return StoredSchedule(
        schedule_id=int(head[0]),
        kind=head[1],
        start=head[2],
        version=int(head[3]),
        status=head[4],
        method=head[5],
        objective_mode=head[6],
        fallback_reason=head[7],
        forecast_run_id=head[8],
        kpis=head[9],
        times=[r[0] for r in rows],
        grid_import_kw=col(1),
        curtail_kw=col(2),
        devices=[r[3] for r in rows],
        created_at=head[10],
        interval_minutes=int(head[11]),
        grid_export_kw=col(4),
        consumption_kw=col(5),
        emissions_kg=col(6),
        park_ef_kg_per_kwh=col(7),
        solver_status=head[12],
        summary=head[13],
    )


def load_schedule(
    conn: psycopg.Connection, kind: str, start: dt.datetime, version: int | None = None
) -> StoredSchedule:
    """Version ``version`` (default: the latest) of the ``kind`` schedule starting at ``start``."""
    head = conn.execute(
        _HEAD + "WHERE kind = %s AND start_time = %s AND (%s::int IS NULL OR version = %s) "
        "ORDER BY version DESC LIMIT 1",
        (kind, start.astimezone(dt.UTC), version, version),
    ).fetchone()
    if head is None:
        raise StoreError(f"no {kind} schedule starting {start.isoformat()} (version {version or 'latest'})")
    return _load(conn, head)


def schedule_by_id(conn: psycopg.Connection, schedule_id: int) -> StoredSchedule | None:
    head = conn.execute(_HEAD + "WHERE schedule_id = %s", (schedule_id,)).fetchone()
    return None if head is None else _load(conn, head)


def latest_schedule(conn: psycopg.Connection, kinds: tuple[str, ...] = ("mpc", "day_ahead")) -> StoredSchedule | None:
    """The most recently created schedule of the first kind in ``kinds`` that has one."""
    for kind in kinds:
        head = conn.execute(
            _HEAD + "WHERE kind = %s ORDER BY created_at DESC, schedule_id DESC LIMIT 1", (kind,)
        ).fetchone()
        if head is not None:
            return _load(conn, head)
    return None


def baseline_for(conn: psycopg.Connection, s: StoredSchedule) -> StoredSchedule | None:
    """The rule-based baseline planned from the same forecast (or for the same start)."""
    head = conn.execute(
        _HEAD + "WHERE kind = 'baseline' AND (forecast_run_id = %s OR start_time = %s) "
        "ORDER BY created_at DESC LIMIT 1",
        (s.forecast_run_id, s.start),
    ).fetchone()
    return None if head is None else _load(conn, head)


def list_schedules(conn: psycopg.Connection, kind: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Schedule headers, newest first: the planning history."""
    rows = conn.execute(
        "SELECT schedule_id, kind, start_time, version, created_at, n_intervals, interval_minutes, method, status, "
        "objective_mode, fallback_reason, solve_time_s, forecast_run_id, kpis FROM schedule "
        "WHERE (%s::text IS NULL OR kind = %s) ORDER BY created_at DESC, schedule_id DESC LIMIT %s",
        (kind, kind, limit),
    ).fetchall()
    keys = (
        "schedule_id",
        "kind",
        "start",
        "version",
        "created_at",
        "n_intervals",
        "interval_minutes",
        "method",
        "status",
        "objective_mode",
        "fallback_reason",
        "solve_time_s",
        "forecast_run_id",
        "kpis",
    )
    return [dict(zip(keys, r, strict=True)) for r in rows]


def planned_series(
    conn: psycopg.Connection, kind: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, float, dict[str, dict[str, float]]]]:
    """What was planned for each interval in [start, end): the newest schedule covering it as first interval
    or later. Returns (time, grid_import_kw, devices) of the plan made most recently before that interval."""
    return [
        (r[0], float(r[1]), r[2])
        for r in conn.execute(
            """
            SELECT DISTINCT ON (i.time) i.time, i.grid_import_kw, i.devices
            FROM schedule_interval i JOIN schedule s USING (schedule_id)
            WHERE s.kind = %s AND i.time >= %s AND i.time < %s AND s.start_time <= i.time
            ORDER BY i.time, s.start_time DESC, s.version DESC
            """,
            (kind, start, end),
        ).fetchall()
    ]


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
