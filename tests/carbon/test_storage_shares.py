"""Issue 19: clean and green energy conserved through storage with eta < 1, and the three CFE definitions.

Hand case (hourly intervals, eta_c = eta_d = 0.9, no self-discharge, EF_grid 0.5366 = national
2022, EF_residual 0.5856 = national excl. market 2022, one time-matched contract delivery of 300 kWh
in hour 2, two 1 MWh certificates retired against hours [0, 4)):

    hour  I     G     Bc   Bd   K = I + G + Bd - Bc      what happens
    0     1500  0     500  0    1000                     night: the grid charges 500 → 450 stored
    1     0     2000  400  0    1600                     PV surplus charges 400 → 360 stored (clean)
    2     600   200   0    540  1340                     discharge 540 AC = 600 stored of 810
    3     1200  0     0    126  1326                     discharge 126 AC = 140 stored of 210

Certificates: eligible import I - C = 1500, 0, 300, 1200 (sum 3000): Z = 2000 * (I - C) / 3000 =
1000, 0, 200, 800. Market intensity of grid energy in hour 0: (1500 - 1000) * 0.5856 / 1500 = 0.1952.

Pool (stored kWh): after hour 0: E 450, CO2 loc 500 * 0.5366 = 268.3, mkt 500 * 0.1952 = 97.6,
carbon-free 0, green 500 * (1000 / 1500) * 0.9 = 300. After hour 1: E 810, cfe 360, green 660.
Hour 2 takes 600 / 810 = 20/27 of everything: the 540 AC kWh are 360/810 = 4/9 carbon-free
(240 kWh) and 660/810 = 22/27 green (440 kWh); the 60 kWh discharge loss carries 4/9 * 60 =
26.667 carbon-free kWh out. (Dividing by eta_d, the bug of issue 19, gave 266.667 kWh.)
Hour 3 takes 140 / 210 = 2/3 of the rest: 126 * 4/9 = 56 carbon-free, 126 * 22/27 = 102.667 green.
"""

from __future__ import annotations

from decimal import Decimal as D
from fractions import Fraction as F

import numpy as np

from ems.carbon.accounting import MarketClaims, VolumeBlock, account
from ems.carbon.balances import balances, violations
from ems.carbon.indicators import compute_indicators
from ems.carbon.matching import energytag_hourly, google_24x7, storage_aware_interval
from ems.carbon.storage_ledger import StorageParams
from ems.park import CarbonSettings
from tests.carbon.test_accounting import _flows

TZ = "Asia/Shanghai"
ETA = StorageParams(eta_charge=0.9, eta_discharge=0.9, self_discharge_per_h=0.0)
Q6 = D("0.000001")


def q6(x: F) -> D:
    return (D(x.numerator) / D(x.denominator)).quantize(Q6)


def q3(x: float | F) -> D:
    if isinstance(x, F):
        return (D(x.numerator) / D(x.denominator)).quantize(D("0.001"))
    return D(f"{float(x):.3f}")


def hand_case():  # type: ignore[no-untyped-def]
    flows = _flows([1500, 0, 600, 1200], [0, 2000, 200, 0], [0, 0, 0, 0], [500, 400, 0, 0], [0, 0, 540, 126])
    claims = MarketClaims(
        np.array([0.0, 0.0, 300.0, 0.0]),
        [(2, 300.0, "delivery:1")],
        [VolumeBlock(0, 4, 2000.0, ("GEC-1", "GEC-2"), "certificate")],
    )
    return account(flows, np.full(4, 0.5366), np.full(4, 0.5856), claims, ETA)


def test_discharged_clean_share_is_the_pool_share_not_divided_by_eta() -> None:
    acc = hand_case()
    lg = acc.ledger
    assert [q6(F(x)) for x in lg.discharge_cfe_share[2:]] == [q6(F(4, 9))] * 2
    assert [q6(F(x)) for x in lg.discharge_green_share[2:]] == [q6(F(22, 27))] * 2
    # cfe_t = renewables consumed + grid_to_load * C/I + discharge * pool share:
    # 0; 1600; 200 + 600 * 300/600 + 540 * 4/9 = 740; 126 * 4/9 = 56
    assert [q3(x) for x in acc.cfe_kwh] == [q3(F(v)) for v in (0, 1600, 740, 56)]
    # green: 1000 * 2/3; 1600; 200 + 600 * (300 + 200)/600 + 540 * 22/27 = 1140; 1200 * 800/1200 + 126 * 22/27
    green = [F(2000, 3), F(1600), F(1140), 800 + F(126 * 22, 27)]
    assert [q3(x) for x in acc.green_kwh] == [q3(v) for v in green]
    # losses: charge 50 + 40, discharge 60 + 14 = 164 kWh; carbon-free: 40 (PV charge) + (60 + 14) * 4/9
    assert q3(lg.losses_kwh.sum()) == D("164.000")
    assert q3(lg.losses_cfe_kwh.sum()) == q3(40 + F(74 * 4, 9))
    # pool at the end: 70 kWh stored, 70 * 4/9 carbon-free, CO2 268.3 * 7/81 kg location-based
    assert q3(lg.closing.stored_kwh) == D("70.000")
    assert q3(lg.closing.cfe_kwh) == q3(F(280, 9))
    assert q3(lg.closing.kg_loc) == q3(F(2683, 10) * F(7, 81))
    assert violations(balances(acc)) == []


