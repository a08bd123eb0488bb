"""Linear sensitivities of network quantities to device injections around an operating point.

At the AC operating point the power-flow equations ``S(V) = V·conj(Ybus·V)`` are
linearised (Newton-Raphson Jacobian in polar coordinates, MATPOWER's ``dSbus_dV``)::

    J · [Δθ_pq; Δ|V|_pq] = [ΔP_pq; ΔQ_pq]

A device's column is the response to ``ΔP = 1 kW`` at its bus, with ``ΔQ = q_ratio · ΔP``
(its power-factor assumption). From ``ΔV = V·(jΔθ + Δ|V|/|V|)`` follow branch currents
``ΔI_f = Yf·ΔV`` (so ``Δ|I| = Re(conj(I)·ΔI)/|I|``, scaled to pandapower's loading
percent at the more loaded end) and the slack power ``ΔS_slack = V_s·conj(Ybus_s·ΔV)``,
which minus devices sitting on the slack bus is the change of the grid exchange.
Sensitivities are exact derivatives at the point; the dispatcher's schedule is then checked
with the full AC power flow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from grid_models.fast import fast_model, loading_scales
from grid_models.network import NetworkLimits, NetworkModelError, ParkNetwork
from grid_models.powerflow import prepare_injections


@dataclass(frozen=True)
class LinearConstraint:
    """``coeffs @ p_kw <= rhs`` over the sensitivities' ``device_ids`` (p in kW, generator convention)."""

    kind: str
    element: str
    coeffs: np.ndarray
    rhs: float


@dataclass(frozen=True)
class Sensitivities:
    """Base values at the operating point and their derivatives with respect to each device's p [kW].

    ``d_exchange`` (D,) [kW/kW]; ``d_vm`` (buses, D) [pu/kW]; ``d_line_loading`` (lines, D) and
    ``d_trafo_loading`` (trafos, D) [%/kW].
    """

    device_ids: list[str]
    p0_kw: np.ndarray
    grid_exchange_kw: float
    d_exchange: np.ndarray
    bus_ids: list[str]
    vm_pu: np.ndarray
    d_vm: np.ndarray
    line_ids: list[str]
    line_loading_percent: np.ndarray
    d_line_loading: np.ndarray
    trafo_ids: list[str]
    trafo_loading_percent: np.ndarray
    d_trafo_loading: np.ndarray
    limits: NetworkLimits

    def constraint_rows(self, voltage: bool = True) -> list[LinearConstraint]:
        """Network limits as linear rows ``g·p <= limit - x0 + g·p0`` (first-order model of x(p)).

        Exchange: ``x <= import_limit`` and ``-x <= export_limit``; branches: loading <= max;
        voltages (optional): each bus's band (:meth:`NetworkLimits.voltage_band`). Infinite limits are skipped.
        """
        rows: list[LinearConstraint] = []

        def add(kind: str, element: str, g: np.ndarray, x0: float, limit: float) -> None:
            if np.isfinite(limit) and np.isfinite(x0):
                rows.append(LinearConstraint(kind, element, g.copy(), float(limit - x0 + g @ self.p0_kw)))

        lim = self.limits
        add("import_limit", "grid_connection", self.d_exchange, self.grid_exchange_kw, lim.import_limit_kw)
        add("export_limit", "grid_connection", -self.d_exchange, -self.grid_exchange_kw, lim.export_limit_kw)
        for i, e in enumerate(self.line_ids):
            add(
                "line_loading",
                e,
                self.d_line_loading[i],
                self.line_loading_percent[i],
                lim.line_max_loading_percent[i],
            )
        for i, e in enumerate(self.trafo_ids):
            add(
                "trafo_loading",
                e,
                self.d_trafo_loading[i],
                self.trafo_loading_percent[i],
                lim.trafo_max_loading_percent[i],
            )
        if voltage:
            lo, hi = lim.voltage_band(len(self.bus_ids))
            for i, e in enumerate(self.bus_ids):
                add("voltage_high", e, self.d_vm[i], self.vm_pu[i], float(hi[i]))
                add("voltage_low", e, -self.d_vm[i], -self.vm_pu[i], -float(lo[i]))
        return rows


def _jacobian(ybus: sp.csr_matrix, v: np.ndarray, pq: np.ndarray) -> sp.csc_matrix:
    """Polar power-flow Jacobian restricted to PQ buses (MATPOWER ``dSbus_dV``)."""
    ibus = ybus @ v
    dv = sp.diags(v)
    dvn = sp.diags(v / np.abs(v))
    ds_dva = 1j * dv @ np.conj(sp.diags(ibus) - ybus @ dv)
    ds_dvm = dv @ np.conj(ybus @ dvn) + np.conj(sp.diags(ibus)) @ dvn
    a = ds_dva.tocsr()[pq][:, pq]
    m = ds_dvm.tocsr()[pq][:, pq]
    return sp.bmat([[a.real, m.real], [a.imag, m.imag]], format="csc")


