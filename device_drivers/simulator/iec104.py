"""An IEC 60870-5-104 outstation serving one simulated device through a 104 point map (a substation RTU).

The values are the simulated device's own (:meth:`SimulatedDevice.measure`, the same physics the
Modbus image shows), turned into the map's native convention and wire types by :func:`to_wire`.
Every ``report_s`` the values are refreshed and each point whose wire value changed is sent
spontaneously (COT 3), as an RTU does; interrogations answer with the current values.
"""

from __future__ import annotations

import asyncio
import contextlib

import c104

from device_drivers.iec104.client import raw_number
from device_drivers.iec104.point_map import Iec104Map, Iec104Point
from device_drivers.register_map import orient
from device_drivers.simulator.park import SimulatedDevice

NORMALIZED_MAX = 1.0 - 2.0**-15  # largest normalized value, IEC 60870-5-101 §7.2.6.6
INT16 = (-32768, 32767)


def to_wire(p: Iec104Point, native: float) -> float | int | bool | c104.NormalizedFloat | c104.Int16:
    """Engineering value (map's native convention) -> the value of a point of type ``p.type``.

    Saturates at the type's range, as an RTU's analogue input does (overflow would be flagged OV).
    """
    raw = native / p.scale
    if p.type in ("M_ME_NA_1", "M_ME_TD_1"):
        return c104.NormalizedFloat(min(max(raw, -1.0), NORMALIZED_MAX))
    if p.type in ("M_ME_NB_1", "M_ME_TE_1"):
        return c104.Int16(min(max(round(raw), INT16[0]), INT16[1]))
    if p.type in ("M_IT_NA_1", "M_IT_TB_1"):
        return int(min(max(round(raw), -(2**31)), 2**31 - 1))
    if p.type in ("M_SP_NA_1", "M_SP_TB_1"):
        return raw != 0.0
    return float(raw)


class Iec104Outstation:
    """``async with Iec104Outstation(sim_device, point_map, port=...) as rtu: ...``"""

    def __init__(
        self,
        sim: SimulatedDevice,
        point_map: Iec104Map,
        host: str = "127.0.0.1",
        port: int = 2404,
        report_s: float = 1.0,
    ) -> None:
        self.sim = sim
        self.map = point_map
        self.sign = point_map.sign_for(sim.dev.type)
        self.report_s = report_s
        self.server = c104.Server(ip=host, port=port, tick_rate_ms=50)
        station = self.server.add_station(common_address=point_map.common_address)
        assert station is not None
        self.points: list[tuple[Iec104Point, c104.Point]] = []
        for p in point_map.points:
            point = station.add_point(io_address=p.ioa, type=getattr(c104.Type, p.type))
            assert point is not None
            self.points.append((p, point))
        self.spontaneous = 0  # points sent with COT 3
        self._task: asyncio.Task[None] | None = None
        self.update(transmit=False)

    def update(self, transmit: bool = True) -> None:
        """Refresh every point from the simulated device; send the changed ones spontaneously."""
        values = self.sim.measure()
        for p, point in self.points:
            canonical = orient(p.quantity, 0.0, self.sign)[0]  # the canonical quantity this native point shows
            if canonical not in values:
                continue
            wire = to_wire(p, orient(canonical, values[canonical], self.sign)[1])
            if point.value is not None and raw_number(point.value) == raw_number(wire):
                continue
            point.value = wire
            if transmit and point.transmit(cause=c104.Cot.SPONTANEOUS):
                self.spontaneous += 1

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(self.report_s)
            self.update()

    async def start(self) -> None:
        self.server.start()
        self._task = asyncio.create_task(self._report_loop(), name="104 outstation")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self.server.stop)

    async def __aenter__(self) -> Iec104Outstation:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
