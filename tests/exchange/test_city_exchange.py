"""City platform exchange (issue 18): payload figures by hand, the JSON Schema (validated with the
third-party ``jsonschema``), the push across a platform outage with nothing lost, the pull API."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from ems.exchange.payload import ExchangeError, payload_for
from ems.exchange.push import queue_completed_days
from ems.outbox import Receivers, deliver_due, senders
from ems.park import Park, parse_park
from ems.store import Store
from tests.api.conftest import make_api
from tests.footprint.conftest import POWER_KW, footprint_park_data, ingest_constant_power
from tests.outbox.receiver import Receiver

SCHEMA = json.loads((Path(__file__).parents[2] / "docs/schemas/city-exchange-v1.schema.json").read_text("utf-8"))
T0 = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)  # 2026-03-02 00:00 park time
HOUR = dt.timedelta(hours=1)


@pytest.fixture(scope="module")
def park() -> Park:
    return parse_park(footprint_park_data(), "exchange-test-park")


@pytest.fixture
def store(fresh_db_url: str, park: Park) -> Iterator[Store]:
    s = Store.connect(fresh_db_url, park)
    # one hour: the footprint suite's two intervals, twice (every interval alike)
    ingest_constant_power(s, T0, 15, {d: p * 2 for d, p in POWER_KW.items()})
    yield s
    s.close()


def _check(payload: dict) -> None:
    jsonschema.validate(payload, SCHEMA, format_checker=jsonschema.FormatChecker())


def test_payload_figures_by_hand(store: Store, park: Park) -> None:
    p = payload_for(store, park, T0, T0 + HOUR, generated_at=T0 + 2 * HOUR)
    _check(p)
    [h] = p["park_hours"]
    assert h["start"] == "2026-03-02T00:00:00+08:00"
    # per 15 min: grid import 100 kWh, PV 50 kWh → consumption 150; an hour is 4 intervals
    assert Decimal(h["consumption_kwh"]) == 600 and Decimal(h["grid_kwh"]) == 400 and Decimal(h["local_re_kwh"]) == 200
    # location-based: 400 kWh x 0.5978 kg/kWh (cn-jiangsu-2022) = 239.12 kg; factor 239.12 / 600 = 0.3985333
    assert Decimal(h["location_kg"]) == Decimal("239.12")
    assert h["ef_location_kg_per_kwh"] == "0.398533"
    # tenants per interval (footprint suite): A = 75 + 0.25 x 20 = 80 kWh, B = 50 + 0.5 x 20 = 60 kWh
    ent = {e["id"]: e["hours"][0] for e in p["enterprises"]}
    assert Decimal(ent["A"]["consumption_kwh"]) == 320 and Decimal(ent["B"]["consumption_kwh"]) == 240
    assert [e["name"] for e in p["enterprises"]] == ["Fibre Co", "Weave Co"]
    # enterprises + rest of park add up to the park, exactly, in every column
    for col in ("consumption_kwh", "grid_kwh", "location_kg", "market_kg"):
        parts = [e["hours"][0][col] for e in p["enterprises"] + p["rest_of_park"]]
        assert sum(Decimal(x) for x in parts) == Decimal(h[col]), col
    assert p["budget"]["budget_t"] == "1500" and p["completeness"] == "1.000000"
    with pytest.raises(ExchangeError, match="whole hour"):
        payload_for(store, park, T0 + dt.timedelta(minutes=15), T0 + HOUR)


def test_push_across_platform_outage_nothing_lost(store: Store, park: Park) -> None:
    rx = Receiver()  # the platform is down
    rc = Receivers(city_url=rx.url("/api/v1/parks/data"), city_token="city-token-1")
    now = T0 + dt.timedelta(days=1, hours=3)  # 2026-03-03 11:00 park time: 2 March is complete
    queued = queue_completed_days(store, park, now, backfill_days=2)
    assert queued == [dt.date(2026, 3, 2)]  # 1 March has no data at all: not sent as zeros
    assert deliver_due(store, senders(rc), now=now).pending == 1
    assert queue_completed_days(store, park, now + HOUR, backfill_days=2) == []  # queued once
    rx.start()
    try:
        assert len(deliver_due(store, senders(rc), now=now + dt.timedelta(minutes=1)).delivered) == 1
        assert deliver_due(store, senders(rc), now=now + dt.timedelta(days=1)).delivered == []
    finally:
        rx.stop()
    [got] = rx.received
    assert got.headers["authorization"] == "Bearer city-token-1"
    assert got.headers["idempotency-key"] == "city:Tiny test park:2026-03-02"
    body = json.loads(got.body)
    _check(body)
    start = dt.datetime(2026, 3, 2, tzinfo=park.tz)
    assert body == payload_for(store, park, start, start + dt.timedelta(days=1), generated_at=now)
    assert len(body["park_hours"]) == 24 and Decimal(body["park_hours"][0]["consumption_kwh"]) == 600
    # the last sample (00:59) holds 120 s into 01:00-01:15: coverage 1/15, scaled to the interval by the
    # documented gap rule (ems.carbon.report.GAP_RULES) → 150 kWh; nothing after; completeness (4 + 1/15) / 96
    assert [Decimal(h["consumption_kwh"]) for h in body["park_hours"][1:3]] == [150, 0]
    assert all(Decimal(h["consumption_kwh"]) == 0 for h in body["park_hours"][2:])
    assert body["completeness"] == "0.042361"


def test_pull_api_serves_the_same_payload(store: Store, park: Park) -> None:
    api = make_api(store, park)
    try:
        params = {"start": "2026-03-02T00:00:00+08:00", "end": "2026-03-02T01:00:00+08:00"}
        with api.client("tenant") as c:
            assert c.get("/v1/exchange/hourly", params=params).status_code == 403
        with api.client("auditor") as c:
            r = c.get("/v1/exchange/hourly", params=params)
            assert r.status_code == 200, r.text
            bad = c.get("/v1/exchange/hourly", params={**params, "end": "2026-03-02T01:30:00+08:00"})
            assert bad.status_code == 400 and "whole hour" in bad.json()["detail"]
    finally:
        api.server.stop()
    pulled = r.json()
    _check(pulled)
    expected = payload_for(store, park, T0, T0 + HOUR)
    assert {**pulled, "generated_at": None} == {**expected, "generated_at": None}
