"""Local PV and wind availability: ``A_t = A0_t + cf_pv_t·Σ_bus cap[pv:bus] + cf_wind_t·cap[wind]``.

The hourly output per kW of new capacity comes from the same weather as the existing plants. What the
park cannot use is curtailed: the balance is an inequality (``balance.py``), so curtailment needs no
variable of its own (``curt_t`` = the balance's surplus, read out after the solve).
"""

from __future__ import annotations

import pyomo.environ as pyo

from services.pathway.data import SizingData
from services.pathway.model.capacity import new


def available_kw(m: pyo.ConcreteModel, t: int) -> pyo.Expression:
    d: SizingData = m.data
    return float(d.re_existing_kw[t]) + float(d.cf_pv[t]) * new(m, "pv") + float(d.cf_wind[t]) * new(m, "wind")
