"""Hosting check: what happens over a year if extra PV, wind or battery power is connected at a bus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from grid_models.network import NetworkModelError, ParkNetwork
from grid_models.powerflow import timeseries
from grid_models.profiles import ParkProfiles
from grid_models.results import SeriesResult, Violation, violations

#: the power factor at the connection point is a tariff matter, not a hosting limit: extra
#: unity-pf generation lowers the measured pf (less P, same Q) and is fixed by compensation
NOT_HOSTING_LIMITS = frozenset({"power_factor"})


def hosting_violations(result: SeriesResult, pn: ParkNetwork, ignore: frozenset[str] = frozenset()) -> list[Violation]:
    """The violations that limit hosting: voltage, loading, exchange limits, non-convergence (minus ``ignore``)."""
    skip = NOT_HOSTING_LIMITS | ignore
    return [v for v in violations(result, pn.limits) if v.kind not in skip]


@dataclass(frozen=True)
class ViolationSummary:
    """All violations of one limit at one element in one scenario."""

    scenario: str
    kind: str
    element: str
    intervals: int
    worst_value: float
    limit: float
    worst_margin: float
    first_interval: int
    worst_interval: int


@dataclass(frozen=True)
class HostingReport:
    """Year-long violations without (``base``) and with (``with_extra``) the proposed capacity.

    Scenarios: ``profile`` (PV/wind on the year's weather, the extra battery idle) and, with
    an extra battery, ``battery_discharging``/``battery_charging`` (the battery at full power
    in every interval on top of ``profile``: the envelope of any schedule).
    ``new_violations`` counts (scenario, kind, element, interval) not already violated in the base.
    """

    bus: str
    extra_pv_kw: float
    extra_wind_kw: float
    extra_battery_kw: float
    steps: int
    base: list[ViolationSummary]
    with_extra: list[ViolationSummary]
    new_violations: int
    max_export_kw: float
    max_import_kw: float
    max_line_loading_percent: float
    max_trafo_loading_percent: float
    v_min_pu: float
    v_max_pu: float

    @property
    def ok(self) -> bool:
        """True when the extra capacity adds no violation."""
        return self.new_violations == 0


def summarise(scenario: str, found: list[Violation]) -> list[ViolationSummary]:
    """Group violations by (kind, element): count, worst margin, first and worst interval."""
    groups: dict[tuple[str, str], list[Violation]] = {}
    for v in found:
        groups.setdefault((v.kind, v.element), []).append(v)
    out = []
    for (kind, element), vs in groups.items():
        worst = min(vs, key=lambda v: v.margin if np.isfinite(v.margin) else -np.inf)
        out.append(
            ViolationSummary(
                scenario,
                kind,
                element,
                len(vs),
                worst.value,
                worst.limit,
                worst.margin,
                min(v.interval for v in vs),
                worst.interval,
            )
        )
    out.sort(key=lambda s: (s.kind, s.element))
    return out


def hosting_check(
    pn: ParkNetwork,
    profiles: ParkProfiles,
    bus: str,
    extra_pv_kw: float = 0.0,
    extra_wind_kw: float = 0.0,
    extra_battery_kw: float = 0.0,
    progress: Callable[[int], None] | None = None,
) -> HostingReport:
    """Run the profile period with and without extra capacity at ``bus`` (fast path) and compare violations.

    ``progress(n)`` is called as intervals complete (total = steps × (2 + 2 if a battery is added)).
    """
    if min(extra_pv_kw, extra_wind_kw, extra_battery_kw) < 0:
        raise NetworkModelError("extra capacities must be >= 0 kW")
    pn.bus_index(bus)
    extra: dict[str, tuple[str, float]] = {}
    if extra_pv_kw > 0:
        extra["EXTRA_PV"] = ("sgen", 0.0)
    if extra_wind_kw > 0:
        extra["EXTRA_WIND"] = ("sgen", 0.0)
    if extra_battery_kw > 0:
        extra["EXTRA_BATTERY"] = ("storage", 0.0)
    ids, p = list(profiles.device_ids), profiles.p_kw
    base = timeseries(pn, ids, p, progress=progress)
    base_found = hosting_violations(base, pn)

    grown = pn.with_extra_elements(bus, extra)
    cols = [profiles.pv_per_kw * extra_pv_kw] if extra_pv_kw > 0 else []
    cols += [profiles.wind_per_kw * extra_wind_kw] if extra_wind_kw > 0 else []
    scenarios = {"profile": 0.0}
    if extra_battery_kw > 0:
        scenarios.update(battery_discharging=extra_battery_kw, battery_charging=-extra_battery_kw)
    seen = {(v.kind, v.element, v.interval) for v in base_found}
    summaries: list[ViolationSummary] = []
    results: list[SeriesResult] = []
    new = 0
    for name, battery_kw in scenarios.items():
        extra_cols = cols + ([np.full(len(p), battery_kw)] if extra_battery_kw > 0 else [])
        p_all = np.column_stack([p, *extra_cols])
        res = timeseries(grown, ids + list(extra), p_all, progress=progress)
        found = hosting_violations(res, grown)
        new += sum((v.kind, v.element, v.interval) not in seen for v in found)
        summaries += summarise(name, found)
        results.append(res)
    ex = np.concatenate([r.grid_exchange_kw for r in results])
    vm = np.concatenate([r.vm_pu for r in results])
    ll = np.concatenate([r.line_loading_percent for r in results])
    tl = np.concatenate([r.trafo_loading_percent for r in results])
    return HostingReport(
        bus=bus,
        extra_pv_kw=extra_pv_kw,
        extra_wind_kw=extra_wind_kw,
        extra_battery_kw=extra_battery_kw,
        steps=len(p),
        base=summarise("base", base_found),
        with_extra=summaries,
        new_violations=new,
        max_export_kw=float(max(0.0, -np.nanmin(ex))),
        max_import_kw=float(max(0.0, np.nanmax(ex))),
        max_line_loading_percent=float(np.nanmax(ll)) if ll.size else 0.0,
        max_trafo_loading_percent=float(np.nanmax(tl)) if tl.size else 0.0,
        v_min_pu=float(np.nanmin(vm)),
        v_max_pu=float(np.nanmax(vm)),
    )


@dataclass(frozen=True)
class HostingCapacity:
    """The largest extra capacity at ``bus`` that adds no violation over the profile period.

    ``capacity_kw`` is feasible; ``capacity_kw + tolerance_kw`` is not, and ``binding`` is the
    worst new violation there (element, interval, value, limit). ``bounded`` is False when
    even ``upper_kw`` adds no violation (``capacity_kw`` is then ``upper_kw``, ``binding`` None).
    ``runs`` power-flow batches were solved, ``intervals_solved`` intervals in total.
    """

    bus: str
    technology: str
    capacity_kw: float
    tolerance_kw: float
    upper_kw: float
    bounded: bool
    binding: Violation | None
    steps: int
    runs: int
    intervals_solved: int


def default_upper_kw(pn: ParkNetwork) -> float:
    """Search bound: twice the park's transformer rating (100 MW for a network without transformers)."""
    tr = pn.net.trafo
    rating = float((tr.sn_mva * tr.parallel)[tr.in_service].sum()) * 1e3
    return 2 * rating if rating > 0 else 100_000.0


def hosting_capacity(
    pn: ParkNetwork,
    profiles: ParkProfiles,
    bus: str,
    technology: str = "pv",
    upper_kw: float | None = None,
    tolerance_kw: float = 10.0,
    ignore: frozenset[str] = frozenset(),
    progress: Callable[[int], None] | None = None,
) -> HostingCapacity:
    """Bisection on the extra capacity at ``bus`` over every interval of ``profiles`` (fast path).

    ``technology``: ``pv``/``wind`` follow the park's weather (``pv_per_kw``/``wind_per_kw``);
    ``battery`` is checked at full discharge and full charge in every interval (the envelope
    of any schedule). A capacity is feasible when it adds no violation that the base run
    (profiles without the extra capacity) does not have; the power factor is not a hosting
    limit (:data:`NOT_HOSTING_LIMITS`), nor the kinds in ``ignore`` (e.g. ``export_limit`` for
    the network's capacity when export would be curtailed).

    Screening, exact under the assumption that a violation added at some capacity is also
    there at any larger one: intervals where the extra unit produces nothing are skipped, and
    once an interval passes at the current upper bound it passes at every candidate below,
    so each run solves only the intervals that failed at the last infeasible capacity.
    """
    if technology not in ("pv", "wind", "battery"):
        raise NetworkModelError(f"technology must be pv, wind or battery, got {technology!r}")
    if tolerance_kw <= 0:
        raise NetworkModelError("tolerance_kw must be > 0")
    pn.bus_index(bus)
    upper = default_upper_kw(pn) if upper_kw is None else float(upper_kw)
    if upper <= 0:
        raise NetworkModelError("upper_kw must be > 0")
    ids, p = list(profiles.device_ids), profiles.p_kw
    steps = len(p)
    if technology == "battery":
        # rows 0..T-1 discharging, T..2T-1 charging: one batch covers both envelopes
        p_rows, unit = np.vstack([p, p]), np.r_[np.ones(steps), -np.ones(steps)]
        interval_of = np.r_[np.arange(steps), np.arange(steps)]
    else:
        unit = profiles.pv_per_kw if technology == "pv" else profiles.wind_per_kw
        p_rows, interval_of = p, np.arange(steps)
    runs, solved = 0, 0

    def new_violations(grown: ParkNetwork, rows: np.ndarray, extra_kw: float) -> list[Violation]:
        nonlocal runs, solved
        res = timeseries(grown, [*ids, "EXTRA"], np.column_stack([p_rows[rows], unit[rows] * extra_kw]))
        runs, solved = runs + 1, solved + len(rows)
        if progress is not None:
            progress(len(rows))
        found = []
        for v in hosting_violations(res, grown, ignore):
            t = int(interval_of[rows[v.interval]])
            if (v.kind, v.element, t) not in seen:
                found.append(Violation(v.kind, v.element, t, v.value, v.limit, v.margin))
        return found

    base = timeseries(pn, ids, p)
    seen = {(v.kind, v.element, v.interval) for v in hosting_violations(base, pn, ignore)}
    grown = pn.with_extra_elements(bus, {"EXTRA": ("storage" if technology == "battery" else "sgen", 0.0)})
    rows = np.nonzero(unit != 0)[0]
    lo, hi = 0.0, upper
    at_hi = new_violations(grown, rows, hi) if len(rows) else []
    if not at_hi:
        return HostingCapacity(bus, technology, upper, tolerance_kw, upper, False, None, steps, runs, solved)
    while hi - lo > tolerance_kw:
        mid = (lo + hi) / 2
        candidates = _rows_of(at_hi, rows, interval_of)
        found = new_violations(grown, candidates, mid)
        if found:
            hi, at_hi = mid, found
        else:
            lo = mid
    worst = min(at_hi, key=lambda v: (v.margin if np.isfinite(v.margin) else -np.inf, v.interval))
    return HostingCapacity(bus, technology, lo, tolerance_kw, upper, True, worst, steps, runs, solved)


def _rows_of(found: list[Violation], rows: np.ndarray, interval_of: np.ndarray) -> np.ndarray:
    """The rows (of ``rows``) whose interval has a violation in ``found``."""
    bad = {v.interval for v in found}
    return rows[np.isin(interval_of[rows], list(bad))]
