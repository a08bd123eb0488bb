"""Boundary energy flows from metered interval rollups, with documented gap filling.

Device roles (from the park file): the grid-connection meter (``e_out`` = import, ``e_in`` =
export), PV and wind (``e_out`` = generation), batteries (``e_in`` = charge, ``e_out`` =
discharge), the green-connection meter (``e_out`` = direct green import), loads (``e_in`` =
consumption, information only: consumption is taken from the boundary balance).

Gap filling, per device and interval, from the rollup coverage ``c`` (share of the interval
with samples):

* ``c >= 0.999``: measured, used as is (code 0, ``measured``);
* ``0 < c < 0.999``: scaled to the full interval, ``e / c`` (code 1, ``scaled``) - assumes the
  unobserved part ran at the observed mean power;
* ``c == 0`` on the grid meter while every load, generator, battery and green meter is complete:
  filled from the balance ``net = loads + charge - generation - direct - discharge`` (code 3,
  ``balance``; network losses are then missed, which the flag tells);
* ``c == 0`` otherwise: linear interpolation of energy between the nearest measured intervals of
  that device (code 2, ``interpolated``); zero before its first or after its last measured
  interval in the window, never extrapolated (code 4, ``zero``: a gap that stays a gap).

Completeness of an interval = mean coverage of the boundary devices (grid, generation,
storage, green connection); any code other than 0 marks the interval ``estimated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ems.carbon.accounting import IntervalFlows
from ems.park import Meter, Park

FILL_NAMES = ("measured", "scaled", "interpolated", "balance", "zero")
FULL_COVERAGE = 0.999


class IntervalEnergyLike(Protocol):
    """What the accounting reads from ``Store.interval_energy`` (devices x intervals arrays)."""

    @property
    def starts(self) -> np.ndarray: ...
    @property
    def devices(self) -> list[str]: ...
    @property
    def e_out_kwh(self) -> np.ndarray: ...
    @property
    def e_in_kwh(self) -> np.ndarray: ...
    @property
    def coverage(self) -> np.ndarray: ...


@dataclass(frozen=True)
class Boundary:
    """Which metered devices make up each boundary flow."""

    grid_meter: str
    generators: list[str]
    batteries: list[str]
    green_meters: list[str]
    loads: list[str]

    @property
    def boundary_devices(self) -> list[str]:
        return [self.grid_meter, *self.generators, *self.batteries, *self.green_meters]

    @property
    def all_devices(self) -> list[str]:
        return [*self.boundary_devices, *self.loads]


def boundary_of(park: Park) -> Boundary:
    grid = park.network.grid_connection.meter or (park.grid_meter.id if park.grid_meter else None)
    if grid is None:
        raise ValueError("the park has no grid-connection meter; carbon accounting needs one")
    return Boundary(
        grid_meter=grid,
        generators=[d.id for d in park.devices if d.type in ("pv", "wind")],
        batteries=[d.id for d in park.devices if d.type == "battery"],
        green_meters=[d.id for d in park.devices if isinstance(d, Meter) and d.role == "green_connection"],
        loads=[d.id for d in park.devices if d.type == "load"],
    )


@dataclass(frozen=True)
class FillInfo:
    """Fill code per boundary/load device and interval (see FILL_NAMES)."""

    devices: list[str]
    codes: np.ndarray  # int8, devices x intervals

    def flags(self, t: int) -> str:
        """``device:method`` for every filled value of interval t, ';'-separated ('' if none)."""
        col = self.codes[:, t]
        return ";".join(f"{d}:{FILL_NAMES[c]}" for d, c in zip(self.devices, col.tolist(), strict=True) if c)

    def all_flags(self) -> list[str]:
        """:meth:`flags` for every interval (built from the nonzero codes only)."""
        per_t: dict[int, list[str]] = {}
        rows, cols = np.nonzero(self.codes)
        order = np.lexsort((rows, cols))  # by interval, then device order
        for i, t in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
            per_t.setdefault(t, []).append(f"{self.devices[i]}:{FILL_NAMES[self.codes[i, t]]}")
        out = [""] * self.codes.shape[1]
        for t, items in per_t.items():
            out[t] = ";".join(items)
        return out


def _interpolate(e: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill unknown entries linearly between known ones (code 2); zero outside them (code 4)."""
    if not known.any():
        return np.zeros_like(e), np.full(len(e), 4, dtype=np.int8)
    x = np.arange(len(e))
    kx = x[known]
    inside = (x > kx[0]) & (x < kx[-1])  # never extrapolate past the first/last measured interval
    filled = np.where(known, e, 0.0)
    fill_at = ~known & inside
    filled[fill_at] = np.interp(x[fill_at], kx, e[known])
    codes = np.where(known, 0, np.where(inside, 2, 4)).astype(np.int8)
    return filled, codes


