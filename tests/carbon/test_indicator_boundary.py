"""Issue 22: the indicators count storage losses in energy as well as in CO2 (one boundary for both).

Hand case (tiny park, battery eta_charge = eta_discharge = 0.9, no self-discharge; 15-minute intervals):
hour 1 the grid charges the battery at 200 kW (200 kWh AC -> 180 kWh stored), no load; hour 2 the
battery discharges 180 x 0.9 = 162 kWh to a 162 kW load, no import. So K = 162 kWh, losses
L = 200 - 162 = 38 kWh. Location CO2 = 200 kWh x 0.5978 kg/kWh (Jiangsu 2022, MEE/NBS) = 119.560 kg,
all of it attributed to the 162 kWh (the pool empties).

* energy = (K + L) x 0.1229 kgce/kWh = 200 x 0.0001229 = 0.024580 tce (K alone would be 0.019910)
* intensity = 0.11956 t / 0.02458 tce = 4.864117 tCO2/tce, i.e. 0.5978 / 0.1229: energy that all came
  from the grid has the grid's intensity per tce whatever storage did on the way (with K alone:
  0.11956 / 0.0199098 = 6.005083, storage would raise the intensity by 1/eta^2)
"""

from __future__ import annotations

import datetime as dt

from ems.carbon.factors import FactorRegistry
from ems.carbon.report import build_report
from ems.carbon.run import compute_run
from ems.park import parse_park
from tests.carbon.conftest import T0, carbon_park_data, energy_from_kw

P_KW = {
    "M_GRID": [200.0] * 4 + [0.0] * 4,
    "BESS1": [-200.0] * 4 + [162.0] * 4,
    "LOAD1": [0.0] * 4 + [-162.0] * 4,
    "PV1": [0.0] * 8,
    "WT1": [0.0] * 8,
}


def test_storage_losses_are_inside_the_energy_boundary_like_their_co2() -> None:
    data = carbon_park_data()
    data["carbon"]["residual_factor"] = None
    for d in data["devices"]:
        if d["id"] == "BESS1":
            d.update(eta_charge=0.9, eta_discharge=0.9, self_discharge_per_h=0.0)
    park = parse_park(data, "eta-0.9-park")
    end = T0 + dt.timedelta(hours=2)
    run = compute_run(park, energy_from_kw(T0, 15, P_KW), T0, end, FactorRegistry.published())
    report = build_report(run, software_version="test")
    assert report["totals"]["consumption_kwh"] == "162.000"
    assert report["totals"]["storage_losses_kwh"] == "38.000"
    assert report["location_based"]["attributed_emissions_kg"] == "119.560"
    ind = report["indicators"]["location"]
    assert ind["energy_tce"] == "0.024580"
    assert ind["intensity_t_per_tce"] == "4.864117"
    assert ind["clean_share"] == "0.000000"
    # the formulas the report states are the ones its figures follow: (K + L), not K alone
    formulas = report["formulas"]
    assert "(K + L) * kgce_per_kWh" in formulas["energy"] and "/ energy [tce]" in formulas["intensity"]
    assert "green share of storage losses" in formulas["clean_share"]
