"""Per-device health: ok / degraded / offline, with exponential back-off between attempts.

Rules (pure, in :meth:`DeviceHealth.on_success` / :meth:`DeviceHealth.on_failure`):

* a complete, plausible and timely answer -> ``ok``;
* an answer with garbage values, a slow answer (its slowest single request took more than
  ``slow_fraction`` of the timeout: slowness is judged per request, since a poll of several
  block reads is legitimately longer) or a Modbus exception response -> ``degraded``, the
  exception code kept in ``last_exception_code``;
* a timeout or lost connection -> ``degraded``, and ``offline`` after ``offline_after``
  consecutive failures; a refused connection -> ``offline`` at once.

After ``k`` consecutive failures the next attempt waits ``min(cap, interval · 2**(k-1))``
seconds, so a dead device costs its connection one timeout per back-off period only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from device_drivers.errors import ConnectionRefused, DeviceError, ModbusException


class State(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    OFFLINE = "offline"


def backoff_s(failures: int, interval_s: float, cap_s: float) -> float:
    """Delay before the next attempt after ``failures`` consecutive failures [s]."""
    if failures <= 0:
        return interval_s
    return min(cap_s, interval_s * 2.0 ** (failures - 1))


@dataclass
class DeviceHealth:
    device: str
    interval_s: float
    timeout_s: float
    state: State = State.OFFLINE  # until the first answer
    consecutive_failures: int = 0
    polls: int = 0
    failures: int = 0
    garbage_values: int = 0
    last_error: str = "not polled yet"
    last_ok: dt.datetime | None = None
    last_latency_s: float = 0.0  # of the slowest request of the last successful poll
    last_exception_code: int | None = None
    offline_after: int = 3
    backoff_cap_s: float = 30.0
    slow_fraction: float = 0.5

    def on_success(self, latency_s: float, garbage: int, now: dt.datetime) -> None:
        self.polls += 1
        self.consecutive_failures = 0
        self.last_latency_s = latency_s
        self.last_ok = now
        self.garbage_values += garbage
        if garbage:
            self.state = State.DEGRADED
            self.last_error = f"{garbage} implausible value(s)"
        elif latency_s > self.slow_fraction * self.timeout_s:
            self.state = State.DEGRADED
            self.last_error = f"slow answer ({latency_s * 1000:.0f} ms for one request)"
        else:
            self.state = State.OK
            self.last_error = ""

    def on_failure(self, exc: DeviceError) -> None:
        self.polls += 1
        self.failures += 1
        self.consecutive_failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ModbusException):
            self.last_exception_code = exc.code
            self.state = State.DEGRADED
        elif isinstance(exc, ConnectionRefused) or self.consecutive_failures >= self.offline_after:
            self.state = State.OFFLINE
        else:
            self.state = State.DEGRADED

    def next_delay_s(self) -> float:
        return backoff_s(self.consecutive_failures, self.interval_s, max(self.backoff_cap_s, self.interval_s))

    def snapshot(self) -> dict[str, object]:
        """Plain-data view for the API / CLI."""
        return {
            "device": self.device,
            "state": str(self.state),
            "consecutive_failures": self.consecutive_failures,
            "polls": self.polls,
            "failures": self.failures,
            "garbage_values": self.garbage_values,
            "last_error": self.last_error,
            "last_ok": self.last_ok.isoformat() if self.last_ok else None,
            "last_latency_ms": round(self.last_latency_s * 1000, 2),
            "last_exception_code": self.last_exception_code,
        }
