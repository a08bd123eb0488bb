"""Per-interval linearisation of a whole series: the AC model of each interval around its own
operating point, with respect to device active *and* reactive injections.

For every interval the operating point comes from one batch power flow (fast path); then, as in
:mod:`grid_models.sensitivity` (same Jacobian, MATPOWER's ``dSbus_dV``), each device contributes
two columns: ``ΔP = 1 kW`` at its bus (with ``ΔQ = q_ratio·ΔP``, its power-factor assumption)
and, for the devices listed in ``q_device_ids``, ``ΔQ = 1 kvar``. From ``ΔV`` follow the slack's
complex power ``ΔS = V_s·conj(Ybus_s·ΔV)`` (grid exchange P and Q, devices sitting on the slack
bus counted directly) and the bus voltage magnitudes. The network's active losses are
``loss = P_exchange + Σ_devices p`` (every device in generator convention), so
``∂loss/∂p_j = ∂P_exchange/∂p_j + 1`` — the quantity the dispatcher adds to its power balance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import splu

from grid_models.fast import fast_model
from grid_models.network import INJECTION_SIGN, NetworkModelError, ParkNetwork
from grid_models.powerflow import prepare_injections
from grid_models.sensitivity import _jacobian


@dataclass(frozen=True)
class SeriesSensitivities:
    """Per-interval operating points and first derivatives (T intervals, D devices, Q of Dq devices).

    ``exchange_kw``/``exchange_kvar`` (T,) grid exchange (+ import); ``losses_kw`` (T,);
    ``dp_exchange_kw``/``dp_exchange_kvar`` (T, D) per kW of device p; ``dq_exchange_kw``/
    ``dq_exchange_kvar`` (T, Dq) per kvar of device q; ``vm_pu`` (T, B) in pu of each bus's modelled
    voltage, ``dp_vm`` (T, B, D) [pu/kW], ``dq_vm`` (T, B, Dq) [pu/kvar].
    """

    device_ids: list[str]
    q_device_ids: list[str]
    bus_ids: list[str]
    exchange_kw: np.ndarray
    exchange_kvar: np.ndarray
    losses_kw: np.ndarray
    dp_exchange_kw: np.ndarray
    dp_exchange_kvar: np.ndarray
    dq_exchange_kw: np.ndarray
    dq_exchange_kvar: np.ndarray
    vm_pu: np.ndarray
    dp_vm: np.ndarray
    dq_vm: np.ndarray

    @property
    def dp_losses(self) -> np.ndarray:
        """(T, D) ∂loss/∂p [kW/kW]: the exchange derivative plus the lossless −1."""
        return self.dp_exchange_kw + 1.0


def series_sensitivities(
    pn: ParkNetwork,
    device_ids: list[str],
    p_kw: np.ndarray,
    q_kvar: np.ndarray | None = None,
    q_device_ids: list[str] | None = None,
) -> SeriesSensitivities:
    """Linearise every interval of ``p_kw`` (T, D; generator convention; taps as stored in the net).

    ``q_kvar`` (T, D): reactive injections (default: each device's ``q_ratio``);
    ``q_device_ids`` ⊆ ``device_ids``: devices whose reactive power gets a column.
    Devices not listed keep the net's stored values. Raises :class:`NetworkModelError` when an
    interval does not converge or a device sits on a bus without supply.
    """
    q_ids = list(q_device_ids or [])
    missing = [d for d in q_ids if d not in device_ids]
    if missing:
        raise NetworkModelError(f"q_device_ids not in device_ids: {missing}")
    p, q = prepare_injections(pn, device_ids, p_kw, q_kvar)
    fm = fast_model(pn)
    bm = fm.bm
    ids = np.array([fm.gen_ids[pn.element(d)] for d in device_ids], dtype=np.int32)
    run = fm._run_chunk(ids, p, q)
    if not run["ok"].all():
        bad = int(np.nonzero(~run["ok"])[0][0])
        raise NetworkModelError(f"power flow did not converge in interval {bad}")
    T, D, Dq = p.shape[0], len(device_ids), len(q_ids)
    ybus, _, _ = bm.ybus()
    slack = np.unique(bm.slack_bus)
    dev_bus = np.array([bm.bus_lookup[pn.net[t].at[i, "bus"]] for t, i in (pn.element(d) for d in device_ids)])
    q_bus = dev_bus[[device_ids.index(d) for d in q_ids]] if Dq else np.zeros(0, dtype=int)
    ratio = np.array([pn.q_ratio.get(d, 0.0) for d in device_ids])
    cols = bm.bus_lookup[pn.net.bus.index.to_numpy(int)]
    unit = 1e-3 / bm.base_mva  # 1 kW (kvar) in pu
    s_per_kw = bm.base_mva * 1e3
    out = {
        "dp_ex": np.zeros((T, D), dtype=complex),
        "dq_ex": np.zeros((T, Dq), dtype=complex),
        "dp_vm": np.zeros((T, len(cols), D)),
        "dq_vm": np.zeros((T, len(cols), Dq)),
    }
    at_slack_p = np.isin(dev_bus, slack)
    at_slack_q = np.isin(q_bus, slack)
    for t in range(T):
        v = run["u"][t] * np.exp(1j * run["ang"][t])
        live = np.isfinite(v)
        v = np.where(live, v, 0.0)
        is_pq = live.copy()
        is_pq[slack] = False
        pq = np.nonzero(is_pq)[0]
        pos = np.full(bm.n_bus, -1)
        pos[pq] = np.arange(len(pq))
        npq = len(pq)
        rhs = np.zeros((2 * npq, D + Dq))
        for j, b in enumerate(dev_bus):
            if pos[b] >= 0:
                rhs[pos[b], j] = unit
                rhs[npq + pos[b], j] = unit * ratio[j]
            elif not live[b]:
                raise NetworkModelError(f"device {device_ids[j]!r} sits on a bus that is not energised")
        for i, b in enumerate(q_bus):
            if pos[b] >= 0:
                rhs[npq + pos[b], D + i] = unit
        x = splu(_jacobian(ybus, v, pq)).solve(rhs) if npq else rhs
        dv = np.zeros((bm.n_bus, D + Dq), dtype=complex)
        dv[pq] = v[pq, None] * (1j * x[:npq] + x[npq:] / np.abs(v[pq, None]))
        ds = np.zeros(D + Dq, dtype=complex)
        for s in slack:
            ds += (v[s] * np.conj(ybus[s] @ dv)).ravel() * s_per_kw
        out["dp_ex"][t] = ds[:D] - at_slack_p * (1 + 1j * ratio)
        out["dq_ex"][t] = ds[D:] - at_slack_q * 1j
        with np.errstate(invalid="ignore", divide="ignore"):
            dvm = np.nan_to_num((np.conj(v[cols])[:, None] * dv[cols]).real / np.abs(v[cols])[:, None])
        out["dp_vm"][t], out["dq_vm"][t] = dvm[:, :D], dvm[:, D:]
    exchange = run["p_src"] / 1e3
    # devices not listed keep their stored injections: they count in the losses too
    fixed = _unlisted_injection_kw(pn, {pn.element(d) for d in device_ids})
    vm = np.where(np.isfinite(run["u"][:, cols]), run["u"][:, cols], np.nan)
    return SeriesSensitivities(
        device_ids=list(device_ids),
        q_device_ids=q_ids,
        bus_ids=pn.bus_ids,
        exchange_kw=exchange,
        exchange_kvar=run["q_src"] / 1e3,
        losses_kw=exchange + p.sum(axis=1) + fixed,
        dp_exchange_kw=out["dp_ex"].real,
        dp_exchange_kvar=out["dp_ex"].imag,
        dq_exchange_kw=out["dq_ex"].real,
        dq_exchange_kvar=out["dq_ex"].imag,
        vm_pu=vm,
        dp_vm=out["dp_vm"],
        dq_vm=out["dq_vm"],
    )


def _unlisted_injection_kw(pn: ParkNetwork, listed: set[tuple[str, int]]) -> float:
    """Active injection of every in-service element not in ``listed`` [kW, generator convention]."""
    total = 0.0
    for table, sign in INJECTION_SIGN.items():
        df = pn.net[table]
        for idx, p, sc, on in zip(df.index, df.p_mw, df.scaling, df.in_service, strict=True):
            if on and (table, int(idx)) not in listed:
                total += sign * float(p) * float(sc) * 1e3
    return total
