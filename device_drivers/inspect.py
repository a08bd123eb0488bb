"""What an integrator checks before running: maps referenced by a park, and an unknown device's SunSpec models.

* :func:`check_park_maps` loads every register map (and IEC 104 point map) a park file references
  and reports, per device, an unknown map name, a broken map file (with the map's own key path), a map not
  meant for the device's kind, and a control enabled on a device whose map cannot write it;
* :func:`scan` discovers a SunSpec device and decodes the models any built-in map knows.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from device_drivers.codec import STRING, decode_string
from device_drivers.device import point_value
from device_drivers.errors import GarbageValue, RegisterMapError
from device_drivers.iec104.park_stations import EXTRA_HINT, station_map
from device_drivers.iec104.point_map import Iec104Map
from device_drivers.register_map import MAPS_DIR, Model, RegisterMap, load_map, repeated_points
from device_drivers.sunspec import find_base, walk_models
from device_drivers.transport import Transport
from ems.i18n import Msg
from ems.park import Battery, Iec104Tcp, ModbusRtu, ModbusTcp, Park, PvPlant, WindTurbine

MAX_READ = 125  # registers per Modbus read

# which setpoint an enabled control needs from the map, per device class
_CONTROL_NEEDS = {Battery: "p_setpoint_kw", PvPlant: "p_limit_pct", WindTurbine: "p_limit_pct"}


def check_park_maps(park: Park) -> list[str]:
    """Problems of the register maps the park's Modbus devices reference (empty if none)."""
    problems: list[str] = []
    loaded: dict[str, object] = {}  # map name -> RegisterMap, Iec104Map or the RegisterMapError it raised
    for i, dev in enumerate(park.devices):
        conn = dev.connection
        if isinstance(conn, Iec104Tcp):
            problems += _check_104(f"devices[{i}] ({dev.id}).connection.point_map", conn, dev.type, loaded)
            continue
        if not isinstance(conn, ModbusTcp | ModbusRtu):
            continue
        where = f"devices[{i}] ({dev.id}).connection.register_map"
        name = conn.register_map
        rmap = _load_once(loaded, name, partial(load_map, name))
        if isinstance(rmap, RegisterMapError):
            problems.append(Msg("{where}: {problem}", where=where, problem=rmap.args[0]))
            continue
        assert isinstance(rmap, RegisterMap)
        if dev.type not in rmap.orientation:
            problems.append(
                Msg(
                    "{where}: map {name!r} is for {kinds} devices, not {kind} ({device})",
                    where=where,
                    name=name,
                    kinds=", ".join(rmap.orientation),
                    kind=dev.type,
                    device=dev.id,
                )
            )
            continue
        need = next((q for cls, q in _CONTROL_NEEDS.items() if isinstance(dev, cls)), None)
        control = getattr(dev, "control", None)
        if need and control is not None and control.enabled and need not in rmap.controls:
            problems.append(
                Msg(
                    "{where}: control is enabled but map {name!r} cannot write {quantity}",
                    where=where,
                    name=name,
                    quantity=need,
                )
            )
    return problems


def _load_once(loaded: dict[str, object], key: str, load: Callable[[], object]) -> object:
    """A map loaded once per park check, or the RegisterMapError it raised (reported per device)."""
    if key not in loaded:
        try:
            loaded[key] = load()
        except RegisterMapError as exc:
            loaded[key] = exc
    return loaded[key]


def _check_104(where: str, conn: Iec104Tcp, device_type: str, loaded: dict[str, object]) -> list[str]:
    """An IEC 104 station's point map: it loads, and it is meant for the device's type; c104 is installed."""
    if importlib.util.find_spec("c104") is None:
        return [Msg("{where}: IEC 104 stations need the iec104 extra: {hint}", where=where, hint=EXTRA_HINT)]
    pmap = _load_once(loaded, f"iec104:{conn.point_map}", partial(station_map, conn))
    if isinstance(pmap, RegisterMapError):
        return [Msg("{where}: {problem}", where=where, problem=pmap.args[0])]
    assert isinstance(pmap, Iec104Map)
    if device_type not in pmap.orientation:
        return [
            Msg(
                "{where}: 104 map {name!r} is for {kinds} devices, not {kind}",
                where=where,
                name=pmap.name,
                kinds=", ".join(pmap.orientation),
                kind=device_type,
            )
        ]
    return []


@dataclass
class ScannedModel:
    id: int
    address: int
    length: int
    name: str = ""  # the built-in map model describing it ("" = unknown to the project: skipped)
    values: dict[str, str] = field(default_factory=dict)  # point -> value with unit ("n/i" = not implemented)


def _known_models() -> dict[int, Model]:
    known: dict[int, Model] = {}
    for path in sorted(MAPS_DIR.glob("*.yaml")):
        rmap = load_map(path)
        for model in rmap.models:
            for mid in model.ids:
                known.setdefault(mid, model)
    return known


async def scan(transport: Transport, unit: int = 1, base: int | None = None) -> tuple[int, list[ScannedModel]]:
    """SunSpec base address and every model of the chain, with the current values of the points the
    built-in maps describe (in the map's unit, native sign)."""
    b = await find_base(transport, unit) if base is None else await find_base(transport, unit, (base,))
    known = _known_models()
    out = []
    for loc in await walk_models(transport, unit, b):
        sm = ScannedModel(loc.id, loc.address, loc.length)
        out.append(sm)
        model = known.get(loc.id)
        if model is None:
            continue
        sm.name = model.name
        n = loc.length + 2
        regs: list[int] = []
        for start in range(0, n, MAX_READ):
            regs += await transport.read_registers(unit, loc.address + start, min(MAX_READ, n - start), 3)
        points = {pt.name: pt for pt in model.points}
        group = [] if model.repeating is None else repeated_points(model.repeating, model.repeating.copies(loc.length))
        for pt in [*model.points, *(pt for _, pt in group)]:
            if pt.dtype == "sunssf" or pt.offset + pt.count > n:
                continue
            words = regs[pt.offset : pt.offset + pt.count]
            if pt.dtype == STRING:
                text = decode_string(words)
                sm.values[pt.name] = "n/i" if text is None else text
                continue
            sf_pt = points.get(pt.sf) if pt.sf else None
            if pt.sf and (sf_pt is None or sf_pt.offset >= n):
                continue
            sf_word = regs[sf_pt.offset] if sf_pt is not None else None
            try:
                value = point_value(pt, words, sf_word, True)
            except GarbageValue as exc:
                sm.values[pt.name] = f"garbage ({exc})"
                continue
            sm.values[pt.name] = "n/i" if value is None else f"{value:g} {pt.unit}".strip()
    return b, out
