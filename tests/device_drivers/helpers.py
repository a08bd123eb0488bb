"""Small shared helpers for the driver tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ems.park import ModbusTcp, Park


def tune(park: Park, device_ids: set[str] | None = None, timeout_s: float = 0.3, interval_s: float = 0.2) -> Park:
    """Copy of ``park`` with short timeouts and intervals on its Modbus TCP devices (fast tests)."""
    devices = []
    for d in park.devices:
        conn = d.connection
        if isinstance(conn, ModbusTcp) and (device_ids is None or d.id in device_ids):
            conn = conn.model_copy(update={"timeout_s": timeout_s, "poll_interval_s": interval_s})
            d = d.model_copy(update={"connection": conn})
        devices.append(d)
    return park.model_copy(update={"devices": devices})


async def wait_for(cond: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Wait until ``cond()`` holds; returns the seconds it took; fails the test after ``timeout_s``."""
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout_s:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.02)
    return time.monotonic() - t0
