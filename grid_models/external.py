"""A park's own network model (pandapower JSON or MATPOWER case) with a declarative device mapping.

The park file names the model (``network.model``), lists the model's buses it refers to
(``network.buses``: by bus name, ``bus_<index>`` for unnamed buses, with ``vn_kv`` and
``nominal_kv``) and maps every PV, wind, battery, load and direct green connection to an
element (table plus name or index).
Everything is validated at once and every problem is named in one error.

Reactive power follows the network's own data: each mapped element keeps the ratio
``q_mvar / p_mw`` stored in the model (loads with no stored power fall back to cos φ 0.95,
generators to unity). MATPOWER generators are PV buses, which the fast path does not
represent: they become static generators at the case's solved operating point (P and the Q
the power flow gives them), the slack generator the external grid (pandapower's converter).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandapower as pp

from grid_models.network import (
    PF_OPTIONS,
    NetworkModelError,
    ParkNetwork,
    _label,
    add_compensation,
    default_limits,
    own_q_ratio,
    voltage_limits,
)

if TYPE_CHECKING:
    from ems.park import ExternalNetwork, Park

#: park device type -> the element table it may map to
TABLE_OF = {"pv": "sgen", "wind": "sgen", "direct": "sgen", "battery": "storage", "load": "load"}


def read_network_model(model: ExternalNetwork) -> pp.pandapowerNet:
    """Read the model file; MATPOWER generators are turned into static generators (module doc)."""
    path = Path(model.path)
    if not path.is_file():
        raise NetworkModelError(f"network.model.path: {path}: no such file")
    try:
        if model.format == "pandapower_json":
            return pp.from_json(str(path))
        from pandapower.converter.matpower.from_mpc import from_mpc

        net = from_mpc(str(path), f_hz=50)
    except (OSError, ValueError, KeyError, UserWarning) as exc:  # pandapower wraps parse errors in UserWarning
        raise NetworkModelError(f"network.model.path: {path}: not a readable {model.format} network: {exc}") from None
    return _generators_as_sgen(net)


def _generators_as_sgen(net: pp.pandapowerNet) -> pp.pandapowerNet:
    gens = net.gen[net.gen.in_service]
    if len(gens) == 0:
        return net
    pp.runpp(net, **PF_OPTIONS)
    for idx, row in gens.iterrows():
        pp.create_sgen(
            net, row.bus, p_mw=row.p_mw, q_mvar=float(net.res_gen.at[idx, "q_mvar"]), name=row["name"] or f"gen {idx}"
        )
    net.gen.loc[gens.index, "in_service"] = False
    return net


def build_external_network(park: Park) -> ParkNetwork:
    """The :class:`ParkNetwork` of a park whose ``network.model`` names its own network model."""
    nw = park.network
    model = nw.model
    assert model is not None
    net = read_network_model(model)
    problems: list[str] = []
    # bus ids as ParkNetwork labels them: the name, or bus_<index> for unnamed buses (MATPOWER)
    by_name = {_label(n, i, "bus"): i for i, n in zip(net.bus.index, net.bus.name, strict=True)}
    for b in nw.buses:
        if b.id not in by_name:
            problems.append(f"network.buses: bus {b.id!r} is not in the model (its buses: {_some(by_name)})")
        elif abs(float(net.bus.at[by_name[b.id], "vn_kv"]) - b.vn_kv) > 1e-6 * b.vn_kv:
            problems.append(
                f"network.buses: bus {b.id!r} is {net.bus.at[by_name[b.id], 'vn_kv']} kV in the model, not {b.vn_kv}"
            )
    gc_bus = by_name.get(nw.grid_connection.bus)
    slack_buses = set(net.ext_grid.bus[net.ext_grid.in_service])
    if gc_bus is not None and gc_bus not in slack_buses:
        problems.append(
            f"network.grid_connection.bus {nw.grid_connection.bus!r} has no in-service external grid in the model"
        )

    wanted: dict[str, tuple[str, str]] = {d.id: (d.type, d.bus) for d in park.devices if d.type in TABLE_OF}
    wanted.update({g.id: ("direct", g.bus) for g in park.green.direct_connections})
    missing = sorted(set(wanted) - set(model.elements))
    if missing:
        problems.append(f"network.model.elements: no element for {', '.join(missing)}")
    elements: dict[str, tuple[str, int]] = {}
    q_ratio: dict[str, float] = {}
    for dev, ref in model.elements.items():
        where = f"network.model.elements.{dev}"
        if dev not in wanted:
            problems.append(f"{where}: not a PV, wind, battery, load or direct connection of the park")
            continue
        kind, bus = wanted[dev]
        if ref.table != TABLE_OF[kind]:
            problems.append(f"{where}: a {kind} maps to table {TABLE_OF[kind]!r}, not {ref.table!r}")
            continue
        df = net[ref.table]
        if ref.index is not None:
            hits = [ref.index] if ref.index in df.index else []
        else:
            hits = [int(i) for i in df.index[df.name.astype(str) == ref.name]]
        key = f"index {ref.index}" if ref.index is not None else f"name {ref.name!r}"
        if len(hits) != 1:
            problems.append(f"{where}: {len(hits)} {ref.table} elements with {key} in the model (need exactly 1)")
            continue
        idx = hits[0]
        at = _label(net.bus.at[df.at[idx, "bus"], "name"], int(df.at[idx, "bus"]), "bus")
        if at != bus:
            problems.append(f"{where}: {ref.table} {key} is at bus {at!r}, the park puts {dev} at {bus!r}")
            continue
        elements[dev] = (ref.table, idx)
        q_ratio[dev] = own_q_ratio(net, ref.table, idx)
    if problems:
        raise NetworkModelError(f"{model.path}: " + "; ".join(problems))
    add_compensation(net, park, by_name)
    # park devices run from 0 kW like a network built from the park file
    for table, idx in elements.values():
        net[table].at[idx, "p_mw"] = net[table].at[idx, "q_mvar"] = 0.0
        net[table].at[idx, "scaling"] = 1.0
    vn = net.bus.vn_kv.to_numpy(float)
    nominal = vn.copy()
    for b in nw.buses:
        nominal[net.bus.index.get_loc(by_name[b.id])] = b.nominal_kv or b.vn_kv
    limits = default_limits(
        net,
        import_limit_kw=nw.grid_connection.import_limit_kw,
        export_limit_kw=nw.grid_connection.export_limit_kw,
        min_power_factor=nw.min_power_factor,
        **voltage_limits(vn, nominal, nw.v_min_pu, nw.v_max_pu),
    )
    return ParkNetwork(net, elements, q_ratio, limits, park.name)


def _some(names: dict[str, int]) -> str:
    shown = list(names)[:8]
    return ", ".join(shown) + (f", ... ({len(names)})" if len(names) > len(shown) else "")
