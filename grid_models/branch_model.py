"""Per-unit bus/branch model of a pandapower net, taken from pandapower's own PYPOWER conversion.

Using pandapower's conversion (``_pd2ppc``) rather than re-deriving element models keeps the
fast path and the sensitivities consistent with pandapower by construction: transformer
T-model, taps, parallel systems, line charging, bus-bus switch fusion and the auxiliary
buses pandapower inserts for open line switches all come out of the same code.

Every branch is a π-section (MATPOWER convention)::

    I_f = Yff V_f + Yft V_t,  I_t = Ytf V_f + Ytt V_t
    Ytt = ys + bc/2,  Yff = Ytt / |τ|²,  Yft = -ys / conj(τ),  Ytf = -ys / τ

with series admittance ``ys``, total shunt admittance ``bc = g + jb`` and complex tap
``τ = k·exp(jθ)`` at the from side, all in per unit on ``base_mva``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import scipy.sparse as sp
from pandapower.auxiliary import _add_ppc_options
from pandapower.pd2ppc import _pd2ppc
from pandapower.pypower.idx_brch import (
    BR_B,
    BR_B_ASYM,
    BR_G,
    BR_G_ASYM,
    BR_R,
    BR_R_ASYM,
    BR_STATUS,
    BR_X,
    BR_X_ASYM,
    F_BUS,
    SHIFT,
    T_BUS,
    TAP,
)
from pandapower.pypower.idx_bus import BASE_KV, BS, BUS_TYPE, GS, NONE

from grid_models.network import PF_OPTIONS, NetworkModelError


@dataclass(frozen=True)
class BranchModel:
    """Buses and π branches in per unit; indices are pandapower's internal (ppc) bus numbers."""

    base_mva: float
    base_kv: np.ndarray  # (nb,)
    bus_lookup: np.ndarray  # pandapower bus index -> ppc bus
    energized: np.ndarray  # (nb,) bool: bus in service and connected to a slack
    f: np.ndarray  # (nl,) from bus
    t: np.ndarray  # (nl,) to bus
    ys: np.ndarray  # (nl,) series admittance [pu]
    bc: np.ndarray  # (nl,) total shunt admittance g + jb [pu]
    tap: np.ndarray  # (nl,) complex ratio k·e^{jθ}
    status: np.ndarray  # (nl,) bool
    bus_shunt: np.ndarray  # (nb,) shunt admittance [pu]
    line_rows: tuple[int, int]
    trafo_rows: tuple[int, int]
    slack_bus: np.ndarray  # ppc bus of each in-service ext_grid
    slack_v: np.ndarray  # complex slack voltage [pu]

    @property
    def n_bus(self) -> int:
        return int(self.base_kv.shape[0])

    def branch_admittances(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(Yff, Yft, Ytf, Ytt) per branch; zero for branches out of service."""
        on = self.status.astype(float)
        ytt = (self.ys + self.bc / 2) * on
        yff = ytt / np.abs(self.tap) ** 2
        yft = -self.ys / np.conj(self.tap) * on
        ytf = -self.ys / self.tap * on
        return yff, yft, ytf, ytt

    def ybus(self) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
        """Bus admittance matrix and branch matrices: ``I_bus = Ybus V``, ``I_f = Yf V``, ``I_t = Yt V``."""
        yff, yft, ytf, ytt = self.branch_admittances()
        nl, nb = len(self.f), self.n_bus
        rows = np.arange(nl)
        yf = sp.csr_matrix((np.r_[yff, yft], (np.r_[rows, rows], np.r_[self.f, self.t])), shape=(nl, nb))
        yt = sp.csr_matrix((np.r_[ytf, ytt], (np.r_[rows, rows], np.r_[self.f, self.t])), shape=(nl, nb))
        cf = sp.csr_matrix((np.ones(nl), (rows, self.f)), shape=(nl, nb))
        ct = sp.csr_matrix((np.ones(nl), (rows, self.t)), shape=(nl, nb))
        ybus = (cf.T @ yf + ct.T @ yt + sp.diags(self.bus_shunt)).tocsr()
        return ybus, yf, yt


def branch_model(net: pp.pandapowerNet) -> BranchModel:
    """Convert ``net`` with pandapower's own converter under :data:`PF_OPTIONS`."""
    work = copy.deepcopy(net)
    work._options = {}
    _add_ppc_options(
        work,
        calculate_voltage_angles=PF_OPTIONS["calculate_voltage_angles"],
        trafo_model=PF_OPTIONS["trafo_model"],
        check_connectivity=True,
        mode="pf",
        switch_rx_ratio=2,
        enforce_p_lims=False,
        enforce_q_lims=False,
        recycle=None,
        voltage_depend_loads=False,
        init_vm_pu="flat",
        init_va_degree="flat",
    )
    ppc, _ = _pd2ppc(work)
    bus, br = ppc["bus"].real, ppc["branch"]
    if np.any(br[:, [BR_R_ASYM, BR_X_ASYM, BR_G_ASYM, BR_B_ASYM]].real != 0):
        raise NetworkModelError("asymmetric branch models (unequal T-model leakage split) are not supported")
    lookups = work._pd2ppc_lookups
    energized = bus[:, BUS_TYPE] != NONE
    f = br[:, F_BUS].real.astype(np.int64)
    t = br[:, T_BUS].real.astype(np.int64)
    status = (br[:, BR_STATUS].real > 0) & energized[f] & energized[t]
    k = br[:, TAP].real.copy()
    k[k == 0] = 1.0
    tap = k * np.exp(1j * np.deg2rad(br[:, SHIFT].real))
    ys = 1.0 / (br[:, BR_R].real + 1j * br[:, BR_X].real)
    bc = br[:, BR_G].real + 1j * br[:, BR_B].real
    base_mva = float(ppc["baseMVA"])
    eg = net.ext_grid[net.ext_grid.in_service]
    slack_bus = lookups["bus"][eg.bus.to_numpy(int)]
    slack_v = eg.vm_pu.to_numpy(float) * np.exp(1j * np.deg2rad(eg.va_degree.to_numpy(float)))
    rows = lookups["branch"]
    return BranchModel(
        base_mva=base_mva,
        base_kv=bus[:, BASE_KV].copy(),
        bus_lookup=np.asarray(lookups["bus"]).copy(),
        energized=energized,
        f=f,
        t=t,
        ys=ys,
        bc=bc,
        tap=tap,
        status=status,
        bus_shunt=(bus[:, GS] + 1j * bus[:, BS]) / base_mva,
        line_rows=tuple(rows.get("line", (0, 0))),
        trafo_rows=tuple(rows.get("trafo", (0, 0))),
        slack_bus=np.asarray(slack_bus, dtype=np.int64),
        slack_v=slack_v,
    )
