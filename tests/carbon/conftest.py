"""Fixtures for the carbon tests: a tiny park with a green contract and certificates, and data helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import yaml

from ems.park import Park, example_park_path, parse_park
from ems.store import Store
from ems.telemetry import ReadingBatch

# 2026-03-02 00:00 in Asia/Shanghai
T0 = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Energy:
    """Plain interval energy in the store's IntervalEnergy layout (devices x intervals)."""

    starts: np.ndarray
    devices: list[str]
    e_out_kwh: np.ndarray
    e_in_kwh: np.ndarray
    coverage: np.ndarray


def energy_from_kw(
    start: dt.datetime,
    minutes: int,
    p_kw: dict[str, list[float]],
    coverage: dict[str, list[float]] | None = None,
) -> Energy:
    """Interval energy of constant power per interval (generator sign convention), optional coverage."""
    devices = list(p_kw)
    n = len(next(iter(p_kw.values())))
    p = np.array([p_kw[d] for d in devices], dtype=float)
    h = minutes / 60
    cov = np.ones((len(devices), n))
    for d, c in (coverage or {}).items():
        cov[devices.index(d)] = c
    starts = np.datetime64(start.replace(tzinfo=None), "us") + np.arange(n) * np.timedelta64(minutes, "m")
    return Energy(starts, devices, np.maximum(p, 0) * h * cov, np.maximum(-p, 0) * h * cov, cov)


def carbon_park_data() -> dict:  # type: ignore[type-arg]
    data = yaml.safe_load(example_park_path("tiny").read_text(encoding="utf-8"))
    for d in data["devices"]:
        if d["id"] == "LOAD1":
            d["p_peak_kw"] = 1000  # room for the 800-900 kW test loads
    data["green"] = {
        "contracts": [
            {
                "id": "GPT-TEST",
                "seller": "test wind farm",
                "technology": "wind",
                "volume_mwh": 1,
                "max_mw": 1,
                "price_cny_per_mwh": "400",
            }
        ],
        "certificates": [
            {
                "serial_prefix": "GEC-T-",
                "first": 1,
                "count": 3,
                "generator": "Test wind farm",
                "technology": "wind",
                "location": "Yancheng, Jiangsu",
                "production_start": "2026-01-01",
                "production_end": "2026-02-28",
            }
        ],
    }
    data["carbon"]["residual_factor"] = "cn-national-excl-market-2023"
    return data


@pytest.fixture(scope="session")
def carbon_park() -> Park:
    return parse_park(carbon_park_data(), "carbon-test-park")


@pytest.fixture
def carbon_store(fresh_db_url: str, carbon_park: Park) -> Iterator[Store]:
    s = Store.connect(fresh_db_url, carbon_park)
    yield s
    s.close()


def ingest_constant_power(
    store: Store,
    start: dt.datetime,
    minutes: int,
    p_kw: dict[str, list[float]],
    skip: dict[str, list[int]] | None = None,
) -> None:
    """Store p_kw samples every 60 s, constant within each interval, so each interval's energy is p * h.

    ``skip`` lists, per device, intervals with no samples at all (a data gap).
    """
    rows = []
    for dev, powers in p_kw.items():
        gaps = set((skip or {}).get(dev, []))
        for i, p in enumerate(powers):
            if i in gaps:
                continue
            for m in range(minutes):
                rows.append((start + dt.timedelta(minutes=i * minutes + m), dev, "p_kw", float(p), 0))
    res = store.ingest(ReadingBatch.from_rows(rows), now=start + dt.timedelta(days=30))
    assert not res.rejected, res.rejected[:3]
