"""Fast batch power flow with power-grid-model, built from the same network as pandapower.

The pgm model is a one-to-one image of :class:`~grid_models.branch_model.BranchModel`:
every ppc bus a ``node``, every ppc branch a ``generic_branch`` (π-section with complex
tap, the same equations as pandapower's Ybus), bus shunts as ``shunt``, every
load/sgen/storage a constant-power ``sym_gen`` in generator convention, and each external
grid a ``source`` with a practically infinite short-circuit power (pandapower's ext_grid
is an ideal slack). A whole series is one batch calculation with Newton-Raphson; results
are mapped back to pandapower's elements and its loading definitions::

    line loading  = max(I_from, I_to) / (max_i_ka · df · parallel) · 100
    trafo loading = max(I_hv · vn_hv, I_lv · vn_lv) · √3 / sn_mva / (parallel · df) · 100
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from power_grid_model import (
    CalculationMethod,
    ComponentAttributeFilterOptions,
    ComponentType,
    DatasetType,
    LoadGenType,
    PowerGridModel,
    initialize_array,
)
from power_grid_model.errors import PowerGridBatchError

from grid_models.branch_model import BranchModel, branch_model
from grid_models.network import INJECTION_SIGN, NetworkModelError, ParkNetwork
from grid_models.results import SeriesResult

#: short-circuit power of the slack source [VA]; 1e20 makes its internal impedance negligible (< 1e-10 pu)
SOURCE_SK_VA = 1e20
ERROR_TOLERANCE_PU = 1e-10
CHUNK_STEPS = 4096


@dataclass(frozen=True)
class ShuntBank:
    """A switched pandapower shunt on the fast path: its pgm shunt row, admittance per step [S], stored step."""

    row: int
    y_step: complex
    step0: int


@dataclass
class FastModel:
    """A power-grid-model image of a :class:`ParkNetwork` (build once, run many series)."""

    pn: ParkNetwork
    bm: BranchModel
    model: PowerGridModel
    gen_ids: dict[tuple[str, int], int]  # (table, index) -> sym_gen id
    branch_id0: int
    source_ids: np.ndarray
    shunt_base: np.ndarray  # pgm shunt input at the net's stored steps
    banks: dict[str, ShuntBank]  # capacitor bank name -> its pgm shunt row

    @classmethod
    def build(cls, pn: ParkNetwork) -> FastModel:
        bm = branch_model(pn.net)
        nb, nl = bm.n_bus, len(bm.f)
        u_rated = bm.base_kv * 1e3
        node = initialize_array(DatasetType.input, ComponentType.node, nb)
        node["id"] = np.arange(nb)
        node["u_rated"] = u_rated

        # generic_branch takes ohm/siemens referred to the to-side rated voltage
        z_base_to = u_rated[bm.t] ** 2 / (bm.base_mva * 1e6)
        zs = 1.0 / bm.ys
        branch = initialize_array(DatasetType.input, ComponentType.generic_branch, nl)
        branch["id"] = nb + np.arange(nl)
        branch["from_node"], branch["to_node"] = bm.f, bm.t
        branch["from_status"] = branch["to_status"] = bm.status.astype(np.int8)
        branch["r1"], branch["x1"] = zs.real * z_base_to, zs.imag * z_base_to
        branch["g1"], branch["b1"] = bm.bc.real / z_base_to, bm.bc.imag / z_base_to
        branch["k"], branch["theta"] = np.abs(bm.tap), np.angle(bm.tap)
        branch["sn"] = np.nan

        next_id = nb + nl
        # every bus hosting a pandapower shunt gets a pgm shunt even at step 0, so a series can switch it
        banks = pn.net.shunt[pn.net.shunt.in_service.astype(bool)]
        bank_bus = bm.bus_lookup[banks.bus.to_numpy(int)]
        sh_bus = np.union1d(np.nonzero(bm.bus_shunt != 0)[0], bank_bus).astype(int)
        shunt = initialize_array(DatasetType.input, ComponentType.shunt, len(sh_bus))
        shunt["id"] = next_id + np.arange(len(sh_bus))
        shunt["node"], shunt["status"] = sh_bus, 1
        y_base = (bm.base_mva * 1e6) / u_rated[sh_bus] ** 2
        shunt["g1"], shunt["b1"] = bm.bus_shunt[sh_bus].real * y_base, bm.bus_shunt[sh_bus].imag * y_base
        shunt["g0"], shunt["b0"] = 0.0, 0.0
        # pandapower's shunt (build_bus): GS + jBS = (p_mw - j q_mvar) · step · (vn_bus / vn_kv)² at 1 pu
        v_ratio = (bm.base_kv[bank_bus] / banks.vn_kv.to_numpy(float)) ** 2
        s_step = banks.p_mw.to_numpy(float) - 1j * banks.q_mvar.to_numpy(float)
        y_step = s_step * v_ratio * 1e6 / u_rated[bank_bus] ** 2
        bank_rows = {
            str(name): ShuntBank(int(np.searchsorted(sh_bus, b)), complex(y), int(step))
            for name, b, y, step in zip(banks.name, bank_bus, y_step, banks.step, strict=True)
        }
        shunt_base = shunt.copy()
        next_id += len(sh_bus)

        ns = len(bm.slack_bus)
        source = initialize_array(DatasetType.input, ComponentType.source, ns)
        source["id"] = next_id + np.arange(ns)
        source["node"], source["status"] = bm.slack_bus, 1
        source["u_ref"], source["u_ref_angle"] = np.abs(bm.slack_v), np.angle(bm.slack_v)
        source["sk"] = SOURCE_SK_VA
        next_id += ns

        rows: list[tuple[str, int, int, int, float, float]] = []
        net = pn.net
        for table, sign in INJECTION_SIGN.items():
            df = net[table]
            for idx, bus, p, q, sc, on in zip(
                df.index, df.bus, df.p_mw, df.q_mvar, df.scaling, df.in_service, strict=True
            ):
                ppc_bus = int(bm.bus_lookup[bus])
                live = bool(on) and bool(bm.energized[ppc_bus])
                rows.append((table, int(idx), ppc_bus, int(live), sign * p * sc * 1e6, sign * q * sc * 1e6))
        gen = initialize_array(DatasetType.input, ComponentType.sym_gen, len(rows))
        gen["id"] = next_id + np.arange(len(rows))
        gen["node"] = [r[2] for r in rows]
        gen["status"] = [r[3] for r in rows]
        gen["type"] = LoadGenType.const_power
        gen["p_specified"] = [r[4] for r in rows]
        gen["q_specified"] = [r[5] for r in rows]
        gen_ids = {(r[0], r[1]): int(gid) for r, gid in zip(rows, gen["id"], strict=True)}

        data = {
            ComponentType.node: node,
            ComponentType.generic_branch: branch,
            ComponentType.shunt: shunt,
            ComponentType.source: source,
            ComponentType.sym_gen: gen,
        }
        model = PowerGridModel(data, system_frequency=float(net.f_hz))
        return cls(pn, bm, model, gen_ids, nb, source["id"].copy(), shunt_base, bank_rows)

    def run(
        self,
        device_ids: list[str],
        p_kw: np.ndarray,
        q_kvar: np.ndarray,
        progress: Callable[[int], None] | None = None,
        shunt_steps: dict[str, np.ndarray] | None = None,
    ) -> SeriesResult:
        """Batch power flow; devices not listed keep the net's values. ``progress(n)`` after each chunk.

        ``shunt_steps`` (bank name → (T,) steps in) sets switched capacitor banks per interval: a shunt is
        a constant admittance, so each step adds ``y_step`` to its bus's pgm shunt (Q = steps·q·(V/vn)²).
        """
        steps = p_kw.shape[0]
        ids = np.array([self.gen_ids[self.pn.element(d)] for d in device_ids], dtype=np.int32)
        shunts = self._shunt_series(steps, shunt_steps) if shunt_steps else None
        parts = []
        for start in range(0, steps, CHUNK_STEPS):
            stop = min(start + CHUNK_STEPS, steps)
            sh = None if shunts is None else shunts[start:stop]
            parts.append(self._run_chunk(ids, p_kw[start:stop], q_kvar[start:stop], sh))
            if progress is not None:
                progress(stop - start)
        return self._result({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})

    def _shunt_series(self, steps: int, shunt_steps: dict[str, np.ndarray]) -> np.ndarray:
        """(T, n_shunt) pgm shunt updates with the banks at their steps per interval."""
        y = np.tile(self.shunt_base["g1"] + 1j * self.shunt_base["b1"], (steps, 1))
        for name, n in shunt_steps.items():
            bank = self.banks.get(name)
            if bank is None or len(n) != steps:
                raise NetworkModelError(f"shunt_steps[{name!r}]: no such capacitor bank or not {steps} intervals")
            y[:, bank.row] += (np.asarray(n, dtype=float) - bank.step0) * bank.y_step
        update = initialize_array(DatasetType.update, ComponentType.shunt, y.shape)
        update["id"] = self.shunt_base["id"][None, :]
        update["g1"], update["b1"] = y.real, y.imag
        return update

    def _run_chunk(
        self, ids: np.ndarray, p_kw: np.ndarray, q_kvar: np.ndarray, shunts: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        n = p_kw.shape[0]
        update = initialize_array(DatasetType.update, ComponentType.sym_gen, (n, len(ids)))
        update["id"] = ids[None, :]
        update["p_specified"] = p_kw * 1e3
        update["q_specified"] = q_kvar * 1e3
        update_data = {ComponentType.sym_gen: update}
        if shunts is not None:
            update_data[ComponentType.shunt] = shunts
        outputs: dict[ComponentType, list[str] | set[str] | ComponentAttributeFilterOptions | None] = {
            ComponentType.node: ["u_pu", "u_angle", "energized"],
            ComponentType.generic_branch: ["p_from", "p_to", "i_from", "i_to"],
            ComponentType.source: ["p", "q"],
        }
        failed = np.zeros(n, dtype=bool)
        try:
            out = self.model.calculate_power_flow(
                update_data=update_data,
                calculation_method=CalculationMethod.newton_raphson,
                error_tolerance=ERROR_TOLERANCE_PU,
                max_iterations=30,
                threading=-1,
                output_component_types=outputs,
                continue_on_batch_error=True,
            )
        except PowerGridBatchError as exc:  # raised only when every scenario failed
            raise NetworkModelError(f"power flow failed in all {n} intervals: {exc.error_messages[:1]}") from None
        err = self.model.batch_error
        if err is not None:
            failed[np.asarray(err.failed_scenarios, dtype=int)] = True
        nodes, br, src = out[ComponentType.node], out[ComponentType.generic_branch], out[ComponentType.source]
        u = np.where(nodes["energized"] > 0, nodes["u_pu"], np.nan)
        ang = np.where(nodes["energized"] > 0, nodes["u_angle"], np.nan)
        chunk = {
            "u": u,
            "ang": ang,
            "i_from": br["i_from"],
            "i_to": br["i_to"],
            "loss": (br["p_from"] + br["p_to"]).sum(axis=1),
            "p_src": src["p"].sum(axis=1),
            "q_src": src["q"].sum(axis=1),
        }
        for value in chunk.values():
            value[failed] = np.nan
        chunk["ok"] = ~failed
        return chunk

    def operating_point(self, device_ids: list[str], p_kw: np.ndarray, q_kvar: np.ndarray) -> tuple[np.ndarray, float]:
        """One interval: complex voltages [pu] of all ppc buses (NaN if not energised), grid exchange [kW]."""
        ids = np.array([self.gen_ids[self.pn.element(d)] for d in device_ids], dtype=np.int32)
        r = self._run_chunk(ids, p_kw[None, :], q_kvar[None, :])
        if not r["ok"][0]:
            raise NetworkModelError("power flow did not converge at the operating point")
        v: np.ndarray = r["u"][0] * np.exp(1j * r["ang"][0])
        return v, float(r["p_src"][0] / 1e3)

    def _result(self, r: dict[str, np.ndarray]) -> SeriesResult:
        net, bm = self.pn.net, self.bm
        cols = bm.bus_lookup[net.bus.index.to_numpy(int)]
        vm = r["u"][:, cols]
        va = np.rad2deg(r["ang"][:, cols])
        # pandapower reports no voltage for buses out of service
        vm[:, ~net.bus.in_service.to_numpy(bool)] = np.nan
        va[:, ~net.bus.in_service.to_numpy(bool)] = np.nan
        sc = loading_scales(self.pn, bm)
        a, b = bm.line_rows
        line_loading = np.maximum(r["i_from"][:, a:b] * sc.line_from, r["i_to"][:, a:b] * sc.line_to)
        a, b = bm.trafo_rows
        trafo_loading = np.maximum(r["i_from"][:, a:b] * sc.trafo_from, r["i_to"][:, a:b] * sc.trafo_to)
        return SeriesResult(
            bus_ids=self.pn.bus_ids,
            line_ids=self.pn.line_ids,
            trafo_ids=self.pn.trafo_ids,
            vm_pu=vm,
            va_degree=va,
            line_loading_percent=line_loading,
            trafo_loading_percent=trafo_loading,
            losses_kw=r["loss"] / 1e3,
            grid_exchange_kw=r["p_src"] / 1e3,
            grid_exchange_kvar=r["q_src"] / 1e3,
            converged=r["ok"],
        )


@dataclass(frozen=True)
class LoadingScales:
    """Factors turning a branch-end current [A] into pandapower's loading [%], per line/trafo and end."""

    line_from: np.ndarray
    line_to: np.ndarray
    trafo_from: np.ndarray
    trafo_to: np.ndarray


def loading_scales(pn: ParkNetwork, bm: BranchModel) -> LoadingScales:
    """pandapower's loading definitions as current scales.

    line: ``I / (max_i_ka · df · parallel) · 100``; trafo (``trafo_loading="current"``):
    ``I_side · vn_side_kv · √3 / (sn_mva · parallel · df) · 100`` (currents in kA).
    """
    line, tr = pn.net.line, pn.net.trafo
    line_scale = 100.0 / 1e3 / (line.max_i_ka * line.df * line.parallel).to_numpy(float)
    rating = (tr.sn_mva * tr.parallel * tr.df).to_numpy(float)
    hv = tr.vn_hv_kv.to_numpy(float) * np.sqrt(3) / rating * 100.0 / 1e3
    lv = tr.vn_lv_kv.to_numpy(float) * np.sqrt(3) / rating * 100.0 / 1e3
    return LoadingScales(line_scale, line_scale, hv, lv)


def fast_model(pn: ParkNetwork) -> FastModel:
    """The cached :class:`FastModel` of ``pn``."""
    if "fast" not in pn._cache:
        pn._cache["fast"] = FastModel.build(pn)
    model: FastModel = pn._cache["fast"]
    return model
