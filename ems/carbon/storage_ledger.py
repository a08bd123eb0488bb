"""Storage carbon ledger: discharged energy carries the intensity of the energy that charged it.

The battery (all park batteries aggregated) is a pool of *stored* energy ``E`` [kWh, DC side]
with attached quantities that move proportionally with it:

* ``carbon_loc``, ``carbon_mkt`` [kgCO2]: location- and market-based CO2 of the charged energy;
* ``cfe`` [kWh]: stored energy that was carbon-free in the hour it was charged (local or
  direct renewables, hourly-delivered green contracts);
* ``green`` [kWh]: stored energy covered by any market instrument (also period contracts
  and retired certificates), for the clean-energy share indicator.

Per interval, in this order (the order inside one interval is not metered, so it is fixed):

1. self-discharge: ``E *= (1 - sd)^dt_h``; CO2 stays in the pool (losses are borne by the
   energy that remains, so no CO2 is lost from the books);
2. discharge of ``d`` AC kWh withdraws ``w = d / eta_d`` stored kWh and the proportional share
   of every pool quantity; the AC intensity of the discharge is ``carbon / E / eta_d``;
3. charge of ``c`` AC kWh adds ``c * eta_c`` stored kWh, with ``c_src * intensity_src`` CO2 for
   each source (grid at its interval intensity, renewables at zero, recirculated discharge at
   the intensity just computed).

If a discharge needs more stored energy than the pool holds (history before the period,
metering error), the deficit is treated as if charged from the grid in that interval
(conservative) and reported as ``unknown_origin_kwh``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StorageParams:
    eta_charge: float = 0.95
    eta_discharge: float = 0.95
    self_discharge_per_h: float = 0.0
    initial_stored_kwh: float = 0.0
    initial_kg_per_kwh_loc: float = 0.0  # per stored kWh
    initial_kg_per_kwh_mkt: float = 0.0


@dataclass(frozen=True)
class ChargeSources:
    """AC energy charged per interval by source, and the intensities of the grid part."""

    clean_kwh: np.ndarray  # local renewables + direct green (zero CO2, carbon-free)
    grid_kwh: np.ndarray
    recirculated_kwh: np.ndarray  # discharge going straight back into charge in the same interval
    grid_kg_per_kwh_loc: np.ndarray
    grid_kg_per_kwh_mkt: np.ndarray
    grid_cfe_share: np.ndarray  # share of grid energy that is hourly-matched green (contracts per interval)
    grid_green_share: np.ndarray  # share of grid energy covered by any market instrument


@dataclass(frozen=True)
class LedgerResult:
    """Per interval: intensity and shares of the energy discharged, losses, and pool state at the end."""

    discharge_kg_per_kwh_loc: np.ndarray  # per AC kWh discharged
    discharge_kg_per_kwh_mkt: np.ndarray
    discharge_cfe_share: np.ndarray
    discharge_green_share: np.ndarray
    losses_kwh: np.ndarray  # charge + discharge + self-discharge losses
    unknown_origin_kwh: np.ndarray  # AC kWh assumed grid-charged because the pool was short
    unknown_origin_kg_loc: np.ndarray
    unknown_origin_kg_mkt: np.ndarray
    stored_kwh: np.ndarray  # pool state at interval end
    pool_kg_loc: np.ndarray
    pool_kg_mkt: np.ndarray
    initial_kg_loc: float
    initial_kg_mkt: float


def run_ledger(
    charge_kwh: np.ndarray,
    discharge_kwh: np.ndarray,
    src: ChargeSources,
    params: StorageParams,
    interval_h: float,
) -> LedgerResult:
    """Sequential pool accounting (see module docstring). Energies in AC kWh at the battery terminals."""
    n = len(charge_kwh)
    out = {
        k: np.zeros(n)
        for k in (
            "dis_loc",
            "dis_mkt",
            "dis_cfe",
            "dis_green",
            "loss",
            "unk",
            "unk_loc",
            "unk_mkt",
            "e",
            "c_loc",
            "c_mkt",
        )
    }
    eta_c, eta_d = params.eta_charge, params.eta_discharge
    keep = (1.0 - params.self_discharge_per_h) ** interval_h
    e = params.initial_stored_kwh
    c_loc = e * params.initial_kg_per_kwh_loc
    c_mkt = e * params.initial_kg_per_kwh_mkt
    cfe = green = 0.0
    init_loc, init_mkt = c_loc, c_mkt
    # plain Python floats: the loop is sequential, and scalar numpy indexing would be 10x slower
    ch = charge_kwh.tolist()
    dis = discharge_kwh.tolist()
    s_clean, s_grid, s_rec = src.clean_kwh.tolist(), src.grid_kwh.tolist(), src.recirculated_kwh.tolist()
    g_loc, g_mkt = src.grid_kg_per_kwh_loc.tolist(), src.grid_kg_per_kwh_mkt.tolist()
    g_cfe, g_green = src.grid_cfe_share.tolist(), src.grid_green_share.tolist()
    for t in range(n):
        loss = e * (1.0 - keep)
        frac = keep
        e *= frac
        cfe *= frac
        green *= frac
        d = dis[t]
        if d > 0.0:
            w = d / eta_d
            if w > e:  # pool short: the missing stored energy is taken as grid-charged now
                deficit_ac = (w - e) / eta_c
                out["unk"][t] = deficit_ac
                out["unk_loc"][t] = deficit_ac * g_loc[t]
                out["unk_mkt"][t] = deficit_ac * g_mkt[t]
                c_loc += out["unk_loc"][t]
                c_mkt += out["unk_mkt"][t]
                e = w
            share = w / e
            out["dis_loc"][t] = c_loc * share / d
            out["dis_mkt"][t] = c_mkt * share / d
            out["dis_cfe"][t] = cfe * share / d
            out["dis_green"][t] = green * share / d
            c_loc -= c_loc * share
            c_mkt -= c_mkt * share
            cfe -= cfe * share
            green -= green * share
            e -= w
            loss += w - d
        c = ch[t]
        if c > 0.0:
            rec = s_rec[t]
            c_loc += s_grid[t] * g_loc[t] + rec * out["dis_loc"][t]
            c_mkt += s_grid[t] * g_mkt[t] + rec * out["dis_mkt"][t]
            cfe += (s_clean[t] + s_grid[t] * g_cfe[t] + rec * out["dis_cfe"][t]) * eta_c
            green += (s_clean[t] + s_grid[t] * g_green[t] + rec * out["dis_green"][t]) * eta_c
            e += c * eta_c
            loss += c * (1.0 - eta_c)
        if e < 1e-9:  # numerical dust: an empty pool carries nothing
            e = c_loc = c_mkt = cfe = green = 0.0
        out["loss"][t] = loss
        out["e"][t] = e
        out["c_loc"][t] = c_loc
        out["c_mkt"][t] = c_mkt
    return LedgerResult(
        discharge_kg_per_kwh_loc=out["dis_loc"],
        discharge_kg_per_kwh_mkt=out["dis_mkt"],
        discharge_cfe_share=out["dis_cfe"],
        discharge_green_share=out["dis_green"],
        losses_kwh=out["loss"],
        unknown_origin_kwh=out["unk"],
        unknown_origin_kg_loc=out["unk_loc"],
        unknown_origin_kg_mkt=out["unk_mkt"],
        stored_kwh=out["e"],
        pool_kg_loc=out["c_loc"],
        pool_kg_mkt=out["c_mkt"],
        initial_kg_loc=init_loc,
        initial_kg_mkt=init_mkt,
    )
