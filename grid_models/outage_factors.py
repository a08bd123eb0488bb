"""N-1 as linear limits: post-contingency branch flows from PTDF and LODF.

DC power-transfer distribution factors (Wood & Wollenberg, *Power Generation, Operation and
Control*, 3rd ed., §7.3) from the branch reactances of the same branch model the AC path uses:
``PTDF = B_f · B_bus⁻¹`` (slack column removed; ``b_l = 1/(x_l·|tap_l|)``), so one kW injected at
bus ``n`` and taken at the slack changes branch ``l``'s flow by ``PTDF[l, n]`` kW. With branch
``k`` (from ``f_k`` to ``t_k``) out of service, flows move by the line outage distribution factor
``LODF[l, k] = (PTDF[l, f_k] − PTDF[l, t_k]) / (1 − (PTDF[k, f_k] − PTDF[k, t_k]))``; a
denominator of 0 means the outage splits the network (a radial feeder): no flow limit can make
that secure, so such outages are listed, not constrained.

The post-contingency flow of ``l`` is then, around each interval's AC operating point,
``P_l + LODF[l,k]·P_k + Σ_j (PTDF[l,j] + LODF[l,k]·PTDF[k,j])·Δp_j`` (AC flows at the point, DC
sensitivities), to stay within ``±sqrt(S_em² − Q_post²)`` where ``S_em`` is the branch's
emergency rating at the operating voltage and ``Q_post = Q_l + LODF[l,k]·Q_k``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grid_models.fast import fast_model
from grid_models.network import NetworkModelError, ParkNetwork
from grid_models.powerflow import prepare_injections

ISLANDING_TOLERANCE = 1e-6


@dataclass(frozen=True)
class OutageFactors:
    """DC factors over the in-service lines and transformers (``branch_ids`` like ``"line L3"``)."""

    branch_ids: list[str]
    rows: np.ndarray  # ppc branch row of each
    ptdf_bus: np.ndarray  # (branches, ppc buses) kW per kW injected at the bus
    lodf: np.ndarray  # (branches, branches); column k: flow change per kW on k before its outage
    islanding: np.ndarray  # (branches,) the outage leaves buses without supply


@dataclass(frozen=True)
class ContingencyFlow:
    """Branch ``element`` after ``outage``: flow ≈ ``flow_kw[t] + coeffs·(p[t] − p_ref[t])`` [kW]
    within ``±allowed_kw[t]``."""

    outage: str
    element: str
    coeffs: np.ndarray  # (D,) over the device ids, kW per kW injected
    flow_kw: np.ndarray  # (T,) at the operating points
    allowed_kw: np.ndarray  # (T,)


def outage_factors(pn: ParkNetwork) -> OutageFactors:
    """PTDF and LODF of ``pn``'s in-service lines and transformers."""
    bm = fast_model(pn).bm
    labels = [f"line {x}" for x in pn.line_ids] + [f"trafo {x}" for x in pn.trafo_ids]
    rows = np.r_[np.arange(*bm.line_rows), np.arange(*bm.trafo_rows)]
    keep = bm.status[rows].astype(bool)
    rows, labels = rows[keep], [lb for lb, k in zip(labels, keep, strict=True) if k]
    x = (1.0 / bm.ys[rows]).imag * np.abs(bm.tap[rows])
    if np.any(x <= 0):
        raise NetworkModelError("PTDF needs a positive series reactance on every in-service branch")
    b = 1.0 / x
    nb = bm.n_bus
    inc = np.zeros((len(rows), nb))
    inc[np.arange(len(rows)), bm.f[rows]] = 1.0
    inc[np.arange(len(rows)), bm.t[rows]] = -1.0
    live = bm.energized.astype(bool).copy()
    slack = np.unique(bm.slack_bus)
    live[slack] = False
    idx = np.nonzero(live)[0]
    bbus = inc.T @ (b[:, None] * inc)
    ptdf = np.zeros((len(rows), nb))
    ptdf[:, idx] = (b[:, None] * inc[:, idx]) @ np.linalg.inv(bbus[np.ix_(idx, idx)])
    own = ptdf @ inc.T  # own[l, k] = PTDF[l, f_k] − PTDF[l, t_k]
    denom = 1.0 - np.diag(own)
    islanding = np.abs(denom) < ISLANDING_TOLERANCE
    lodf = own / np.where(islanding, 1.0, denom)[None, :]
    lodf[:, islanding] = np.nan
    np.fill_diagonal(lodf, -1.0)
    return OutageFactors(labels, rows, ptdf, lodf, islanding)


