"""Issue 15: the operator API's re-plan uses the park file's price file (``dispatch.prices_file``), over
real HTTP, and the plan follows the prices: a half hour of negative import prices (a spot market's
midday surplus) makes the battery charge at its converter limit there, which the TOU plan does not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from ems.park import Park
from ems.store import Store
from ems.synthetic import synthesize

from .conftest import make_api

DAY = dt.datetime(2026, 6, 21, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # park-local midnight
WINDOW = slice(40, 42)  # 10:00-10:30 local


def _price_csv(path: Path) -> Path:
    """Flat 0.60 CNY/kWh import and 0.39 export, except −1.00 CNY/kWh import in the window."""
    rows = ["start,import_cny_per_kwh,export_cny_per_kwh"]
    for k in range(96):
        t = (DAY + dt.timedelta(minutes=15 * k)).astimezone(dt.UTC)
        rows.append(f"{t.isoformat()},{-1.0 if WINDOW.start <= k < WINDOW.stop else 0.6},0.39")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _battery_kw(store: Store, park: Park, **settings: object) -> tuple[np.ndarray, int]:
    api = make_api(store, park, **settings)
    try:
        with api.client("operator") as c:
            r = c.post("/v1/schedules/replan", json={"start": DAY.isoformat(), "intervals": 96, "ac_check": False})
            assert r.status_code == 201, r.text
            cur = c.get("/v1/schedules/current").json()
            return np.array(cur["intervals"]["battery_kw"], dtype=float), r.json()["schedule_id"]
    finally:
        api.server.stop()


def test_replan_uses_the_park_price_file(store: Store, tiny_park: Park, tmp_path: Path) -> None:
    # no demand charge: the extra import in the window must not be weighed against a new monthly peak
    tiny_park = tiny_park.model_copy(
        update={"tariff": tiny_park.tariff.model_copy(update={"demand_charge_cny_per_kw_month": 0})}
    )
    syn = synthesize(tiny_park, (DAY - dt.timedelta(days=1)).astimezone(dt.UTC), hours=24, step_s=60, seed=3)
    assert store.ingest(syn.batch, now=DAY + dt.timedelta(days=1)).rejected == []
    tou, _ = _battery_kw(store, tiny_park)
    csv = _price_csv(tmp_path / "spot.csv")
    spot_park = tiny_park.model_copy(
        update={"dispatch": tiny_park.dispatch.model_copy(update={"prices_file": csv.name})}
    )
    spot, _ = _battery_kw(store, spot_park, park_file=tmp_path / "park.yaml")  # the file is relative to it
    # each kWh bought at −1 CNY earns money and the stored kWh keeps a value >= 0 (no demand charge):
    # charge at the converter limit (200 kW, generator convention −200) in both intervals; the TOU plan
    # (10:00 is a 1.00 CNY/kWh peak hour) does not
    bess = tiny_park.device("BESS1")
    np.testing.assert_allclose(spot[WINDOW], -bess.p_charge_max_kw, atol=1e-3)  # type: ignore[union-attr]
    assert np.all(tou[WINDOW] > -bess.p_charge_max_kw + 1)  # type: ignore[union-attr]
    # a price file that does not cover the horizon is refused by name
    short = tmp_path / "short.csv"
    short.write_text("\n".join(csv.read_text().splitlines()[:10]) + "\n", encoding="utf-8")
    short_park = tiny_park.model_copy(
        update={"dispatch": tiny_park.dispatch.model_copy(update={"prices_file": str(short)})}
    )
    api = make_api(store, short_park)
    try:
        with api.client("operator") as c:
            r = c.post("/v1/schedules/replan", json={"start": DAY.isoformat(), "intervals": 96})
            assert r.status_code == 400 and "short.csv" in r.text and "outside" in r.text
    finally:
        api.server.stop()