def fill_row(e: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where((c > 0) & (c < FULL_COVERAGE), e / c, e)
    codes = np.where((c > 0) & (c < FULL_COVERAGE), 1, 0).astype(np.int8)
    missing = c <= 0
    if missing.any():
        filled, icodes = _interpolate(scaled, ~missing)
        scaled = np.where(missing, filled, scaled)
        codes = np.where(missing, icodes, codes)
    return scaled, codes


def flows_from_energy(park: Park, ie: IntervalEnergyLike, *, with_loads: bool = True) -> tuple[IntervalFlows, FillInfo]:
    """Boundary flows per interval with gap filling (module docstring); raises if a device is missing.

    ``with_loads=False`` accounts from the boundary meters alone (loads are not read, so a
    grid-meter gap cannot be filled from the balance and is interpolated instead); callers use
    it when the grid meter is complete, which makes no difference to any result but the
    informational ``load_metered_kwh``.
    """
    b = boundary_of(park)
    row = {d: i for i, d in enumerate(ie.devices)}
    devs = b.all_devices if with_loads else b.boundary_devices
    missing = [d for d in devs if d not in row]
    if missing:
        raise KeyError(f"interval energy lacks devices needed for carbon accounting: {missing}")
    n = ie.e_out_kwh.shape[1]
    out_f = np.zeros((len(devs), n))
    in_f = np.zeros((len(devs), n))
    codes = np.zeros((len(devs), n), dtype=np.int8)
    cov = np.zeros((len(devs), n))
    for j, d in enumerate(devs):
        i = row[d]
        c = np.clip(ie.coverage[i], 0.0, 1.0)
        cov[j] = c
        out_f[j], codes_out = fill_row(ie.e_out_kwh[i], c)
        in_f[j], _ = fill_row(ie.e_in_kwh[i], c)
        codes[j] = codes_out
    pos = {d: j for j, d in enumerate(devs)}

    def tot(ids: list[str], arr: np.ndarray) -> np.ndarray:
        return arr[[pos[d] for d in ids]].sum(axis=0) if ids else np.zeros(n)

    gen = tot(b.generators, out_f)
    charge = tot(b.batteries, in_f)
    discharge = tot(b.batteries, out_f)
    direct = tot(b.green_meters, out_f)
    loads = tot(b.loads if with_loads else [], in_f)
    g = pos[b.grid_meter]
    imp, exp = out_f[g].copy(), in_f[g].copy()
    grid_missing = cov[g] <= 0
    others = [pos[d] for d in devs if d != b.grid_meter]
    others_full = (cov[others] >= FULL_COVERAGE).all(axis=0) if others else np.ones(n, dtype=bool)
    use_balance = grid_missing & others_full & with_loads
    if use_balance.any():
        net = loads + charge - gen - direct - discharge
        imp = np.where(use_balance, np.maximum(net, 0.0), imp)
        exp = np.where(use_balance, np.maximum(-net, 0.0), exp)
        codes[g] = np.where(use_balance, 3, codes[g])
    boundary_rows = [pos[d] for d in b.boundary_devices]
    completeness = cov[boundary_rows].mean(axis=0)
    estimated = np.asarray(codes.any(axis=0), dtype=bool)
    flows = IntervalFlows(
        starts=np.asarray(ie.starts, dtype="datetime64[us]"),
        interval_minutes=park.interval_minutes
        if n == 0 or len(ie.starts) < 2
        else int((ie.starts[1] - ie.starts[0]) / np.timedelta64(60, "s")),
        grid_import_kwh=np.maximum(imp, 0.0),
        export_kwh=np.maximum(exp, 0.0),
        local_re_kwh=np.maximum(gen, 0.0),
        direct_green_kwh=np.maximum(direct, 0.0),
        charge_kwh=np.maximum(charge, 0.0),
        discharge_kwh=np.maximum(discharge, 0.0),
        load_metered_kwh=np.maximum(loads, 0.0),
        completeness=completeness,
        estimated=estimated,
    )
    return flows, FillInfo(devs, codes)
