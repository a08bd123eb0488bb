"""Declarative DL/T 645 data maps: one YAML file per meter family, data identifier -> quantity.

The DL/T 645 counterpart of :mod:`device_drivers.register_map`: a map lists the data
identifiers (DI3 DI2 DI1 DI0 as written in appendix A of DL/T 645-2007) to read, each with
its data format (``XXXXXX.XX``), whether the format carries a sign bit, an extra scale to the
project's unit, and the canonical quantity (:mod:`ems.quantities`) it feeds. ``orientation``
has the same meaning as in register maps (the sign that turns the meter's forward = import
direction into the generator convention, per device type). Built-in maps live in
``maps/dlt645/``; errors name file, point and problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device_drivers.dlt645.frame import Format, di_bytes, parse_format
from device_drivers.errors import RegisterMapError
from device_drivers.register_map import MAPS_DIR, read_map_file
from ems.i18n import N_
from ems.quantities import QUANTITIES

DLT645_MAPS_DIR = MAPS_DIR / "dlt645"
_POINT_KEYS = {"di", "name", "format", "signed", "scale", "unit", "quantity", "description"}


@dataclass(frozen=True)
class DataPoint:
    name: str
    di: str  # "02 01 01 00": DI3 DI2 DI1 DI0
    fmt: Format
    scale: float = 1.0  # engineering value = BCD value · scale
    unit: str = ""
    quantity: str | None = None


@dataclass(frozen=True)
class DataMap:
    name: str
    description: str
    source: str
    orientation: dict[str, int]
    points: tuple[DataPoint, ...]

    def sign_for(self, device_type: str) -> int:
        try:
            return self.orientation[device_type]
        except KeyError:
            raise RegisterMapError(
                f"map {self.name!r} is not meant for device type {device_type!r} "
                f"(orientation lists: {', '.join(self.orientation)})"
            ) from None


def parse_data_map(data: Any, source: str = "<map>") -> DataMap:
    """Validate a parsed YAML document; every problem is listed in one :class:`RegisterMapError`."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise RegisterMapError(f"{source}: a DL/T 645 map must be a mapping")
    orientation = data.get("orientation")
    if not isinstance(orientation, dict) or not all(v in (1, -1) for v in orientation.values()):
        problems.append("orientation: must map device types (meter, load, ...) to 1 or -1")
        orientation = {}
    points: list[DataPoint] = []
    seen: set[str] = set()
    raw_points = data.get("points")
    if not isinstance(raw_points, list) or not raw_points:
        problems.append("points: must be a non-empty list")
        raw_points = []
    for i, raw in enumerate(raw_points):
        where = f"points[{i}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        where = f"points[{i}] ({raw.get('name', '?')})"
        unknown = set(raw) - _POINT_KEYS
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        try:
            di = str(raw["di"])
            di_bytes(di)
            fmt = parse_format(str(raw["format"]), bool(raw.get("signed", False)))
            scale = float(raw.get("scale", 1.0))
        except KeyError as exc:
            problems.append(f"{where}: missing {exc.args[0]!r}")
            continue
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        quantity = raw.get("quantity")
        if quantity is not None and quantity not in QUANTITIES:
            problems.append(f"{where}: unknown quantity {quantity!r}")
        if di in seen:
            problems.append(f"{where}: DI {di} listed twice")
        seen.add(di)
        points.append(DataPoint(str(raw.get("name", di)), di, fmt, scale, str(raw.get("unit", "")), quantity))
    if problems:
        raise RegisterMapError("\n".join(f"{source}: {p}" for p in problems))
    return DataMap(
        str(data.get("name", Path(source).stem)),
        str(data.get("description", "")),
        str(data.get("source", "")),
        {str(k): int(v) for k, v in orientation.items()},
        tuple(points),
    )


def load_data_map(name_or_path: str | Path) -> DataMap:
    """Load a built-in DL/T 645 map by name (``dlt645_3phase``) or any map file by path."""
    data, path = read_map_file(name_or_path, DLT645_MAPS_DIR, N_("DL/T 645 map"))
    return parse_data_map(data, str(path))
