"""The park's electrical network as a pandapower net plus a device-id mapping.

Conventions (see ``docs/grid_model.md``):

* Device powers are in the park's generator convention: ``p_kw > 0`` injects into the
  network. pandapower's ``sgen`` uses the same sign; ``load`` and ``storage`` are
  consumption-positive (storage ``p_mw > 0`` = charging), so their sign is flipped.
* Reactive power, unless given: PV, wind, batteries and direct green connections run at
  unity power factor; loads at cos φ = 0.95 lagging, i.e. ``q_kvar = p_kw · tan(acos 0.95)``
  (both negative for a consuming load).
* The grid exchange (sum of the external grids' active power) is positive when the park
  imports.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandapower as pp
import pandapower.networks as ppn

if TYPE_CHECKING:
    from ems.park import Park, Transformer

#: pandapower power-flow settings used for every reference run; the fast path reproduces them.
PF_OPTIONS: dict[str, Any] = {
    "algorithm": "nr",
    "calculate_voltage_angles": True,
    "trafo_model": "t",
    "trafo_loading": "current",
    "tolerance_mva": 1e-9,
    "numba": False,
}

#: element table -> factor turning a generator-convention injection into the table's p_mw sign
INJECTION_SIGN: dict[str, float] = {"sgen": 1.0, "load": -1.0, "storage": -1.0}

LOAD_POWER_FACTOR = 0.95
LOAD_Q_RATIO = math.tan(math.acos(LOAD_POWER_FACTOR))

#: tables whose in-service elements the model understands; anything else is refused
SUPPORTED_TABLES = frozenset({"bus", "line", "trafo", "switch", "ext_grid", "load", "sgen", "storage", "shunt"})
_ELEMENT_TABLES = (
    "motor",
    "asymmetric_load",
    "asymmetric_sgen",
    "gen",
    "svc",
    "ssc",
    "vsc",
    "line_dc",
    "trafo3w",
    "impedance",
    "tcsc",
    "dcline",
    "ward",
    "xward",
    "bus_dc",
    "source_dc",
    "load_dc",
    "vsc_stacked",
    "vsc_bipolar",
)


class NetworkModelError(ValueError):
    """The network cannot be modelled (unsupported element, bad mapping, bad input shape)."""


@dataclass(frozen=True)
class NetworkLimits:
    """Operating limits used to flag violations.

    Voltage: ``v_min_pu..v_max_pu`` is the band in per unit of each bus's *nominal* voltage
    (the voltage the standard refers to, e.g. GB/T 12325: 10 kV ± 7 %), while power-flow
    results are in per unit of the *modelled* voltage ``vn_kv`` (e.g. 10.5 kV). The per-bus
    band actually checked is ``bus_v_min_pu``/``bus_v_max_pu``, in per unit of ``vn_kv``
    (``v_max_pu · nominal_kv / vn_kv``); empty tuples mean nominal = modelled for every bus.
    ``import_limit_kw``/``export_limit_kw`` bound the exchange at the connection point
    (export limit 0 = anti-backflow). Branch limits are per element in percent.
    ``min_power_factor``: power factor at the connection point while importing (0 = unchecked).
    """

    v_min_pu: float = 0.93
    v_max_pu: float = 1.07
    import_limit_kw: float = math.inf
    export_limit_kw: float = math.inf
    line_max_loading_percent: tuple[float, ...] = ()
    trafo_max_loading_percent: tuple[float, ...] = ()
    bus_nominal_kv: tuple[float, ...] = ()
    bus_v_min_pu: tuple[float, ...] = ()
    bus_v_max_pu: tuple[float, ...] = ()
    min_power_factor: float = 0.0

    def voltage_band(self, n_bus: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-bus (lower, upper) voltage limits in per unit of the modelled voltage."""
        lo = np.asarray(self.bus_v_min_pu, float) if self.bus_v_min_pu else np.full(n_bus, self.v_min_pu)
        hi = np.asarray(self.bus_v_max_pu, float) if self.bus_v_max_pu else np.full(n_bus, self.v_max_pu)
        return lo, hi


def voltage_limits(vn_kv: np.ndarray, nominal_kv: np.ndarray, v_min_pu: float, v_max_pu: float) -> dict[str, Any]:
    """The per-bus band fields of :class:`NetworkLimits`: the nominal band re-expressed on the modelled base."""
    scale = np.asarray(nominal_kv, float) / np.asarray(vn_kv, float)
    return {
        "v_min_pu": v_min_pu,
        "v_max_pu": v_max_pu,
        "bus_nominal_kv": tuple(float(x) for x in nominal_kv),
        "bus_v_min_pu": tuple(float(x) for x in v_min_pu * scale),
        "bus_v_max_pu": tuple(float(x) for x in v_max_pu * scale),
    }


