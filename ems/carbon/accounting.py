"""Carbon accounting per interval: energy allocation, both Scope 2 methods, storage ledger.

Pure functions over numpy arrays (float64, kWh and kgCO2). Notation per interval t:

* ``I`` grid import, ``X`` export (grid-connection meter), ``G`` local renewables (PV + wind),
  ``D`` direct green import (green-connection meter), ``Bc``/``Bd`` battery charge/discharge.
* Park consumption (boundary balance, includes network losses and unmetered loads)::

      K = I + G + D + Bd - Bc - X            (clamped at 0; a negative balance is a metering
                                              error, reported as imbalance and served as
                                              unknown-origin energy at grid intensity)

* Allocation of sources to uses (fixed merit order, documented in docs/carbon_methodology.md):
  zero-carbon supply (G, then D) serves consumption, then charging, then export; discharge
  serves consumption, then export, then charging (recirculation); the grid serves what
  remains in the order consumption, charging, export.
* Location-based (GHG Protocol Scope 2): ``E_loc = I * EF_grid``.
* Market-based: green-contract deliveries ``C = min(C_requested, I)`` and retired certificates
  ``Z <= I - C`` carry zero; the remainder uses the residual factor:
  ``E_mkt = (I - C - Z) * EF_residual``.
* Consumption-attributed CO2 (the park emission factor's numerator) moves the CO2 of energy
  charged into the battery to the interval where it is discharged (storage ledger)::

      A = grid_to_load * g(t) + discharge_to_load * intensity_of_pool(t)

  with ``g_loc = EF_grid`` and ``g_mkt = E_mkt / I``. Reconciliation over a period:
  ``sum(E) + unknown_origin + imbalance CO2 = sum(A) + exported CO2 + (pool CO2 at end - at start)``.
* Carbon-free and green energy consumed (energy shares, never above K)::

      cfe   = re_to_load + direct_to_load + grid_to_load * C_time_matched / I
              + discharge_to_load * (carbon-free share of the pool)
      green = re_to_load + direct_to_load + grid_to_load * (C + Z) / I
              + discharge_to_load * (green share of the pool)

  The balances and invariants are checked in :mod:`ems.carbon.balances`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np

from ems.carbon.storage_ledger import ChargeSources, LedgerResult, StorageParams, run_ledger


@dataclass(frozen=True)
class IntervalFlows:
    """Metered (and gap-filled) boundary energies per interval [kWh], all >= 0."""

    starts: np.ndarray  # datetime64[us], UTC interval starts
    interval_minutes: int
    grid_import_kwh: np.ndarray
    export_kwh: np.ndarray
    local_re_kwh: np.ndarray
    direct_green_kwh: np.ndarray
    charge_kwh: np.ndarray
    discharge_kwh: np.ndarray
    load_metered_kwh: np.ndarray  # sum of load meters (information; K comes from the boundary)
    completeness: np.ndarray  # [0, 1]
    estimated: np.ndarray  # bool: some value in the interval was filled

    def __len__(self) -> int:
        return len(self.starts)

    def slice(self, i0: int, i1: int) -> IntervalFlows:
        return IntervalFlows(
            self.starts[i0:i1],
            self.interval_minutes,
            self.grid_import_kwh[i0:i1],
            self.export_kwh[i0:i1],
            self.local_re_kwh[i0:i1],
            self.direct_green_kwh[i0:i1],
            self.charge_kwh[i0:i1],
            self.discharge_kwh[i0:i1],
            self.load_metered_kwh[i0:i1],
            self.completeness[i0:i1],
            self.estimated[i0:i1],
        )


@dataclass(frozen=True)
class VolumeBlock:
    """A volume claimed over intervals [i0, i1): allocated pro rata to the eligible grid import there.

    ``basis_kwh`` is the eligible energy of the block's whole period when that period reaches
    outside the computed window (recorded with the ledger entry); None when the window holds
    the whole period, so the basis is the eligible energy in the window itself.
    """

    i0: int
    i1: int
    kwh: float
    refs: tuple[str, ...]  # ledger entries supporting the claim (delivery ids, certificate serials)
    kind: str  # "contract_period" or "certificate"
    basis_kwh: float | None = None


@dataclass(frozen=True)
class MarketClaims:
    contract_interval_kwh: np.ndarray  # time-matched deliveries per interval (before the cap at import)
    contract_interval_refs: list[tuple[int, float, str]] = field(default_factory=list)  # (t, kWh, delivery id)
    blocks: list[VolumeBlock] = field(default_factory=list)

    @classmethod
    def none(cls, n: int) -> MarketClaims:
        return cls(np.zeros(n))

    def slice(self, i0: int, i1: int) -> MarketClaims:
        """Intervals [i0, i1): time-matched deliveries re-indexed; blocks clipped to the slice."""
        refs = [(t - i0, kwh, ref) for t, kwh, ref in self.contract_interval_refs if i0 <= t < i1]
        blocks = [
            replace(b, i0=max(b.i0, i0) - i0, i1=min(b.i1, i1) - i0) for b in self.blocks if b.i0 < i1 and b.i1 > i0
        ]
        return MarketClaims(self.contract_interval_kwh[i0:i1], refs, blocks)


@dataclass(frozen=True)
class BlockAllocation:
    block: VolumeBlock
    allocated_kwh: float
    unallocated_kwh: float  # claimed beyond the eligible import: not counted, flagged
    per_interval_kwh: np.ndarray  # over the block's intervals [i0, i1)
    basis_kwh: float = 0.0  # the eligible energy the volume was spread over (allocate_blocks)

    def within(self, i0: int, i1: int) -> BlockAllocation:
        """The part allocated inside intervals [i0, i1), re-indexed from i0."""
        lo, hi = max(self.block.i0, i0), min(self.block.i1, i1)
        part = self.per_interval_kwh[lo - self.block.i0 : hi - self.block.i0]
        block = replace(self.block, i0=lo - i0, i1=hi - i0)
        return BlockAllocation(block, float(part.sum()), self.unallocated_kwh, part, self.basis_kwh)


@dataclass(frozen=True)
class Accounts:
    """Per-interval results (arrays of length T) plus the block allocations and the ledger."""

    flows: IntervalFlows
    consumption_kwh: np.ndarray
    imbalance_kwh: np.ndarray
    re_to_load_kwh: np.ndarray  # local renewables consumed directly
    direct_to_load_kwh: np.ndarray
    clean_to_charge_kwh: np.ndarray
    grid_to_load_kwh: np.ndarray
    grid_to_charge_kwh: np.ndarray
    grid_to_export_kwh: np.ndarray
    discharge_to_load_kwh: np.ndarray
    discharge_to_export_kwh: np.ndarray
    contract_kwh: np.ndarray  # all green-contract energy claimed (capped)
    contract_interval_kwh: np.ndarray  # time-matched part
    contract_excess_kwh: np.ndarray  # per-interval deliveries above grid import (not claimable)
    certificate_kwh: np.ndarray
    residual_kwh: np.ndarray  # grid import left for the residual factor
    grid_kg_per_kwh: np.ndarray
    residual_kg_per_kwh: np.ndarray
    import_kg_loc: np.ndarray  # boundary (Scope 2) emissions
    import_kg_mkt: np.ndarray
    attributed_kg_loc: np.ndarray  # consumption-attributed emissions (storage ledger applied)
    attributed_kg_mkt: np.ndarray
    exported_kg_loc: np.ndarray
    exported_kg_mkt: np.ndarray
    imbalance_kg_loc: np.ndarray  # CO2 of the unknown-origin energy of a negative balance (grid intensity)
    imbalance_kg_mkt: np.ndarray
    cfe_kwh: np.ndarray  # carbon-free energy consumed, matched in the same interval
    green_kwh: np.ndarray  # consumption covered by renewables or any market instrument
    ledger: LedgerResult
    allocations: list[BlockAllocation]

    def __len__(self) -> int:
        return len(self.consumption_kwh)

    def slice(self, i0: int, i1: int) -> Accounts:
        """Intervals [i0, i1) of a longer run: the storage pool opens with its state at i0, and each
        block's allocation is what it allocated inside the slice (its unallocated part stays whole)."""
        arrays = {
            f.name: getattr(self, f.name)[i0:i1]
            for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray) and getattr(self, f.name).shape == (len(self),)
        }
        allocs = [al.within(i0, i1) for al in self.allocations if al.block.i0 < i1 and al.block.i1 > i0]
        return replace(
            self, **arrays, flows=self.flows.slice(i0, i1), ledger=self.ledger.slice(i0, i1), allocations=allocs
        )


