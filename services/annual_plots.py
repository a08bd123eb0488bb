"""Plots of an annual simulation (matplotlib, Agg backend, PNG files)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from dispatch.schedule import Schedule
from services.annual import SimulationResult


def _months(s: Schedule) -> np.ndarray:
    local = s.times + np.timedelta64(8, "h")  # park time (Asia/Shanghai, no DST)
    return local.astype("datetime64[M]")


def _monthly(s: Schedule, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    months = _months(s)
    keys = np.unique(months)
    return keys, np.array([values[months == m].sum() * s.dt_h for m in keys])


def write_plots(result: SimulationResult, out: Path) -> list[Path]:
    """SOC, monthly supply mix, monthly curtailment and monthly park emission factor; returns the files."""
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
        keys, local = _monthly(s, s.local_re_kw)
        _, green = _monthly(s, s.green_kw)
        _, grid = _monthly(s, s.grid_import_kw)
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
        keys, curt = _monthly(s, sum(s.curtail_kw.values(), np.zeros(s.T)))
        ax.bar(np.arange(len(keys)) + shift, curt / 1e3, width=0.4, label=label)
    ax.set_xticks(np.arange(len(keys)), [str(k)[5:] for k in keys])
    ax.set_ylabel("MWh curtailed")
    ax.set_title("Curtailment of local PV and wind")
    ax.legend(fontsize=8)
    files.append(_save(fig, out / "curtailment.png"))

    fig, ax = plt.subplots(figsize=(8, 3.5))
    for s, label in ((opt, "optimised"), (base, "rule-based")):
        keys, em = _monthly(s, s.emissions_kg / s.dt_h)
        _, cons = _monthly(s, s.consumption_kw)
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
