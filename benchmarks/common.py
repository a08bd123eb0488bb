"""Helpers shared by the benchmarks: a throwaway database and a park with many devices."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import yaml

from ems.park import Park, example_park_path, parse_park
from ems.store.server import EmbeddedServer


@contextmanager
def database_url() -> Iterator[str]:
    """EMS_BENCH_DATABASE_URL if set, else a fresh embedded server in a temporary directory."""
    url = os.environ.get("EMS_BENCH_DATABASE_URL")
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedServer(tmp)
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
