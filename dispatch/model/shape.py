"""The structure of a dispatch model: what cannot change without rebuilding it.

A persistent model (MPC) is reused as long as the next problem has the same
shape; every number (forecasts, prices, SOC, limits) is a mutable parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.problem import DispatchProblem


@dataclass(frozen=True)
class ModelShape:
    """Index sets of the model."""

    T: int
    batteries: tuple[str, ...]
    generators: tuple[str, ...]
    contracts: tuple[str, ...]
    contract_blocks: int
    direct: tuple[str, ...]
    flex: tuple[str, ...]
    flex_blocks: int
    network_rows: tuple[str, ...]
    export_allowed: bool
    reactive: tuple[str, ...] = ()
    grid_buses: tuple[str, ...] = ()
    grid_linear: bool = False
    banks: tuple[str, ...] = ()
    bank_window: int = 0  # intervals in 24 h when some bank's switching operations are capped, else 0
    contingency_rows: tuple[str, ...] = ()
    peak_reserve: bool = False  # battery headroom covers the peak margin (dispatch.model.grid)

    @property
    def controllable(self) -> tuple[str, ...]:
        """Devices whose injection enters network rows: batteries, generators, flex loads, direct lines."""
        return self.batteries + self.generators + self.flex + self.direct

    @classmethod
    def of(cls, p: DispatchProblem, min_block_slots: int = 2) -> ModelShape:
        """The shape of ``p``; block slots padded to ``min_block_slots`` so that a rolling horizon of up
        to a day, which crosses at most one day boundary, keeps the same model."""
        return cls(
            T=p.T,
            batteries=tuple(b.id for b in p.batteries),
            generators=tuple(g.id for g in p.generators),
            contracts=tuple(c.id for c in p.contracts),
            contract_blocks=max((len(c.blocks) for c in p.contracts), default=0)
            and max(min_block_slots, *(len(c.blocks) for c in p.contracts)),
            direct=tuple(d.id for d in p.direct),
            flex=tuple(f.id for f in p.flex),
            flex_blocks=max((len(f.blocks) for f in p.flex), default=0)
            and max(min_block_slots, *(len(f.blocks) for f in p.flex)),
            network_rows=tuple(r.name for r in p.network),
            export_allowed=p.export_limit_kw > 0,
            reactive=tuple(r.id for r in p.reactive) if p.grid is not None else (),
            grid_buses=p.grid.bus_ids if p.grid is not None else (),
            grid_linear=p.grid is not None,
            banks=tuple(c.id for c in p.banks) if p.grid is not None else (),
            bank_window=operation_window(p),
            contingency_rows=tuple(r.name for r in p.contingency),
            peak_reserve=p.peak_margin_from_batteries and bool(p.batteries),
        )

    def fits(self, p: DispatchProblem) -> bool:
        """Whether ``p`` can be loaded into a model of this shape (blocks may be fewer)."""
        other = ModelShape.of(p, min_block_slots=0)
        return (
            other.T == self.T
            and other.batteries == self.batteries
            and other.generators == self.generators
            and other.contracts == self.contracts
            and other.contract_blocks <= self.contract_blocks
            and other.direct == self.direct
            and other.flex == self.flex
            and other.flex_blocks <= self.flex_blocks
            and other.network_rows == self.network_rows
            and other.export_allowed == self.export_allowed
            and other.reactive == self.reactive
            and other.grid_buses == self.grid_buses
            and other.grid_linear == self.grid_linear
            and other.banks == self.banks
            and other.bank_window == self.bank_window
            and other.contingency_rows == self.contingency_rows
            and other.peak_reserve == self.peak_reserve
        )


def operation_window(p: DispatchProblem) -> int:
    """Intervals in 24 hours when some switched bank caps its operations (and the grid model is on), else 0."""
    if p.grid is None or all(c.max_operations_per_day is None for c in p.banks):
        return 0
    return max(1, round(24.0 / p.dt_h))
