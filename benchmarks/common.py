"""Helpers shared by the benchmarks: a throwaway database and a park with many devices."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from ems.park import Park, example_park_path, parse_park
from ems.store.server import EmbeddedServer, timescale_installed


def backends() -> list[str]:
    """The embedded backends this machine can run: plain PostgreSQL, and TimescaleDB once built."""
    if timescale_installed():
        return ["postgresql", "timescaledb"]
    print("TimescaleDB is not built (ems db timescaledb build --source ...): plain PostgreSQL only")
    return ["postgresql"]


@contextmanager
def database_url(backend: str | None = None) -> Iterator[str]:
    """EMS_BENCH_DATABASE_URL if set, else a fresh embedded server (``backend``: default = what is installed)."""
    url = os.environ.get("EMS_BENCH_DATABASE_URL")
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedServer(Path(tmp), timescaledb=None if backend is None else backend == "timescaledb")
        try:
            yield server.start()
        finally:
            server.stop()


def many_device_park(n_pv: int) -> Park:
    """The tiny park with ``n_pv`` extra PV inverters on its LV bus (for scale benchmarks)."""
    data: dict[str, Any] = yaml.safe_load(example_park_path("tiny").read_text())
    for i in range(n_pv):
        data["devices"].append(
            {
                "id": f"PV{i:04d}",
                "type": "pv",
                "bus": "LV",
                "p_rated_kw": 100,
                "dc_kwp": 120,
                "connection": {"kind": "gateway", "gateway_id": "gw-bench"},
            }
        )
    return parse_park(data, f"<tiny park + {n_pv} PV>")


def emit(figures: dict[str, Any]) -> None:
    """The last line of every benchmark: one JSON object, units in the key names."""
    print(json.dumps(figures, sort_keys=True))


def wait_healthy(base: str, tries: int = 100) -> None:
    """Wait until the API at ``base`` answers ``/healthz`` (the server process has just started)."""
    import time

    import httpx

    for _ in range(tries):
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
