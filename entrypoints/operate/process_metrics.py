"""Prometheus metrics of the poller and MPC processes, served by each process on its own port
(``--metrics-port``; Prometheus text exposition at ``/metrics``). The API's ``/metrics`` cannot see
them: planning and polling run in other processes (issue 21: "MPC solve time 0").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

if TYPE_CHECKING:  # annotation only: the poller's metrics must not import the MPC and grid model
    from entrypoints.operate.mpc_step import PlanStep

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class MpcMetrics:
    """Per plan: solver time, whole-cycle time, status; fallbacks and overruns (a plan slower than an interval)."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.registry = CollectorRegistry()
        r = self.registry
        self.plans = Counter("ems_mpc_plans", "plans made, by schedule status", ["status"], registry=r)
        self.solve_seconds = Histogram("ems_mpc_solve_seconds", "solver time per plan", registry=r, buckets=_SECONDS)
        self.cycle_seconds = Histogram(
            "ems_mpc_cycle_seconds", "whole re-plan (forecast, solve, AC check, save)", registry=r, buckets=_SECONDS
        )
        self.fallbacks = Counter("ems_mpc_fallbacks", "plans that fell back to the rule-based schedule", registry=r)
        self.overruns = Counter("ems_mpc_cycle_overruns", "re-plans longer than one interval", registry=r)
        self.last_plan = Gauge(
            "ems_mpc_last_plan_timestamp_seconds", "start of the latest planned interval", registry=r
        )

    def observe(self, step: PlanStep, *_: Any) -> None:
        """Record one plan (usable as ``run_mpc``'s ``on_step``)."""
        s = step.schedule
        self.plans.labels(s.status).inc()
        self.solve_seconds.observe(s.solve_time_s)
        self.cycle_seconds.observe(step.seconds)
        if s.status == "fallback":
            self.fallbacks.inc()
        if step.seconds > self.interval_s:
            self.overruns.inc()
        self.last_plan.set(step.start.timestamp())


class PollerMetrics:
    """Per poll period: cycle time and overruns, readings waiting in the spool, devices per health state."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self.registry = CollectorRegistry()
        r = self.registry
        self.cycle_seconds = Histogram("ems_poller_cycle_seconds", "poll period as run", registry=r, buckets=_SECONDS)
        self.overruns = Counter("ems_poller_cycle_overruns", "poll periods over 1.5 x the set period", registry=r)
        self.spool_depth = Gauge("ems_poller_spool_readings", "readings journaled, not yet in the database", registry=r)
        self.devices = Gauge("ems_poller_devices", "polled devices per health state", ["state"], registry=r)
        self._states: set[str] = set()  # every state seen: one that empties reads 0, not its last count

    def observe(self, cycle_s: float, spool_depth: int, health: list[dict[str, Any]]) -> None:
        self.cycle_seconds.observe(cycle_s)
        if cycle_s > 1.5 * self.period_s:  # the wait itself is the period: beyond half again, polling lags
            self.overruns.inc()
        self.spool_depth.set(spool_depth)
        states: dict[str, int] = {}
        for h in health:
            states[str(h["state"])] = states.get(str(h["state"]), 0) + 1
        self._states |= set(states)
        for state in self._states:
            self.devices.labels(state).set(states.get(state, 0))


def serve(registry: CollectorRegistry, port: int, host: str = "127.0.0.1") -> Any:
    """Serve ``registry`` at http://host:port/metrics in a daemon thread; returns the server (``shutdown()``)."""
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server
