"""Setpoint writing for the dispatcher: battery active power and PV curtailment.

Every call checks that the park file enables control for the device, clamps the
request to the device's ratings (:func:`ems.setpoints.setpoint_range`; battery:
``-p_charge_max_kw ≤ p ≤ p_discharge_max_kw``; PV limit: 0..100 % of rating), writes
through the device's register map, reads the register back and returns the confirmed
value. Writes share the device's transport with the poller, so they are serialised with
polling on that connection.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from device_drivers.device import DeviceDriver
from device_drivers.errors import ControlDisabled, ControlError
from ems.park import Battery, Park, PvPlant, WindTurbine
from ems.setpoints import SetpointRange, setpoint_range


@dataclass(frozen=True)
class SetpointResult:
    device: str
    quantity: str  # p_setpoint_kw or p_limit_pct
    requested: float
    applied: float  # after clamping to the ratings
    confirmed: float  # read back from the device

    @property
    def clamped(self) -> bool:
        return self.applied != self.requested


class Controller:
    """Writes setpoints to devices reached through ``driver_of(device_id)`` (e.g. ``Poller.driver``)."""

    def __init__(self, park: Park, driver_of: Callable[[str], DeviceDriver]) -> None:
        self.park = park
        self.driver_of = driver_of

    def _device(self, device_id: str, kinds: tuple[type, ...]) -> object:
        dev = self.park.device(device_id)
        if not isinstance(dev, kinds):
            names = "/".join(k.__name__ for k in kinds)
            raise ControlError(f"{device_id} is a {type(dev).__name__}, not a {names}")
        if not dev.control.enabled:
            raise ControlDisabled(f"control is not enabled for {device_id} (park file: control.enabled)")
        return dev

    @staticmethod
    def _finite(device_id: str, value: float) -> float:
        """A NaN passes min/max unchanged (and an infinity is clamped silently): refused, nothing written."""
        if not math.isfinite(value):
            raise ControlError(f"{device_id}: setpoint {value} is not a finite number; nothing written")
        return float(value)

    @staticmethod
    def _range(dev: object) -> SetpointRange:
        rng = setpoint_range(dev)
        assert rng is not None  # _device admitted only controllable kinds
        return rng

    async def set_battery_power(self, device_id: str, p_kw: float) -> SetpointResult:
        """Battery active power setpoint [kW], generator convention (> 0 discharges)."""
        dev = self._device(device_id, (Battery,))
        applied = self._range(dev).clamp(self._finite(device_id, p_kw))
        confirmed = await self.driver_of(device_id).write_setpoint("p_setpoint_kw", applied)
        return SetpointResult(device_id, "p_setpoint_kw", float(p_kw), applied, confirmed)

    async def set_pv_limit(self, device_id: str, pct: float) -> SetpointResult:
        """Active power limit of a PV plant (or wind farm) [% of rating], 100 = no curtailment."""
        dev = self._device(device_id, (PvPlant, WindTurbine))
        applied = self._range(dev).clamp(self._finite(device_id, pct))
        confirmed = await self.driver_of(device_id).write_setpoint("p_limit_pct", applied)
        return SetpointResult(device_id, "p_limit_pct", float(pct), applied, confirmed)
