"""Balances and invariants every accounting run must satisfy (docs/carbon_methodology.md section 4).

Checked on the unrounded interval figures of :class:`~ems.carbon.accounting.Accounts`:

* per interval: ``0 <= cfe <= green <= K`` up to float noise (clean energy never exceeds consumption),
  and every share (storage pool, grid contract share) in [0, 1];
* storage energy by origin (o = all, carbon-free, green), AC kWh::

      charged_o + unknown_origin_o = discharged_o + losses_o + (pool_o,end - pool_o,start)

* park CO2, both methods::

      sum(E) + unknown_origin_kg + imbalance_kg = sum(A) + exported_kg + (pool_kg,end - pool_kg,start) + losses_kg

  where ``losses_kg`` is 0 by the storage rule (the CO2 of lost energy is carried by the energy
  delivered), stated so an auditor sees the term.

Each balance is reported as a residual; :func:`violations` lists those beyond 1 Wh / 1 g.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ems.carbon.accounting import Accounts

TOL_MILLI = 1e-3  # 1 Wh / 1 gCO2
_NOISE = 1e-6  # per-interval float noise, kWh


@dataclass(frozen=True)
class Balances:
    storage_kwh: float  # residual of the total storage energy balance
    storage_cfe_kwh: float
    storage_green_kwh: float
    co2_loc_kg: float
    co2_mkt_kg: float
    storage_losses_kg: float  # CO2 leaving with losses: zero by the storage rule
    intervals_clean_above_consumption: int
    shares_out_of_range: int


def balances(acc: Accounts) -> Balances:
    lg = acc.ledger
    o, c = lg.opening, lg.closing
    disch = acc.flows.discharge_kwh
    storage = float(acc.flows.charge_kwh.sum() + lg.unknown_origin_kwh.sum() - disch.sum() - lg.losses_kwh.sum()) - (
        c.stored_kwh - o.stored_kwh
    )
    cfe = float(lg.charged_cfe_kwh.sum() - (disch * lg.discharge_cfe_share).sum() - lg.losses_cfe_kwh.sum()) - (
        c.cfe_kwh - o.cfe_kwh
    )
    green = float(lg.charged_green_kwh.sum() - (disch * lg.discharge_green_share).sum() - lg.losses_green_kwh.sum()) - (
        c.green_kwh - o.green_kwh
    )

    def co2(into: tuple[np.ndarray, ...], out: tuple[np.ndarray, ...], start: float, end: float) -> float:
        return float(sum(x.sum() for x in into) - sum(x.sum() for x in out)) - (end - start)

    loc = co2(
        (acc.import_kg_loc, lg.unknown_origin_kg_loc, acc.imbalance_kg_loc),
        (acc.attributed_kg_loc, acc.exported_kg_loc),
        o.kg_loc,
        c.kg_loc,
    )
    mkt = co2(
        (acc.import_kg_mkt, lg.unknown_origin_kg_mkt, acc.imbalance_kg_mkt),
        (acc.attributed_kg_mkt, acc.exported_kg_mkt),
        o.kg_mkt,
        c.kg_mkt,
    )
    k = acc.consumption_kwh
    outside = (acc.cfe_kwh > acc.green_kwh + _NOISE) | (acc.green_kwh > k + _NOISE) | (acc.cfe_kwh < -_NOISE)
    above = int(np.sum(outside))
    with np.errstate(divide="ignore", invalid="ignore"):
        grid_share = np.where(acc.flows.grid_import_kwh > 0, acc.contract_kwh / acc.flows.grid_import_kwh, 0.0)
    shares = np.concatenate([lg.discharge_cfe_share, lg.discharge_green_share, grid_share])
    out = int(np.sum((shares < 0) | (shares > 1 + 1e-12)))
    return Balances(storage, cfe, green, loc, mkt, 0.0, above, out)


def violations(b: Balances) -> list[str]:
    """Human-readable list of broken balances and invariants (empty when all hold)."""
    out = [
        f"{name} balance does not close: residual {value:.6f}"
        for name, value in (
            ("storage energy [kWh]", b.storage_kwh),
            ("storage carbon-free energy [kWh]", b.storage_cfe_kwh),
            ("storage green energy [kWh]", b.storage_green_kwh),
            ("location-based CO2 [kg]", b.co2_loc_kg),
            ("market-based CO2 [kg]", b.co2_mkt_kg),
        )
        if abs(value) > TOL_MILLI
    ]
    if b.intervals_clean_above_consumption:
        out.append(f"{b.intervals_clean_above_consumption} intervals with clean energy outside [0, consumption]")
    if b.shares_out_of_range:
        out.append(f"{b.shares_out_of_range} shares outside [0, 1]")
    return out
