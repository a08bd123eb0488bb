"""The polling loop: every Modbus device of a park at its own interval, results to a telemetry sink.

Concurrency model: one asyncio task per *connection* (TCP host:port or serial
line). Devices sharing a connection are polled one after another by that task
(pymodbus clients carry one request at a time, and a serial line is one bus);
different connections run concurrently, so a dead device delays at most the
devices on its own connection, and only once per back-off period.

Readings are stamped with the UTC time at which the answer arrived (``clock``, default the
wall clock; a simulated clock when the park simulator runs accelerated) and buffered.

Two ways to the sink (the sink, e.g. the PostgreSQL store, is synchronous and runs in a
worker thread):

* without a journal, the buffer is handed to the sink every ``flush_interval_s`` (a dry run,
  tests and benchmarks; a store outage loses what it could not take);
* with a ``journal`` (a :class:`~device_drivers.spool.Spool` opened ``durable``), the poller
  is a write-ahead log: every ``flush_interval_s`` the buffer is appended to the journal in
  one fsync'ed transaction, and only then do its readings count as read (``stats.readings``);
  a separate delivery task sends the journal to the sink oldest first and deletes what the
  sink accepted. A SIGKILL loses at most what was read since the last journal append (less
  than one poll per device with ``flush_interval_s`` under the poll interval); a slow or
  down store delays delivery only, never polling or journaling; rows journaled by a killed
  run are delivered by the next one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from device_drivers.device import DeviceDriver
from device_drivers.dlt645.driver import Dlt645Driver
from device_drivers.dlt645.link import Dlt645Link
from device_drivers.dlt645.park_meters import park_meters
from device_drivers.errors import DeviceError, ModbusException
from device_drivers.health import DeviceHealth, State
from device_drivers.iec104.park_stations import iec104_clients
from device_drivers.poll_stats import PollStats
from device_drivers.register_map import RegisterMap, load_map
from device_drivers.spool import Spool
from device_drivers.sunspec import ILLEGAL_DATA_ADDRESS
from device_drivers.transport import Transport, connection_key, transport_for
from ems.park import ModbusRtu, ModbusTcp, Park
from ems.quantities import Quality
from ems.store.errors import StoreUnavailable
from ems.telemetry import IngestResult, ReadingBatch, TelemetrySink, to_us

if TYPE_CHECKING:  # c104 is an optional extra: imported only when a park has 104 stations
    from device_drivers.iec104.client import Iec104Client


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class PolledDevice:
    driver: DeviceDriver | Dlt645Driver
    health: DeviceHealth
    interval_s: float
    next_due: float = 0.0  # time.monotonic()
    overruns: int = 0
    trace: list[tuple[float, float, float]] = field(default_factory=list)  # (due, start, end), monotonic s


class Poller:
    """Polls the Modbus devices of a park; see the module docstring."""

    def __init__(
        self,
        devices: Iterable[PolledDevice],
        transports: dict[str, Transport | Dlt645Link],
        sink: TelemetrySink | None = None,
        flush_interval_s: float = 1.0,
        trace: bool = False,
        clock: Callable[[], dt.datetime] | None = None,
        journal: Spool | None = None,
        retry_s: float = 1.0,
        deliver_chunk: int = 20_000,
        pushers: Iterable[Iec104Client] = (),
    ) -> None:
        self.clock = clock or _utc_now
        self.devices = {d.driver.device_id: d for d in devices}
        self.pushers = list(pushers)  # IEC 104 clients: they receive, the poller journals and delivers
        self.transports = transports
        self.sink = sink
        self.flush_interval_s = flush_interval_s
        self.trace = trace  # record (due, start, end) of every successful poll, for benchmarks
        self.journal = journal
        self.retry_s = retry_s  # while the store is down, try it at most this often
        self.deliver_chunk = deliver_chunk
        self._journaled = asyncio.Event()
        self.stats = PollStats()
        self._rows: list[tuple[int, str, str, float, int]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: set[asyncio.Future[Any]] = set()  # ingests and journal appends running in threads
        self._running = False
        self._by_connection: dict[str, list[PolledDevice]] = {}
        for d in self.devices.values():
            self._by_connection.setdefault(d.driver.transport.key, []).append(d)

    @classmethod
    def from_park(
        cls,
        park: Park,
        sink: TelemetrySink | None = None,
        device_ids: Iterable[str] | None = None,
        maps: dict[str, RegisterMap] | None = None,
        interval_s: float | None = None,
        **kwargs: object,
    ) -> Poller:
        """One PolledDevice per Modbus or DL/T 645 device of ``park`` (gateway devices are pushed, not polled).

        ``interval_s`` overrides every device's ``poll_interval_s`` (tests, benchmarks).
        """
        wanted = set(device_ids) if device_ids is not None else None
        maps = dict(maps or {})
        transports: dict[str, Transport] = {}
        timeouts: dict[str, float] = {}
        retries: dict[str, int] = {}
        selected = []
        for dev in park.devices:
            conn = dev.connection
            if not isinstance(conn, ModbusTcp | ModbusRtu) or (wanted is not None and dev.id not in wanted):
                continue
            key = connection_key(conn)
            timeouts[key] = max(timeouts.get(key, 0.0), conn.timeout_s)
            retries[key] = max(retries.get(key, 0), conn.retries)
            selected.append((dev, conn, key))
        for key, timeout in timeouts.items():
            conn = next(c for _, c, k in selected if k == key)
            transports[key] = transport_for(conn, timeout, retries[key])
        polled = []
        for dev, conn, key in selected:
            if conn.register_map not in maps:
                maps[conn.register_map] = load_map(conn.register_map)
            driver = DeviceDriver(
                dev.id,
                dev,
                maps[conn.register_map],
                transports[key],
                unit=conn.unit_id,
                max_block_registers=conn.max_block_registers,
                sunspec_base=conn.sunspec_base,
            )
            interval = interval_s or conn.poll_interval_s
            health = DeviceHealth(dev.id, interval, conn.timeout_s)
            polled.append(PolledDevice(driver, health, interval))
        meters, links = park_meters(park, wanted, interval_s)  # DL/T 645 meters: same health, journal, ingest
        polled += [PolledDevice(drv, health, interval) for drv, health, interval in meters]
        pushers = iec104_clients(park, wanted, kwargs.get("clock"))  # type: ignore[arg-type]
        return cls(polled, {**transports, **links}, sink, pushers=pushers, **kwargs)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ running

    async def start(self, stagger: bool = True) -> None:
        """Start one task per connection and the flusher; returns at once.

        With ``stagger`` the first polls are spread evenly over each device's interval, so
        the load on the event loop and the network is flat instead of a burst every period.
        Without it every device is due at the same instants (worst case, used to measure
        the cycle time); devices on one connection are spread in either case.
        """
        self._running = True
        now = time.monotonic()
        n = len(self.devices)
        for k, d in enumerate(self.devices.values()):
            d.next_due = now + (d.interval_s * k / n if stagger else 0.0)
        for devs in self._by_connection.values():
            for i, d in enumerate(devs[1:], start=1):
                d.next_due = max(d.next_due, now + d.interval_s * i / len(devs))
        for key, devs in self._by_connection.items():
            self._tasks.append(asyncio.create_task(self._connection_loop(devs), name=f"poll {key}"))
        self._tasks.append(asyncio.create_task(self._flush_loop(), name="flush"))
        if self.journal is not None and self.sink is not None:
            self._tasks.append(asyncio.create_task(self._deliver_loop(), name="deliver"))
        for c in self.pushers:
            await c.start()

    async def stop(self) -> None:
        """Cancel the tasks, flush what was read (to the journal if any), close the connections.

        With a journal, one last delivery is tried; what the store does not take stays journaled
        for the next run.
        """
        self._running = False
        for c in self.pushers:
            await c.stop()  # no sink: what it received stays buffered for the flush below
        pending = set(self._tasks)
        while pending:
            # asyncio.wait_for (inside pymodbus) can swallow a cancellation that races with an answer
            # (Python < 3.12); the loops also check _running, and the cancellation is repeated
            for t in pending:
                t.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.5)
        for t in self._tasks:
            if not t.cancelled() and t.exception() is not None:
                raise t.exception()  # type: ignore[misc]
        self._tasks = []
        if self._inflight:  # ingests still running in their threads: let them land
            await asyncio.gather(*list(self._inflight), return_exceptions=True)
        await self.flush()
        if self.journal is not None and self.sink is not None:
            await self._deliver_once()
        for tr in self.transports.values():
            await tr.close()

    async def run(self, duration_s: float) -> None:
        await self.start()
        try:
            await asyncio.sleep(duration_s)
        finally:
            await self.stop()

    async def _connection_loop(self, devs: list[PolledDevice]) -> None:
        while self._running:
            d = min(devs, key=lambda x: x.next_due)
            delay = d.next_due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await self.poll_once(d)

    async def poll_once(self, d: PolledDevice) -> None:
        """Poll one device now, record health and readings, schedule its next poll."""
        due = d.next_due
        t0 = time.monotonic()
        try:
            try:
                readings, garbage = await d.driver.read()
            except (DeviceError, asyncio.CancelledError):
                raise
            except Exception as exc:  # e.g. a malformed answer: must not end this connection's task
                raise DeviceError(f"unexpected {type(exc).__name__}: {exc}", d.driver.device_id) from exc
        except DeviceError as exc:
            d.health.on_failure(exc)
            if isinstance(exc, ModbusException) and exc.code == ILLEGAL_DATA_ADDRESS:
                d.driver.ready = False  # the model chain may have changed (firmware update): rediscover
            if d.health.state == State.OFFLINE:
                d.driver.ready = False  # rediscover after an outage: the device may come back reconfigured
            d.next_due = time.monotonic() + d.health.next_delay_s()
            return
        latency = time.monotonic() - t0
        stamp = self.clock()
        d.health.on_success(d.driver.last_request_s, garbage, stamp)
        if self.trace:
            d.trace.append((due, t0, t0 + latency))
        suspect = d.health.state != State.OK
        t_us = to_us(stamp)
        dev_id = d.driver.device_id
        for r in readings:
            q = Quality.SUSPECT if suspect and r.quality == Quality.GOOD else r.quality
            self._rows.append((t_us, dev_id, r.quantity, r.value, int(q)))
        # fixed-rate schedule: stay on the grid due + k·interval, skipping missed slots
        nxt = due + d.interval_s
        now = time.monotonic()
        if nxt <= now:
            d.overruns += 1
            nxt += math.ceil((now - nxt) / d.interval_s) * d.interval_s
        d.next_due = nxt

    # ------------------------------------------------------------------ output

    def take_batch(self) -> ReadingBatch:
        """Readings collected since the last call, as one batch."""
        rows, self._rows = self._take_rows(), []
        self.stats.readings += len(rows)
        return ReadingBatch.from_us_rows(rows)

    def _take_rows(self) -> list[tuple[int, str, str, float, int]]:
        """The polled readings and those the 104 clients received since the last flush."""
        rows = self._rows
        for c in self.pushers:
            rows += c.take_rows()
        return rows

    async def flush(self) -> IngestResult | None:
        if self.journal is not None:
            await self._journal_append()
            return None
        batch = self.take_batch()
        if self.sink is None or len(batch) == 0:
            return None
        # The ingest runs in a thread that a task cancellation cannot stop: shield it and keep it
        # in _inflight, so stop() waits for it instead of returning while rows are still on their way.
        fut = asyncio.ensure_future(asyncio.to_thread(self.sink.ingest, batch))
        self._inflight.add(fut)
        fut.add_done_callback(self._inflight.discard)
        try:
            result = await asyncio.shield(fut)
        except asyncio.CancelledError:
            fut.add_done_callback(self._account)
            raise
        except Exception as exc:  # a sink bug must not stop polling; it is counted and shown
            self.stats.sink_errors += 1
            self.stats.last_sink_error = f"{type(exc).__name__}: {exc}"
            return None
        self._record(result)
        return result

    def _record(self, result: IngestResult) -> None:
        self.stats.accepted += result.accepted
        self.stats.duplicates += result.duplicates
        self.stats.rejected.update(r.reason for r in result.rejected)

    def _account(self, fut: asyncio.Future[IngestResult]) -> None:
        """Stats of an ingest whose flush task was cancelled while it ran."""
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            self.stats.sink_errors += 1
            self.stats.last_sink_error = f"{type(exc).__name__}: {exc}"
        else:
            self._record(fut.result())

    async def _journal_append(self) -> None:
        """Append the buffer to the journal (one fsync'ed transaction); the rows count as read after it."""
        assert self.journal is not None
        rows, self._rows = self._take_rows(), []
        if not rows:
            return
        batch = ReadingBatch.from_us_rows(rows)
        fut = asyncio.ensure_future(asyncio.to_thread(self.journal.append, batch))
        self._inflight.add(fut)
        fut.add_done_callback(self._inflight.discard)
        try:
            await asyncio.shield(fut)
        except asyncio.CancelledError:
            # stop() cancelled the flush while the append ran in its thread: the rows still land in the
            # journal (and are delivered), so count them when it completes, as flush() does for ingests
            fut.add_done_callback(lambda f: self._count_journaled(f, len(rows)))
            raise
        self._count_journaled(fut, len(rows))

    def _count_journaled(self, fut: asyncio.Future[int], n: int) -> None:
        """Rows read and journaled, once their append has completed (a failed append is raised elsewhere)."""
        if fut.cancelled() or fut.exception() is not None:
            return
        self.stats.readings += n
        self.stats.journaled += n
        self._journaled.set()

    async def _deliver_once(self) -> bool:
        """Send journaled rows to the sink, oldest first, until the journal is empty; False if the sink failed."""
        assert self.journal is not None and self.sink is not None
        journal, sink = self.journal, self.sink
        while True:
            last_id, chunk = await asyncio.to_thread(journal.peek, self.deliver_chunk)
            if len(chunk) == 0:
                self.stats.store_down_since = None
                return True
            try:
                result = await asyncio.to_thread(sink.ingest, chunk)
            except StoreUnavailable as exc:
                if self.stats.store_down_since is None:
                    self.stats.store_down_since = time.monotonic()
                self.stats.last_sink_error = f"StoreUnavailable: {exc}"
                return False
            except Exception as exc:  # a sink bug must not stop polling; rows stay journaled
                self.stats.sink_errors += 1
                self.stats.last_sink_error = f"{type(exc).__name__}: {exc}"
                return False
            await asyncio.to_thread(journal.remove_through, last_id)
            self._record(result)
            self.stats.delivered += len(chunk)

    async def _deliver_loop(self) -> None:
        while self._running:
            ok = await self._deliver_once()
            if not ok:
                await asyncio.sleep(self.retry_s)
                continue
            self._journaled.clear()
            await self._journaled.wait()

    async def _flush_loop(self) -> None:
        while self._running:
            await asyncio.sleep(self.flush_interval_s)
            await self.flush()

    # ------------------------------------------------------------------ queries

    def health(self) -> list[dict[str, object]]:
        """Health of every polled device (plain data), with how often its SunSpec chain was found changed."""
        return [
            d.health.snapshot()
            | {
                "rediscoveries": getattr(d.driver, "rediscoveries", 0),  # SunSpec chains only
                "last_rediscovery": getattr(d.driver, "last_rediscovery", ""),
            }
            for d in self.devices.values()
        ] + [c.health.snapshot() | {"rediscoveries": 0, "last_rediscovery": ""} for c in self.pushers]

    def state_of(self, device_id: str) -> State:
        pusher = next((c for c in self.pushers if c.device_id == device_id), None)
        return pusher.health.state if pusher is not None else self.devices[device_id].health.state

    def driver(self, device_id: str) -> DeviceDriver:
        """The register-map driver of a polled device (setpoints are written through it)."""
        try:
            drv = self.devices[device_id].driver
        except KeyError:
            raise KeyError(f"device {device_id!r} is not polled; polled: {', '.join(self.devices)}") from None
        if not isinstance(drv, DeviceDriver):
            raise KeyError(f"device {device_id!r} is a DL/T 645 meter: it takes no setpoints")
        return drv
