"""The narrow transport: read and write 16-bit registers on one Modbus connection.

One :class:`ModbusTransport` owns one pymodbus client (one TCP connection or one
serial line) and serialises every request on it with a lock, because a pymodbus
client cannot carry concurrent requests. pymodbus errors are translated into the
drivers' exception tree (:mod:`device_drivers.errors`). After a timeout the
connection is closed, so that a late answer cannot be taken for the next request's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusIOException
from pymodbus.framer import FramerType

from device_drivers.errors import ConnectionRefused, DeviceTimeout, DeviceUnreachable, ModbusException
from ems.park import ModbusRtu, ModbusTcp


class Transport(Protocol):
    """What a device driver needs from a connection."""

    key: str

    async def read_registers(self, unit: int, address: int, count: int, function: int = 3) -> list[int]: ...

    async def write_registers(self, unit: int, address: int, values: Sequence[int]) -> None: ...

    async def close(self) -> None: ...


class ModbusTransport:
    """A pymodbus async client behind :class:`Transport`; connects lazily, requests one at a time."""

    def __init__(self, key: str, client: AsyncModbusTcpClient | AsyncModbusSerialClient) -> None:
        self.key = key
        self._client = client
        self._lock = asyncio.Lock()
        self.requests = 0  # requests sent, for statistics
        self.registers = 0  # registers read or written successfully

    @classmethod
    def tcp(cls, host: str, port: int, timeout_s: float = 1.0) -> ModbusTransport:
        """Modbus TCP (MBAP framing)."""
        client = AsyncModbusTcpClient(
            host, port=port, framer=FramerType.SOCKET, timeout=timeout_s, retries=0, reconnect_delay=0
        )
        return cls(f"tcp://{host}:{port}", client)

    @classmethod
    def serial(
        cls,
        port: str,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
        bytesize: int = 8,
        timeout_s: float = 1.0,
    ) -> ModbusTransport:
        """Modbus RTU on a serial line; ``port`` may also be a pyserial URL such as ``socket://host:port``."""
        client = AsyncModbusSerialClient(
            port,
            framer=FramerType.RTU,
            baudrate=baudrate,
            parity=parity,
            stopbits=stopbits,
            bytesize=bytesize,
            timeout=timeout_s,
            retries=0,
            reconnect_delay=0,
        )
        return cls(f"rtu://{port}", client)

    async def _ensure_connected(self) -> None:
        if self._client.connected:
            return
        try:
            ok = await self._client.connect()
        except ConnectionRefusedError:
            ok = False
        except (OSError, ConnectionException) as exc:
            raise DeviceUnreachable(f"cannot connect to {self.key}: {exc}") from None
        if not ok:
            # pymodbus reports a failed connect as False; on loopback/LAN that is a refusal or no route
            raise ConnectionRefused(f"cannot connect to {self.key} (refused or no route)")

    async def _call(self, what: str, request: Callable[[], Awaitable[Any]]) -> Any:
        async with self._lock:
            await self._ensure_connected()
            self.requests += 1
            try:
                response = await request()
            except (TimeoutError, ModbusIOException) as exc:
                self._client.close()
                raise DeviceTimeout(f"{what} on {self.key}: no answer ({exc})") from None
            except (ConnectionException, OSError) as exc:
                self._client.close()
                raise DeviceUnreachable(f"{what} on {self.key}: connection lost ({exc})") from None
            if response.isError():
                code = int(getattr(response, "exception_code", 0))
                raise ModbusException(f"{what} on {self.key} refused", code)
            return response

    async def read_registers(self, unit: int, address: int, count: int, function: int = 3) -> list[int]:
        """Read ``count`` registers at ``address`` with function 3 (holding) or 4 (input)."""
        if function == 3:
            fn = self._client.read_holding_registers
        elif function == 4:
            fn = self._client.read_input_registers
        else:
            raise ValueError(f"read function must be 3 or 4, not {function}")
        response = await self._call(
            f"read fc{function} unit {unit} @{address}+{count}",
            lambda: fn(address, count=count, device_id=unit),
        )
        regs = list(response.registers)
        if len(regs) < count:
            raise DeviceTimeout(f"short answer from {self.key}: {len(regs)} of {count} registers")
        self.registers += count
        return regs[:count]

    async def write_registers(self, unit: int, address: int, values: Sequence[int]) -> None:
        """Write registers with function 16 (write multiple registers)."""
        await self._call(
            f"write unit {unit} @{address}+{len(values)}",
            lambda: self._client.write_registers(address, list(values), device_id=unit),
        )

    async def close(self) -> None:
        self._client.close()


def connection_key(conn: ModbusTcp | ModbusRtu) -> str:
    """Devices with the same key share one transport (and are polled one after another)."""
    if isinstance(conn, ModbusTcp):
        return f"tcp://{conn.host}:{conn.port}"
    return f"rtu://{conn.serial_port}"


def transport_for(conn: ModbusTcp | ModbusRtu, timeout_s: float) -> ModbusTransport:
    """Build the transport of a park connection."""
    if isinstance(conn, ModbusTcp):
        return ModbusTransport.tcp(conn.host, conn.port, timeout_s)
    return ModbusTransport.serial(conn.serial_port, conn.baudrate, conn.parity, conn.stopbits, conn.bytesize, timeout_s)
