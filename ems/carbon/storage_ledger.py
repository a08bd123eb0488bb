"""Storage carbon ledger: discharged energy carries the CO2 and the origin of the energy that charged it.

The battery (all park batteries aggregated) is a pool of *stored* energy ``E`` [kWh, DC side]
with attached quantities that move proportionally with it (:class:`PoolState`):

* ``kg_loc``, ``kg_mkt`` [kgCO2]: location- and market-based CO2 of the charged energy;
* ``cfe_kwh`` [stored kWh]: the part of ``E`` that was carbon-free when charged (local or
  direct renewables, time-matched green contracts);
* ``green_kwh`` [stored kWh]: the part covered by any renewable origin or market instrument
  (also period contracts and retired certificates), for the clean-energy share indicator.

Per interval, in this order (the order inside one interval is not metered, so it is fixed):

1. self-discharge ``E *= (1 - sd)^dt_h``; ``cfe`` and ``green`` shrink in proportion (the lost
   energy carries the pool's shares out as losses); the CO2 stays in the pool (it is borne by
   the energy that remains, so no CO2 leaves the books);
2. discharge of ``d`` AC kWh withdraws ``w = d / eta_d`` stored kWh and the share ``w / E`` of
   every pool quantity. Energy shares are conserved: the ``d`` kWh delivered carry the pool's
   carbon-free share ``cfe / E`` and green share ``green / E``; the ``w - d`` kWh lost carry the
   same shares out as losses. CO2 is not lost: all of ``C * w / E`` is carried by the ``d``
   delivered kWh, so the AC intensity of the discharge is ``C / E / eta_d``;
3. charge of ``c`` AC kWh adds ``c * eta_c`` stored kWh, ``eta_c`` times the carbon-free and
   green AC energy charged (the charge loss carries its own shares out), and the CO2 of every
   AC kWh charged (grid at its interval intensity, renewables at zero, recirculated discharge
   at the intensity just computed).

Balances per origin (AC kWh; ``o`` = total, carbon-free or green)::

    charged_o + unknown_origin_o = discharged_o + losses_o + (pool_o,end - pool_o,start)
    CO2 charged + unknown-origin CO2 = CO2 discharged + (pool CO2 end - pool CO2 start)

If a discharge needs more stored energy than the pool holds (history before the accounting
origin, metering error), the deficit is treated as if charged from the grid in that interval
(conservative: not carbon-free, grid CO2) and reported as ``unknown_origin_kwh`` (AC kWh
before the charge loss).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass(frozen=True)
class PoolState:
    """Content of the storage pool at one instant (stored kWh, DC side, and the CO2 they carry)."""

    stored_kwh: float = 0.0
    kg_loc: float = 0.0
    kg_mkt: float = 0.0
    cfe_kwh: float = 0.0  # carbon-free part of stored_kwh
    green_kwh: float = 0.0  # part of stored_kwh with a renewable origin or market instrument


@dataclass(frozen=True)
class StorageParams:
    eta_charge: float = 0.95
    eta_discharge: float = 0.95
    self_discharge_per_h: float = 0.0
    opening: PoolState = PoolState()


@dataclass(frozen=True)
class ChargeSources:
    """AC energy charged per interval by source, and the intensities of the grid part."""

    clean_kwh: np.ndarray  # local renewables + direct green (zero CO2, carbon-free)
    grid_kwh: np.ndarray
    recirculated_kwh: np.ndarray  # discharge going straight back into charge in the same interval
    grid_kg_per_kwh_loc: np.ndarray
    grid_kg_per_kwh_mkt: np.ndarray
    grid_cfe_share: np.ndarray  # share of grid energy that is time-matched green (contracts per interval)
    grid_green_share: np.ndarray  # share of grid energy covered by any market instrument


@dataclass(frozen=True)
class LedgerResult:
    """Per interval: what was discharged (intensity, shares), losses by origin, and the pool at interval end."""

    discharge_kg_per_kwh_loc: np.ndarray  # per AC kWh discharged
    discharge_kg_per_kwh_mkt: np.ndarray
    discharge_cfe_share: np.ndarray  # carbon-free share of the pool = of each discharged kWh, in [0, 1]
    discharge_green_share: np.ndarray
    charged_cfe_kwh: np.ndarray  # carbon-free AC energy charged (incl. the recirculated part)
    charged_green_kwh: np.ndarray
    charged_kg_loc: np.ndarray  # CO2 charged into the pool (grid, recirculated; not unknown origin)
    charged_kg_mkt: np.ndarray
    losses_kwh: np.ndarray  # charge + discharge + self-discharge losses
    losses_cfe_kwh: np.ndarray  # carbon-free part of the losses
    losses_green_kwh: np.ndarray
    unknown_origin_kwh: np.ndarray  # AC kWh assumed grid-charged because the pool was short
    unknown_origin_kg_loc: np.ndarray
    unknown_origin_kg_mkt: np.ndarray
    stored_kwh: np.ndarray  # pool state at interval end
    pool_kg_loc: np.ndarray
    pool_kg_mkt: np.ndarray
    pool_cfe_kwh: np.ndarray
    pool_green_kwh: np.ndarray
    opening: PoolState  # pool state at the start of the first interval

    def state_after(self, t: int) -> PoolState:
        """Pool state at the end of interval t (t = -1: the opening state)."""
        if t < 0:
            return self.opening
        return PoolState(
            float(self.stored_kwh[t]),
            float(self.pool_kg_loc[t]),
            float(self.pool_kg_mkt[t]),
            float(self.pool_cfe_kwh[t]),
            float(self.pool_green_kwh[t]),
        )

    @property
    def closing(self) -> PoolState:
        return self.state_after(len(self.stored_kwh) - 1)

    def slice(self, i0: int, i1: int) -> LedgerResult:
        """Intervals [i0, i1), opening with the pool state at the end of interval i0 - 1."""
        arrays = {f.name: getattr(self, f.name)[i0:i1] for f in fields(self) if f.name != "opening"}
        return LedgerResult(**arrays, opening=self.state_after(i0 - 1))


_DUST_KWH = 1e-9  # a pool below this is numerically empty and carries nothing
_COLUMNS = (
    *("dis_loc", "dis_mkt", "dis_cfe", "dis_green", "ch_cfe", "ch_green", "ch_loc", "ch_mkt"),
    *("loss", "loss_cfe", "loss_green", "unk", "unk_loc", "unk_mkt", "e", "c_loc", "c_mkt", "cfe", "green"),
)


def run_ledger(
    charge_kwh: np.ndarray,
    discharge_kwh: np.ndarray,
    src: ChargeSources,
    params: StorageParams,
    interval_h: float,
) -> LedgerResult:
    """Sequential pool accounting (see module docstring). Energies in AC kWh at the battery terminals."""
    n = len(charge_kwh)
    rows: list[float] = []  # row-major: one row per interval, in the order of _COLUMNS
    eta_c, eta_d = params.eta_charge, params.eta_discharge
    keep = (1.0 - params.self_discharge_per_h) ** interval_h
    o = params.opening
    e, c_loc, c_mkt, cfe, green = o.stored_kwh, o.kg_loc, o.kg_mkt, o.cfe_kwh, o.green_kwh
    # plain Python floats: the loop is sequential, and scalar numpy indexing would be 10x slower
    ch = charge_kwh.tolist()
    dis = discharge_kwh.tolist()
    s_clean, s_grid, s_rec = src.clean_kwh.tolist(), src.grid_kwh.tolist(), src.recirculated_kwh.tolist()
    g_loc, g_mkt = src.grid_kg_per_kwh_loc.tolist(), src.grid_kg_per_kwh_mkt.tolist()
    g_cfe, g_green = src.grid_cfe_share.tolist(), src.grid_green_share.tolist()
    for t in range(n):
        loss, loss_cfe, loss_green = e * (1.0 - keep), cfe * (1.0 - keep), green * (1.0 - keep)
        e *= keep
        cfe *= keep
        green *= keep
        d = dis[t]
        dis_loc = dis_mkt = dis_cfe = dis_green = 0.0
        unk = unk_loc = unk_mkt = in_loc = in_mkt = in_cfe = in_green = 0.0
        if d > 0.0:
            w = d / eta_d
            if w > e:  # pool short: the missing stored energy is taken as grid-charged now
                unk = (w - e) / eta_c
                unk_loc, unk_mkt = unk * g_loc[t], unk * g_mkt[t]
                c_loc += unk_loc
                c_mkt += unk_mkt
                loss += unk - (w - e)
                e = w
            share = w / e
            dis_loc, dis_mkt = c_loc * share / d, c_mkt * share / d
            dis_cfe, dis_green = cfe / e, green / e  # <= 1 but for float rounding
            dis_cfe = 1.0 if dis_cfe > 1.0 else dis_cfe
            dis_green = 1.0 if dis_green > 1.0 else dis_green
            c_loc -= c_loc * share
            c_mkt -= c_mkt * share
            cfe -= cfe * share
            green -= green * share
            e -= w
            loss += w - d
            loss_cfe += (w - d) * dis_cfe
            loss_green += (w - d) * dis_green
        c = ch[t]
        if c > 0.0:
            rec = s_rec[t]
            in_loc = s_grid[t] * g_loc[t] + rec * dis_loc
            in_mkt = s_grid[t] * g_mkt[t] + rec * dis_mkt
            in_cfe = s_clean[t] + s_grid[t] * g_cfe[t] + rec * dis_cfe
            in_green = s_clean[t] + s_grid[t] * g_green[t] + rec * dis_green
            c_loc += in_loc
            c_mkt += in_mkt
            cfe += in_cfe * eta_c
            green += in_green * eta_c
            e += c * eta_c
            loss += c * (1.0 - eta_c)
            loss_cfe += in_cfe * (1.0 - eta_c)
            loss_green += in_green * (1.0 - eta_c)
        if e < _DUST_KWH:
            e = c_loc = c_mkt = cfe = green = 0.0
        rows += (dis_loc, dis_mkt, dis_cfe, dis_green, in_cfe, in_green, in_loc, in_mkt, loss, loss_cfe)
        rows += (loss_green, unk, unk_loc, unk_mkt, e, c_loc, c_mkt, cfe, green)
    cols = np.fromiter(rows, dtype=float, count=n * len(_COLUMNS)).reshape(n, len(_COLUMNS)).T
    a = dict(zip(_COLUMNS, cols, strict=True))
    return LedgerResult(
        discharge_kg_per_kwh_loc=a["dis_loc"],
        discharge_kg_per_kwh_mkt=a["dis_mkt"],
        discharge_cfe_share=a["dis_cfe"],
        discharge_green_share=a["dis_green"],
        charged_cfe_kwh=a["ch_cfe"],
        charged_green_kwh=a["ch_green"],
        charged_kg_loc=a["ch_loc"],
        charged_kg_mkt=a["ch_mkt"],
        losses_kwh=a["loss"],
        losses_cfe_kwh=a["loss_cfe"],
        losses_green_kwh=a["loss_green"],
        unknown_origin_kwh=a["unk"],
        unknown_origin_kg_loc=a["unk_loc"],
        unknown_origin_kg_mkt=a["unk_mkt"],
        stored_kwh=a["e"],
        pool_kg_loc=a["c_loc"],
        pool_kg_mkt=a["c_mkt"],
        pool_cfe_kwh=a["cfe"],
        pool_green_kwh=a["green"],
        opening=params.opening,
    )
