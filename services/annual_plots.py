"""Plots of an annual simulation (matplotlib, Agg backend, PNG files)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from dispatch.schedule import Schedule
from ems.parktime import Zone, local_times
from services.annual import SimulationResult, metered_import_kw
from services.annual_margin import MarginComparison

LOCAL_RE = "#2e7d32"
GREEN_SUPPLY = "#81c784"
GRID_MIX = "#9e9e9e"


def soc_by_day(s: Schedule, tz: Zone) -> tuple[np.ndarray, np.ndarray]:
    """(park-local days, days x intervals-of-day matrix) of the batteries' mean SOC; NaN where the
    simulation does not cover an interval (a partial first or last day)."""
    local = local_times(s.times, tz)
    days = local.astype("datetime64[D]")
    keys = np.unique(days)
    per_day = round(24 / s.dt_h)
    slot = ((local - days).astype("timedelta64[m]").astype(np.int64) / (s.dt_h * 60)).astype(int)
    soc = np.mean(np.vstack(list(s.soc.values())), axis=0) if s.soc else np.zeros(s.T)
    grid = np.full((len(keys), per_day), np.nan)
    grid[np.searchsorted(keys, days), slot] = soc
    return keys, grid


def _soc_heat_map(opt: Schedule, base: Schedule, tz: Zone, path: Path) -> Path:
    """SOC as a heat map (day x time of day), optimised beside rule-based: a year of 15-min SOC as a line
    is unreadable; the heat map shows the daily cycle and how it shifts over the seasons."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, s, title in ((axes[0], opt, "optimised"), (axes[1], base, "rule-based")):
        keys, grid = soc_by_day(s, tz)
        im = ax.imshow(
            grid,
            aspect="auto",
            origin="lower",
            vmin=0,
            vmax=1,
            cmap="viridis",
            extent=(0, 24, 0, len(keys)),
            interpolation="nearest",
        )
        ax.set_xlabel("time of day (park time) [h]")
        ax.set_xticks(range(0, 25, 6))
        ax.set_title(f"Battery SOC, {title}")
    ticks = np.linspace(0, len(keys) - 1, min(len(keys), 6)).astype(int)
    axes[0].set_yticks(ticks + 0.5, [str(keys[i]) for i in ticks])
    fig.colorbar(im, ax=axes, label="SOC (mean of the batteries)")
    return _save(fig, path, tight=False)


def _monthly(s: Schedule, values: np.ndarray, tz: Zone) -> tuple[np.ndarray, np.ndarray]:
    """Energy of ``values`` [kW] per park-local calendar month [kWh]."""
    months = local_times(s.times, tz).astype("datetime64[M]")
    keys = np.unique(months)
    return keys, np.array([values[months == m].sum() * s.dt_h for m in keys])


def write_plots(result: SimulationResult, out: Path, tz: Zone) -> list[Path]:
    """SOC heat map, monthly supply mix, monthly curtailment and monthly park emission factor (months in the
    park time zone ``tz``); returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    opt, base = result.optimised, result.baseline
    files = []

    files.append(_soc_heat_map(opt, base, tz, out / "soc.png"))

    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for ax, s, title in ((axes[0], opt, "optimised"), (axes[1], base, "rule-based")):
        keys, local = _monthly(s, s.local_re_kw, tz)
        _, green = _monthly(s, s.green_kw, tz)
        _, grid = _monthly(s, s.grid_import_kw, tz)
        x = np.arange(len(keys))
        ax.bar(x, local / 1e3, color=LOCAL_RE, label="local PV/wind")
        ax.bar(x, green / 1e3, bottom=local / 1e3, color=GREEN_SUPPLY, label="green contracts + direct")
        # grey: the grid mix is mostly coal in East China, never drawn in a green
        ax.bar(x, grid / 1e3, bottom=(local + green) / 1e3, color=GRID_MIX, label="grid mix")
        ax.set_xticks(x, [str(k)[5:] for k in keys])
        ax.set_title(f"Supply mix, {title}")
    axes[0].set_ylabel("MWh")
    axes[0].legend(fontsize=8)
    files.append(_save(fig, out / "supply_mix.png"))

    fig, ax = plt.subplots(figsize=(8, 3.5))
    for s, label, shift in ((opt, "optimised", -0.2), (base, "rule-based", 0.2)):
        keys, curt = _monthly(s, sum(s.curtail_kw.values(), np.zeros(s.T)), tz)
        ax.bar(np.arange(len(keys)) + shift, curt / 1e3, width=0.4, label=label)
    ax.set_xticks(np.arange(len(keys)), [str(k)[5:] for k in keys])
    ax.set_ylabel("MWh curtailed")
    ax.set_title("Curtailment of local PV and wind")
    ax.legend(fontsize=8)
    files.append(_save(fig, out / "curtailment.png"))

    fig, ax = plt.subplots(figsize=(8, 3.5))
    for s, label in ((opt, "optimised"), (base, "rule-based")):
        keys, em = _monthly(s, s.emissions_kg / s.dt_h, tz)
        _, cons = _monthly(s, s.consumption_kw, tz)
        ax.plot([str(k)[5:] for k in keys], em / np.maximum(cons, 1e-9), marker="o", label=label)
    ax.set_ylabel("kgCO2/kWh")
    ax.set_title("Monthly park emission factor (location-based)")
    ax.legend(fontsize=8)
    files.append(_save(fig, out / "monthly_emission_factor.png"))
    return files


def write_margin_plot(c: MarginComparison, out: Path, tz: Zone) -> Path:
    """Monthly metered peak without and with the peak-import safety margin (months in ``tz``), the
    exceedances of each run in the legend; returns the file."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for r, label, shift in ((c.without, "without margin", -0.2), (c.with_margin, f"margin q = {c.quantile:g}", 0.2)):
        s = r.optimised
        metered = metered_import_kw(s)
        months = local_times(s.times, tz).astype("datetime64[M]")
        keys = np.unique(months)
        peaks = np.array([metered[months == m].max() for m in keys])
        label = f"{label} ({r.peak_exceedances} exceedances)"
        ax.bar(np.arange(len(keys)) + shift, peaks / 1e3, width=0.4, label=label)
    ax.set_xticks(np.arange(len(keys)), [str(k)[5:] for k in keys])
    ax.set_ylabel("MW")
    ax.set_title("Monthly peak of metered import (billed by the demand charge)")
    ax.legend(fontsize=8)
    return _save(fig, out / "peak_margin.png")


def _save(fig: plt.Figure, path: Path, tight: bool = True) -> Path:
    if tight:  # not with a colorbar spanning several axes (matplotlib warns it cannot)
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
