"""Prices of the soft constraints, derived from the problem so that each one dominates every economic term.

A soft constraint (load shedding, the SOC band, a network limit, an explicit terminal SOC target) is
there so that a bad forecast degrades one interval instead of making the whole horizon infeasible;
it must never be *used* to save money. With ``V`` the largest marginal value one kWh can have in the
problem (:func:`economic_bound`), each soft term costs ``SAFETY·V`` per kWh it gives away, so no
economic saving (energy, export, wear, demand charge, terminal value, one kWh of local RE in stage 1)
can pay for it.

A network row's slack is measured in kW of its most sensitive device (the row reads
``… ≤ upper + min|a|·s_up``, :mod:`dispatch.model.network`), so it costs ``SAFETY·V`` per kWh like the
others and stays well scaled next to sensitivities of 10⁻⁶ pu/kW.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dispatch.problem import DispatchProblem

SAFETY = 10.0  # soft-constraint price / largest economic marginal value
#: the AC loop's trust region (:mod:`dispatch.model.losses`): a kWh moved beyond it costs this many ``V``,
#: more than any economic saving or kWh of RE the move could win, less than the soft constraints priced at
#: ``SAFETY·V`` (shedding, the SOC band, network limits), which a larger move may still avoid
STEP_PRICE = 2.0


@dataclass(frozen=True)
class SoftPenalties:
    """Penalty prices [CNY per kWh] and the bound they derive from."""

    economic_bound_cny_per_kwh: float
    shed_cny_per_kwh: float
    soc_cny_per_kwh: float
    terminal_cny_per_kwh: float
    contract_cny_per_kwh: float
    network_cny_per_kwh: float
    step_cny_per_kwh: float


def economic_bound(p: DispatchProblem) -> float:
    """Largest value of one kWh in any economic term of ``p`` [CNY/kWh], at least 1.

    Import price plus carbon, export price, green prices, wear, the terminal value (at most the
    dearest import price over the charge efficiency) and the demand charge spread over one interval
    (shaving one kW for one interval can save the whole month's charge). The floor of 1 covers
    stage 1, whose unit is one kWh of local renewable energy.
    """
    terms = [1.0]
    if p.T:
        terms.append(float(np.max(np.abs(p.import_price + p.carbon_price_cny_per_kg * p.ef_kg_per_kwh))))
        terms.append(float(np.max(np.abs(p.export_price))))
    terms += [abs(c.price_cny_per_kwh) for c in p.contracts] + [abs(d.price_cny_per_kwh) for d in p.direct]
    for b in p.batteries:
        terms.append(b.throughput_cost_cny_per_kwh)
        terms.append(terms[1] / b.eta_charge if p.T else 0.0)
    terms.append(p.demand_charge_cny_per_kw_month / p.dt_h)
    terms.append(p.penalties.contract_shortfall_cny_per_kwh)
    return max(terms)


def soft_penalties(p: DispatchProblem) -> SoftPenalties:
    """Penalty prices of ``p`` (the weighted mode scales them by ``max(1, w/V)``, see the solver)."""
    v = economic_bound(p)
    return SoftPenalties(
        economic_bound_cny_per_kwh=v,
        shed_cny_per_kwh=SAFETY * v,
        soc_cny_per_kwh=SAFETY * v,
        terminal_cny_per_kwh=max(p.penalties.terminal_soc_cny_per_kwh, SAFETY * v),
        contract_cny_per_kwh=p.penalties.contract_shortfall_cny_per_kwh,
        network_cny_per_kwh=SAFETY * v,
        step_cny_per_kwh=STEP_PRICE * v,
    )


def slack_scale(coeffs: dict[str, float]) -> float:
    """Row units per kW of network slack: the smallest nonzero sensitivity of the row (1 if none)."""
    return min((abs(a) for a in coeffs.values() if abs(a) > 0), default=1.0)