@dataclass(frozen=True)
class OltcSettings:
    """On-load tap changers: pandapower trafo indices and their LV-bus deadbands [pu of the bus's vn_kv]."""

    trafo: np.ndarray
    v_min_pu: np.ndarray
    v_max_pu: np.ndarray


@dataclass(frozen=True)
class ReactiveSpec:
    """Inverter reactive control of one device (see :class:`ems.park.ReactiveControl`), in kvar and
    per unit of the device bus's *modelled* voltage: ``tan_phi`` signed (fixed_pf: Q = tan_phi · |P|),
    ``curve_v``/``curve_q`` the Q(U) curve, ``s_kva``/``q_max_kvar`` the capability."""

    mode: str
    tan_phi: float
    s_kva: float
    q_max_kvar: float
    curve_v: np.ndarray
    curve_q: np.ndarray


@dataclass
class ParkNetwork:
    """A pandapower net, the device mapping and the limits.

    ``elements`` maps a device id to ``(table, index)`` with table in ``sgen``/``load``/``storage``.
    ``q_ratio`` gives each device's ``q_kvar / p_kw`` when reactive power is not supplied.
    Treat the object as immutable: derived models (the fast path) are cached on it.
    """

    net: pp.pandapowerNet
    elements: dict[str, tuple[str, int]]
    q_ratio: dict[str, float]
    limits: NetworkLimits
    name: str = "network"
    oltc: OltcSettings | None = None
    reactive: dict[str, ReactiveSpec] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_supported(self.net)
        for dev, (table, idx) in self.elements.items():
            if table not in INJECTION_SIGN:
                raise NetworkModelError(f"device {dev!r}: table {table!r} is not one of {sorted(INJECTION_SIGN)}")
            if idx not in self.net[table].index:
                raise NetworkModelError(f"device {dev!r}: no {table} with index {idx}")
            if self.net[table].at[idx, "scaling"] == 0:
                raise NetworkModelError(f"device {dev!r}: {table} {idx} has scaling 0")
        n_line, n_trafo, n_bus = len(self.net.line), len(self.net.trafo), len(self.net.bus)
        for name in ("bus_nominal_kv", "bus_v_min_pu", "bus_v_max_pu"):
            given = len(getattr(self.limits, name))
            if given not in (0, n_bus):
                raise NetworkModelError(f"limits give {given} values of {name} for {n_bus} buses")
        if len(self.limits.line_max_loading_percent) != n_line:
            raise NetworkModelError(
                f"limits give {len(self.limits.line_max_loading_percent)} line ratings for {n_line} lines"
            )
        if len(self.limits.trafo_max_loading_percent) != n_trafo:
            raise NetworkModelError(
                f"limits give {len(self.limits.trafo_max_loading_percent)} trafo ratings for {n_trafo} trafos"
            )

    @property
    def device_ids(self) -> list[str]:
        return list(self.elements)

    @property
    def bus_ids(self) -> list[str]:
        return [_label(n, i, "bus") for i, n in zip(self.net.bus.index, self.net.bus.name, strict=True)]

    @property
    def line_ids(self) -> list[str]:
        return [_label(n, i, "line") for i, n in zip(self.net.line.index, self.net.line.name, strict=True)]

    @property
    def trafo_ids(self) -> list[str]:
        return [_label(n, i, "trafo") for i, n in zip(self.net.trafo.index, self.net.trafo.name, strict=True)]

    def bus_of(self, device_id: str) -> str:
        """Id of the bus the device's element is connected to."""
        table, idx = self.element(device_id)
        bus = self.net[table].at[idx, "bus"]
        return self.bus_ids[self.net.bus.index.get_loc(bus)]

    def bus_index(self, bus_id: str) -> int:
        """pandapower index of the bus labelled ``bus_id``."""
        ids = self.bus_ids
        if bus_id not in ids:
            raise NetworkModelError(f"unknown bus {bus_id!r}; known: {', '.join(ids)}")
        return int(self.net.bus.index[ids.index(bus_id)])

    def element(self, device_id: str) -> tuple[str, int]:
        try:
            return self.elements[device_id]
        except KeyError:
            raise NetworkModelError(f"unknown device {device_id!r}; known: {', '.join(self.elements)}") from None

    def base_injection_kw(self, device_id: str) -> tuple[float, float]:
        """(p_kw, q_kvar) of the device as stored in the net, generator convention."""
        table, idx = self.element(device_id)
        row = self.net[table].loc[idx]
        s = INJECTION_SIGN[table] * row["scaling"] * 1000.0
        return float(row["p_mw"] * s), float(row["q_mvar"] * s)

    def with_extra_elements(self, bus_id: str, extra: dict[str, tuple[str, float]]) -> ParkNetwork:
        """A copy with extra elements at ``bus_id``: ``{device_id: (table, q_ratio)}``, at 0 kW."""
        net = copy.deepcopy(self.net)
        bus = self.bus_index(bus_id)
        elements = dict(self.elements)
        q_ratio = dict(self.q_ratio)
        for dev, (table, ratio) in extra.items():
            if dev in elements:
                raise NetworkModelError(f"device id {dev!r} already exists")
            creator = {"sgen": pp.create_sgen, "storage": pp.create_storage, "load": pp.create_load}[table]
            kwargs = {"max_e_mwh": 0.0} if table == "storage" else {}
            elements[dev] = (table, int(creator(net, bus, p_mw=0.0, name=dev, **kwargs)))
            q_ratio[dev] = ratio
        return ParkNetwork(net, elements, q_ratio, self.limits, f"{self.name}+extra", self.oltc, self.reactive)

    @classmethod
    def from_pandapower_json(
        cls,
        path: str | Path,
        mapping: dict[str, tuple[str, int]] | dict[str, list[Any]],
        limits: NetworkLimits | None = None,
        q_ratio: dict[str, float] | None = None,
    ) -> ParkNetwork:
        """Load a pandapower JSON network; ``mapping`` is ``{device_id: (table, index)}``.

        Reactive power keeps each element's own ``q/p`` from the net; elements stored at
        0 MW fall back to the table default (loads cos φ 0.95, others unity); ``q_ratio``
        overrides per device.
        """
        p = Path(path)
        if not p.is_file():
            raise NetworkModelError(f"{p}: not a readable pandapower JSON network: no such file")
        try:
            net = pp.from_json(str(p))
        except (OSError, ValueError, UserWarning) as exc:  # pandapower wraps parse errors in UserWarning
            raise NetworkModelError(f"{p}: not a readable pandapower JSON network: {exc}") from None
        elements: dict[str, tuple[str, int]] = {}
        for dev, target in mapping.items():
            if not isinstance(target, (tuple, list)) or len(target) != 2:
                raise NetworkModelError(f"mapping for {dev!r} must be (table, index), got {target!r}")
            elements[dev] = (str(target[0]), int(target[1]))
        ratios = {d: own_q_ratio(net, t, i) for d, (t, i) in elements.items() if i in net[t].index}
        ratios.update(q_ratio or {})
        return cls(net, elements, ratios, limits or default_limits(net), p.stem)