def _take(supply: np.ndarray, need: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Serve ``need`` from ``supply``: (served, supply left, need left)."""
    served = np.minimum(supply, need)
    return served, supply - served, need - served


def _whole_milli(x: np.ndarray) -> np.ndarray:
    """Round kWh to whole Wh by largest remainder, so the rounded parts add up to the rounded total.

    Ties go to the earlier interval (stable sort), which keeps the result deterministic. Worked
    example in docs/carbon_methodology.md section 7.
    """
    raw = np.round(x * 1000.0, 6)  # 1e-6 Wh grid: float noise must not move a Wh or break a tie
    floor = np.floor(raw)
    short = round(float(raw.sum())) - int(floor.sum())
    if short > 0:
        order = np.argsort(-(raw - floor), kind="stable")[:short]
        floor[order] += 1.0
    return floor / 1000.0


def allocate_blocks(available: np.ndarray, blocks: list[VolumeBlock]) -> tuple[np.ndarray, list[BlockAllocation]]:
    """Spread each block over its intervals pro rata to ``available`` kWh, never above it.

    ``alloc_t = avail_t * min(1, V / basis)`` for t in [i0, i1), where ``basis = sum(avail)``
    over the block (or the recorded basis when the block's period reaches outside the window,
    so a partial window gets its pro-rata share). Blocks are applied in order, each reducing
    what is available to the next.
    """
    avail = available.astype(float).copy()
    total = np.zeros_like(avail)
    out = []
    for b in blocks:
        w = avail[b.i0 : b.i1]
        s = float(w.sum())
        basis = s if b.basis_kwh is None else max(b.basis_kwh, s)
        rate = min(1.0, b.kwh / basis) if basis > 0 else 0.0
        part = np.minimum(_whole_milli(w * rate), w)
        got = float(part.sum())
        total[b.i0 : b.i1] += part
        avail[b.i0 : b.i1] -= part
        expected = b.kwh if b.basis_kwh is None else b.kwh * s / basis if basis > 0 else 0.0
        out.append(BlockAllocation(b, got, max(expected - got, 0.0), part, basis))
    return total, out


def account(
    flows: IntervalFlows,
    grid_kg_per_kwh: np.ndarray,
    residual_kg_per_kwh: np.ndarray,
    claims: MarketClaims,
    storage: StorageParams,
) -> Accounts:
    """Compute every per-interval figure of the module docstring for one run of intervals."""
    i_ = flows.grid_import_kwh
    x_ = flows.export_kwh
    g_ = flows.local_re_kwh
    d_ = flows.direct_green_kwh
    bc = flows.charge_kwh
    bd = flows.discharge_kwh
    k_raw = i_ + g_ + d_ + bd - bc - x_
    k = np.maximum(k_raw, 0.0)
    imbalance = np.maximum(-k_raw, 0.0)

    # zero-carbon supply first: local renewables, then the direct green line
    need_load, need_charge, need_export = k.copy(), bc.copy(), x_.copy()
    re_load, g_left, need_load = _take(g_, need_load)
    re_charge, g_left, need_charge = _take(g_left, need_charge)
    _, g_left, need_export = _take(g_left, need_export)
    dg_load, d_left, need_load = _take(d_, need_load)
    dg_charge, d_left, need_charge = _take(d_left, need_charge)
    _, d_left, need_export = _take(d_left, need_export)
    # battery discharge: consumption, export, then straight back into charge
    dis_load, b_left, need_load = _take(bd, need_load)
    dis_export, b_left, need_export = _take(b_left, need_export)
    dis_charge, b_left, need_charge = _take(b_left, need_charge)
    # the grid serves what remains
    grid_load, i_left, need_load = _take(i_, need_load)
    grid_charge, i_left, need_charge = _take(i_left, need_charge)
    grid_export, i_left, need_export = _take(i_left, need_export)
    # need_charge/need_export left > 0 only with a negative balance (imbalance): unknown origin

    # market instruments on grid import
    c_int = np.minimum(claims.contract_interval_kwh, i_)
    contract_excess = claims.contract_interval_kwh - c_int
    period_blocks = [b for b in claims.blocks if b.kind == "contract_period"]
    cert_blocks = [b for b in claims.blocks if b.kind == "certificate"]
    c_per, alloc_c = allocate_blocks(i_ - c_int, period_blocks)
    contract = c_int + c_per
    z, alloc_z = allocate_blocks(i_ - contract, cert_blocks)
    residual = np.maximum(i_ - contract - z, 0.0)

    ef_grid = np.broadcast_to(np.asarray(grid_kg_per_kwh, dtype=float), i_.shape)
    ef_res = np.broadcast_to(np.asarray(residual_kg_per_kwh, dtype=float), i_.shape)
    e_loc = i_ * ef_grid
    e_mkt = residual * ef_res
    with np.errstate(divide="ignore", invalid="ignore"):
        g_mkt = np.where(i_ > 0, e_mkt / i_, 0.0)
        cfe_share_grid = np.where(i_ > 0, c_int / i_, 0.0)
        green_share_grid = np.where(i_ > 0, (contract + z) / i_, 0.0)

    # unknown-origin energy for a negative balance is charged at grid intensity (conservative)
    unserved_charge = need_charge
    src = ChargeSources(
        clean_kwh=re_charge + dg_charge,
        grid_kwh=grid_charge + unserved_charge,
        recirculated_kwh=dis_charge,
        grid_kg_per_kwh_loc=ef_grid,
        grid_kg_per_kwh_mkt=g_mkt,
        grid_cfe_share=cfe_share_grid,
        grid_green_share=green_share_grid,
    )
    ledger = run_ledger(bc, bd, src, storage, flows.interval_minutes / 60.0)

    attributed_loc = grid_load * ef_grid + dis_load * ledger.discharge_kg_per_kwh_loc
    attributed_mkt = grid_load * g_mkt + dis_load * ledger.discharge_kg_per_kwh_mkt
    exported_loc = (grid_export + need_export) * ef_grid + dis_export * ledger.discharge_kg_per_kwh_loc
    exported_mkt = (grid_export + need_export) * g_mkt + dis_export * ledger.discharge_kg_per_kwh_mkt
    cfe = re_load + dg_load + grid_load * cfe_share_grid + dis_load * ledger.discharge_cfe_share
    green = re_load + dg_load + grid_load * green_share_grid + dis_load * ledger.discharge_green_share

    return Accounts(
        flows=flows,
        consumption_kwh=k,
        imbalance_kwh=imbalance,
        re_to_load_kwh=re_load,
        direct_to_load_kwh=dg_load,
        clean_to_charge_kwh=re_charge + dg_charge,
        grid_to_load_kwh=grid_load,
        grid_to_charge_kwh=grid_charge,
        grid_to_export_kwh=grid_export,
        discharge_to_load_kwh=dis_load,
        discharge_to_export_kwh=dis_export,
        contract_kwh=contract,
        contract_interval_kwh=c_int,
        contract_excess_kwh=contract_excess,
        certificate_kwh=z,
        residual_kwh=residual,
        grid_kg_per_kwh=np.asarray(ef_grid, dtype=float),
        residual_kg_per_kwh=np.asarray(ef_res, dtype=float),
        import_kg_loc=e_loc,
        import_kg_mkt=e_mkt,
        attributed_kg_loc=attributed_loc,
        attributed_kg_mkt=attributed_mkt,
        exported_kg_loc=exported_loc,
        exported_kg_mkt=exported_mkt,
        imbalance_kg_loc=imbalance * ef_grid,
        imbalance_kg_mkt=imbalance * g_mkt,
        cfe_kwh=cfe,
        green_kwh=green,
        ledger=ledger,
        allocations=alloc_c + alloc_z,
    )
