"""Declarative register maps: one YAML file per device model, loaded into frozen dataclasses.

A map says *where* each point lives (SunSpec model + offset, or an absolute
address and function code), *how* to decode it (data type, word and byte order,
fixed scale and/or SunSpec scale-factor point) and *which canonical quantity*
(:mod:`ems.quantities`) it feeds. The file format is documented in
``docs/register_maps.md``. Maps are data: adding a device model needs no code.

Sign handling (``orientation``): every map states the sign that turns its native
power convention into the project's generator convention, per device type. With
orientation -1, signed quantities (``p_kw``, ``q_kvar``, ``p_setpoint_kw``) are
negated and the energy counters ``e_out_kwh``/``e_in_kwh`` swap places.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import yaml

from device_drivers.codec import STRING, TYPES, Order
from device_drivers.errors import RegisterMapError
from ems.i18n import N_, Lines, Msg
from ems.quantities import CHANNEL_FAMILIES, MAX_CHANNELS, QUANTITIES

MAPS_DIR = Path(__file__).resolve().parent / "maps"
SIGNED_QUANTITIES = frozenset({"p_kw", "q_kvar", "p_setpoint_kw"})
SWAPPED_COUNTERS = {"e_out_kwh": "e_in_kwh", "e_in_kwh": "e_out_kwh"}
CONTROL_QUANTITIES = ("p_setpoint_kw", "p_limit_pct")
SUNSPEC_BASES = (40000, 50000, 0)


@dataclass(frozen=True)
class Point:
    """One value in the device. ``offset`` is inside the SunSpec model (0 = ID) or an absolute address."""

    name: str
    dtype: str
    offset: int
    function: int = 3  # 3 = holding registers, 4 = input registers
    scale: float = 1.0
    sf: str | None = None  # name of a sunssf point in the same model/map
    unit: str = ""
    quantity: str | None = None
    word_order: Order = "big"
    byte_order: Order = "big"
    writable: bool = False
    size: int = 0  # registers of a string point (numeric types know their own size)

    @property
    def count(self) -> int:
        return self.size if self.dtype == STRING else TYPES[self.dtype][1]


@dataclass(frozen=True)
class RepeatingGroup:
    """A SunSpec repeating group (model 160's per-MPPT "module"): copies of ``points`` back to back.

    ``offset`` is the first copy's, from the model's ID register; point offsets count from the start of
    a copy. The number of copies follows from the served length, ``(L + 2 - offset) // length``, capped
    by the fixed-part point ``count`` (e.g. ``N``) when the device implements it. A point's
    ``quantity`` names a channel family (:data:`ems.quantities.CHANNEL_FAMILIES`): copy n feeds
    ``<family>.<n>``. Scale factors are points of the model's fixed part.
    """

    name: str
    offset: int
    length: int
    count: str | None
    points: tuple[Point, ...]

    def copies(self, served_length: int) -> int:
        """Complete copies inside a model whose L is ``served_length``."""
        return max(0, (served_length + 2 - self.offset) // self.length)


@dataclass(frozen=True)
class Model:
    """A SunSpec model the map uses; ``ids`` lists interchangeable model ids (same layout), preferred first.

    ``length`` is the L of the revision the offsets were taken from; a device may serve another
    revision (another L): only the points inside the served length are read. Models sharing a
    ``role`` are alternatives (e.g. DER measurements 701 or inverter 103): the first one in map order
    that the device serves is used, the others are ignored; a role is required if any of its models is.
    """

    name: str
    ids: tuple[int, ...]
    length: int  # the model's L (registers after ID and L)
    required: bool
    points: tuple[Point, ...]
    role: str = ""
    repeating: RepeatingGroup | None = None

    @property
    def group(self) -> str:
        return self.role or self.name


@dataclass(frozen=True)
class ControlSpec:
    """How to write one setpoint: the value point, then fixed (point, value) writes that enable it."""

    quantity: str
    setpoint: str
    model: str | None = None  # SunSpec model name holding the points
    enable: tuple[tuple[str, int], ...] = ()
    symbols: tuple[tuple[str, str], ...] = ()  # (point, SunSpec enum symbol the enable value stands for)


@dataclass(frozen=True)
class RegisterMap:
    name: str
    kind: Literal["sunspec", "plain"]
    description: str
    orientation: dict[str, int]
    models: tuple[Model, ...] = ()
    points: tuple[Point, ...] = ()  # plain maps
    controls: dict[str, tuple[ControlSpec, ...]] = field(default_factory=dict)
    max_gap_registers: int = 16  # a block read may span unused registers up to this gap
    source: str = ""

    def model(self, name: str) -> Model:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(f"map {self.name!r} has no model {name!r}")

    def sign_for(self, device_type: str) -> int:
        try:
            return self.orientation[device_type]
        except KeyError:
            raise RegisterMapError(
                f"map {self.name!r} is not meant for device type {device_type!r} "
                f"(orientation lists: {', '.join(self.orientation)})"
            ) from None


def orient(quantity: str, value: float, sign: int) -> tuple[str, float]:
    """Map a (quantity, value) in the map's native convention to the generator convention."""
    if sign == 1:
        return quantity, value
    if quantity in SIGNED_QUANTITIES:
        return quantity, -value
    return SWAPPED_COUNTERS.get(quantity, quantity), value


# --------------------------------------------------------------------------- loading


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[Msg] = []

    def add(self, where: str, msg: Msg) -> None:
        self.items.append(Msg("{source}: {where}: {problem}", source=self.source, where=where, problem=msg))

    def raise_if_any(self) -> None:
        if self.items:
            raise RegisterMapError(Lines(self.items))


_POINT_KEYS = {
    "name",
    "offset",
    "address",
    "type",
    "function",
    "scale",
    "sf",
    "unit",
    "quantity",
    "word_order",
    "byte_order",
    "writable",
    "description",
    "size",
}


UNIT_SPELLINGS = {"degC": "°C", "W/m2": "W/m²"}  # ASCII spellings map files use for a quantity's unit


def _check_unit(raw: dict[str, Any], expected: str, where: str, p: _Problems) -> None:
    """A point feeding a quantity names the unit its value has after ``scale`` and ``sf``, and that unit is the
    quantity's: a power point marked MW or W with scale 1 would store (and, for a setpoint, write) values a
    thousand times off."""
    unit = raw.get("unit")
    if UNIT_SPELLINGS.get(str(unit), unit) != expected:
        p.add(
            f"{where}.unit",
            Msg(
                "unit {unit!r}: this point feeds a quantity in {expected}; give the unit after scale and sf "
                "(scale converts, e.g. W to kW with scale 0.001)",
                unit=unit,
                expected=expected,
            ),
        )


def _point(raw: Any, where: str, p: _Problems, defaults: dict[str, Any], sunspec: bool) -> Point | None:
    if not isinstance(raw, dict):
        p.add(where, Msg("a point must be a mapping"))
        return None
    unknown = set(raw) - _POINT_KEYS
    if unknown:
        p.add(where, Msg("unknown key(s) {keys} (typo?)", keys=sorted(unknown)))
    pos_key = "offset" if sunspec else "address"
    for key in ("name", "type", pos_key):
        if key not in raw:
            p.add(where, Msg("missing {key!r}", key=key))
    if any(k not in raw for k in ("name", "type", pos_key)):
        return None
    if raw["type"] not in TYPES and raw["type"] != STRING:
        p.add(
            f"{where}.type",
            Msg("unknown data type {type!r} (known: {known})", type=raw["type"], known=", ".join([*TYPES, STRING])),
        )
        return None
    size = raw.get("size", 0)
    if raw["type"] == STRING and (not isinstance(size, int) or size < 1):
        p.add(f"{where}.size", Msg("a string point needs its size in registers (integer >= 1)"))
        return None
    q = raw.get("quantity")
    if q is not None and q not in QUANTITIES:
        p.add(
            f"{where}.quantity",
            Msg("unknown quantity {quantity!r} (known: {known})", quantity=q, known=", ".join(QUANTITIES)),
        )
    elif q is not None:
        _check_unit(raw, QUANTITIES[q].unit, where, p)
    fn = int(raw.get("function", 3))
    if fn not in (3, 4):
        p.add(f"{where}.function", Msg("function must be 3 (holding) or 4 (input registers)"))
    orders = {}
    for key in ("word_order", "byte_order"):
        val = raw.get(key, defaults.get(key, "big"))
        if val not in ("big", "little"):
            p.add(f"{where}.{key}", Msg("must be 'big' or 'little'"))
        orders[key] = val
    pos = raw[pos_key]
    if not isinstance(pos, int) or not 0 <= pos <= 65535:
        p.add(f"{where}.{pos_key}", Msg("must be an integer 0..65535"))
        return None
    return Point(
        name=str(raw["name"]),
        dtype=raw["type"],
        offset=pos,
        function=fn,
        scale=float(raw.get("scale", 1.0)),
        sf=raw.get("sf"),
        unit=str(raw.get("unit", "")),
        quantity=q,
        word_order=orders["word_order"],
        byte_order=orders["byte_order"],
        writable=bool(raw.get("writable", False)),
        size=int(size) if raw["type"] == STRING else 0,
    )


def _check_overlap(points: tuple[Point, ...], where: str, p: _Problems) -> None:
    """Two points sharing a register (same function) is a typo in an offset or a type."""
    used: dict[tuple[int, int], str] = {}
    for pt in points:
        for a in range(pt.offset, pt.offset + pt.count):
            other = used.setdefault((pt.function, a), pt.name)
            if other != pt.name:
                p.add(
                    f"{where}.{pt.name}",
                    Msg(
                        "register {register} (function {function}) overlaps point {other!r}",
                        register=a,
                        function=pt.function,
                        other=other,
                    ),
                )
                break


def _check_sf(points: tuple[Point, ...], where: str, p: _Problems) -> None:
    names = {pt.name: pt for pt in points}
    if len(names) != len(points):
        p.add(where, Msg("point names must be unique"))
    for pt in points:
        if pt.sf is not None and (pt.sf not in names or names[pt.sf].dtype != "sunssf"):
            p.add(f"{where}.{pt.name}.sf", Msg("{sf!r} is not a sunssf point of the same model", sf=pt.sf))


def _repeating(
    raw: Any, where: str, p: _Problems, defaults: dict[str, Any], fixed: tuple[Point, ...], length: int
) -> RepeatingGroup | None:
    """The ``repeating:`` block of a SunSpec model (see :class:`RepeatingGroup`), validated."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not all(k in raw for k in ("name", "offset", "length", "points")):
        p.add(where, Msg("a repeating group is a mapping {name, offset, length, count, points}"))
        return None
    offset, size = raw["offset"], raw["length"]
    if not isinstance(offset, int) or not isinstance(size, int) or size < 1 or offset < length + 2:
        p.add(
            where, Msg("offset must be an integer after the fixed part (>= {first}) and length >= 1", first=length + 2)
        )
        return None
    pts: list[Point] = []
    for j, rp in enumerate(raw.get("points") or []):
        w = f"{where}.points[{j}]"
        family = rp.get("quantity") if isinstance(rp, dict) else None
        if family is not None and family not in CHANNEL_FAMILIES:
            p.add(
                f"{w}.quantity",
                Msg("a repeating point feeds a channel family ({families})", families=", ".join(CHANNEL_FAMILIES)),
            )
            family = None
        if family is not None:
            _check_unit(rp, CHANNEL_FAMILIES[family].unit, w, p)
        body = {k: v for k, v in rp.items() if k != "quantity"} if isinstance(rp, dict) else rp
        pt = _point(body, w, p, defaults, True)
        if pt is None:
            continue
        if pt.offset + pt.count > size:
            p.add(f"{w}.offset", Msg("outside one copy of the group (0..{last})", last=size - 1))
        pts.append(replace(pt, quantity=family))
    names = {pt.name: pt for pt in fixed}
    for pt in pts:
        if pt.sf is not None and (pt.sf not in names or names[pt.sf].dtype != "sunssf"):
            p.add(f"{where}.{pt.name}.sf", Msg("{sf!r} is not a sunssf point of the model's fixed part", sf=pt.sf))
    _check_overlap(tuple(pts), where, p)
    count = raw.get("count")
    if count is not None and count not in names:
        p.add(f"{where}.count", Msg("{count!r} is not a point of the model's fixed part", count=count))
    return RepeatingGroup(str(raw["name"]), offset, size, count, tuple(pts))


def repeated_points(rg: RepeatingGroup, copies: int) -> list[tuple[int, Point]]:
    """(copy number, point) of every point of ``copies`` copies, placed in the model (offset from its ID)
    and named ``<group>[n].<point>``, feeding channel quantity ``<family>.<n>``; copies beyond
    :data:`ems.quantities.MAX_CHANNELS` are not fed to any quantity."""
    out = []
    for n in range(1, copies + 1):
        for pt in rg.points:
            q = f"{pt.quantity}.{n}" if pt.quantity is not None and n <= MAX_CHANNELS else None
            offset = rg.offset + (n - 1) * rg.length + pt.offset
            out.append((n, replace(pt, name=f"{rg.name}[{n}].{pt.name}", quantity=q, offset=offset)))
    return out


def parse_map(data: Any, source: str = "<map>") -> RegisterMap:
    """Validate a register map given as plain data; every problem is reported with its key path."""
    p = _Problems(source)
    if not isinstance(data, dict):
        raise RegisterMapError(Msg("{source}: a register map must be a mapping", source=source))
    kind = data.get("kind")
    if kind not in ("sunspec", "plain"):
        p.add("kind", Msg("must be 'sunspec' or 'plain'"))
        p.raise_if_any()
    orientation = data.get("orientation")
    if not isinstance(orientation, dict) or not all(v in (1, -1) for v in orientation.values()):
        p.add("orientation", Msg("must map device types (pv, wind, battery, load, meter) to 1 or -1"))
        orientation = {}
    defaults = {k: data[k] for k in ("word_order", "byte_order") if k in data}
    models: list[Model] = []
    points: list[Point] = []
    if kind == "sunspec":
        for i, m in enumerate(data.get("models") or []):
            where = f"models[{i}]"
            if not isinstance(m, dict):
                p.add(where, Msg("a model must be a mapping"))
                continue
            ids = m.get("id")
            ids_t = tuple(ids) if isinstance(ids, list) else (ids,)
            if not all(isinstance(x, int) for x in ids_t) or "length" not in m or "name" not in m:
                p.add(where, Msg("needs name, id (int or list of ints) and length"))
                continue
            pts = tuple(
                pt
                for j, raw in enumerate(m.get("points") or [])
                if (pt := _point(raw, f"{where}.points[{j}]", p, defaults, True)) is not None
            )
            for pt in pts:
                if pt.offset < 2 or pt.offset + pt.count > m["length"] + 2:
                    p.add(
                        f"{where}.{pt.name}",
                        Msg("offset {offset} outside the model (2..{last})", offset=pt.offset, last=m["length"] + 1),
                    )
            _check_sf(pts, where, p)
            _check_overlap(pts, where, p)
            role = str(m.get("role", ""))
            rg = _repeating(m.get("repeating"), f"{where}.repeating", p, defaults, pts, int(m["length"]))
            models.append(Model(str(m["name"]), ids_t, int(m["length"]), bool(m.get("required", False)), pts, role, rg))
        if not models:
            p.add("models", Msg("a sunspec map needs at least one model"))
    else:
        points = [
            pt
            for j, raw in enumerate(data.get("points") or [])
            if (pt := _point(raw, f"points[{j}]", p, defaults, False)) is not None
        ]
        _check_sf(tuple(points), "points", p)
        _check_overlap(tuple(points), "points", p)
    controls: dict[str, tuple[ControlSpec, ...]] = {}
    raw_controls = data.get("controls") or {}
    if not isinstance(raw_controls, dict):
        p.add("controls", Msg("must map a controllable quantity to a list of options"))
        raw_controls = {}
    for quantity, options in raw_controls.items():
        if quantity not in CONTROL_QUANTITIES:
            p.add(
                f"controls.{quantity}",
                Msg("controllable quantities are {quantities}", quantities=", ".join(CONTROL_QUANTITIES)),
            )
            continue
        specs = []
        for j, opt in enumerate(options or []):
            where = f"controls.{quantity}[{j}]"
            if not isinstance(opt, dict) or not all(isinstance(e, dict) for e in opt.get("enable") or []):
                p.add(where, Msg("an option is a mapping {model, setpoint, enable: [{point, value}]}"))
                continue
            model_name = opt.get("model")
            pool = {pt.name: pt for pt in points}
            if kind == "sunspec":
                match = [m for m in models if m.name == model_name]
                if not match:
                    p.add(where, Msg("unknown model {model!r}", model=model_name))
                    continue
                pool = {pt.name: pt for pt in match[0].points}
            names = [opt.get("setpoint"), *[e.get("point") for e in opt.get("enable") or []]]
            for n in names:
                if n not in pool:
                    p.add(where, Msg("unknown point {point!r}", point=n))
                elif not pool[n].writable:
                    p.add(where, Msg("point {point!r} is not marked writable", point=n))
            enable = tuple((e["point"], int(e["value"])) for e in opt.get("enable") or [] if "point" in e)
            symbols = tuple((e["point"], str(e["symbol"])) for e in opt.get("enable") or [] if "symbol" in e)
            specs.append(ControlSpec(quantity, str(opt.get("setpoint")), model_name, enable, symbols))
        controls[quantity] = tuple(specs)
    p.raise_if_any()
    return RegisterMap(
        name=str(data.get("name", Path(source).stem)),
        kind="sunspec" if kind == "sunspec" else "plain",
        description=str(data.get("description", "")),
        orientation={str(k): int(v) for k, v in orientation.items()},
        models=tuple(models),
        points=tuple(points),
        controls=controls,
        max_gap_registers=int(data.get("max_gap_registers", 16)),
        source=str(data.get("source", "")),
    )


def read_map_file(name_or_path: str | Path, maps_dir: Path, what: str) -> tuple[Any, Path]:
    """The YAML of a built-in map by name (looked up in ``maps_dir``) or of any map file by path;
    :class:`RegisterMapError` naming the file (and the built-in maps) when it cannot be read."""
    path = Path(name_or_path)
    if path.suffix not in (".yaml", ".yml"):
        path = maps_dir / f"{name_or_path}.yaml"
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), path
    except OSError as exc:
        known = ", ".join(sorted(x.stem for x in maps_dir.glob("*.yaml")))
        raise RegisterMapError(
            Msg(
                "{path}: cannot read {what} ({error}); built-in maps: {known}",
                path=path,
                what=Msg(what),
                error=exc.strerror,
                known=known,
            )
        ) from None
    except yaml.YAMLError as exc:
        raise RegisterMapError(Msg("{path}: not valid YAML: {error}", path=path, error=exc)) from None


def load_map(name_or_path: str | Path) -> RegisterMap:
    """Load a built-in map by name (``sunspec_inverter``) or any map file by path."""
    data, path = read_map_file(name_or_path, MAPS_DIR, N_("register map"))
    return parse_map(data, str(path))