def own_q_ratio(net: pp.pandapowerNet, table: str, idx: int) -> float:
    """``q/p`` stored for an element; the table default when it is stored at 0 MW."""
    p, q = float(net[table].at[idx, "p_mw"]), float(net[table].at[idx, "q_mvar"])
    return q / p if p else (LOAD_Q_RATIO if table == "load" else 0.0)


def _label(name: Any, index: int, kind: str) -> str:
    return str(name) if isinstance(name, str) and name else f"{kind}_{index}"


def default_limits(net: pp.pandapowerNet, **overrides: Any) -> NetworkLimits:
    """Limits from the net's own columns where present (``max_loading_percent``), else 100 %."""

    def ratings(table: str) -> tuple[float, ...]:
        df = net[table]
        if "max_loading_percent" in df:
            return tuple(float(x) if np.isfinite(x) else 100.0 for x in df["max_loading_percent"].to_numpy(float))
        return (100.0,) * len(df)

    values: dict[str, Any] = {
        "line_max_loading_percent": ratings("line"),
        "trafo_max_loading_percent": ratings("trafo"),
    }
    values.update(overrides)
    return NetworkLimits(**values)


def check_supported(net: pp.pandapowerNet) -> None:
    """Refuse nets with in-service elements the model does not represent (PV generators, wards, ...)."""
    bad = []
    for table in _ELEMENT_TABLES:
        df = net.get(table)
        if df is None or len(df) == 0:
            continue
        active = df["in_service"].to_numpy(bool).any() if "in_service" in df else True
        if active:
            bad.append(f"{table} ({len(df)})")
    if bad:
        raise NetworkModelError(
            f"unsupported in-service elements: {', '.join(bad)}; "
            f"supported tables: {', '.join(sorted(SUPPORTED_TABLES))}"
        )
    load = net.load
    for col in ("const_z_p_percent", "const_i_p_percent", "const_z_q_percent", "const_i_q_percent"):
        if col in load and np.any(load[col].to_numpy(float)[load.in_service.to_numpy(bool)] != 0):
            raise NetworkModelError(f"voltage-dependent loads ({col} != 0) are not supported; use constant power")
    if len(net.ext_grid) == 0 or not net.ext_grid.in_service.any():
        raise NetworkModelError("the network has no in-service external grid (slack)")
    if len(net.trafo) and np.any(net.trafo["df"].to_numpy(float) <= 0):
        raise NetworkModelError("transformer rating factor df must be positive")


