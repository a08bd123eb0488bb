"""Prometheus metrics, in a registry owned by the app (no process-global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.ingest_rows = Counter("ems_ingest_rows", "telemetry rows by outcome", ["outcome"], registry=self.registry)
        self.ingest_requests = Counter("ems_ingest_requests", "telemetry requests", ["format"], registry=self.registry)
        self.ingest_seconds = Histogram(
            "ems_ingest_seconds",
            "time to handle one telemetry request",
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.rejected_rows = Counter(
            "ems_rejected_rows", "rejected telemetry rows by reason", ["reason"], registry=self.registry
        )
        self.device_health = Gauge(
            "ems_device_health", "devices per poll health state", ["state"], registry=self.registry
        )
        self.solve_seconds = Histogram(
            "ems_dispatch_solve_seconds",
            "dispatch solve time",
            registry=self.registry,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
