"""Write the first interval of a schedule to the devices whose control the park file enables."""

from __future__ import annotations

from dataclasses import dataclass

from device_drivers.control import Controller, SetpointResult
from device_drivers.errors import DriverError
from dispatch.schedule import Schedule
from ems.park import Park, PvPlant, WindTurbine

CURTAIL_EPS_KW = 1.0  # below this the plan does not curtail: the limit stays at 100 %


@dataclass
class Actuation:
    """Setpoints confirmed by the devices, and the writes that failed (device, error)."""

    results: list[SetpointResult]
    failed: list[tuple[str, str]]


async def apply_first_interval(controller: Controller, park: Park, s: Schedule, controllable: set[str]) -> Actuation:
    """Battery power = planned discharge − charge; PV/wind limit = planned injection / rating (100 % when
    nothing is curtailed). Only devices in ``controllable`` (reachable and enabled) are written; a failed
    write is reported and the others still go out."""
    writes: list[tuple[str, str, float]] = []
    for b in park.devices_of("battery"):
        if b.id in controllable and b.id in s.battery_p_kw:
            writes.append((b.id, "battery", float(s.battery_p_kw[b.id][0])))
    for g, avail in s.gen_avail_kw.items():
        if g not in controllable:
            continue
        dev = park.device(g)
        if isinstance(dev, WindTurbine):
            rating = dev.p_total_kw
        elif isinstance(dev, PvPlant):
            rating = dev.p_rated_kw
        else:
            continue
        curt = float(s.curtail_kw[g][0])
        pct = 100.0 if curt < CURTAIL_EPS_KW else 100.0 * max(0.0, float(avail[0]) - curt) / rating
        writes.append((g, "limit", pct))
    out = Actuation([], [])
    for dev_id, kind, value in writes:
        try:
            if kind == "battery":
                out.results.append(await controller.set_battery_power(dev_id, value))
            else:
                out.results.append(await controller.set_pv_limit(dev_id, value))
        except DriverError as exc:
            out.failed.append((dev_id, str(exc)))
    return out


def controllable_devices(park: Park, polled: set[str]) -> set[str]:
    """Devices with ``control.enabled`` that are reached over Modbus (``polled``)."""
    return {d.id for d in park.devices if d.id in polled and getattr(getattr(d, "control", None), "enabled", False)}
