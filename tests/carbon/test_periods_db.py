"""Issue 19 through the store: reports of two months add up to the report of both, with energy stored
across the boundary (real PostgreSQL; the service reads the accounting span from the rollups)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from ems.carbon import service
from ems.park import Park
from ems.store import Store
from tests.carbon.conftest import ingest_constant_power
from tests.carbon.test_periods import END, MID, START, _profile


def test_monthly_reports_from_the_store_sum_to_the_whole(carbon_store: Store, carbon_park: Park) -> None:
    ingest_constant_power(carbon_store, START.astimezone(dt.UTC), 60, _profile())
    whole = service.report_content(carbon_store, carbon_park, START, END)
    feb = service.report_content(carbon_store, carbon_park, START, MID)
    mar = service.report_content(carbon_store, carbon_park, MID, END)
    # the pool closes February (battery charged 20:00-24:00 on 28 February) as it opens March
    assert D(feb["storage_pool"]["closing"]["stored_kwh"]) > 0
    assert mar["storage_pool"]["opening"] == feb["storage_pool"]["closing"]
    assert mar["storage_pool"]["empty_at"] == whole["storage_pool"]["empty_at"]
    for key, total in whole["totals"].items():
        assert D(feb["totals"][key]) + D(mar["totals"][key]) == D(total), key
    assert all(r["balances"]["violations"] == [] for r in (whole, feb, mar))
