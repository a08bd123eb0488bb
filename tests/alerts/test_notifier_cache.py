"""services.alert_cache: the notifier keeps the network and the year-to-date budget between cycles,
and recomputes the budget exactly when its inputs change (a late reading, a ledger entry)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ems.park import Park
from ems.store import Store
from ems.store import carbon_queries as CQ
from ems.telemetry import ReadingBatch
from services.alert_cache import NotifierCache
from services.alerts import observe

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # on a 15-minute boundary: the period end is NOW
BALANCED = {"M_GRID": 100.0, "PV1": 50.0, "WT1": 10.0, "BESS1": 0.0, "LOAD1": -160.0}


def _ingest(store: Store, start: dt.datetime, minutes: int) -> None:
    rows = [(start + dt.timedelta(minutes=m), dev, "p_kw", p, 0) for dev, p in BALANCED.items() for m in range(minutes)]
    assert not store.ingest(ReadingBatch.from_rows(rows), now=NOW + dt.timedelta(hours=1)).rejected


def _budget(store: Store, park: Park, cache: NotifierCache | None) -> dict[str, object]:
    b = observe(store, park, NOW, violations=[], cache=cache).budget
    assert b is not None  # the tiny park has an annual budget
    return b


def test_budget_reused_until_its_inputs_change(store: Store, tiny_park: Park) -> None:
    _ingest(store, NOW - dt.timedelta(hours=1), 60)
    cache = NotifierCache()
    first = _budget(store, tiny_park, cache)
    assert first == _budget(store, tiny_park, None)  # the uncached computation
    assert _budget(store, tiny_park, cache) == first and (cache.hits, cache.misses) == (1, 1)

    # readings of the interval in progress (at or after the period end) do not touch the year to date
    _ingest(store, NOW, 5)
    assert _budget(store, tiny_park, cache) == first and (cache.hits, cache.misses) == (2, 1)

    # a late hour for the previous day (a gateway's spool replayed): recomputed, and more emissions
    _ingest(store, NOW - dt.timedelta(days=1), 60)
    late = _budget(store, tiny_park, cache)
    assert cache.misses == 2 and late == _budget(store, tiny_park, None)
    assert Decimal(str(late["ytd_t"])) > Decimal(str(first["ytd_t"]))

    # a ledger entry (here a user factor version) may change the accounting: recomputed
    with store.connection() as conn:
        CQ.insert_factor(
            conn,
            CQ.FactorRow("test-other", 1, Decimal("0.5"), "kgCO2/kWh", "grid", "CN", 2024, "test", "test", None, ""),
        )
    assert _budget(store, tiny_park, cache) == late and (cache.hits, cache.misses) == (2, 3)


def test_network_built_once_per_park_content(tiny_park: Park) -> None:
    built: list[Park] = []

    def build(p: Park) -> object:
        built.append(p)
        return object()

    cache = NotifierCache()
    first = cache.network(tiny_park, build)  # type: ignore[arg-type]
    assert cache.network(tiny_park.model_copy(), build) is first  # type: ignore[arg-type]
    changed = tiny_park.model_copy(update={"name": tiny_park.name + " (edited)"})
    assert cache.network(changed, build) is not first and built == [tiny_park, changed]  # type: ignore[arg-type]
