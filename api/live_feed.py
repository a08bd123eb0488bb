"""The live feed behind ``/v1/stream``: one poller for all clients, a bounded queue per client.

One task polls the store (latest reading of every series, newest schedule, open alerts) while at
least one client listens, and puts what changed on every client's queue. A client that does not
keep up (its queue full) is dropped rather than buffered without bound or allowed to slow the
others; the browser's reader reconnects. Store calls run in worker threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from ems.store import Store
from ems.store import alert_queries as AQ
from ems.store.schedules import list_schedules

log = logging.getLogger(__name__)
Event = tuple[str, dict[str, Any]]  # (event name, JSON data)
DROPPED: Event = ("dropped", {})  # the client fell behind; its stream ends


class TooManyClients(Exception):
    pass


@dataclass(eq=False)  # identity: a set of clients
class Client:
    queue: asyncio.Queue[Event]
    dropped: bool = False


@dataclass
class Snapshot:
    readings: dict[tuple[str, str], tuple[dt.datetime, float]] = field(default_factory=dict)
    schedule_id: int | None = None
    alerts: set[int] = field(default_factory=set)


class LiveFeed:
    def __init__(self, store: Store, *, poll_s: float = 2.0, queue_size: int = 256, max_clients: int = 50) -> None:
        self.store, self.poll_s, self.queue_size, self.max_clients = store, poll_s, queue_size, max_clients
        self.clients: set[Client] = set()
        self._task: asyncio.Task[None] | None = None
        self._seen: Snapshot | None = None
        self._lock = asyncio.Lock()

    async def subscribe(self) -> Client:
        """A new client; the state it is told changes against is taken before this returns."""
        async with self._lock:
            if len(self.clients) >= self.max_clients:
                raise TooManyClients
            if self._task is None or self._task.done():
                self._seen = await run_in_threadpool(self._snapshot)
                self._task = asyncio.create_task(self._run())
            client = Client(asyncio.Queue(self.queue_size))
            self.clients.add(client)
            return client

    def unsubscribe(self, client: Client) -> None:
        self.clients.discard(client)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _snapshot(self) -> Snapshot:
        with self.store.connection() as conn:
            newest = list_schedules(conn, None, 1)
            alerts = {a.alert_id for a in AQ.open_alerts(conn)}
        return Snapshot(
            readings={(r.device, r.quantity): (r.time, r.value) for r in self.store.latest()},
            schedule_id=int(newest[0]["schedule_id"]) if newest else None,
            alerts=alerts,
        )

    def _changes(self, now: Snapshot) -> list[Event]:
        seen = self._seen or Snapshot()
        events: list[Event] = []
        for (device, quantity), (time, value) in now.readings.items():
            if (device, quantity) in seen.readings and seen.readings[(device, quantity)][0] >= time:
                continue
            events.append(
                ("reading", {"device": device, "quantity": quantity, "time": time.isoformat(), "value": value})
            )
        if now.schedule_id != seen.schedule_id:
            events.append(("plan", {"schedule_id": now.schedule_id}))
        if now.alerts != seen.alerts:
            events.append(("alerts", {"open": sorted(now.alerts), "new": sorted(now.alerts - seen.alerts)}))
        return events

    def _poll(self) -> list[Event]:
        now = self._snapshot()
        events = self._changes(now)
        self._seen = now
        return events

    async def _run(self) -> None:
        while self.clients:
            await asyncio.sleep(self.poll_s)
            try:
                events = await run_in_threadpool(self._poll)
            except Exception as exc:  # store down: keep the clients, try again next poll
                log.warning("live feed: poll failed: %s", exc)
                continue
            for client in list(self.clients):
                for event in events:
                    try:
                        client.queue.put_nowait(event)
                    except asyncio.QueueFull:
                        self._drop(client)
                        break

    def _drop(self, client: Client) -> None:
        self.clients.discard(client)
        client.dropped = True
        while not client.queue.empty():  # make room for the notice that ends its stream
            client.queue.get_nowait()
        client.queue.put_nowait(DROPPED)
