"""Which setpoint each controllable device takes, and the range its park-file ratings allow.

One source for the Modbus controller (:mod:`device_drivers.control`), the gateway setpoint
queue (``/v1/setpoints``) and the production check (:mod:`ems.production`). Values are in the
generator convention: a battery discharges above 0; an EV charging hub (a load) draws power,
so its setpoint lies in ``[-p_peak_kw, 0]`` ("charge at most |p| kW").
"""

from __future__ import annotations

from dataclasses import dataclass

from ems.park import Battery, Load, PvPlant, WindTurbine


@dataclass(frozen=True)
class SetpointRange:
    quantity: str  # p_setpoint_kw or p_limit_pct
    lo: float
    hi: float

    def clamp(self, value: float) -> float:
        return min(max(float(value), self.lo), self.hi)


CONTROLLABLE = "battery, pv, wind and ev_charging load devices"


def setpoint_range(dev: object) -> SetpointRange | None:
    """The setpoint ``dev`` takes and its range; None if its kind cannot be controlled."""
    if isinstance(dev, Battery):
        return SetpointRange("p_setpoint_kw", -dev.p_charge_max_kw, dev.p_discharge_max_kw)
    if isinstance(dev, PvPlant | WindTurbine):
        return SetpointRange("p_limit_pct", 0.0, 100.0)
    if isinstance(dev, Load) and dev.category == "ev_charging":
        return SetpointRange("p_setpoint_kw", -dev.p_peak_kw, 0.0)
    return None
