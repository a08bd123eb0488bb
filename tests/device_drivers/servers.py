"""A plain pymodbus server holding fixed registers, for tests that lay out a device by hand."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from device_drivers.simulator.park import free_port


@contextlib.asynccontextmanager
async def serve_registers(
    runs: list[tuple[int, list[int]]], unit: int = 1, framer: FramerType = FramerType.SOCKET, port: int | None = None
) -> AsyncIterator[int]:
    """A plain pymodbus server holding the given (start address, registers) runs on ``port`` (default: a
    free one); yields its port."""
    port = port or free_port()
    data = [SimData(a, values=regs, datatype=DataType.REGISTERS) for a, regs in runs]
    server = ModbusTcpServer(SimDevice(id=unit, simdata=data), address=("127.0.0.1", port), framer=framer)
    await server.serve_forever(background=True)
    try:
        yield port
    finally:
        await server.shutdown()
