"""IEC 60870-5-104 client ("controlling station") for one outstation, on the `c104` library.

`c104` (Fraunhofer FIT, on MZ Automation's lib60870-C) does the protocol: APCI framing, the
k/w windows and t1-t3 timers, STARTDT on connect, reconnection, ASDU decoding. Hand-writing
that is where 104 drivers go wrong; this module only maps what arrives onto the project.

Data flow:

* once data transfer is started on a (re)connection, and every ``interrogation_s`` after, the
  client sends a station interrogation, plus a counter interrogation when the map has
  integrated totals (counters are not part of a general interrogation, IEC 60870-5-101 §7.4.5);
* spontaneous (COT 3), periodic and interrogated ASDUs all arrive in the library's thread at
  :meth:`Iec104Client._on_receive`: the value is scaled (``raw · scale``), oriented to the
  generator convention, range-checked (out of range -> quality BAD, counted as garbage) and
  buffered with its time: the ASDU's CP56Time2a tag for time-tagged types, else the arrival time;
* run by the :class:`~device_drivers.poller.Poller` (``ems poll``, a park file's ``iec104``
  connection) the client has no sink: the poller takes the buffer (:meth:`Iec104Client.take_rows`)
  with its own readings into its write-ahead journal, so 104 readings are as durable as Modbus
  ones; standalone, every ``flush_interval_s`` the buffer goes to a
  :class:`~ems.telemetry.TelemetrySink` (the store validates and de-duplicates), with the same
  :class:`~device_drivers.poll_stats.PollStats` as the Modbus poller.

Health (:class:`device_drivers.health.DeviceHealth`, same rules as Modbus): an interrogation
confirmed within the timeout is a successful "poll" (its round trip is the latency, garbage
values received since the previous one are counted); an unconfirmed one is a timeout; a closed
connection is a failure (unreachable). Quality descriptors (IEC 60870-5-101 §7.2.6.3): IV or OV
-> BAD; NT, SB or BL -> SUSPECT.
"""

# no `from __future__ import annotations`: c104 checks a callback's annotations as objects
import asyncio
import datetime as dt
import math
import threading
import time
from collections import Counter
from collections.abc import Callable

import c104

from device_drivers.device import plausible_range
from device_drivers.errors import DeviceTimeout, DeviceUnreachable
from device_drivers.health import DeviceHealth
from device_drivers.iec104.point_map import Iec104Map, Iec104Point
from device_drivers.poll_stats import PollStats
from device_drivers.register_map import orient
from ems.quantities import Quality
from ems.telemetry import ReadingBatch, TelemetrySink, to_us

