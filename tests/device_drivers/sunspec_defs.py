"""The official SunSpec model definitions (JSON shipped by pysunspec2), read independently of the project.

Nothing here imports the project's maps or codec: offsets are summed from the JSON point
sizes, and device images are encoded with ``struct`` from the JSON types, so tests that
compare the project against these layouts compare it against the standard.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

from sunspec2 import device as ss_device

# SunSpec point type -> the project's map type name (numeric types; "string" and "pad" as is)
PROJECT_TYPE = {
    "uint16": "u16",
    "int16": "s16",
    "uint32": "u32",
    "int32": "s32",
    "uint64": "u64",
    "float32": "f32",
    "sunssf": "sunssf",
    "acc16": "acc16",
    "acc32": "acc32",
    "acc64": "acc64",
    "enum16": "enum16",
    "enum32": "enum32",
    "bitfield16": "bitfield16",
    "bitfield32": "bitfield32",
    "string": "string",
    "count": "u16",
}

# "not implemented" register words per SunSpec type (SunSpec Information Model Reference, Table 4)
_NOT_IMPLEMENTED: dict[str, list[int]] = {
    "uint16": [0xFFFF],
    "int16": [0x8000],
    "sunssf": [0x8000],
    "pad": [0x8000],
    "count": [0],
    "acc16": [0],
    "enum16": [0xFFFF],
    "bitfield16": [0xFFFF],
    "uint32": [0xFFFF, 0xFFFF],
    "int32": [0x8000, 0x0000],
    "acc32": [0, 0],
    "enum32": [0xFFFF, 0xFFFF],
    "bitfield32": [0xFFFF, 0xFFFF],
    "float32": [0x7FC0, 0x0000],
    "uint64": [0xFFFF] * 4,
    "int64": [0x8000, 0, 0, 0],
    "acc64": [0, 0, 0, 0],
    "ipaddr": [0, 0],
    "ipv6addr": [0] * 8,
    "eui48": [0] * 4,
}
_STRUCT = {
    "uint16": ">H",
    "int16": ">h",
    "sunssf": ">h",
    "count": ">H",
    "acc16": ">H",
    "enum16": ">H",
    "bitfield16": ">H",
    "uint32": ">I",
    "int32": ">i",
    "acc32": ">I",
    "enum32": ">I",
    "bitfield32": ">I",
    "float32": ">f",
    "uint64": ">Q",
    "int64": ">q",
    "acc64": ">Q",
}


@dataclass(frozen=True)
class PointDef:
    name: str
    offset: int  # from the model's ID register
    type: str
    size: int
    sf: str | None
    units: str
    access: str
    symbols: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelDef:
    id: int
    name: str
    length: int  # L of the published definition
    points: dict[str, PointDef]  # top-level points by name; repeating-group points as GROUP[i].NAME


def model_def(model_id: int, repeats: int = 1) -> ModelDef:
    """Layout of a model from its JSON definition; variable repeating groups ``repeats`` times, their points
    named ``GROUP[i].NAME`` (0-based)."""
    raw: dict[str, Any] = ss_device.get_model_def(model_id)
    group = raw["group"]
    points: dict[str, PointDef] = {}

    def walk(g: dict[str, Any], offset: int, prefix: str) -> int:
        for p in g["points"]:
            name = prefix + p["name"]
            sf = p.get("sf")
            points[name] = PointDef(
                name,
                offset,
                p["type"],
                int(p["size"]),
                sf if isinstance(sf, str) else None,  # a group's points use the model's scale factors
                str(p.get("units", "")),
                str(p.get("access", "R")),
                {s["name"]: int(s["value"]) for s in p.get("symbols", [])},
            )
            offset += int(p["size"])
        for sub in g.get("groups", []):
            count = sub.get("count", 1)
            # a count naming a point (803's NStr) or 0 (160's modules: follows from L) is variable
            variable = not isinstance(count, int) or count == 0
            n = repeats if variable else count
            for i in range(n):
                sub_prefix = f"{prefix}{sub['name']}[{i}]." if n > 1 or variable else f"{prefix}"
                offset = walk(sub, offset, sub_prefix)
        return offset

    end = walk(group, 0, "")
    return ModelDef(model_id, group["name"], end - 2, points)


def encode_point(pdef: PointDef, value: Any) -> list[int]:
    """Registers of a raw point value (struct packing of the SunSpec type; strings NUL padded)."""
    if pdef.type == "string":
        raw = str(value).encode().ljust(2 * pdef.size, b"\0")
        return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, 2 * pdef.size, 2)]
    if pdef.type == "float32" and isinstance(value, float) and math.isnan(value):
        return list(_NOT_IMPLEMENTED["float32"])
    packed = struct.pack(_STRUCT[pdef.type], value)
    return [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]


def not_implemented(pdef: PointDef) -> list[int]:
    if pdef.type == "string":
        return [0] * pdef.size
    return list(_NOT_IMPLEMENTED[pdef.type])


def model_registers(
    model_id: int, values: dict[str, Any] | None = None, length: int | None = None, repeats: int = 1
) -> list[int]:
    """ID, L and body of a model: given raw values, every other point "not implemented".

    ``length`` serves another revision's L: the body is cut (or padded with 0x8000 pads) to it.
    ``repeats`` copies of a variable repeating group (160's modules) are laid out.
    """
    mdef = model_def(model_id, repeats)
    values = dict(values or {})
    unknown = set(values) - set(mdef.points)
    if unknown:
        raise KeyError(f"model {model_id} has no point(s) {sorted(unknown)}")
    regs = [0] * (mdef.length + 2)
    for name, pdef in mdef.points.items():
        words = encode_point(pdef, values[name]) if name in values else not_implemented(pdef)
        regs[pdef.offset : pdef.offset + pdef.size] = words
    n = mdef.length if length is None else length
    regs[0], regs[1] = model_id, n
    body = regs[2 : 2 + n] + [0x8000] * max(0, n - mdef.length)
    return [model_id, n, *body]


def chain(models: list[list[int]]) -> list[int]:
    """A SunSpec register image at its base: marker, the models back to back, end model."""
    regs = [0x5375, 0x6E53]
    for m in models:
        regs += m
    return [*regs, 0xFFFF, 0]
