"""The on-disk spool: bound, order, persistence; and polling across a database outage and restart."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from device_drivers.poller import Poller
from device_drivers.simulator import ParkSimulator
from device_drivers.spool import Spool, SpoolingSink
from ems.park import Park
from ems.store import Store
from ems.store.errors import StoreUnavailable
from ems.telemetry import IngestResult, ReadingBatch
from tests.device_drivers.helpers import tune, wait_for


def _batch(first: int, n: int) -> ReadingBatch:
    """n rows with times first..first+n-1 µs and value = time, so order is checkable."""
    t = np.arange(first, first + n, dtype=np.int64)
    return ReadingBatch(
        t,
        np.array(["PV1"] * n, dtype=object),
        np.array(["p_kw"] * n, dtype=object),
        t.astype(np.float64),
        np.zeros(n, dtype=np.int16),
    )


def test_bound_drops_oldest_and_counts(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.sqlite", max_rows=25)
    dropped = [spool.append(_batch(10 * k, 10)) for k in range(3)]
    assert dropped == [0, 0, 5]  # 30 rows into 25 places: the 5 oldest go
    assert len(spool) == 25 and spool.dropped == 5
    _, batch = spool.peek(100)
    assert batch.time_us.tolist() == list(range(5, 30))  # oldest first, nothing reordered
    spool.close()
    reopened = Spool(tmp_path / "s.sqlite", max_rows=25)  # survives a process restart
    assert len(reopened) == 25 and reopened.dropped == 5
    last, first10 = reopened.peek(10)
    reopened.remove_through(last)
    assert first10.time_us.tolist() == list(range(5, 15))
    assert reopened.peek(1)[1].time_us.tolist() == [15]
    reopened.close()


class Recorder:
    """A sink that keeps what it got and raises StoreUnavailable while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.rows: list[int] = []

    def ingest(self, batch: ReadingBatch) -> IngestResult:
        if self.down:
            raise StoreUnavailable("test outage")
        self.rows += batch.time_us.tolist()
        return IngestResult(submitted=len(batch), accepted=len(batch))


def test_spooling_sink_replays_in_order_exactly_once(tmp_path: Path) -> None:
    inner = Recorder()
    sink = SpoolingSink(inner, Spool(tmp_path / "s.sqlite"), replay_chunk=7, retry_s=0.0)
    sink.ingest(_batch(0, 10))
    inner.down = True
    for k in range(1, 5):
        sink.ingest(_batch(10 * k, 10))
    assert len(sink.spool) == 40 and inner.rows == list(range(10))
    inner.down = False
    sink.ingest(_batch(50, 10))  # queued behind the spooled rows, replayed in 7-row chunks
    assert inner.rows == list(range(60))
    assert len(sink.spool) == 0 and sink.spool.dropped == 0


class Outage:
    """Pass-through to the real store that raises StoreUnavailable while ``down`` (the network path is cut)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.down = False

    def ingest(self, batch: ReadingBatch) -> IngestResult:
        if self.down:
            raise StoreUnavailable("simulated outage")
        return self.store.ingest(batch, source="modbus")


class Tee:
    """Records every batch the poller emits before handing it on."""

    def __init__(self, inner: SpoolingSink) -> None:
        self.inner = inner
        self.batches: list[ReadingBatch] = []

    def ingest(self, batch: ReadingBatch) -> IngestResult:
        self.batches.append(batch)
        return self.inner.ingest(batch)


async def test_polling_across_database_restart_loses_nothing(
    demo_free: Park, demo_store: Store, restart_pg: Callable[[], None], tmp_path: Path
) -> None:
    park = tune(demo_free, interval_s=0.2)
    served = ["PV_CELLS", "BESS", "LOAD_CELLS", "M_GRID", "WIND"]
    outage = Outage(demo_store)
    spooling = SpoolingSink(outage, Spool(tmp_path / "spool.sqlite"), retry_s=0.2)
    tee = Tee(spooling)
    start = dt.datetime(2026, 6, 21, 4, 0, tzinfo=dt.UTC)
    async with ParkSimulator(park, seed=9, start=start, devices=served):
        poller = Poller.from_park(park, sink=tee, device_ids=served, flush_interval_s=0.2)
        await poller.start()
        try:
            await asyncio.sleep(0.6)
            outage.down = True
            await asyncio.to_thread(restart_pg)  # the real server restarts inside the outage
            await wait_for(lambda: len(spooling.spool) > 100, 5, "rows spooled during the outage")
            spooled_max = len(spooling.spool)
            outage.down = False
            await wait_for(lambda: len(spooling.spool) == 0, 10, "spool replayed")
            await asyncio.sleep(0.4)
        finally:
            await poller.stop()
    # a batch flushed at shutdown may still sit in the spool (on disk, not lost): a restarted
    # poller replays it first, as here
    final = spooling.replay()
    assert len(spooling.spool) == 0
    assert not final.rejected, final.rejected[:5]
    produced = ReadingBatch.concat(tee.batches)
    assert spooled_max > 100
    assert poller.stats.sink_errors == 0
    assert not poller.stats.rejected, poller.stats.rejected
    assert spooling.spool.dropped == 0
    # every row the poller produced is in PostgreSQL exactly once
    assert demo_store.count() == len(produced)
    for dev, q in [("BESS", "soc_pct"), ("M_GRID", "p_kw"), ("WIND", "wind_speed_m_s")]:
        sel = (produced.device == dev) & (produced.quantity == q)
        t, v = demo_store.raw(dev, q, start.replace(year=2000), dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
        assert t.tolist() == sorted(produced.time_us[sel].tolist())
        np.testing.assert_allclose(v, produced.value[sel][np.argsort(produced.time_us[sel])])


@pytest.mark.parametrize("max_rows", [50])
def test_overflow_is_counted(tmp_path: Path, max_rows: int) -> None:
    inner = Recorder()
    inner.down = True
    sink = SpoolingSink(inner, Spool(tmp_path / "s.sqlite", max_rows=max_rows), retry_s=0.0)
    for k in range(8):
        sink.ingest(_batch(10 * k, 10))
    assert sink.spool.dropped == 80 - max_rows
    inner.down = False
    sink.replay()
    assert inner.rows == list(range(80 - max_rows, 80))  # what survived the bound, in order
