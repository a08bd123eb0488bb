"""Import-cap guard between re-plans: the battery absorbs forecast errors that would set a new peak.

A plan is open-loop for its interval: if the load is higher or PV/wind lower than forecast, the
grid import rises above what was planned, and a new monthly peak costs the whole month's demand
charge. Every sample the guard reads the grid meter; when the import exceeds the cap
``max(month's peak so far, planned import of the interval)`` by more than a deadband it moves the
battery setpoint up (less charging / more discharging) by the excess, and when the import falls
back it returns towards the plan. Writes go through :class:`~device_drivers.Controller` (clamped to
the ratings, confirmed by read-back).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from device_drivers.control import Controller
from device_drivers.errors import DriverError


@dataclass(frozen=True)
class GuardAction:
    time: dt.datetime
    device: str
    meter_kw: float  # measured grid import (> 0 importing)
    cap_kw: float
    before_kw: float
    after_kw: float


class ImportGuard:
    def __init__(
        self, controller: Controller, read_meter_kw: Callable[[], Awaitable[float | None]], deadband_kw: float = 200.0
    ) -> None:
        self.controller = controller
        self.read_meter_kw = read_meter_kw
        self.deadband_kw = deadband_kw
        self.cap_kw: float | None = None
        self.plan: dict[str, float] = {}
        self.current: dict[str, float] = {}
        self.actions: list[GuardAction] = []

    def set_plan(self, cap_kw: float, battery_kw: dict[str, float]) -> None:
        """A new interval: its import cap [kW] and the batteries' confirmed planned setpoints [kW]."""
        self.cap_kw = cap_kw
        self.plan = dict(battery_kw)
        self.current = dict(battery_kw)

    async def check(self, now: dt.datetime) -> list[GuardAction]:
        """Read the meter once and correct the batteries if needed; returns the corrections made."""
        if self.cap_kw is None or not self.plan:
            return []
        try:
            meter = await self.read_meter_kw()
        except DriverError:
            return []  # the poller reports the meter's health; the plan stays in force
        if meter is None:
            return []
        over = meter - self.cap_kw
        done = []
        for dev, planned in self.plan.items():
            cur = self.current[dev]
            if over > self.deadband_kw:
                target = cur + over
            elif over < -self.deadband_kw and cur > planned:
                target = max(planned, cur + over)
            else:
                continue
            try:
                res = await self.controller.set_battery_power(dev, target)
            except DriverError:
                continue
            self.current[dev] = res.confirmed
            over -= res.confirmed - cur
            done.append(GuardAction(now, dev, meter, self.cap_kw, cur, res.confirmed))
        self.actions += done
        return done
