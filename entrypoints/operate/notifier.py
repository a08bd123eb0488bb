"""The notifier loop (``ems notify``): evaluate the alert rules, queue completed days for the city
platform, deliver what is due; one cycle per ``interval_s``. Separate from the poller and the MPC so
a slow receiver never delays measurement or control."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from ems.alerts.rules import Thresholds
from ems.exchange.push import queue_completed_days
from ems.outbox import DeliveryReport, Receivers, deliver_due, senders
from ems.outbox.channels import ALERT_CHANNELS, Sender
from ems.park import Park
from ems.store import Store
from services.alert_cache import NotifierCache
from services.alerts import evaluate_once

log = logging.getLogger(__name__)


@dataclass
class Cycle:
    raised: int
    cleared: int
    days_queued: int
    delivery: DeliveryReport


def run_cycle(
    store: Store,
    park: Park,
    rc: Receivers,
    now: dt.datetime,
    thresholds: Thresholds | None = None,
    cache: NotifierCache | None = None,
    send: Mapping[str, Sender] | None = None,
) -> Cycle:
    """One cycle at ``now``; alerts go to the configured alert channels, exports only with a city URL.
    A loop passes its ``cache`` and its ``send`` (one HTTP client: a new one costs a TLS context)."""
    channels = [c for c in rc.configured() if c in ALERT_CHANNELS]
    done = evaluate_once(store, park, now, channels, thresholds, cache=cache)
    days = queue_completed_days(store, park, now) if "city_platform" in rc.configured() else []
    report = deliver_due(store, senders(rc) if send is None else send, now)
    return Cycle(len(done.raised), len(done.cleared), len(days), report)


async def run_notifier(
    store: Store, park: Park, rc: Receivers, interval_s: float, stop: asyncio.Event, cycles: int | None = None
) -> int:
    """Run cycles until ``stop`` is set (or ``cycles`` ran); a failing cycle is logged and retried next time."""
    n = 0
    cache, send = NotifierCache(), senders(rc)
    while not stop.is_set() and (cycles is None or n < cycles):
        try:
            c = await asyncio.to_thread(run_cycle, store, park, rc, dt.datetime.now(dt.UTC), None, cache, send)
            log.info(
                "notify: %d raised, %d cleared, %d days queued, %d delivered, %d pending",
                c.raised,
                c.cleared,
                c.days_queued,
                len(c.delivery.delivered),
                c.delivery.pending,
            )
        except Exception:  # one bad cycle (database restart, a rule's bad input) must not stop the notifier
            log.exception("notify: cycle failed")
        n += 1
        with contextlib.suppress(TimeoutError):  # the interval passed without a stop
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
    return n