MUTED_GRACE_S = 0.3
_BAD = c104.Quality.Invalid.value | c104.Quality.Overflow.value
_SUSPECT = c104.Quality.NonTopical.value | c104.Quality.Substituted.value | c104.Quality.Blocked.value


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def raw_number(value: object) -> float:
    """The wire value of a monitoring point as a number (NormalizedFloat, Int16, int, float, bool)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value)  # type: ignore[arg-type]


def quality_of(q: object) -> Quality:
    """Project quality from a 104 quality descriptor (None for types without one)."""
    if q is None or (hasattr(q, "is_good") and q.is_good()):
        return Quality.GOOD
    if isinstance(q, c104.Quality):
        if q.value & _BAD:
            return Quality.BAD
        if q.value & _SUSPECT:
            return Quality.SUSPECT
    return Quality.BAD  # binary counter quality: carry/adjusted/invalid


class Iec104Client:
    """Reads one 104 outstation into the telemetry sink; see the module docstring."""

    def __init__(
        self,
        device_id: str,
        device: object,
        point_map: Iec104Map,
        host: str,
        port: int = 2404,
        sink: TelemetrySink | None = None,
        *,
        interrogation_s: float = 60.0,
        flush_interval_s: float = 1.0,
        timeout_s: float = 2.0,
        retry_s: float = 1.0,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.device_id = device_id
        self.device = device
        self.map = point_map
        self.sign = point_map.sign_for(str(getattr(device, "type", "")))
        self.sink = sink
        self.interrogation_s = interrogation_s
        self.flush_interval_s = flush_interval_s
        self.timeout_s = timeout_s
        self.retry_s = retry_s
        self.clock = clock or _utc_now
        self.health = DeviceHealth(device_id, interrogation_s, timeout_s)
        self.stats = PollStats()
        self.received = 0  # information objects received (all causes)
        self._lock = threading.Lock()  # the library calls back from its own thread
        self._rows: list[tuple[dt.datetime, str, str, float, int]] = []
        self._garbage = 0
        self._answers: Counter[c104.Cot] = Counter()  # objects received per cause of transmission
        self._by_ioa: dict[int, Iec104Point] = {p.ioa: p for p in point_map.points}
        self._client = c104.Client(tick_rate_ms=50, command_timeout_ms=int(timeout_s * 1000))
        conn = self._client.add_connection(ip=host, port=port, init=c104.Init.NONE)  # interrogated by our loop
        if conn is None:
            raise ValueError(f"{device_id}: c104 refused the connection {host}:{port}")
        self._conn = conn
        station = conn.add_station(common_address=point_map.common_address)
        assert station is not None
        for p in point_map.points:
            point = station.add_point(io_address=p.ioa, type=getattr(c104.Type, p.type))
            assert point is not None
            point.on_receive(callable=self._on_receive)
        conn.on_state_change(callable=self._on_state)
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False

    # ------------------------------------------------------------------ library callbacks (its thread)

    def _on_receive(
        self, point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage
    ) -> c104.ResponseState:
        spec = self._by_ioa.get(point.io_address)
        if spec is None:
            return c104.ResponseState.SUCCESS
        recorded = point.recorded_at  # CP56Time2a of time-tagged types; the RTU's clock, taken as UTC
        stamp = recorded.replace(tzinfo=dt.UTC) if recorded is not None and recorded.tzinfo is None else recorded
        t = stamp if stamp is not None else self.clock()
        quality = quality_of(point.quality)
        try:
            native = raw_number(point.value) * spec.scale
        except (TypeError, ValueError):
            native, quality = math.nan, Quality.BAD
        quantity, value = orient(spec.quantity, native, self.sign)
        lo, hi = plausible_range(self.device, quantity)
        garbage = not (math.isfinite(value) and lo <= value <= hi)
        if garbage:
            quality = Quality.BAD
            value = value if math.isfinite(value) else 0.0  # kept for audit; validation rejects BAD readings
        with self._lock:
            self.received += 1
            self._answers[message.cot] += 1
            self._garbage += garbage
            self._rows.append((t, self.device_id, quantity, value, int(quality)))
        return c104.ResponseState.SUCCESS

    def _on_state(self, connection: c104.Connection, state: c104.ConnectionState) -> None:
        if state in (c104.ConnectionState.CLOSED, c104.ConnectionState.CLOSED_AWAIT_RECONNECT) and self._running:
            self.health.on_failure(DeviceUnreachable(f"connection {state.name.lower()}", self.device_id))

    # ------------------------------------------------------------------ running

    def _active(self) -> bool:
        """Data transfer started (STARTDT confirmed): an I-frame sent before it makes the outstation hang up."""
        return self._conn.state == c104.ConnectionState.OPEN

    async def start(self) -> None:
        """Connect (the library reconnects by itself) and start the interrogation and flush loops."""
        self._running = True
        self._client.start()
        self._tasks = [asyncio.create_task(self._interrogation_loop(), name=f"104 gi {self.device_id}")]
        if self.sink is not None:  # else the poller takes the rows into its journal
            self._tasks.append(asyncio.create_task(self._flush_loop(), name=f"104 flush {self.device_id}"))

    async def stop(self) -> None:
        self._running = False
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await asyncio.to_thread(self._client.stop)
        await self.flush()

    async def interrogate(self) -> bool:
        """General (and counter) interrogation now; records the outcome in ``health``.

        Success is judged by the answers themselves (objects with COT 20, resp. 37, arriving within
        the timeout), not by the library's command confirmation, which races with a fast outstation.
        """
        if not self._active():
            self.health.on_failure(DeviceUnreachable("not connected", self.device_id))
            return False
        ca = self.map.common_address
        t0 = time.monotonic()
        steps: list[tuple[Callable[..., bool], c104.Cot, str]] = [
            (self._conn.interrogation, c104.Cot.INTERROGATED_BY_STATION, "interrogation")
        ]
        if self.map.has_counters:
            steps.append(
                (self._conn.counter_interrogation, c104.Cot.REQUESTED_BY_GENERAL_COUNTER, "counter interrogation")
            )
        for send, cot, what in steps:
            before = self._answers[cot]
            sent = send(ca, wait_for_response=False)
            deadline = time.monotonic() + self.timeout_s
            while sent and self._answers[cot] == before and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            if not sent or self._answers[cot] == before:
                self.health.on_failure(DeviceTimeout(f"{what}: no answer within {self.timeout_s:g} s", self.device_id))
                return False
        latency = time.monotonic() - t0
        with self._lock:
            garbage, self._garbage = self._garbage, 0
        self.health.on_success(latency, garbage, self.clock())
        return True

    async def _until_active(self) -> None:
        """Wait for data transfer; the library reconnects by itself and its state changes record failures.

        c104 2.2.1 occasionally drops its own STARTDT task and leaves a fresh connection muted: after
        ``MUTED_GRACE_S`` in that state the client sends STARTDT itself.
        """
        muted_since: float | None = None
        while not self._active():
            if self._conn.state == c104.ConnectionState.OPEN_MUTED:
                muted_since = muted_since or time.monotonic()
                if time.monotonic() - muted_since > MUTED_GRACE_S:
                    await asyncio.to_thread(self._conn.unmute)
                    muted_since = None
            else:
                muted_since = None
            await asyncio.sleep(0.02)

    async def _interrogation_loop(self) -> None:
        """Interrogate on every connection and every ``interrogation_s``; after a failure retry within ``retry_s``."""
        while self._running:
            await self._until_active()
            ok = await self.interrogate()
            pause = self.interrogation_s if ok else min(self.health.next_delay_s(), self.retry_s)
            deadline = time.monotonic() + pause
            while self._active() and time.monotonic() < deadline:
                await asyncio.sleep(min(0.05, pause))

    async def _flush_loop(self) -> None:
        while self._running:
            await asyncio.sleep(self.flush_interval_s)
            await self.flush()

    # ------------------------------------------------------------------ output

    def take_rows(self) -> list[tuple[int, str, str, float, int]]:
        """Readings received since the last call as the poller's rows (time in µs since the epoch)."""
        with self._lock:
            rows, self._rows = self._rows, []
        self.stats.readings += len(rows)
        return [(to_us(t), d, q, v, f) for t, d, q, v, f in rows]

    def take_batch(self) -> ReadingBatch:
        """Readings received since the last call, as one batch."""
        return ReadingBatch.from_us_rows(self.take_rows())

    async def flush(self) -> None:
        batch = self.take_batch()
        if self.sink is None or len(batch) == 0:
            return
        try:
            result = await asyncio.to_thread(self.sink.ingest, batch)
        except Exception as exc:  # a store outage must not end the session; wrap the sink in a SpoolingSink
            self.stats.sink_errors += 1
            self.stats.last_sink_error = f"{type(exc).__name__}: {exc}"
            return
        self.stats.accepted += result.accepted
        self.stats.duplicates += result.duplicates
        self.stats.rejected.update(r.reason for r in result.rejected)
