"""DL/T 645-2007 meters on a simulated RS-485 bus, served over TCP (as a transparent gateway) or a pty.

Built from the standard's frame format (:mod:`device_drivers.dlt645.frame`): a meter answers a
read (C = 0x11) of a DI it holds with C = 0x91, DI and the BCD value; a DI it does not hold with
C = 0xD1 and error byte 0x02 "no requested data"; a frame addressed to another meter, or with a
wrong checksum or length, gets no answer at all (§ 4.1: a receiver drops a frame it cannot check).
Values are set per map point (``meter.values[point name]``), in the map's native convention and
unit, and encoded in the point's format.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable

from device_drivers.dlt645.data_map import DataMap
from device_drivers.dlt645.frame import (
    ABNORMAL,
    READ_DATA,
    RESPONSE,
    FrameError,
    decode,
    di_bytes,
    encode,
    encode_bcd,
    frame_span,
)

NO_REQUESTED_DATA = 0x02


class SimulatedMeter:
    def __init__(self, address: str, data_map: DataMap, values: dict[str, float] | None = None) -> None:
        self.address = address
        self.map = data_map
        self.values: dict[str, float] = dict.fromkeys((pt.name for pt in data_map.points), 0.0)
        self.values.update(values or {})
        self.requests = 0

    def answer(self, control: int, data: bytes) -> tuple[int, bytes]:
        """(control, data) of the answer to one request addressed to this meter."""
        self.requests += 1
        if control != READ_DATA:
            return RESPONSE | ABNORMAL | control, bytes([0x01])  # "other error": function not simulated
        for pt in self.map.points:
            di = di_bytes(pt.di)
            if di == data[:4] and pt.name in self.values:
                return RESPONSE | READ_DATA, di + encode_bcd(self.values[pt.name] / pt.scale, pt.fmt)
        return RESPONSE | ABNORMAL | READ_DATA, bytes([NO_REQUESTED_DATA])


class MeterBus:
    """Meters sharing one line; serves it over TCP (:meth:`serve_tcp`) or a pty master (:meth:`serve_fd`)."""

    def __init__(self, meters: Iterable[SimulatedMeter]) -> None:
        self.meters = {m.address: m for m in meters}
        self.dropped = 0  # frames without an answer (bad checksum, unknown address)
        self._server: asyncio.Server | None = None
        self._fd: int | None = None

    def handle(self, buf: bytearray) -> bytes:
        """Consume complete frames from ``buf``; return the bytes to send back."""
        out = b""
        while (span := frame_span(buf)) is not None:
            raw = bytes(buf[span[0] : span[1]])
            del buf[: span[1]]
            try:
                frame = decode(raw)
            except FrameError:
                self.dropped += 1
                continue
            meter = self.meters.get(frame.address)
            if meter is None:
                self.dropped += 1
                continue
            control, data = meter.answer(frame.control, frame.data)
            out += encode(meter.address, control, data)
        return out

    async def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen as a transparent TCP gateway; returns the port."""

        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            buf = bytearray()
            try:
                while chunk := await reader.read(512):
                    buf += chunk
                    if reply := self.handle(buf):
                        writer.write(reply)
                        await writer.drain()
            except ConnectionError:
                pass
            finally:
                writer.close()

        self._server = await asyncio.start_server(client, host, port)
        return int(self._server.sockets[0].getsockname()[1])

    def serve_fd(self, fd: int) -> None:
        """Answer on a file descriptor (the master side of a pty pair) from the running event loop."""
        buf = bytearray()

        def readable() -> None:
            try:
                buf.extend(os.read(fd, 512))
            except OSError:
                return
            if reply := self.handle(buf):
                os.write(fd, reply)

        self._fd = fd
        asyncio.get_running_loop().add_reader(fd, readable)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        if self._fd is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            self._fd = None
