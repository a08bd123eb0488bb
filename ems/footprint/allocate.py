"""Allocation of the park's consumption, supply mix and emissions to tenants, per interval, exactly.

Notation per interval t (park values from :mod:`ems.carbon.accounting`, in integer milli-units
after the carbon rounding rule ``round(x * 1000)``): consumption ``K``, supply to consumption
``re`` (local renewables), ``dg`` (direct green line), ``dis`` (storage discharge), ``grid``;
attributed CO2 ``A_loc``, ``A_mkt``. Rows j: the tenants, ``shared:unallocated``, ``park:remainder``.

1. Energy: ``E_tenant = metered (nested meters netted) + key * shared``; ``E_shared:unallocated =
   (1 - sum keys) * shared``; ``E_remainder = K - sum of the others`` (losses, unmetered loads;
   negative when sub-meters read more than the boundary balance).
2. Physical mix: ``re``, ``dg``, ``dis``, ``grid`` are each split pro rata to ``max(E_j, 0)``.
3. Market instruments on the grid energy reaching consumption, ``green = grid_to_load * (C + Z) / I``:
   a tenant's own contracts and certificates (``(C_X + Z_X) * grid_to_load / I``) cover its own
   grid energy first, capped at it; the rest of ``green`` (park instruments plus any own surplus)
   is split pro rata to each row's grid energy not yet covered; ``residual = grid - own - pooled``.
4. Emissions: ``A_loc`` is split with weights ``grid_j * EF_grid + dis_j * d_loc``; ``A_mkt`` with
   ``residual_j * EF_residual + dis_j * d_mkt`` (``d`` = storage-ledger intensity of discharge).
5. Lines: a tenant's emissions are split among its lines (and an ``other`` part) pro rata to the
   line meters' consumption in the interval.

Every split uses :func:`ems.footprint.exact.split_exact`, so for every interval and column the
rows add up to the park value exactly, hence so do period totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ems.carbon.aggregate import to_milli
from ems.carbon.run import AccountingRun
from ems.footprint.exact import split_exact, to_weights
from ems.footprint.instruments import HeldInstruments
from ems.footprint.metering import KEY_SCALE, REMAINDER, SHARED, SHARED_UNALLOCATED, Metered, MeterPlan

COLUMNS = (
    "consumption_kwh",
    "local_re_kwh",
    "direct_green_kwh",
    "discharge_kwh",
    "grid_kwh",
    "own_contract_kwh",
    "own_certificate_kwh",
    "park_instruments_kwh",
    "residual_kwh",
    "location_kg",
    "market_kg",
)
LINE_COLUMNS = ("consumption_kwh", "location_kg", "market_kg")
OTHER = "other"


@dataclass(frozen=True)
class Allocation:
    """Integer milli-unit arrays (rows x intervals) per column, the park totals they split, lines."""

    rows: list[str]
    starts: np.ndarray
    columns: dict[str, np.ndarray]  # name -> int64[R, T]
    park: dict[str, np.ndarray]  # name -> int64[T], the park value each column splits
    lines: dict[str, dict[str, np.ndarray]]  # line id -> column -> int64[T]
    line_tenant: dict[str, str]
    own_surplus_milli: dict[str, int]  # tenant -> own instrument kWh beyond its grid energy (pooled)
    coverage: dict[str, np.ndarray]  # row -> mean meter coverage [0, 1] (1 for the remainder)
    filled: dict[str, np.ndarray]

    def row(self, name: str) -> int:
        return self.rows.index(name)

    def total(self, column: str, row: str) -> int:
        return int(self.columns[column][self.row(row)].sum())


def _split(total: np.ndarray, weights: np.ndarray, fallback: int) -> np.ndarray:
    return split_exact(total, weights, fallback)


def allocate(run: AccountingRun, plan: MeterPlan, metered: Metered, held: HeldInstruments) -> Allocation:
    """Steps 1-5 of the module docstring."""
    a = run.accounts
    n = len(a.flows)
    rows = plan.rows
    nt = len(plan.tenants)
    i_un, i_rem = nt, nt + 1
    k = to_milli(a.consumption_kwh)
    # 1. energy
    shared = metered.owner_milli[SHARED]
    keys = [plan.keys_ppm[t] for t in plan.tenants] + [KEY_SCALE - sum(plan.keys_ppm.values())]
    shared_parts = _split(shared, np.array(keys, dtype=np.int64)[:, None].repeat(n, axis=1), nt)
    e = np.zeros((nt + 2, n), dtype=np.int64)
    for j, t in enumerate(plan.tenants):
        e[j] = metered.owner_milli[t] + shared_parts[j]
    e[i_un] = shared_parts[nt]
    e[i_rem] = k - e[:i_rem].sum(axis=0)
    w = np.maximum(e, 0)
    cols: dict[str, np.ndarray] = {"consumption_kwh": e}
    park: dict[str, np.ndarray] = {"consumption_kwh": k}
    # 2. physical mix
    for name, arr in (
        ("local_re_kwh", a.re_to_load_kwh),
        ("direct_green_kwh", a.direct_to_load_kwh),
        ("discharge_kwh", a.discharge_to_load_kwh),
        ("grid_kwh", a.grid_to_load_kwh),
    ):
        park[name] = to_milli(arr)
        cols[name] = _split(park[name], w, i_rem)
    grid = cols["grid_kwh"]
    # 3. instruments reaching consumption
    i_ = a.flows.grid_import_kwh
    with np.errstate(divide="ignore", invalid="ignore"):
        to_load = np.where(i_ > 0, a.grid_to_load_kwh / i_, 0.0)
    own_c = np.zeros((nt + 2, n), dtype=np.int64)
    own_z = np.zeros((nt + 2, n), dtype=np.int64)
    surplus: dict[str, int] = {}
    for j, t in enumerate(plan.tenants):
        oc = to_milli(held.contract_kwh[t] * to_load)
        oz = to_milli(held.certificate_kwh[t] * to_load)
        own_c[j] = np.minimum(oc, np.maximum(grid[j], 0))
        own_z[j] = np.minimum(oz, np.maximum(grid[j] - own_c[j], 0))
        surplus[t] = int((oc + oz - own_c[j] - own_z[j]).sum())
    green = to_milli((a.contract_kwh + a.certificate_kwh) * to_load)
    cap = np.maximum(grid - own_c - own_z, 0)
    pool = np.clip(green - own_c.sum(axis=0) - own_z.sum(axis=0), 0, cap.sum(axis=0))
    pooled = _split(pool, cap, i_rem)
    cols["own_contract_kwh"], cols["own_certificate_kwh"] = own_c, own_z
    cols["park_instruments_kwh"] = pooled
    cols["residual_kwh"] = grid - own_c - own_z - pooled
    park["own_contract_kwh"] = own_c.sum(axis=0)
    park["own_certificate_kwh"] = own_z.sum(axis=0)
    park["park_instruments_kwh"] = pool
    park["residual_kwh"] = park["grid_kwh"] - park["own_contract_kwh"] - park["own_certificate_kwh"] - pool
    # 4. emissions
    lg = a.ledger
    dis = cols["discharge_kwh"]
    park["location_kg"] = to_milli(a.attributed_kg_loc)
    park["market_kg"] = to_milli(a.attributed_kg_mkt)
    w_loc = to_weights(grid * a.grid_kg_per_kwh + dis * lg.discharge_kg_per_kwh_loc)
    w_mkt = to_weights(cols["residual_kwh"] * a.residual_kg_per_kwh + dis * lg.discharge_kg_per_kwh_mkt)
    cols["location_kg"] = _split(park["location_kg"], w_loc, i_rem)
    cols["market_kg"] = _split(park["market_kg"], w_mkt, i_rem)
    # 5. lines
    lines: dict[str, dict[str, np.ndarray]] = {}
    for j, t in enumerate(plan.tenants):
        ids = plan.line_order[t]
        if not ids:
            continue
        le = np.array([metered.line_milli[ln] for ln in ids], dtype=np.int64)
        lw = np.maximum(le, 0)
        lw = np.vstack([lw, np.maximum(np.maximum(e[j], 0) - lw.sum(axis=0), 0)])
        loc = _split(cols["location_kg"][j], lw, len(ids))
        mkt = _split(cols["market_kg"][j], lw, len(ids))
        for x, ln in enumerate(ids):
            lines[ln] = {"consumption_kwh": le[x], "location_kg": loc[x], "market_kg": mkt[x]}
    coverage = {t: metered.owner_coverage[t] for t in plan.tenants}
    coverage[SHARED_UNALLOCATED] = metered.owner_coverage[SHARED]
    coverage[REMAINDER] = np.ones(n)
    filled = {t: metered.filled[t] for t in plan.tenants}
    filled[SHARED_UNALLOCATED] = metered.filled[SHARED]
    filled[REMAINDER] = np.zeros(n, dtype=bool)
    for t in plan.tenants:  # a tenant's share of the shared meters inherits their gaps
        coverage[t] = np.minimum(coverage[t], metered.owner_coverage[SHARED]) if plan.keys_ppm[t] else coverage[t]
    return Allocation(
        rows,
        a.flows.starts,
        cols,
        park,
        lines,
        {ln: t for ln, (t, _) in plan.lines.items()},
        surplus,
        coverage,
        filled,
    )