def test_co2_balance_closes_with_the_pool_left_at_the_end() -> None:
    acc = hand_case()
    # location Scope 2: 3300 * 0.5366 = 1770.78 kg; attributed: 536.6 + (321.96 + 268.3 * 20/27)
    # + (643.92 + 268.3 * 14/81); the pool keeps 268.3 * 7/81
    c = F(2683, 10)
    attributed = F(5366, 10) + F(32196, 100) + c * F(20, 27) + F(64392, 100) + c * F(14, 81)
    assert q3(acc.import_kg_loc.sum()) == D("1770.780")
    assert q3(acc.attributed_kg_loc.sum()) == q3(attributed)
    assert q3(attributed + c * F(7, 81)) == D("1770.780")
    assert abs(balances(acc).co2_loc_kg) < 1e-9 and abs(balances(acc).co2_mkt_kg) < 1e-9


def test_cfe_scores_of_the_hand_case() -> None:
    acc = hand_case()
    k = F(1000 + 1600 + 1340 + 1326)  # 5266
    # storage-aware interval CFE: (0 + 1600 + 740 + 56) / 5266 = 2396 / 5266 (was 0.46... with the bug)
    assert storage_aware_interval(acc, TZ).cfe_score == q6(F(2396) / k)
    # hourly intervals and no contract excess: EnergyTag hourly matching gives the same here
    assert energytag_hourly(acc, TZ).cfe_score == q6(F(2396) / k)
    # Google 24/7 with a 0.355435 grid share: hours 0, 2, 3 credit the unmatched rest
    f = F(355435, 1000000)
    hours = [(F(1000), F(0)), (F(1600), F(1600)), (F(1340), F(740)), (F(1326), F(56))]
    rest = [round((kh - m) * f * 1000) for kh, m in hours]  # grid credit in whole Wh (half-even)
    matched = sum(m for _, m in hours) + F(sum(rest), 1000)
    assert google_24x7(acc, TZ, np.full(4, 0.355435)).cfe_score == q6(matched / k)


def test_pv_only_charged_battery_keeps_the_clean_share_at_most_one() -> None:
    # hour 0: PV 1000, consumption 500, 500 charged → 450 stored; hour 1: 405 AC out = 450 stored,
    # the whole consumption (no grid at all). Clean energy = consumption = 905 kWh, share exactly 1;
    # the old 1/eta_d formula gave 500 + 405 / 0.9 = 950 kWh (105 %) and passed the 90 % threshold.
    flows = _flows([0, 0], [1000, 0], [0, 0], [500, 0], [0, 405])
    acc = account(flows, 0.5366, 0.5856, MarketClaims.none(2), ETA)
    assert [q3(x) for x in acc.cfe_kwh] == [D("500.000"), D("405.000")]
    assert (acc.cfe_kwh <= acc.consumption_kwh + 1e-9).all()
    assert storage_aware_interval(acc, TZ).cfe_score == D("1.000000")
    settings = CarbonSettings(grid_factor="cn-national-2022", annual_budget_tco2=D(1))
    ind = compute_indicators("market", D("905"), D("0"), D(f"{acc.green_kwh.sum():.3f}"), D(0), settings, D(1))
    assert ind.clean_share == D("1.000000")
    assert violations(balances(acc)) == []


def test_the_three_cfe_definitions_differ_where_they_should() -> None:
    """15-minute intervals of one hour, consumption 100 kWh each (hand values below).

    q0: PV 150 (50 exported), a time-matched contract delivery of 60 kWh with no grid import:
        capped at import → 0 counted per interval, 60 kWh excess.
    q1..q3: grid 100 each, contract 20 in q1.
    storage-aware interval: matched = 100 + 20 + 0 + 0 = 120 of 400 → 0.3
    EnergyTag hourly: the excess 60 kWh of q0 matches the hour: min(400, 120 + 60) = 180 → 0.45
    Google 24/7 (grid share 0.5): 180 + (400 - 180) * 0.5 = 290 → 0.725
    """
    flows = _flows([0, 100, 100, 100], [150, 0, 0, 0], [0] * 4, [0] * 4, [0] * 4, x=[50, 0, 0, 0], minutes=15)
    claims = MarketClaims(np.array([60.0, 20.0, 0.0, 0.0]))
    acc = account(flows, 0.5366, 0.5856, claims, ETA)
    assert storage_aware_interval(acc, TZ).cfe_score == D("0.300000")
    assert energytag_hourly(acc, TZ).cfe_score == D("0.450000")
    assert google_24x7(acc, TZ, np.full(4, 0.5)).cfe_score == D("0.725000")
    # no grid carbon-free share known: the Google score is not available rather than zero
    assert google_24x7(acc, TZ, None).cfe_score is None
