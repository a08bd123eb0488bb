"""Independent oracle: the same one-year sizing problem built with PyPSA's components (generators with
availability profiles, a store with charge/discharge links, a connection link whose capacity carries
the demand charge) and solved by PyPSA/linopy gives the planner's optimal cost and capacities.

PyPSA has no certificates, indicator targets or shared charge/discharge rating, so those rows are
added through its ``extra_functionality`` hook, written here from the planner's documented equations
(``services/pathway/model/*``), not from its code. One week (168 h) standing for a whole "year"
keeps the test fast; the data have PV, wind, a battery, a direct line, a contract and certificates.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pandas as pd
import pypsa
import pytest

from services.pathway.data import SizingData
from services.pathway.solve import solve_sizing
from tests.pathway.helpers import candidate, carbon, tiny

T = 168


def _data() -> SizingData:
    rng = np.random.default_rng(3)
    h = np.arange(T) % 24
    sun = np.clip(np.sin((h - 6) / 12 * np.pi), 0, None)
    load = 1000 + 300 * np.sin((h - 9) / 24 * 2 * np.pi) + rng.uniform(0, 100, T)
    price = np.where((h >= 8) & (h < 22), 0.9, 0.3)
    wind = np.clip(0.4 + np.cumsum(rng.normal(0, 0.08, T)), 0, 1)
    return tiny(
        T,
        load_kw=load,
        price_cny_per_kwh=price,
        re_existing_kw=150 * sun,
        cf_pv=0.8 * sun,
        cf_wind=wind,
        cf_direct=np.clip(1 - wind + 0.1, 0, 1),
        direct_new_price=0.35,
        eta_charge=0.95,
        eta_discharge=0.92,
        throughput_cny_per_kwh=0.01,
        demand_charge_cny_per_kw_month=10.0,
        contract_price_cny_per_kwh=0.45,
        contract_max_kwh_per_month=30_000.0,
        certificate_price_cny_per_kwh=0.03,
        certificate_max_kwh=40_000.0,
        candidates=(
            candidate("pv:A", "9", upper=300.0),
            candidate("wind", "16", upper=500.0),
            candidate("battery_kwh", "1.5"),
            candidate("battery_kw", "2"),
            candidate("direct_kw", "6", upper=300.0),
        ),
        carbon=carbon(intensity_target=Decimal("0.20"), clean_share_target=Decimal("0.90")),
    )


def _pypsa_network(d: SizingData) -> tuple[pypsa.Network, Callable[[pypsa.Network, pd.Index], None]]:
    n = pypsa.Network()
    snaps = pd.RangeIndex(d.T)
    n.set_snapshots(snaps)
    cost = {c.name: float(c.annual_cny_per_unit) for c in d.candidates}
    for b in ("park", "grid", "battery"):
        n.add("Bus", b)
    n.add("Load", "load", bus="park", p_set=pd.Series(d.load_kw, snaps))
    n.add("Generator", "grid", bus="grid", p_nom=1e7, marginal_cost=pd.Series(d.price_cny_per_kwh, snaps))
    # a flat monthly contract: constant delivery p = V / H through the connection, paid price × V = price × H × p
    n.add(
        "Generator",
        "contract",
        bus="grid",
        p_nom_extendable=True,
        p_nom_max=d.contract_max_kwh_per_month / d.T,
        p_min_pu=1.0,
        p_max_pu=1.0,
        capital_cost=d.contract_price_cny_per_kwh * d.T,
    )
    # one settlement month: its peak is the connection's capacity, billed at the demand charge
    n.add(
        "Link",
        "connection",
        bus0="grid",
        bus1="park",
        p_nom_extendable=True,
        p_nom_max=d.import_limit_kw,
        capital_cost=d.demand_charge_cny_per_kw_month,
    )
    peak_re = float(d.re_existing_kw.max())
    n.add("Generator", "re_existing", bus="park", p_nom=peak_re, p_max_pu=pd.Series(d.re_existing_kw / peak_re, snaps))
    for name, cf in (("pv:A", d.cf_pv), ("wind", d.cf_wind)):
        n.add(
            "Generator",
            name,
            bus="park",
            p_nom_extendable=True,
            p_nom_max=d.candidate(name).upper,  # type: ignore[union-attr]
            p_max_pu=pd.Series(cf, snaps),
            capital_cost=cost[name],
        )
    n.add(
        "Generator",
        "direct",
        bus="park",
        p_nom_extendable=True,
        p_nom_max=d.candidate("direct_kw").upper,  # type: ignore[union-attr]
        p_max_pu=pd.Series(d.cf_direct, snaps),
        capital_cost=cost["direct_kw"],
        marginal_cost=d.direct_new_price,
    )
    n.add("Store", "battery", bus="battery", e_nom_extendable=True, capital_cost=cost["battery_kwh"], e_initial=0.0)
    n.add(
        "Link",
        "charge",
        bus0="park",
        bus1="battery",
        efficiency=d.eta_charge,
        p_nom_extendable=True,
        capital_cost=cost["battery_kw"],
    )
    # the link's p is the stored energy withdrawn; the park receives η_d of it (wear is per AC kWh)
    n.add(
        "Link",
        "discharge",
        bus0="battery",
        bus1="park",
        efficiency=d.eta_discharge,
        p_nom_extendable=True,
        marginal_cost=d.throughput_cny_per_kwh * d.eta_discharge,
    )

    def extra(n: pypsa.Network, snapshots: pd.Index) -> None:
        m = n.model
        p, p_nom, gen = m["Link-p"], m["Link-p_nom"], m["Generator-p"]
        # charge + discharge (AC) within the shared rating
        m.add_constraints(
            p.sel(name="charge") + d.eta_discharge * p.sel(name="discharge") - p_nom.sel(name="charge") <= 0,
            name="shared_rating",
        )
        z = m.add_variables(lower=0, upper=d.certificate_max_kwh, name="certificates")
        grid = gen.sel(name="grid").sum()
        m.add_constraints(z - grid <= 0, name="certificates_eligible")
        c = d.carbon
        ef, kgce = float(c.residual_kg_per_kwh), float(c.kgce_per_kwh)
        k = float(d.load_kw.sum())
        energy = k * kgce / 1000
        residual = grid - z
        m.add_constraints(residual * ef / 1000 <= float(c.intensity_target) * energy, name="intensity")  # type: ignore[arg-type]
        m.add_constraints(
            -residual * kgce / 1000 >= float(c.clean_share_target) * energy - k * kgce / 1000,  # type: ignore[arg-type]
            name="clean_share",
        )
        m.add_objective(m.objective.expression + d.certificate_price_cny_per_kwh * z, overwrite=True)

    n.sanitize()  # declares the carriers PyPSA's consistency check asks for (no effect on the problem)
    return n, extra


def test_pypsa_gives_the_same_optimum() -> None:
    d = _data()
    ours = solve_sizing(d)
    n, extra = _pypsa_network(d)
    status, condition = n.optimize(
        solver_name="highs", extra_functionality=extra, solver_options={"output_flag": False}
    )
    assert status == "ok", condition
    assert n.objective is not None
    assert float(n.objective) == pytest.approx(ours.objective_cny, rel=1e-6)
    built = n.generators.p_nom_opt
    # capacities: equal where the optimum is unique (tolerance in kW / kWh)
    assert ours.capacity["pv:A"] == pytest.approx(built["pv:A"], abs=0.5)
    assert ours.capacity["wind"] == pytest.approx(built["wind"], abs=0.5)
    assert ours.capacity["direct_kw"] == pytest.approx(built["direct"], abs=0.5)
    assert ours.capacity["battery_kwh"] == pytest.approx(n.stores.e_nom_opt["battery"], abs=0.5)
    assert ours.capacity["battery_kw"] == pytest.approx(n.links.p_nom_opt["charge"], abs=0.5)
    assert ours.contract_kwh == pytest.approx(built["contract"] * d.T, abs=1.0)
    # the case exercises every kind of supply (otherwise it would prove little)
    assert min(ours.capacity.values()) > 1.0 and ours.certificates_kwh > 1.0 and ours.contract_kwh > 1.0