def sensitivities(
    pn: ParkNetwork,
    operating_point: dict[str, float],
    q_kvar: dict[str, float] | None = None,
    device_ids: list[str] | None = None,
) -> Sensitivities:
    """Sensitivities at ``operating_point`` ({device: p_kw}; unlisted devices keep the net's values).

    ``device_ids`` selects the columns (default: every mapped device).
    """
    ids = list(device_ids) if device_ids is not None else pn.device_ids
    op_ids = list(dict.fromkeys([*operating_point, *ids]))
    base = {d: pn.base_injection_kw(d) for d in op_ids}
    p = np.array([operating_point.get(d, base[d][0]) for d in op_ids], dtype=float)
    p_m, q_m = prepare_injections(pn, op_ids, p[None, :])
    q = q_m[0]
    for j, d in enumerate(op_ids):
        if q_kvar is not None and d in q_kvar:
            q[j] = q_kvar[d]
        elif d not in operating_point:
            q[j] = base[d][1]
    fm = fast_model(pn)
    bm = fm.bm
    v, exchange = fm.operating_point(op_ids, p_m[0], q)
    live = np.isfinite(v)
    v = np.where(live, v, 0.0)
    ybus, yf, yt = bm.ybus()
    slack = np.unique(bm.slack_bus)
    is_pq = live.copy()
    is_pq[slack] = False
    pq = np.nonzero(is_pq)[0]
    jac = _jacobian(ybus, v, pq)

    d_count = len(ids)
    dev_bus = np.array([bm.bus_lookup[pn.net[t].at[i, "bus"]] for t, i in (pn.element(d) for d in ids)], dtype=int)
    ratio = np.array([pn.q_ratio.get(d, 0.0) for d in ids])
    pos = np.full(bm.n_bus, -1)
    pos[pq] = np.arange(len(pq))
    rhs = np.zeros((2 * len(pq), d_count))
    unit = 1e-3 / bm.base_mva  # 1 kW in pu
    for j, b in enumerate(dev_bus):
        if pos[b] >= 0:
            rhs[pos[b], j] = unit
            rhs[len(pq) + pos[b], j] = unit * ratio[j]
        elif not live[b]:
            raise NetworkModelError(f"device {ids[j]!r} sits on a bus that is not energised")
    x = splu(jac).solve(rhs) if len(pq) else rhs
    dvolt = np.zeros((bm.n_bus, d_count), dtype=complex)
    dvolt[pq] = v[pq, None] * (1j * x[: len(pq)] + x[len(pq) :] / np.abs(v[pq, None]))

    # grid exchange: slack injection minus devices connected at the slack bus themselves
    s_per_kw = bm.base_mva * 1e3
    d_slack = np.zeros(d_count)
    for s in slack:
        d_slack += (v[s] * np.conj(ybus[s] @ dvolt)).ravel().real * s_per_kw
    d_slack -= np.isin(dev_bus, slack).astype(float)

    # branch loadings at the more loaded end
    i_base_a = bm.base_mva * 1e6 / (np.sqrt(3) * bm.base_kv * 1e3)
    i_f, i_t = yf @ v, yt @ v
    di_f, di_t = yf @ dvolt, yt @ dvolt
    sc = loading_scales(pn, bm)

    def loading(rows: tuple[int, int], s_from: np.ndarray, s_to: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b = rows
        kf = s_from * i_base_a[bm.f[a:b]]
        kt = s_to * i_base_a[bm.t[a:b]]
        lf, lt = np.abs(i_f[a:b]) * kf, np.abs(i_t[a:b]) * kt
        with np.errstate(invalid="ignore", divide="ignore"):
            gf = np.nan_to_num((np.conj(i_f[a:b])[:, None] * di_f[a:b]).real / np.abs(i_f[a:b])[:, None]) * kf[:, None]
            gt = np.nan_to_num((np.conj(i_t[a:b])[:, None] * di_t[a:b]).real / np.abs(i_t[a:b])[:, None]) * kt[:, None]
        use_from = lf >= lt
        return np.where(use_from, lf, lt), np.where(use_from[:, None], gf, gt)

    line_l, line_g = loading(bm.line_rows, sc.line_from, sc.line_to)
    trafo_l, trafo_g = loading(bm.trafo_rows, sc.trafo_from, sc.trafo_to)
    cols = bm.bus_lookup[pn.net.bus.index.to_numpy(int)]
    vm = np.where(live[cols], np.abs(v[cols]), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        d_vm = (np.conj(v[cols])[:, None] * dvolt[cols]).real / np.abs(v[cols])[:, None]
    return Sensitivities(
        device_ids=ids,
        p0_kw=np.array([p[op_ids.index(d)] for d in ids]),
        grid_exchange_kw=exchange,
        d_exchange=d_slack,
        bus_ids=pn.bus_ids,
        vm_pu=vm,
        d_vm=np.nan_to_num(d_vm),
        line_ids=pn.line_ids,
        line_loading_percent=line_l,
        d_line_loading=line_g,
        trafo_ids=pn.trafo_ids,
        trafo_loading_percent=trafo_l,
        d_trafo_loading=trafo_g,
        limits=pn.limits,
    )