# --------------------------------------------------------------------------- park -> pandapower


def build_park_network(park: Park) -> ParkNetwork:
    """Build the pandapower network from the park description's own network section.

    External grid at the connection point (``vm_pu``, short-circuit data from the park),
    two-winding transformers, lines (impedances or a pandapower ``std_type``), PV/wind and
    direct green connections as static generators, batteries as storage, loads as loads,
    all at 0 kW. Meters are not network elements.
    """
    nw = park.network
    net = pp.create_empty_network(name=park.name, f_hz=50.0)
    bus = {b.id: pp.create_bus(net, vn_kv=b.vn_kv, name=b.id) for b in nw.buses}
    gc = nw.grid_connection
    pp.create_ext_grid(net, bus[gc.bus], vm_pu=gc.vm_pu, s_sc_max_mva=gc.s_sc_max_mva, rx_max=gc.rx_max, name="grid")
    for tr in nw.transformers:
        pp.create_transformer_from_parameters(
            net,
            bus[tr.hv_bus],
            bus[tr.lv_bus],
            sn_mva=tr.sn_mva,
            vn_hv_kv=tr.vn_hv_kv,
            vn_lv_kv=tr.vn_lv_kv,
            vkr_percent=tr.vkr_percent,
            vk_percent=tr.vk_percent,
            pfe_kw=tr.pfe_kw,
            i0_percent=tr.i0_percent,
            max_loading_percent=tr.max_loading_percent,
            name=tr.id,
            **_tap_changer(tr),
        )
    for ln in nw.lines:
        if ln.std_type is not None:
            idx = pp.create_line(
                net,
                bus[ln.from_bus],
                bus[ln.to_bus],
                ln.length_km,
                ln.std_type,
                name=ln.id,
                parallel=ln.parallel,
                max_loading_percent=nw.max_line_loading_percent,
            )
            if ln.max_i_ka is not None:
                net.line.at[idx, "max_i_ka"] = ln.max_i_ka
        else:
            assert ln.r_ohm_per_km is not None and ln.x_ohm_per_km is not None and ln.max_i_ka is not None
            pp.create_line_from_parameters(
                net,
                bus[ln.from_bus],
                bus[ln.to_bus],
                ln.length_km,
                r_ohm_per_km=ln.r_ohm_per_km,
                x_ohm_per_km=ln.x_ohm_per_km,
                c_nf_per_km=ln.c_nf_per_km,
                max_i_ka=ln.max_i_ka,
                parallel=ln.parallel,
                name=ln.id,
                max_loading_percent=nw.max_line_loading_percent,
            )
    add_compensation(net, park, bus)
    for sw in nw.switches:
        pp.create_switch(net, bus[sw.bus], bus[sw.other_bus], et="b", closed=sw.closed, name=sw.id)
    elements: dict[str, tuple[str, int]] = {}
    q_ratio: dict[str, float] = {}
    for d in park.devices:
        if d.type in ("pv", "wind"):
            sn = d.p_rated_kw if d.type == "pv" else d.p_total_kw
            idx = pp.create_sgen(
                net, bus[d.bus], p_mw=0.0, sn_mva=sn / 1000, name=d.id, type="PV" if d.type == "pv" else "WP"
            )
            elements[d.id], q_ratio[d.id] = ("sgen", int(idx)), 0.0
        elif d.type == "battery":
            idx = pp.create_storage(net, bus[d.bus], p_mw=0.0, max_e_mwh=d.e_rated_kwh / 1000, name=d.id)
            elements[d.id], q_ratio[d.id] = ("storage", int(idx)), 0.0
        elif d.type == "load":
            idx = pp.create_load(net, bus[d.bus], p_mw=0.0, name=d.id, type=d.category)
            elements[d.id], q_ratio[d.id] = ("load", int(idx)), LOAD_Q_RATIO
    for g in park.green.direct_connections:
        idx = pp.create_sgen(
            net,
            bus[g.bus],
            p_mw=0.0,
            sn_mva=g.capacity_kw / 1000,
            name=g.id,
            type="PV" if g.technology == "pv" else "WP",
        )
        elements[g.id], q_ratio[g.id] = ("sgen", int(idx)), 0.0
    vn = np.array([b.vn_kv for b in nw.buses])
    nominal = np.array([b.nominal_kv or b.vn_kv for b in nw.buses])
    limits = default_limits(
        net,
        import_limit_kw=gc.import_limit_kw,
        export_limit_kw=gc.export_limit_kw,
        min_power_factor=nw.min_power_factor,
        **voltage_limits(vn, nominal, nw.v_min_pu, nw.v_max_pu),
    )
    controlled = [(i, tr.oltc) for i, tr in enumerate(nw.transformers) if tr.oltc is not None]
    oltc = (
        OltcSettings(
            trafo=np.array([i for i, _ in controlled]),
            v_min_pu=np.array([o.v_min_pu for _, o in controlled]),
            v_max_pu=np.array([o.v_max_pu for _, o in controlled]),
        )
        if controlled
        else None
    )
    return ParkNetwork(net, elements, q_ratio, limits, park.name, oltc, reactive_specs(park, vn, nominal))


