"""Modbus RTU: RTU frames (with CRC) over a TCP socket, through pymodbus' serial client (``socket://`` URL).

Two meters share one RTU line (unit ids 1 and 2): one connection, polled one after another.
"""

from __future__ import annotations

import datetime as dt

from device_drivers.health import State
from device_drivers.poller import Poller
from device_drivers.simulator import ParkSimulator
from device_drivers.simulator.park import free_port
from ems.park import ModbusRtu, Park
from tests.device_drivers.helpers import wait_for


async def test_two_meters_on_one_rtu_line(demo_park: Park) -> None:
    port = free_port()
    line = f"socket://127.0.0.1:{port}"
    devices = []
    for d in demo_park.devices:
        if d.id in ("LOAD_CELLS", "LOAD_CHEM"):
            unit = 1 if d.id == "LOAD_CELLS" else 2
            conn = ModbusRtu(
                serial_port=line, unit_id=unit, register_map="sunspec_meter", poll_interval_s=0.2, timeout_s=0.5
            )
            d = d.model_copy(update={"connection": conn})
        devices.append(d)
    park = demo_park.model_copy(update={"devices": devices})
    start = dt.datetime(2026, 6, 21, 4, 0, tzinfo=dt.UTC)
    async with ParkSimulator(park, seed=1, start=start, speed=0.0, devices=["LOAD_CELLS", "LOAD_CHEM"]) as sim:
        poller = Poller.from_park(park, device_ids=["LOAD_CELLS", "LOAD_CHEM"])
        assert list(poller.transports) == [f"rtu://{line}"]  # one shared line
        await poller.start()
        try:
            await wait_for(
                lambda: all(poller.devices[d].health.polls >= 3 for d in ("LOAD_CELLS", "LOAD_CHEM")), 5, "3 polls"
            )
            batch = poller.take_batch()
        finally:
            await poller.stop()
        for dev in ("LOAD_CELLS", "LOAD_CHEM"):
            assert poller.state_of(dev) == State.OK
            sel = (batch.device == dev) & (batch.quantity == "p_kw")
            # the frozen clock (speed 0) makes the served value fixed: the simulator's own power, negated
            # by the meter map's load orientation back to the generator convention (loads < 0)
            expected = sim.device(dev).model.power_kw(start)
            assert expected < 0
            assert abs(batch.value[sel][-1] - expected) <= 0.5  # W_SF = 3: 1 kW steps
