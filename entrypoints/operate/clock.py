"""Time helpers shared by the loops: interval boundaries and sleeping on a (possibly accelerated) clock."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def next_boundary(t: dt.datetime, interval_minutes: int) -> dt.datetime:
    """The first interval start at or after ``t`` (intervals aligned to the UTC epoch; the park's
    local midnight is one when its UTC offset is a whole number of intervals, as for Asia/Shanghai)."""
    step = interval_minutes * 60
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    s = (t - epoch).total_seconds()
    k = -(-s // step)  # ceil
    return epoch + dt.timedelta(seconds=k * step)


def interval_start(t: dt.datetime, interval_minutes: int) -> dt.datetime:
    """Start of the interval containing ``t``."""
    nxt = next_boundary(t, interval_minutes)
    return nxt if nxt == t else nxt - dt.timedelta(minutes=interval_minutes)


async def sleep_until(clock: Clock, target: dt.datetime, speed: float = 1.0) -> None:
    """Sleep until ``clock() >= target``; ``speed`` = simulated seconds per wall second."""
    while True:
        left = (target - clock()).total_seconds()
        if left <= 0:
            return
        await asyncio.sleep(min(left / speed, 1.0))


async def sleep_until_or_stop(clock: Clock, target: dt.datetime, speed: float, stop: asyncio.Event) -> bool:
    """Sleep until ``target`` on the simulated clock; False if ``stop`` was set first.

    (An explicit event rather than task cancellation: pymodbus' use of ``asyncio.wait_for`` can
    swallow a cancellation on Python 3.11, and Ctrl-C must always stop the run.)
    """
    sleeper = asyncio.ensure_future(sleep_until(clock, target, speed))
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    for t in (sleeper, stopper):
        t.cancel()
    return not stop.is_set()
