"""Declarative IEC 60870-5-104 point maps: information object address (IOA) -> quantity, type, scale.

One YAML file per outstation model (``device_drivers/maps_iec104/*.yaml``), the 104 sibling of the
Modbus register maps (format in ``docs/protocols.md``). A point's engineering value is
``raw · scale`` in the map's native sign convention; ``orientation`` turns it into the project's
generator convention per device type, exactly as for Modbus maps (:func:`device_drivers.register_map.orient`).

Supported monitoring types (IEC 60870-5-101 §7.3.1, the ASDU type identifiers 104 reuses):

=============  =======================================  ======================
type           value on the wire                        raw used here
=============  =======================================  ======================
``M_ME_NA_1``  normalized value (-1 .. 1-2^-15)         the fraction
``M_ME_NB_1``  scaled value (16-bit signed integer)     the integer
``M_ME_NC_1``  short floating point (IEEE 754 single)   the float
``M_IT_NA_1``  integrated total (32-bit binary counter) the counter
``M_SP_NA_1``  single point (on/off)                    1.0 / 0.0
=============  =======================================  ======================

and their time-tagged variants with CP56Time2a (``M_ME_TD_1``, ``M_ME_TE_1``, ``M_ME_TF_1``,
``M_IT_TB_1``, ``M_SP_TB_1``), whose time tag stamps the reading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from device_drivers.errors import RegisterMapError
from device_drivers.register_map import read_map_file
from ems.i18n import N_
from ems.quantities import QUANTITIES

MAPS_DIR = Path(__file__).resolve().parents[1] / "maps_iec104"

MonitorType = Literal[
    "M_ME_NA_1",
    "M_ME_NB_1",
    "M_ME_NC_1",
    "M_IT_NA_1",
    "M_SP_NA_1",
    "M_ME_TD_1",
    "M_ME_TE_1",
    "M_ME_TF_1",
    "M_IT_TB_1",
    "M_SP_TB_1",
]
COUNTER_TYPES = frozenset({"M_IT_NA_1", "M_IT_TB_1"})  # reported on counter interrogation, not on GI


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Iec104Point(_Strict):
    ioa: int = Field(ge=1, le=0xFFFFFF, description="information object address (3 octets in 104)")
    type: MonitorType
    quantity: str
    scale: float = Field(default=1.0, description="engineering value = raw · scale, in the quantity's unit")
    description: str = ""

    @field_validator("quantity")
    @classmethod
    def _known_quantity(cls, q: str) -> str:
        if q not in QUANTITIES:
            raise ValueError(f"unknown quantity {q!r} (known: {', '.join(sorted(QUANTITIES))})")
        return q


class Iec104Map(_Strict):
    name: str
    description: str = ""
    source: str = ""
    common_address: int = Field(default=1, ge=1, le=65534, description="ASDU common address of the station")
    orientation: dict[str, Literal[1, -1]] = Field(description="native sign -> generator convention, per device type")
    points: tuple[Iec104Point, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Iec104Map:
        seen: set[int] = set()
        quantities: set[str] = set()
        for p in self.points:
            if p.ioa in seen:
                raise ValueError(f"IOA {p.ioa} appears twice")
            if p.quantity in quantities:
                raise ValueError(f"quantity {p.quantity} is fed by two points")
            seen.add(p.ioa)
            quantities.add(p.quantity)
        return self

    def sign_for(self, device_type: str) -> int:
        try:
            return self.orientation[device_type]
        except KeyError:
            raise RegisterMapError(
                f"104 map {self.name!r} is not meant for device type {device_type!r} "
                f"(orientation lists: {', '.join(self.orientation)})"
            ) from None

    @property
    def has_counters(self) -> bool:
        return any(p.type in COUNTER_TYPES for p in self.points)


def parse_iec104_map(data: object, source: str = "<map>") -> Iec104Map:
    try:
        return Iec104Map.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'map'}: {e['msg']}" for e in exc.errors())
        raise RegisterMapError(f"{source}: {problems}") from None


def load_iec104_map(name_or_path: str | Path) -> Iec104Map:
    """Load a built-in 104 map by name (``substation_rtu``) or any map file by path."""
    data, path = read_map_file(name_or_path, MAPS_DIR, N_("104 map"))
    return parse_iec104_map(data, str(path))
