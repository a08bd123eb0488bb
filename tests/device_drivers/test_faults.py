"""Fault injection on one simulated device: health transitions, quality flags, no effect on the others.

Timing: interval 0.2 s, timeout 0.3 s. Back-off after k failures is 0.2 · 2**(k-1) s,
so three consecutive timeouts (offline) take 3 × 0.3 + 0.2 + 0.4 = 1.5 s.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from device_drivers.health import State, backoff_s
from device_drivers.poller import Poller
from device_drivers.simulator import ParkSimulator
from ems.park import Park
from ems.quantities import Quality
from tests.device_drivers.helpers import tune, wait_for

VICTIM = "PV_CELLS"
OTHERS = ["M_GRID", "LOAD_CELLS", "WIND", "BESS"]
START = dt.datetime(2026, 6, 21, 4, 0, tzinfo=dt.UTC)  # local noon: PV produces


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_s(k, 1.0, 30.0) for k in range(7)] == [1.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0]


async def _others_keep_pace(poller: Poller, window_s: float) -> None:
    """Every other device keeps being polled at its interval and stays ok while the victim fails."""
    before = {d: poller.devices[d].health.polls for d in OTHERS}
    await asyncio.sleep(window_s)
    for d in OTHERS:
        h = poller.devices[d].health
        polls = h.polls - before[d]
        assert polls >= 0.75 * window_s / 0.2, f"{d} polled {polls} times in {window_s} s"
        assert h.state == State.OK, (d, h.last_error)
        assert h.failures == 0


@pytest.mark.parametrize(
    ("kind", "expected_state", "error"),
    [
        ("no_answer", State.OFFLINE, "DeviceTimeout"),
        ("refuse", State.OFFLINE, "ConnectionRefused"),
        ("exception", State.DEGRADED, "code 4"),
        ("slow", State.DEGRADED, "slow answer"),
        ("garbage", State.DEGRADED, "implausible"),
    ],
)
async def test_fault_kinds(demo_free: Park, kind: str, expected_state: State, error: str) -> None:
    park = tune(demo_free)
    served = [VICTIM, *OTHERS]
    async with ParkSimulator(park, seed=3, speed=1.0, start=START, devices=served) as sim:
        poller = Poller.from_park(park, device_ids=served)
        await poller.start()
        try:
            await wait_for(lambda: all(poller.state_of(d) == State.OK for d in served), 3, "all ok")
            poller.take_batch()
            await sim.inject_fault(VICTIM, kind, delay_s=0.2)
            await wait_for(lambda: poller.state_of(VICTIM) == expected_state, 3, f"{VICTIM} {expected_state}")
            assert error in poller.devices[VICTIM].health.last_error
            await _others_keep_pace(poller, 1.0)
            batch = poller.take_batch()
            victim_rows = batch.device == VICTIM
            if kind in ("no_answer", "refuse", "exception"):
                # no readings from a failing device (at most one poll that was in flight at injection)
                assert victim_rows.sum() <= len(poller.devices[VICTIM].driver.feeds)
            if kind == "slow":  # answered, but every reading flagged suspect
                assert victim_rows.any()
                assert set(batch.quality[victim_rows].tolist()) == {int(Quality.SUSPECT)}
            if kind == "garbage":  # the blown-up power is flagged BAD, the rest SUSPECT
                p = victim_rows & (batch.quantity == "p_kw")
                assert p.any() and set(batch.quality[p].tolist()) == {int(Quality.BAD)}
                assert batch.value[p].min() > 1.25 * 10_000  # beyond the validator's bound for 10 MW
            # other devices' readings stay GOOD
            assert set(batch.quality[~victim_rows].tolist()) == {int(Quality.GOOD)}
            await sim.clear_fault(VICTIM)
            # recovery: the back-off is at most 0.8 s here, plus rediscovery
            await wait_for(lambda: poller.state_of(VICTIM) == State.OK, 4, f"{VICTIM} back to ok")
        finally:
            await poller.stop()


async def test_health_sequence_for_a_dead_device(demo_free: Park) -> None:
    """ok -> degraded (1st, 2nd timeout) -> offline (3rd); attempts spaced by the back-off."""
    park = tune(demo_free)
    async with ParkSimulator(park, seed=3, start=START, devices=[VICTIM]) as sim:
        poller = Poller.from_park(park, device_ids=[VICTIM])
        await poller.start()
        try:
            h = poller.devices[VICTIM].health
            await wait_for(lambda: h.state == State.OK, 3, "ok")
            await sim.inject_fault(VICTIM, "no_answer")
            seen: list[tuple[int, State]] = []
            while h.consecutive_failures < 4:
                if not seen or seen[-1][0] != h.consecutive_failures:
                    seen.append((h.consecutive_failures, h.state))
                await asyncio.sleep(0.01)
            assert seen[:4] == [(0, State.OK), (1, State.DEGRADED), (2, State.DEGRADED), (3, State.OFFLINE)]
            # the 4th attempt comes 0.8 s after the 3rd failure: 4 attempts take 4 × 0.3 + 0.2 + 0.4 + 0.8 s
            assert h.polls >= 4
        finally:
            await poller.stop()
