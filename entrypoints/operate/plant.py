"""What the live demo adds to :class:`device_drivers.simulator.ParkSimulator`.

* :class:`DirectLineModel` — the off-site plant of a direct green connection behind its meter:
  it delivers the intake the dispatcher asked for, at most the plant's availability
  (clear-sky shape × the PV performance ratio of ems.constants, as the dispatcher assumes) and
  the line capacity. Registered in the simulator's models, so the grid meter's balance includes it.
* :func:`backfill_history` — days of history before the live day, from the same device physics
  (other simulated days of the same seeded weather; battery idle), so the forecasters have a past.
* :func:`true_available_kw` — the simulator's available PV/wind power before any curtailment,
  averaged per interval: the "actual" input of the rule-based baseline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from device_drivers.simulator.park import DeviceModel
from device_drivers.simulator.physics import wind_power
from ems import profiles
from ems.constants import PV_PERFORMANCE_RATIO
from ems.park import Battery, DirectGreenConnection, Meter, Park, PvPlant, WindTurbine
from ems.store import Store
from ems.telemetry import ReadingBatch, to_us

WIND_DIRECT_CAPACITY_FACTOR = 0.35  # flat availability of an off-site wind plant (illustrative)


class DirectLineModel:
    """Power [kW, > 0 into the park] of a direct green line at a simulated time."""

    def __init__(self, conn: DirectGreenConnection, park: Park) -> None:
        self.conn = conn
        self.location = park.location
        self.intake_kw = 0.0  # what the dispatcher takes in the current interval

    def available_kw(self, t: dt.datetime) -> float:
        """Plant output available at ``t``: rating × clear-sky GHI/1000 × PR (PV) or × a flat capacity factor."""
        c = self.conn
        if c.technology != "pv":
            return c.plant_p_rated_kw * WIND_DIRECT_CAPACITY_FACTOR
        t64 = np.array([np.datetime64(t.astimezone(dt.UTC).replace(tzinfo=None), "us")])
        loc = self.location
        ghi = float(profiles.clear_sky_ghi(t64, loc.latitude, loc.longitude, loc.altitude_m)[0])
        return c.plant_p_rated_kw * min(ghi / 1000.0, 1.0) * PV_PERFORMANCE_RATIO

    def power_kw(self, t: dt.datetime) -> float:
        return max(0.0, min(self.intake_kw, self.available_kw(t), self.conn.capacity_kw))


def add_direct_lines(models: dict[str, Any], park: Park) -> dict[str, DirectLineModel]:
    """Register a :class:`DirectLineModel` under each direct connection's meter id; returns them."""
    out = {}
    for c in park.green.direct_connections:
        if c.meter is not None:
            out[c.meter] = DirectLineModel(c, park)
            models[c.meter] = out[c.meter]
    return out


def backfill_history(
    park: Park,
    store: Store,
    start: dt.datetime,
    end: dt.datetime,
    seed: int,
    step_s: float = 60.0,
    cloudiness: float = 0.3,
) -> int:
    """Ingest readings for [start, end) every ``step_s`` from fresh device models; returns rows accepted.

    Batteries are idle at their initial SOC; the grid meter closes the balance; direct lines deliver nothing.
    """
    origin = start.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    models = {
        d.id: DeviceModel(d, park, origin, (seed, 10_000 + i), cloudiness)
        for i, d in enumerate(park.devices)
        if not isinstance(d, Meter)
    }
    n = int((end - start).total_seconds() // step_s)
    times = [start + dt.timedelta(seconds=k * step_s) for k in range(n)]
    t_us = np.array([to_us(t) for t in times], dtype=np.int64)
    cols: list[tuple[str, str, np.ndarray]] = []
    total = np.zeros(n)
    for dev_id, m in models.items():
        p = np.array([m.power_kw(t) for t in times])
        total += p
        cols.append((dev_id, "p_kw", p))
        dev = park.device(dev_id)
        if isinstance(dev, Battery):
            cols.append((dev_id, "soc_pct", np.full(n, 100.0 * dev.soc_initial)))
        if isinstance(dev, WindTurbine) and m.series is not None:
            cols.append((dev_id, "wind_speed_m_s", np.array([m.series.at(t) for t in times])))
    gm = park.grid_meter
    if gm is not None:
        cols.append((gm.id, "p_kw", -total))
    for c in park.green.direct_connections:
        if c.meter is not None:
            cols.append((c.meter, "p_kw", np.zeros(n)))
    batch = ReadingBatch(
        np.concatenate([t_us] * len(cols)),
        np.concatenate([np.full(n, d, dtype=object) for d, _, _ in cols]),
        np.concatenate([np.full(n, q, dtype=object) for _, q, _ in cols]),
        np.concatenate([v for _, _, v in cols]).astype(np.float64),
        np.zeros(n * len(cols), dtype=np.int16),
    )
    return store.ingest(batch, source="backfill", now=end).accepted


def true_available_kw(
    models: Mapping[str, object], park: Park, starts: Iterable[dt.datetime], step_s: float = 60.0
) -> dict[str, np.ndarray]:
    """Mean available power [kW] per interval of every PV/wind device (before curtailment)."""
    width = dt.timedelta(minutes=park.interval_minutes)
    starts = list(starts)
    k = int(width.total_seconds() // step_s)
    out: dict[str, np.ndarray] = {}
    for dev_id, m in models.items():
        dev = park.device(dev_id)
        if not isinstance(m, DeviceModel) or m.series is None or not isinstance(dev, PvPlant | WindTurbine):
            continue
        series = m.series
        vals = np.zeros(len(starts))
        for j, s in enumerate(starts):
            pts = [series.at(s + dt.timedelta(seconds=i * step_s)) for i in range(k)]
            vals[j] = float(np.mean([wind_power(dev, v) for v in pts] if isinstance(dev, WindTurbine) else pts))
        out[dev_id] = vals
    return out