def reactive_specs(park: Park, vn_kv: np.ndarray, nominal_kv: np.ndarray) -> dict[str, ReactiveSpec]:
    """The park's inverter reactive controls; Q(U) curves moved from nominal to modelled per unit."""
    scale = {b.id: float(n / v) for b, v, n in zip(park.network.buses, vn_kv, nominal_kv, strict=True)}
    bus_of = {d.id: d.bus for d in park.devices} | {g.id: g.bus for g in park.green.direct_connections}
    out = {}
    for dev, rc in park.network.reactive.items():
        tan = math.tan(math.acos(rc.power_factor)) * (-1.0 if rc.absorbing else 1.0)
        v, q = zip(*rc.curve, strict=True) if rc.curve else ((), ())
        out[dev] = ReactiveSpec(
            rc.mode,
            tan,
            rc.s_rated_kva,
            rc.q_max_ratio * rc.s_rated_kva,
            np.asarray(v, float) * scale[bus_of[dev]],
            np.asarray(q, float) * rc.s_rated_kva,
        )
    return out


def add_compensation(net: pp.pandapowerNet, park: Park, bus: dict[str, int]) -> None:
    """Capacitor banks as pandapower shunts (``q_mvar`` < 0 = capacitive, per step, times ``step`` and V² in
    the power flow); a switched bank starts with no step in (the dispatcher's plan sets its steps)."""
    for c in park.network.compensation:
        pp.create_shunt(
            net,
            bus[c.bus],
            q_mvar=-c.q_kvar / c.steps / 1000,
            p_mw=0.0,
            step=0 if c.switched else c.steps,
            max_step=c.steps,
            name=c.id,
        )


def _tap_changer(tr: Transformer) -> dict[str, Any]:
    """pandapower's ratio tap-changer columns of a park transformer (none without a tap range)."""
    if tr.tap_min == tr.tap_max or tr.tap_step_percent == 0:
        return {}
    return {
        "tap_side": tr.tap_side,
        "tap_neutral": tr.tap_neutral,
        "tap_min": tr.tap_min,
        "tap_max": tr.tap_max,
        "tap_step_percent": tr.tap_step_percent,
        "tap_pos": tr.tap_pos,
        "tap_changer_type": "Ratio",
        "oltc": tr.oltc is not None,
    }


def cigre_mv_park() -> ParkNetwork:
    """pandapower's CIGRE MV benchmark with all DER (PV, wind, fuel cells, CHP, batteries) as a test park.

    Device ids are the element names (``PV 3``, ``WKA 7``, ``Battery 1``, ``Load R1``, ...).
    Loads keep their own power factor when scaled (q_ratio from the benchmark data).
    Limits: ±7 % voltage band, 100 % branch loading, no exchange limits.
    """
    net = ppn.create_cigre_network_mv(with_der="all")
    elements: dict[str, tuple[str, int]] = {}
    q_ratio: dict[str, float] = {}
    for table in ("sgen", "storage", "load"):
        df = net[table]
        for idx, name, p, q in zip(df.index, df.name, df.p_mw, df.q_mvar, strict=True):
            dev = str(name) if name not in elements else f"{name} ({table} {idx})"
            elements[dev] = (table, int(idx))
            q_ratio[dev] = float(q / p) if p else 0.0
    return ParkNetwork(net, elements, q_ratio, default_limits(net), "CIGRE MV with DER")
