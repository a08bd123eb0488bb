"""Limit check over a whole period (a year by default): every violating interval, a summary and a plot."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grid_models.hosting import ViolationSummary, summarise
from grid_models.network import ParkNetwork
from grid_models.powerflow import timeseries
from grid_models.profiles import ParkProfiles
from grid_models.results import SeriesResult, Violation, power_factor, violations

#: unit of ``Violation.value``/``limit`` per kind, for listings
UNITS = {
    "voltage_low": " pu",
    "voltage_high": " pu",
    "line_loading": " %",
    "trafo_loading": " %",
    "import_limit": " kW",
    "export_limit": " kW",
    "power_factor": "",
    "not_converged": "",
}


@dataclass(frozen=True)
class PeriodCheck:
    """Power flow of every interval of ``profiles`` (fast path) and all its violations."""

    times: np.ndarray
    result: SeriesResult
    violations: list[Violation]
    summary: list[ViolationSummary]

    @property
    def violating_intervals(self) -> int:
        return len({v.interval for v in self.violations})


def check_period(pn: ParkNetwork, profiles: ParkProfiles, progress: Callable[[int], None] | None = None) -> PeriodCheck:
    """Run every interval of ``profiles`` on the fast path (on-load tap changers controlled) and
    collect all limit violations."""
    res = timeseries(
        pn, list(profiles.device_ids), profiles.p_kw, times=profiles.times, progress=progress, control_taps=True
    )
    found = violations(res, pn.limits)
    return PeriodCheck(profiles.times, res, found, summarise("period", found))


def voltage_kv(pn: ParkNetwork, v: Violation) -> float:
    """A voltage violation's value in kV (``value`` is in pu of the bus's modelled voltage)."""
    return v.value * float(pn.net.bus.vn_kv.iloc[pn.bus_ids.index(v.element)])


def write_csv(check: PeriodCheck, pn: ParkNetwork, path: str | Path) -> int:
    """Every violation, one row each (time UTC, kind, element, value, limit, margin, unit); returns rows."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["time_utc", "interval", "kind", "element", "value", "limit", "margin", "unit", "value_kv"])
        for v in check.violations:
            kv = f"{voltage_kv(pn, v):.4f}" if v.kind.startswith("voltage") else ""
            t = np.datetime_as_string(check.times[v.interval], unit="m")
            vals = (f"{v.value:.6g}", f"{v.limit:.6g}", f"{v.margin:.6g}")
            w.writerow([t, v.interval, v.kind, v.element, *vals, UNITS[v.kind].strip(), kv])
    return len(check.violations)


def plot_check(check: PeriodCheck, pn: ParkNetwork, path: str | Path) -> None:
    """PNG: per interval the highest/lowest bus voltage relative to its band, the highest branch
    loading, the grid exchange with its limits and the power factor while importing;
    violating intervals marked in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res, lim = check.result, pn.limits
    lo, hi = lim.voltage_band(len(res.bus_ids))
    # voltage as a fraction of the band's half-width around its centre: ±1 = at a limit
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    with np.errstate(invalid="ignore"):
        v_pos = np.nanmax((res.vm_pu - centre) / half, axis=1)
        v_neg = np.nanmin((res.vm_pu - centre) / half, axis=1)
        loadings = [res.line_loading_percent / np.asarray(lim.line_max_loading_percent) * 100]
        loadings.append(res.trafo_loading_percent / np.asarray(lim.trafo_max_loading_percent) * 100)
        branch = np.nanmax(np.concatenate(loadings, axis=1), axis=1) if sum(a.size for a in loadings) else None
    t = check.times.astype("datetime64[m]")
    bad = np.zeros(len(t), dtype=bool)
    bad[[v.interval for v in check.violations]] = True
    fig, ax = plt.subplots(4, 1, figsize=(12, 10), sharex=True)
    ax[0].plot(t, v_pos, lw=0.4, label="highest bus")
    ax[0].plot(t, v_neg, lw=0.4, label="lowest bus")
    ax[0].axhline(1, color="r", lw=0.8)
    ax[0].axhline(-1, color="r", lw=0.8)
    ax[0].set_ylabel("voltage in band\n(-1 = low limit, +1 = high)")
    ax[0].legend(loc="upper right")
    if branch is not None:
        ax[1].plot(t, branch, lw=0.4)
        ax[1].axhline(100, color="r", lw=0.8)
    ax[1].set_ylabel("highest branch loading\n[% of its limit]")
    ax[2].plot(t, res.grid_exchange_kw / 1e3, lw=0.4)
    for limit in (lim.import_limit_kw, -lim.export_limit_kw):
        if np.isfinite(limit):
            ax[2].axhline(limit / 1e3, color="r", lw=0.8)
    ax[2].set_ylabel("grid exchange [MW]\n(+ import)")
    pf = np.where(res.grid_exchange_kw > 0, power_factor(res.grid_exchange_kw, res.grid_exchange_kvar), np.nan)
    ax[3].plot(t, pf, lw=0.4)
    if lim.min_power_factor > 0:
        ax[3].axhline(lim.min_power_factor, color="r", lw=0.8)
    ax[3].set_ylabel("power factor\nwhile importing")
    for a in ax:
        ymin, ymax = a.get_ylim()
        a.fill_between(t, ymin, ymax, where=bad, color="r", alpha=0.08, step="mid", lw=0)
        a.set_ylim(ymin, ymax)
    fig.suptitle(
        f"{pn.name}: {len(t)} intervals, {check.violating_intervals} with a violation (red), "
        f"{len(check.violations)} violations"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
