"""The dispatch model in Pyomo, one module per constraint family (storage, grid, green,
curtailment, flexible loads, load shedding, network losses, balance, network rows, reactive power,
N-1 contingencies, RE origin, objective). :func:`build_model` assembles them."""

from __future__ import annotations

import pyomo.environ as pyo

from dispatch.model.balance import add_balance
from dispatch.model.contingency import add_contingency, add_contingency_parameters, load_contingency
from dispatch.model.curtailment import add_curtailment
from dispatch.model.flexible import add_flexible_loads
from dispatch.model.green import add_green
from dispatch.model.grid import add_connection_point, add_grid
from dispatch.model.losses import add_loss_parameters, add_losses, load_losses
from dispatch.model.network import add_network
from dispatch.model.objective import add_objectives
from dispatch.model.origin import add_origin
from dispatch.model.params import add_parameters, load_parameters
from dispatch.model.reactive import add_reactive, add_reactive_parameters, load_reactive
from dispatch.model.shape import ModelShape
from dispatch.model.shedding import add_shedding
from dispatch.model.storage import add_storage
from dispatch.problem import DispatchProblem

__all__ = ["ModelShape", "build_model", "load_problem"]


def build_model(p: DispatchProblem) -> pyo.ConcreteModel:
    """Build the model for the shape of ``p`` and load its numbers (stage weights: see objective)."""
    m = pyo.ConcreteModel(name="park_dispatch")
    add_parameters(m, ModelShape.of(p))
    add_loss_parameters(m)
    add_reactive_parameters(m)
    add_contingency_parameters(m)
    load_problem(m, p)
    add_storage(m)
    add_curtailment(m)
    add_grid(m)
    add_green(m)
    add_connection_point(m)
    add_flexible_loads(m)
    add_shedding(m)
    add_losses(m)
    add_balance(m)
    add_network(m)
    add_reactive(m)
    add_contingency(m)
    add_origin(m)
    add_objectives(m)
    return m


def load_problem(m: pyo.ConcreteModel, p: DispatchProblem) -> None:
    """Write every number of ``p`` into the mutable parameters of ``m`` (shape must fit)."""
    load_parameters(m, p)
    load_losses(m, p)
    load_reactive(m, p)
    load_contingency(m, p)
