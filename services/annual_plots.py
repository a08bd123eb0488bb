"""Plots of an annual simulation (matplotlib, Agg backend, PNG files)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from dispatch.schedule import Schedule
from ems.parktime import Zone, local_times
from services.annual import SimulationResult


def _monthly(s: Schedule, values: np.ndarray, tz: Zone) -> tuple[np.ndarray, np.ndarray]:
    """Energy of ``values`` [kW] per park-local calendar month [kWh]."""
    months = local_times(s.times, tz).astype("datetime64[M]")
    keys = np.unique(months)
    return keys, np.array([values[months == m].sum() * s.dt_h for m in keys])


def write_plots(result: SimulationResult, out: Path, tz: Zone) -> list[Path]:
    """SOC, monthly supply mix, monthly curtailment and monthly park emission factor (months in the
    park time zone ``tz``); returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    opt, base = result.optimised, result.baseline
    files = []

    fig, ax = plt.subplots(figsize=(11, 3.5))
    for b, soc in opt.soc.items():
        ax.plot(opt.times, soc, lw=0.4, label=f"{b} optimised")
    for b, soc in base.soc.items():
        ax.plot(base.times, soc, lw=0.4, alpha=0.6, label=f"{b} rule-based")
    ax.set_ylabel("SOC")
    ax.set_title("Battery state of charge")
    ax.legend(loc="upper right", fontsize=8)
    files.append(_save(fig, out / "soc.png"))

    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for ax, s, title in ((axes[0], opt, "optimised"), (axes[1], base, "rule-based")):
        keys, local = _monthly(s, s.local_re_kw, tz)
        _, green = _monthly(s, s.green_kw, tz)
        _, grid = _monthly(s, s.grid_import_kw, tz)
        x = np.arange(len(keys))
        ax.bar(x, local / 1e3, label="local PV/wind")
        ax.bar(x, green / 1e3, bottom=local / 1e3, label="green contracts + direct")
        ax.bar(x, grid / 1e3, bottom=(local + green) / 1e3, label="grid mix")
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


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