def contingency_flows(
    pn: ParkNetwork,
    device_ids: list[str],
    p_kw: np.ndarray,
    q_kvar: np.ndarray | None = None,
    emergency_factor: float = 1.0,
) -> tuple[list[ContingencyFlow], list[str]]:
    """Post-contingency flow limits at each interval's operating point, and the islanding outages.

    ``p_kw``/``q_kvar`` (T, D) as for :func:`grid_models.timeseries` (taps as stored). Emergency
    rating = ``emergency_factor`` × the branch's normal limit (``max_loading_percent``).
    """
    if not emergency_factor > 0:
        raise NetworkModelError(f"emergency_factor must be positive, got {emergency_factor}")
    p, q = prepare_injections(pn, device_ids, p_kw, q_kvar)
    fm = fast_model(pn)
    bm = fm.bm
    fac = outage_factors(pn)
    ids = np.array([fm.gen_ids[pn.element(d)] for d in device_ids], dtype=np.int32)
    run = fm._run_chunk(ids, p, q)
    if not run["ok"].all():
        raise NetworkModelError(f"power flow did not converge in interval {int(np.nonzero(~run['ok'])[0][0])}")
    v = run["u"] * np.exp(1j * run["ang"])  # (T, nb)
    v = np.where(np.isfinite(v), v, 0.0)
    _, yf, _ = bm.ybus()
    i_f = (yf @ v.T).T[:, fac.rows]  # (T, branches)
    s_f = v[:, bm.f[fac.rows]] * np.conj(i_f) * bm.base_mva * 1e3  # kVA into each branch at its from end
    rating = _ratings_kva(pn, fac) * emergency_factor * np.abs(v[:, bm.f[fac.rows]])
    dev_bus = np.array([bm.bus_lookup[pn.net[t].at[i, "bus"]] for t, i in (pn.element(d) for d in device_ids)])
    sens = fac.ptdf_bus[:, dev_bus]  # (branches, D)
    out = []
    for k, outage in enumerate(fac.branch_ids):
        if fac.islanding[k]:
            continue
        for lb, element in enumerate(fac.branch_ids):
            if lb == k:
                continue
            f = fac.lodf[lb, k]
            flow = (s_f[:, lb] + f * s_f[:, k]).real
            q_post = (s_f[:, lb] + f * s_f[:, k]).imag
            allowed = np.sqrt(np.maximum(rating[:, lb] ** 2 - q_post**2, 0.0))
            out.append(ContingencyFlow(outage, element, sens[lb] + f * sens[k], flow, allowed))
    return out, [b for b, isl in zip(fac.branch_ids, fac.islanding, strict=True) if isl]


def _ratings_kva(pn: ParkNetwork, fac: OutageFactors) -> np.ndarray:
    """Normal rating of each branch at 1 pu voltage [kVA] (pandapower's loading definitions)."""
    line, tr, lim = pn.net.line, pn.net.trafo, pn.limits
    line_kva = (
        np.sqrt(3)
        * line.max_i_ka.to_numpy(float)
        * line.df.to_numpy(float)
        * line.parallel.to_numpy(float)
        * pn.net.bus.vn_kv.loc[line.from_bus].to_numpy(float)
        * 1e3
        * np.asarray(lim.line_max_loading_percent, float)
        / 100
    )
    trafo_kva = (
        tr.sn_mva.to_numpy(float)
        * tr.df.to_numpy(float)
        * tr.parallel.to_numpy(float)
        * 1e3
        * np.asarray(lim.trafo_max_loading_percent, float)
        / 100
    )
    by_label = dict(
        zip(
            [f"line {x}" for x in pn.line_ids] + [f"trafo {x}" for x in pn.trafo_ids],
            [*line_kva, *trafo_kva],
            strict=True,
        )
    )
    return np.array([by_label[b] for b in fac.branch_ids])
