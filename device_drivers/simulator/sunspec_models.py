"""Model bodies laid out from the SunSpec Alliance's JSON model definitions (shipped by pysunspec2).

The simulator starts every served model from :func:`unimplemented_body`: each point of the
official definition holds its type's "not implemented" value (SunSpec Information Model
Reference, point types), as a real device fills the points it does not support; the
simulator then writes the points its map uses. Third-party clients so read the simulator
like a real device instead of reading zeros as measurements.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sunspec2 import device as sunspec_device

_WORDS: dict[str, tuple[int, ...]] = {
    "uint16": (0xFFFF,),
    "enum16": (0xFFFF,),
    "bitfield16": (0xFFFF,),
    "int16": (0x8000,),
    "sunssf": (0x8000,),
    "pad": (0x8000,),
    "uint32": (0xFFFF, 0xFFFF),
    "enum32": (0xFFFF, 0xFFFF),
    "bitfield32": (0xFFFF, 0xFFFF),
    "int32": (0x8000, 0),
    "float32": (0x7FC0, 0),  # NaN
    "uint64": (0xFFFF,) * 4,
    "int64": (0x8000, 0, 0, 0),
    "float64": (0x7FF8, 0, 0, 0),  # NaN
}  # acc16/32/64, count, strings and addresses: 0


def _points(group: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(points in register order, points of one copy of the variable repeating group).

    A group with a fixed count (absent = 1) is laid out that many times; a group whose count is a
    point (803's ``NStr``) or 0 (160's ``module``: the count follows from L) is the variable one.
    """
    out = list(group["points"])
    variable: list[dict[str, Any]] = []
    for sub in group.get("groups", []):
        count = sub.get("count", 1)
        sub_fixed, _ = _points(sub)
        if count is None or (isinstance(count, int) and count > 0):
            out += sub_fixed * (1 if count is None else count)
        else:
            variable = sub_fixed
    return out, variable


def _words(points: list[dict[str, Any]]) -> list[int]:
    words: list[int] = []
    for p in points:
        words += _WORDS.get(p["type"], (0,) * int(p["size"]))
    return words


@cache
def unimplemented_body(model_id: int, length: int) -> tuple[int, ...]:
    """Registers 2..L+1 of a model with every point "not implemented"; zeros if the model or length is unknown.

    A model with a variable repeating group (160's modules) gets as many copies as ``length`` holds.
    """
    try:
        mdef = sunspec_device.get_model_def(model_id)
    except Exception:  # pysunspec2 raises bare exceptions for unknown (vendor) models
        return (0,) * length
    fixed, variable = _points(mdef["group"])
    words = _words(fixed[2:])  # after ID and L
    if variable and length > len(words) and (length - len(words)) % len(_words(variable)) == 0:
        words += _words(variable) * ((length - len(words)) // len(_words(variable)))
    if len(words) != length:
        return (0,) * length  # another revision than the JSON's: its layout is not known here
    return tuple(words)
