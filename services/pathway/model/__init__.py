"""The sizing model in Pyomo, one module per constraint family. :func:`build_model` reads like its table
of contents; every module states its equations. Notation (per modelled hour ``t`` with weight ``w_t``):

``i`` grid-mix import, ``x`` export, ``A`` local RE available, ``d0``/``dn`` existing/new direct
green line, ``pc``/``pd`` battery charge/discharge, ``e`` stored energy above the floor, ``el``
electrolyser, ``c_t = V_g·months_g / H_g`` flat contract delivery of settlement month ``g``,
``Z`` certificates retired in the year, ``cap[k]`` new capacity of candidate ``k``.
"""

from __future__ import annotations

import pyomo.environ as pyo

from services.pathway.data import SizingData
from services.pathway.model.balance import add_balance
from services.pathway.model.capacity import add_capacities
from services.pathway.model.electrolyser import add_electrolyser
from services.pathway.model.green import add_certificates, add_contracts, add_direct_lines
from services.pathway.model.grid import add_grid
from services.pathway.model.objective import add_objective
from services.pathway.model.storage import add_storage
from services.pathway.model.targets import add_targets

__all__ = ["build_model"]


def build_model(data: SizingData) -> pyo.ConcreteModel:
    """The least-cost sizing LP of one year (see the module docstrings for each family)."""
    m = pyo.ConcreteModel(name="pathway_sizing")
    m.data = data
    m.T = pyo.RangeSet(0, data.T - 1)
    m.M = pyo.RangeSet(0, len(data.months_weight) - 1)
    add_capacities(m, data)
    add_direct_lines(m, data)
    add_contracts(m, data)
    add_storage(m, data)
    add_electrolyser(m, data)
    add_grid(m, data)
    add_certificates(m, data)
    add_balance(m, data)
    add_targets(m, data)
    add_objective(m, data)
    return m
