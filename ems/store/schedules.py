"""Store access for versioned dispatch schedules (migration 0002), as plain data.

The store persists a :class:`ScheduleRecord` (the dispatcher builds one with
``Schedule.to_record()``) and returns :class:`StoredSchedule`. Functions take a psycopg
connection (``with store.connection() as conn``) in autocommit mode; each write is one
transaction. A schedule saved again for the same ``kind`` and horizon start gets the next
version, so what was planned when stays visible. Forecast runs are in :mod:`ems.store.forecasts`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg

from ems.store.errors import StoreError

SCHEDULE_KINDS = ("day_ahead", "mpc", "baseline", "what_if")


@dataclass(frozen=True)
class ScheduleInterval:
    """Park totals of one planned interval [kW; emissions kgCO2, factor kgCO2/kWh] and each device's decisions."""

    time: dt.datetime
    grid_import_kw: float
    grid_export_kw: float
    local_re_kw: float
    green_kw: float
    curtail_kw: float
    consumption_kw: float
    emissions_kg: float
    park_ef_kg_per_kwh: float
    devices: dict[str, dict[str, float]]


@dataclass(frozen=True)
class ScheduleRecord:
    """A dispatch plan as the store keeps it: header, KPIs and summary as plain dicts, one row per interval."""

    start: dt.datetime
    interval_minutes: int
    method: str
    status: str
    objective_mode: str
    solver_status: str
    fallback_reason: str | None
    solve_time_s: float
    kpis: dict[str, Any]
    summary: dict[str, Any]
    intervals: list[ScheduleInterval]


def save_schedule(
    conn: psycopg.Connection, s: ScheduleRecord, kind: str = "day_ahead", forecast_run_id: int | None = None
) -> tuple[int, int]:
    """Store schedule ``s`` as the next version for (kind, start); returns (schedule_id, version)."""
    if kind not in SCHEDULE_KINDS:
        raise StoreError(f"unknown schedule kind {kind!r}; known: {', '.join(SCHEDULE_KINDS)}")
    start = s.start.astimezone(dt.UTC)
    # JSON has no NaN/inf: a KPI that is not finite is stored as null
    kpis = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in s.kpis.items()}
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
                "im": s.interval_minutes,
                "n": len(s.intervals),
                "method": s.method,
                "status": s.status,
                "mode": s.objective_mode,
                "solver": s.solver_status,
                "reason": s.fallback_reason,
                "st": s.solve_time_s,
                "run": forecast_run_id,
                "kpis": json.dumps(kpis),
                "summary": json.dumps(s.summary),
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
            for r in s.intervals:
                cp.write_row(
                    (
                        sid,
                        r.time.astimezone(dt.UTC),
                        r.grid_import_kw,
                        r.grid_export_kw,
                        r.local_re_kw,
                        r.green_kw,
                        r.curtail_kw,
                        r.consumption_kw,
                        r.emissions_kg,
                        r.park_ef_kg_per_kwh,
                        json.dumps(r.devices),
                    )
                )
    return sid, version


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


def planned_metered_kw(
    grid_import_kw: float, grid_export_kw: float, devices: dict[str, dict[str, float]], contract_ids: list[str]
) -> float:
    """A stored plan interval's power at the grid meter [kW, > 0 importing]: grid-mix import − export + the
    green contracts' deliveries, which arrive through the same meter (as
    :func:`services.network_check.planned_exchange_kw` for a schedule in memory). What a grid meter reading
    compares with."""
    return grid_import_kw - grid_export_kw + sum(float(devices.get(c, {}).get("p_kw", 0.0)) for c in contract_ids)


def planned_intervals(
    conn: psycopg.Connection, kind: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, float, float, float | None, dict[str, dict[str, float]]]]:
    """Like :func:`planned_series`, with the export and the planned consumption: (time, grid_import_kw,
    grid_export_kw, consumption_kw, devices) of the newest plan made for each interval in [start, end)."""
    return [
        (r[0], float(r[1]), float(r[2] or 0.0), None if r[3] is None else float(r[3]), r[4])
        for r in conn.execute(
            """
            SELECT DISTINCT ON (i.time) i.time, i.grid_import_kw, i.grid_export_kw, i.consumption_kw, i.devices
            FROM schedule_interval i JOIN schedule s USING (schedule_id)
            WHERE s.kind = %s AND i.time >= %s AND i.time < %s AND s.start_time <= i.time
            ORDER BY i.time, s.start_time DESC, s.version DESC
            """,
            (kind, start, end),
        ).fetchall()
    ]
