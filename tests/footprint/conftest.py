"""A tiny park with two tenants (A: nested line meter; B: holds certificates) and a shared meter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import yaml

from ems.park import Park, example_park_path, parse_park
from ems.store import Store
from ems.telemetry import ReadingBatch

# 2026-03-02 00:00 Asia/Shanghai
T0 = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)

# kW per device, constant over each 15-minute interval (generator sign: loads negative)
POWER_KW: dict[str, list[float]] = {
    "M_GRID": [400.0, 400.0],  # I = 100 kWh per interval
    "PV1": [200.0, 200.0],  # G = 50 kWh
    "WT1": [0.0, 0.0],
    "BESS1": [0.0, 0.0],
    "LOAD1": [-600.0, -600.0],  # park consumption K = 100 + 50 = 150 kWh
    "M_A": [-300.0, -300.0],  # tenant A: 75 kWh
    "M_A1": [-200.0, -200.0],  # line A1, inside M_A: 50 kWh
    "M_B": [-200.0, -200.0],  # tenant B: 50 kWh
    "M_SH": [-80.0, -80.0],  # shared services: 20 kWh, keys A 0.25, B 0.5
}


def _meter(mid: str, parent: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": mid,
        "type": "meter",
        "role": "submeter",
        "bus": "LV2",
        "p_rated_kw": 1000,
        "connection": {"kind": "gateway", "gateway_id": "gw-tiny"},
    }
    if parent:
        d["parent"] = parent
    return d


def footprint_park_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(example_park_path("tiny").read_text(encoding="utf-8"))
    for d in data["devices"]:
        if d["id"] == "LOAD1":
            d["p_peak_kw"] = 1000
    data["devices"] += [_meter("M_A"), _meter("M_A1", "M_A"), _meter("M_B"), _meter("M_SH")]
    data["green"] = {
        "certificates": [
            {
                "serial_prefix": "GEC-B-",
                "first": 1,
                "count": 2,
                "generator": "Dafeng wind farm",
                "technology": "wind",
                "location": "Yancheng, Jiangsu",
                "production_start": "2026-01-01",
                "production_end": "2026-01-31",
            }
        ]
    }
    data["tenants"] = [
        {
            "id": "A",
            "name": "Fibre Co",
            # M_A1 is nested inside M_A: listing it too must not double count
            "meters": ["M_A", "M_A1"],
            "lines": [{"id": "A1", "product": "polyester POY", "unit": "t", "meter": "M_A1"}],
            "shared_meter_key": 0.25,
        },
        {"id": "B", "name": "Weave Co", "meters": ["M_B"], "shared_meter_key": 0.5},
    ]
    data["shared_meters"] = ["M_SH"]
    return data


@pytest.fixture(scope="session")
def fp_park() -> Park:
    return parse_park(footprint_park_data(), "footprint-test-park")


@dataclass(frozen=True)
class Energy:
    starts: np.ndarray
    devices: list[str]
    e_out_kwh: np.ndarray
    e_in_kwh: np.ndarray
    coverage: np.ndarray


def energy_from_kw(start: dt.datetime, minutes: int, p_kw: dict[str, list[float]]) -> Energy:
    devices = list(p_kw)
    n = len(next(iter(p_kw.values())))
    p = np.array([p_kw[d] for d in devices], dtype=float)
    h = minutes / 60
    starts = np.datetime64(start.replace(tzinfo=None), "us") + np.arange(n) * np.timedelta64(minutes, "m")
    return Energy(starts, devices, np.maximum(p, 0) * h, np.maximum(-p, 0) * h, np.ones((len(devices), n)))


@pytest.fixture
def fp_store(fresh_db_url: str, fp_park: Park) -> Iterator[Store]:
    s = Store.connect(fresh_db_url, fp_park)
    yield s
    s.close()


def ingest_constant_power(store: Store, start: dt.datetime, minutes: int, p_kw: dict[str, list[float]]) -> None:
    """p_kw samples every 60 s, constant within each interval, so each interval's energy is p * h."""
    rows = []
    for dev, powers in p_kw.items():
        for i, p in enumerate(powers):
            for m in range(minutes):
                rows.append((start + dt.timedelta(minutes=i * minutes + m), dev, "p_kw", float(p), 0))
    res = store.ingest(ReadingBatch.from_rows(rows), now=start + dt.timedelta(days=30))
    assert not res.rejected, res.rejected[:3]
