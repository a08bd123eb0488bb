"""Power-flow results as plain arrays, and the violations found in them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grid_models.network import NetworkLimits


@dataclass(frozen=True)
class SeriesResult:
    """Power flow over T intervals.

    Arrays: ``vm_pu`` (T, buses), ``va_degree`` (T, buses), ``line_loading_percent`` (T, lines),
    ``trafo_loading_percent`` (T, trafos), ``losses_kw`` (T,) = active losses of all branches,
    ``grid_exchange_kw``/``grid_exchange_kvar`` (T,) at the connection point, positive = import,
    ``converged`` (T,) bool. Rows of intervals that did not converge are NaN.
    """

    bus_ids: list[str]
    line_ids: list[str]
    trafo_ids: list[str]
    vm_pu: np.ndarray
    va_degree: np.ndarray
    line_loading_percent: np.ndarray
    trafo_loading_percent: np.ndarray
    losses_kw: np.ndarray
    grid_exchange_kw: np.ndarray
    grid_exchange_kvar: np.ndarray
    converged: np.ndarray
    times: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return int(self.losses_kw.shape[0])

    def at(self, interval: int) -> PowerFlowResult:
        """The snapshot of one interval."""
        return PowerFlowResult(
            bus_vm_pu=dict(zip(self.bus_ids, self.vm_pu[interval].tolist(), strict=True)),
            bus_va_degree=dict(zip(self.bus_ids, self.va_degree[interval].tolist(), strict=True)),
            line_loading_percent=dict(zip(self.line_ids, self.line_loading_percent[interval].tolist(), strict=True)),
            trafo_loading_percent=dict(zip(self.trafo_ids, self.trafo_loading_percent[interval].tolist(), strict=True)),
            losses_kw=float(self.losses_kw[interval]),
            grid_exchange_kw=float(self.grid_exchange_kw[interval]),
            grid_exchange_kvar=float(self.grid_exchange_kvar[interval]),
            converged=bool(self.converged[interval]),
            violations=[],
        )


@dataclass(frozen=True)
class Violation:
    """One limit exceeded in one interval.

    ``kind``: voltage_low, voltage_high, line_loading, trafo_loading, import_limit, export_limit,
    power_factor. ``value``/``limit`` in pu of the bus's modelled voltage ``vn_kv`` (the band
    converted from the nominal voltage), percent, kW (export as a positive kW figure) or the
    power factor.
    ``margin`` = headroom to the limit in the same unit; negative, by how much it is exceeded.
    """

    kind: str
    element: str
    interval: int
    value: float
    limit: float
    margin: float


@dataclass(frozen=True)
class PowerFlowResult:
    """One interval: dictionaries keyed by element id, totals, and the violations."""

    bus_vm_pu: dict[str, float]
    bus_va_degree: dict[str, float]
    line_loading_percent: dict[str, float]
    trafo_loading_percent: dict[str, float]
    losses_kw: float
    grid_exchange_kw: float
    grid_exchange_kvar: float
    converged: bool
    violations: list[Violation]


def power_factor(p_kw: np.ndarray, q_kvar: np.ndarray) -> np.ndarray:
    """``|P| / |S|`` (1 where no power flows)."""
    s = np.hypot(p_kw, q_kvar)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, np.abs(p_kw) / s, 1.0)


def _upper(kind: str, ids: list[str], values: np.ndarray, limits: np.ndarray) -> list[Violation]:
    """Violations of ``values <= limits`` (values (T, n), limits (n,))."""
    over = values > limits[None, :]
    out = []
    for t, j in zip(*np.nonzero(over), strict=True):
        v, lim = float(values[t, j]), float(limits[j])
        out.append(Violation(kind, ids[j], int(t), v, lim, lim - v))
    return out


def violations(result: SeriesResult, limits: NetworkLimits) -> list[Violation]:
    """All limit violations in a result, ordered by interval then kind.

    Voltage band per bus (:meth:`NetworkLimits.voltage_band`) at every energised bus; branch loading
    against each element's maximum loading; grid exchange against the import limit and
    ``-exchange <= export_limit_kw`` (export limit 0 = any export is a violation); the power
    factor ``P / |S|`` at the connection point while importing against ``min_power_factor``.
    Non-converged intervals are reported as kind ``not_converged``.
    """
    vm = result.vm_pu
    lo, hi = limits.voltage_band(vm.shape[1])
    found: list[Violation] = []
    with np.errstate(invalid="ignore"):
        found += _upper("voltage_high", result.bus_ids, vm, hi)
        found += [
            Violation("voltage_low", v.element, v.interval, -v.value, -v.limit, v.margin)
            for v in _upper("voltage_low", result.bus_ids, -vm, -lo)
        ]
        found += _upper(
            "line_loading",
            result.line_ids,
            result.line_loading_percent,
            np.asarray(limits.line_max_loading_percent, float),
        )
        found += _upper(
            "trafo_loading",
            result.trafo_ids,
            result.trafo_loading_percent,
            np.asarray(limits.trafo_max_loading_percent, float),
        )
        ex = result.grid_exchange_kw[:, None]
        found += _upper("import_limit", ["grid_connection"], ex, np.array([limits.import_limit_kw]))
        found += _upper("export_limit", ["grid_connection"], -ex, np.array([limits.export_limit_kw]))
        if limits.min_power_factor > 0:
            pf = power_factor(result.grid_exchange_kw, result.grid_exchange_kvar)
            importing = result.grid_exchange_kw > 0
            found += [
                Violation("power_factor", v.element, v.interval, -v.value, -v.limit, v.margin)
                for v in _upper(
                    "power_factor",
                    ["grid_connection"],
                    np.where(importing, -pf, -np.inf)[:, None],
                    np.array([-limits.min_power_factor]),
                )
            ]
    found += [
        Violation("not_converged", "power_flow", int(t), float("nan"), float("nan"), float("nan"))
        for t in np.nonzero(~result.converged)[0]
    ]
    order = {
        "not_converged": 0,
        "voltage_low": 1,
        "voltage_high": 2,
        "line_loading": 3,
        "trafo_loading": 4,
        "import_limit": 5,
        "export_limit": 6,
        "power_factor": 7,
    }
    found.sort(key=lambda v: (v.interval, order[v.kind], v.element))
    return found
