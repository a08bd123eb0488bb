"""Plan from a year of metered history instead of the synthetic year.

From the telemetry store (hourly energies, :meth:`ems.store.Store.interval_energy`):

* the load ``L_t``: the park's loads (energy drawn);
* the existing local renewables ``A0_t``: what the PV and wind meters delivered (after any
  curtailment: a lower bound of what was available, stated in the report);
* the existing direct line ``D0_t``: what the green-connection meters delivered;
* the output of one new kW: from the park's own PV and wind plants, their metered output per kW of
  rating (new PV scaled by the options' DC/AC ratio relative to the existing plants', at most 1);
  without such a plant, the synthetic profile of the same hours.

Gaps are filled as ``ems.carbon`` fills them (:func:`ems.carbon.flows.fill_row`: partial hours
scaled by their coverage, empty hours interpolated) and counted; the plan refuses history with less
than ``MIN_COVERAGE`` of the hours covered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ems.carbon.flows import boundary_of, fill_row
from ems.park import Park, PvPlant, WindTurbine
from ems.store import Store

MIN_COVERAGE = 0.9


@dataclass(frozen=True)
class MeteredYear:
    """Hourly series read from the store [kW = kWh per hour]."""

    start: dt.datetime
    starts: np.ndarray  # datetime64[us] UTC hour starts
    load_kw: np.ndarray
    re_existing_kw: np.ndarray
    direct_existing_kw: np.ndarray
    pv_kw_per_kwp: np.ndarray | None  # metered output of the existing PV per kWp DC; None: no PV
    wind_kw_per_kw: np.ndarray | None  # per kW of rated wind; None: no wind
    coverage: float  # mean coverage of the devices read
    filled_hours: int  # device-hours scaled or interpolated

    @property
    def hours(self) -> int:
        return len(self.load_kw)


def metered_year(store: Store, park: Park, start: dt.datetime, hours: int) -> MeteredYear:
    """Read ``hours`` hours from ``start`` (a park-interval boundary) out of ``store``."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    ie = store.interval_energy(start, start + dt.timedelta(hours=hours), interval_minutes=60)
    b = boundary_of(park)
    row = {d: i for i, d in enumerate(ie.devices)}
    used = [*b.loads, *b.generators, *b.green_meters]
    coverage = float(ie.coverage[[row[d] for d in used]].mean()) if used else 0.0
    if coverage < MIN_COVERAGE:
        raise ValueError(
            f"metered history {start.isoformat()} + {hours} h covers {coverage:.1%} of the device-hours "
            f"(at least {MIN_COVERAGE:.0%} needed): check the telemetry or choose another period"
        )
    filled = 0

    def energy(ids: list[str], inflow: bool) -> np.ndarray:
        nonlocal filled
        total = np.zeros(hours)
        for d in ids:
            e, codes = fill_row((ie.e_in_kwh if inflow else ie.e_out_kwh)[row[d]], ie.coverage[row[d]])
            filled += int(np.count_nonzero(codes))
            total += e
        return total

    pv = [d for d in park.devices if isinstance(d, PvPlant)]
    wind = [d for d in park.devices if isinstance(d, WindTurbine)]
    pv_kw = energy([d.id for d in pv], False)
    wind_kw = energy([d.id for d in wind], False)
    kwp = sum(d.dc_kwp for d in pv)
    rated_wind = sum(d.p_total_kw for d in wind)
    return MeteredYear(
        start=start,
        starts=np.asarray(ie.starts, dtype="datetime64[us]"),
        load_kw=energy(b.loads, True),
        re_existing_kw=pv_kw + wind_kw,
        direct_existing_kw=energy(b.green_meters, False),
        pv_kw_per_kwp=pv_kw / kwp if kwp > 0 else None,
        wind_kw_per_kw=np.minimum(wind_kw / rated_wind, 1.0) if rated_wind > 0 else None,
        coverage=coverage,
        filled_hours=filled,
    )
