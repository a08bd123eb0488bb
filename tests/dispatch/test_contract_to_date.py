"""Issue 15: a green contract's month-to-date delivery is carried into each re-plan, so the rest of the
volume is planned over the rest of the month (dispatch.from_park._contract_blocks)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyomo.environ as pyo
import pytest

from dispatch.from_park import problem_from_park
from dispatch.mpc import RollingHorizon
from dispatch.solver import Dispatcher
from ems.forecast import Forecast
from ems.park import Park
from ems.store import Store
from ems.synthetic import synthesize_truth
from services.month_to_date import contract_delivered_kwh

# 2026-06-11 00:00 Beijing time: 10 of June's 30 days are over, 20 days = 480 h remain
JUNE_11 = dt.datetime(2026, 6, 10, 16, 0, tzinfo=dt.UTC)


def _forecast(park: Park, start: dt.datetime, n: int = 96) -> Forecast:
    truth = synthesize_truth(park, JUNE_11, 200, seed=5)
    k = int((start - JUNE_11) / dt.timedelta(minutes=15))
    cut = slice(k, k + n)
    return Forecast(
        start,
        15,
        {d: a[cut] for d, a in truth.pv_kw.items()},
        {d: a[cut] for d, a in truth.wind_kw.items()},
        {d: a[cut] for d, a in truth.load_kw.items()},
    )


def _band_mwh(park: Park, delivered_kwh: float | None) -> tuple[float, float]:
    delivered = None if delivered_kwh is None else {"GPT-2026-OFFSHORE": delivered_kwh}
    p = problem_from_park(park, _forecast(park, JUNE_11), contract_delivered_kwh=delivered)
    (blk,) = p.contracts[0].blocks
    assert (blk.t0, blk.t1) == (0, 96)
    return blk.e_min_kwh / 1000, blk.e_max_kwh / 1000


def test_the_rest_of_the_volume_is_spread_over_the_rest_of_the_month(demo_park: Park) -> None:
    # Demo contract: 3000 MWh per month ± 10 % → band 2700..3300 MWh. One day of a 30-day month:
    # without carry-over 2700/30 = 90 .. 3300/30 = 110 MWh.
    assert _band_mwh(demo_park, None) == pytest.approx((90.0, 110.0))
    # 800 MWh delivered by 11 June (behind): (2700 − 800)/20 = 95 .. (3300 − 800)/20 = 125 MWh today
    assert _band_mwh(demo_park, 800_000.0) == pytest.approx((95.0, 125.0))
    # 1000 MWh delivered (exactly pro rata): (2700 − 1000)/20 = 85 .. (3300 − 1000)/20 = 115 MWh
    assert _band_mwh(demo_park, 1_000_000.0) == pytest.approx((85.0, 115.0))
    # 3400 MWh delivered: the band is already exceeded, nothing more may be taken
    assert _band_mwh(demo_park, 3_400_000.0) == pytest.approx((0.0, 0.0))


def test_carry_over_reaches_the_plan_and_the_in_place_update(demo_park: Park) -> None:
    """The band is a row side (Pyomo Param) that the in-place LP update changes; the updated re-solve
    equals a fresh solve of the same problem, and the planned take follows the band. Both re-plans start at
    the same interval (a settlement import arrived in between), so only the carried volume changes."""
    mpc = RollingHorizon(demo_park)
    socs = dict.fromkeys([b.id for b in demo_park.devices_of("battery")], 0.5)
    takes = []
    for delivered in (1_000_000.0, 3_250_000.0):
        s = mpc.step(_forecast(demo_park, JUNE_11), socs, contract_delivered_kwh={"GPT-2026-OFFSHORE": delivered})
        assert s.status == "optimal"
        takes.append(float(s.contract_kw["GPT-2026-OFFSHORE"].sum() * 0.25))
    assert mpc.dispatcher.in_place_updates == 1
    # second re-plan: 3300 − 3250 = 50 MWh left over 480 h; this horizon (24 h) may take at most 50·24/480 = 2.5 MWh
    assert takes[1] <= 2_500 + 1e-3
    assert takes[1] < takes[0] <= 115_000 + 1e-3  # the first re-plan: band 85..115 MWh, wind-capped below it
    fresh = Dispatcher()
    assert mpc.last_problem is not None
    ref = fresh.solve(mpc.last_problem)
    assert fresh.model is not None and mpc.dispatcher.model is not None
    assert pyo.value(mpc.dispatcher.model.obj_cost) == pytest.approx(pyo.value(fresh.model.obj_cost), rel=1e-6)
    assert float(s.contract_kw["GPT-2026-OFFSHORE"].sum()) == pytest.approx(
        float(np.sum(ref.contract_kw["GPT-2026-OFFSHORE"])), abs=1e-3
    )


def test_planner_reads_month_to_date_deliveries_from_the_contract_ledger(demo_store: Store, demo_park: Park) -> None:
    # Ledger (Beijing time): May, 3000 MWh (last month: not counted); 1..6 June 500 MWh, replaced by a
    # corrected 600 MWh; 6..16 June 1000 MWh, half of it (5 of 10 days) before 11 June 00:00 → 500 MWh;
    # another contract's 70 MWh is not this contract's. Month to date: 600 + 500 = 1100 MWh.
    from ems.store.carbon_queries import insert_delivery
    from entrypoints.operate.mpc_step import Planner

    def local(m: int, d: int) -> dt.datetime:
        return dt.datetime(2026, m, d, tzinfo=demo_park.tz)

    gpt, one = "GPT-2026-OFFSHORE", Decimal(1)
    with demo_store.connection() as conn:
        insert_delivery(conn, gpt, local(5, 1), local(6, 1), Decimal(3_000_000), "period", one, "may", None)
        first = insert_delivery(conn, gpt, local(6, 1), local(6, 6), Decimal(500_000), "period", one, "a", None)
        insert_delivery(conn, gpt, local(6, 1), local(6, 6), Decimal(600_000), "period", one, "a2", first.delivery_id)
        insert_delivery(conn, gpt, local(6, 6), local(6, 16), Decimal(1_000_000), "period", one, "b", None)
        insert_delivery(conn, "OTHER", local(6, 1), local(6, 6), Decimal(70_000), "period", one, "x", None)
    planner = Planner(demo_park, demo_store, ac_check=False)
    assert contract_delivered_kwh(planner.store, planner.park, JUNE_11) == pytest.approx({gpt: 1_100_000.0})


def test_unsettled_intervals_count_what_the_executed_plans_delivered(demo_store: Store, demo_park: Park) -> None:
    # Ledger (Beijing time): 1..6 June 600 MWh and 6 June..10 June 23:00 900 MWh; nothing settled for the
    # last hour before 11 June 00:00. Two MPC plans for it: from 23:00, 2000 kW in each of 4 intervals;
    # from 23:30 (re-planned, executed for 23:30 and 23:45), 3000 kW. Delivered in that hour:
    # 2 × 0.25 h × 2000 kW + 2 × 0.25 h × 3000 kW = 2500 kWh. Month to date 600,000 + 900,000 + 2,500 kWh.
    from ems.store.carbon_queries import insert_delivery
    from ems.store.schedules import ScheduleInterval, ScheduleRecord, save_schedule
    from entrypoints.operate.mpc_step import Planner

    gpt, one = "GPT-2026-OFFSHORE", Decimal(1)
    tz = demo_park.tz
    late = dt.datetime(2026, 6, 10, 23, 0, tzinfo=tz)

    def plan(start: dt.datetime, n: int, kw: float) -> ScheduleRecord:
        rows = [
            ScheduleInterval(
                start + k * dt.timedelta(minutes=15), 0.0, 0.0, 0.0, kw, 0.0, 0.0, 0.0, 0.0, {gpt: {"p_kw": kw}}
            )
            for k in range(n)
        ]
        return ScheduleRecord(start, 15, "lp", "optimal", "lexicographic", "optimal", None, 0.0, {}, {}, rows)

    with demo_store.connection() as conn:
        insert_delivery(
            conn,
            gpt,
            dt.datetime(2026, 6, 1, tzinfo=tz),
            dt.datetime(2026, 6, 6, tzinfo=tz),
            Decimal(600_000),
            "period",
            one,
            "a",
            None,
        )
        insert_delivery(conn, gpt, dt.datetime(2026, 6, 6, tzinfo=tz), late, Decimal(900_000), "period", one, "b", None)
        save_schedule(conn, plan(late, 4, 2000.0), "mpc")
        save_schedule(conn, plan(late + dt.timedelta(minutes=30), 4, 3000.0), "mpc")
        save_schedule(conn, plan(late, 8, 1000.0), "day_ahead")  # executed only where no MPC plan was made
    planner = Planner(demo_park, demo_store, ac_check=False)
    assert contract_delivered_kwh(planner.store, planner.park, JUNE_11) == pytest.approx({gpt: 1_502_500.0})
    # an hour later: the MPC plans reach 00:30; the day-ahead plan was executed at 00:30 and 00:45,
    # 2 × 0.25 h × 1000 kW = 500 kWh more: 600,000 + 900,000 + 1,000 + 3,000 + 500
    later = JUNE_11 + dt.timedelta(hours=1)
    assert contract_delivered_kwh(planner.store, planner.park, later) == pytest.approx({gpt: 1_504_500.0})


def test_a_re_plan_during_the_day_schedules_what_is_left_of_the_flexible_energy(
    demo_store: Store, demo_park: Park
) -> None:
    # The EV hub shifts 8000 kWh a day over 00:00-23:59 (96 intervals, base 8000 / 24 h = 333.3 kW). Plans
    # executed from midnight to 02:00 gave it 1000 kW: 8 × 0.25 h × 1000 kW = 2000 kWh. A day-ahead plan
    # from 02:00 then has 8000 - 2000 = 6000 kWh left for the day, not the pro-rated 22/24 of 8000.
    from ems.store.schedules import ScheduleInterval, ScheduleRecord, save_schedule
    from services.month_to_date import flex_delivered_kwh
    from services.planning import plan_from_store

    (hub,) = [ld.id for ld in demo_park.devices_of("load") if ld.flexibility is not None]
    midnight = dt.datetime(2026, 6, 11, tzinfo=demo_park.tz)
    two = midnight + dt.timedelta(hours=2)
    assert flex_delivered_kwh(demo_store, demo_park, two) == {}  # no plan executed: unknown, pro-rated

    def plan(start: dt.datetime, n: int) -> ScheduleRecord:
        rows = [
            ScheduleInterval(start + k * dt.timedelta(minutes=15), 0, 0, 0, 0, 0, 0, 0, 0, {hub: {"p_kw": 1000.0}})
            for k in range(n)
        ]
        return ScheduleRecord(start, 15, "lp", "optimal", "lexicographic", "optimal", None, 0.0, {}, {}, rows)

    with demo_store.connection() as conn:
        save_schedule(conn, plan(midnight, 7), "mpc")  # up to 01:45
    assert flex_delivered_kwh(demo_store, demo_park, two) == {}  # 01:45 not covered: still unknown
    with demo_store.connection() as conn:
        save_schedule(conn, plan(midnight + dt.timedelta(minutes=105), 1), "mpc")
    assert flex_delivered_kwh(demo_store, demo_park, two) == pytest.approx({hub: 2000.0})
    res = plan_from_store(demo_store, demo_park, two, intervals=96, ac_check=False, save=False)
    (flex,) = res.problem.flex
    # the rest of today (88 intervals, at most 66,000 kWh): 6000 kWh; pro-rated it would be 7333, unknown 8000
    assert (flex.blocks[0].t0, flex.blocks[0].t1) == (0, 88)
    assert flex.blocks[0].e_min_kwh == pytest.approx(6000.0)
