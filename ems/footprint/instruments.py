"""Which market instruments of an accounting run a tenant holds, per interval.

A tenant holds a green contract when the park file lists its id in ``tenants[].contracts``,
and a retired certificate when the retirement's ``beneficiary`` is the tenant's id or name
(``ems certificates retire --beneficiary CHEM``). Everything else belongs to the park pool.

The carbon accounting allocates contract deliveries and certificate blocks to intervals
(:func:`ems.carbon.accounting.allocate_blocks`); this module repeats that allocation block by
block to learn each holder's *fraction* of the park's contract and certificate energy in each
interval, and applies the fractions to the park's own arrays, so the totals stay the park's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ems.carbon.accounting import allocate_blocks
from ems.carbon.run import AccountingRun
from ems.park import Park


@dataclass(frozen=True)
class HeldInstruments:
    """Per tenant: kWh of park contract and certificate energy it holds, per interval (float, T)."""

    contract_kwh: dict[str, np.ndarray]
    certificate_kwh: dict[str, np.ndarray]
    deliveries: dict[str, list[int]] = field(default_factory=dict)  # tenant -> delivery ids
    serials: dict[str, list[str]] = field(default_factory=dict)  # tenant -> certificate serials


def holder_maps(park: Park) -> tuple[dict[str, str], dict[str, str]]:
    """(contract id -> tenant id, beneficiary (id or name) -> tenant id)."""
    contracts: dict[str, str] = {}
    for t in park.tenants:
        for c in t.contracts:
            if c in contracts:
                raise ValueError(f"green contract {c!r} is held by tenants {contracts[c]!r} and {t.id!r}")
            contracts[c] = t.id
    known = {c.id for c in park.green.contracts}
    unknown = sorted(set(contracts) - known)
    if unknown:
        raise ValueError(f"tenants name unknown green contracts {unknown} (park file knows: {sorted(known)})")
    beneficiaries = {t.id: t.id for t in park.tenants} | {t.name: t.id for t in park.tenants}
    return contracts, beneficiaries


def _frac(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole > 0, np.clip(part / whole, 0.0, 1.0), 0.0)


def held_instruments(run: AccountingRun, park: Park) -> HeldInstruments:
    """Each tenant's share of the run's contract and certificate energy (module docstring)."""
    contract_of, tenant_of = holder_maps(park)
    a, claims = run.accounts, run.claims
    n = len(a.flows)
    i_ = a.flows.grid_import_kwh
    by_delivery: dict[int, str] = {d.delivery_id: d.contract_id for d in run.deliveries}
    tenants = [t.id for t in park.tenants]
    c_own = {t: np.zeros(n) for t in tenants}
    z_own = {t: np.zeros(n) for t in tenants}
    c_raw, z_raw = np.zeros(n), np.zeros(n)
    dels: dict[str, list[int]] = {t: [] for t in tenants}
    sers: dict[str, list[str]] = {t: [] for t in tenants}

    def holder_of_delivery(ref: str) -> str | None:
        did = int(ref.split(":", 1)[1])
        return contract_of.get(by_delivery.get(did, ""))

    requested = claims.contract_interval_kwh
    for t, kwh, ref in claims.contract_interval_refs:  # time-matched deliveries, capped pro rata
        share = a.contract_interval_kwh[t] * kwh / requested[t] if requested[t] > 0 else 0.0
        c_raw[t] += share
        h = holder_of_delivery(ref)
        if h is not None:
            c_own[h][t] += share
    avail = i_ - a.contract_interval_kwh
    for b in (b for b in claims.blocks if b.kind == "contract_period"):
        part, _ = allocate_blocks(avail, [b])
        avail = avail - part
        c_raw += part
        h = holder_of_delivery(b.refs[0])
        if h is not None:
            c_own[h] += part
    avail = i_ - a.contract_kwh
    ben = {r.serial: r.beneficiary for r in run.retirements}
    for b in (b for b in claims.blocks if b.kind == "certificate"):
        part, _ = allocate_blocks(avail, [b])
        avail = avail - part
        z_raw += part
        holders = [tenant_of.get(ben.get(s, "")) for s in b.refs]
        for h in set(holders) - {None}:
            assert h is not None
            z_own[h] += part * holders.count(h) / len(holders)
    for d in run.deliveries:
        h = contract_of.get(d.contract_id)
        if h is not None:
            dels[h].append(d.delivery_id)
    for r in run.retirements:
        h = tenant_of.get(r.beneficiary)
        if h is not None:
            sers[h].append(r.serial)
    # fractions of the recomputed arrays, applied to the park's arrays (exactly the park totals)
    contract = {t: a.contract_kwh * _frac(c_own[t], c_raw) for t in tenants}
    certificate = {t: a.certificate_kwh * _frac(z_own[t], z_raw) for t in tenants}
    return HeldInstruments(contract, certificate, dels, {t: sorted(s) for t, s in sers.items()})
