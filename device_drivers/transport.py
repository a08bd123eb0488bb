"""The narrow transport: read and write 16-bit registers on one Modbus connection.

One :class:`ModbusTransport` owns one pymodbus client (one TCP connection or one
serial line) and serialises every request on it with a lock, because a pymodbus
client cannot carry concurrent requests. pymodbus errors are translated into the
drivers' exception tree (:mod:`device_drivers.errors`). After a timeout the
connection is closed, so that a late answer cannot be taken for the next request's.

Transient refusals are re-sent up to ``retries`` times (the connection's setting), after
``RETRY_DELAY_S · attempt``: exception 6 "server device busy" and 0x0B "gateway target
device failed to respond" (Modbus Application Protocol v1.1b3, § 7) say "try again", not
"this request is wrong". Any other exception code is final.
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


TRANSIENT_CODES = frozenset({0x06, 0x0B})  # server device busy; gateway target device failed to respond
RETRY_DELAY_S = 0.05


class ModbusTransport:
    """A pymodbus async client behind :class:`Transport`; connects lazily, requests one at a time."""

    def __init__(self, key: str, client: AsyncModbusTcpClient | AsyncModbusSerialClient, retries: int = 2) -> None:
        self.key = key
        self._client = client
        self._lock = asyncio.Lock()
        self.retries = retries
        self.requests = 0  # requests sent, for statistics
        self.registers = 0  # registers read or written successfully
        self.retried = 0  # transient refusals re-sent

    @classmethod
    def tcp(cls, host: str, port: int, timeout_s: float = 1.0, retries: int = 2) -> ModbusTransport:
        """Modbus TCP (MBAP framing)."""
        client = AsyncModbusTcpClient(
            host, port=port, framer=FramerType.SOCKET, timeout=timeout_s, retries=0, reconnect_delay=0
        )
        return cls(f"tcp://{host}:{port}", client, retries)

    @classmethod
    def serial(
        cls,
        port: str,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
        bytesize: int = 8,
        timeout_s: float = 1.0,
        retries: int = 2,
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
        return cls(f"rtu://{port}", client, retries)

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
        attempt = 0
        while True:
            try:
                return await self._call_once(what, request)
            except ModbusException as exc:
                if exc.code not in TRANSIENT_CODES or attempt >= self.retries:
                    raise
            attempt += 1
            self.retried += 1
            await asyncio.sleep(RETRY_DELAY_S * attempt)

    async def _call_once(self, what: str, request: Callable[[], Awaitable[Any]]) -> Any:
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


def transport_for(conn: ModbusTcp | ModbusRtu, timeout_s: float, retries: int | None = None) -> ModbusTransport:
    """Build the transport of a park connection."""
    n = conn.retries if retries is None else retries
    if isinstance(conn, ModbusTcp):
        return ModbusTransport.tcp(conn.host, conn.port, timeout_s, n)
    return ModbusTransport.serial(
        conn.serial_port, conn.baudrate, conn.parity, conn.stopbits, conn.bytesize, timeout_s, n
    )
