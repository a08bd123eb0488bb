"""One DL/T 645 line: request/answer exchanges over TCP (transparent gateway) or a serial port.

A serial-to-Ethernet gateway in transparent mode forwards bytes unchanged between a TCP socket
and the RS-485 bus, so both transports carry the same frames; several meters (addresses) may
share one line, which is why one :class:`Dlt645Link` serialises its exchanges with a lock, like
:class:`device_drivers.transport.ModbusTransport`. After a timeout or a broken frame the
connection is closed and the input discarded, so a late answer cannot be taken for the next
request's. Errors are the drivers' own (:mod:`device_drivers.errors`, :mod:`.frame`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

import serial

from device_drivers.dlt645.frame import ABNORMAL, RESPONSE, Frame, FrameError, MeterRefused, decode, encode, frame_span
from device_drivers.errors import ConnectionRefused, DeviceTimeout, DeviceUnreachable


class _Stream(Protocol):
    """Bytes in and out of one connection."""

    async def open(self) -> None: ...

    async def write(self, data: bytes) -> None: ...

    async def read_some(self, deadline: float) -> bytes: ...

    async def close(self) -> None: ...

    @property
    def is_open(self) -> bool: ...


class _TcpStream:
    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def is_open(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def open(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout_s
            )
        except ConnectionRefusedError:
            raise ConnectionRefused(f"cannot connect to tcp://{self.host}:{self.port} (refused)") from None
        except (OSError, TimeoutError) as exc:
            raise DeviceUnreachable(f"cannot connect to tcp://{self.host}:{self.port}: {exc}") from None

    async def write(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    async def read_some(self, deadline: float) -> bytes:
        assert self._reader is not None
        chunk = await asyncio.wait_for(self._reader.read(512), max(0.0, deadline - time.monotonic()))
        if not chunk:
            raise DeviceUnreachable(f"tcp://{self.host}:{self.port} closed the connection")
        return chunk

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


class _SerialStream:
    """pyserial in worker threads (short read timeouts, so a cancelled poll frees the thread soon)."""

    def __init__(self, port: str, baudrate: int, parity: str, stopbits: int, bytesize: int) -> None:
        self.port = port
        self._settings = {"baudrate": baudrate, "parity": parity, "stopbits": stopbits, "bytesize": bytesize}
        self._serial: serial.SerialBase | None = None

    @property
    def is_open(self) -> bool:
        return self._serial is not None and self._serial.is_open

    async def open(self) -> None:
        try:
            self._serial = await asyncio.to_thread(
                serial.serial_for_url, self.port, timeout=0.05, write_timeout=1.0, **self._settings
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceUnreachable(f"cannot open serial port {self.port}: {exc}") from None

    async def write(self, data: bytes) -> None:
        assert self._serial is not None
        ser = self._serial
        ser.reset_input_buffer()
        try:
            await asyncio.to_thread(ser.write, data)
            await asyncio.to_thread(ser.flush)
        except (serial.SerialException, OSError) as exc:
            raise DeviceUnreachable(f"serial port {self.port}: {exc}") from None

    async def read_some(self, deadline: float) -> bytes:
        assert self._serial is not None
        ser = self._serial
        while time.monotonic() < deadline:
            try:
                chunk = await asyncio.to_thread(ser.read, max(1, ser.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise DeviceUnreachable(f"serial port {self.port}: {exc}") from None
            if chunk:
                return bytes(chunk)
        raise TimeoutError

    async def close(self) -> None:
        if self._serial is not None:
            self._serial.close()
        self._serial = None


class Dlt645Link:
    """One DL/T 645 line behind the poller's transport interface (``key``, ``close``)."""

    def __init__(self, key: str, stream: _Stream, timeout_s: float = 1.0, retries: int = 1) -> None:
        self.key = key
        self._stream = stream
        self.timeout_s = timeout_s
        self.retries = retries  # re-sends after a timeout or a broken frame (RS-485 noise)
        self._lock = asyncio.Lock()
        self.requests = 0
        self.retried = 0

    @classmethod
    def tcp(cls, host: str, port: int, timeout_s: float = 1.0, retries: int = 1) -> Dlt645Link:
        return cls(f"dlt645+tcp://{host}:{port}", _TcpStream(host, port, timeout_s), timeout_s, retries)

    @classmethod
    def serial(
        cls,
        port: str,
        baudrate: int = 2400,
        parity: str = "E",
        stopbits: int = 1,
        bytesize: int = 8,
        timeout_s: float = 1.0,
        retries: int = 1,
    ) -> Dlt645Link:
        """A serial port (DL/T 645-2007 default 2400 baud 8E1) or a pyserial URL such as ``socket://h:p``."""
        return cls(
            f"dlt645+serial://{port}", _SerialStream(port, baudrate, parity, stopbits, bytesize), timeout_s, retries
        )

    async def request(self, address: str, control: int, data: bytes) -> Frame:
        """Send one frame, return the meter's answer; :class:`MeterRefused` for an abnormal answer."""
        attempt = 0
        while True:
            try:
                return await self._exchange(address, control, data)
            except (DeviceTimeout, FrameError):
                if attempt >= self.retries:
                    raise
            attempt += 1
            self.retried += 1

    async def _exchange(self, address: str, control: int, data: bytes) -> Frame:
        what = f"function 0x{control:02X} to meter {address} on {self.key}"
        async with self._lock:
            if not self._stream.is_open:
                await self._stream.open()
            self.requests += 1
            try:
                await self._stream.write(encode(address, control, data))
                answer = await self._read_frame(self.timeout_s)
            except TimeoutError:
                await self._stream.close()
                raise DeviceTimeout(f"{what}: no answer within {self.timeout_s:g} s") from None
            except (FrameError, DeviceUnreachable, OSError) as exc:
                await self._stream.close()
                if isinstance(exc, FrameError):
                    raise FrameError(f"{what}: {exc}") from None
                raise DeviceUnreachable(f"{what}: {exc}") from None
        if answer.address != address or answer.function != control or not answer.control & RESPONSE:
            raise FrameError(f"{what}: answer is C=0x{answer.control:02X} from meter {answer.address}")
        if answer.control & ABNORMAL:
            raise MeterRefused(what, answer.data[0] if answer.data else 0)
        return answer

    async def _read_frame(self, timeout_s: float) -> Frame:
        deadline = time.monotonic() + timeout_s
        buf = bytearray()
        while True:
            span = frame_span(buf)
            if span is not None:
                return decode(buf[span[0] : span[1]])
            buf += await self._stream.read_some(deadline)

    async def close(self) -> None:
        await self._stream.close()
