"""Independent reference accounting, written from docs/carbon_methodology.md alone (issue 19).

Deliberately plain and slow: one interval at a time, exact ``Decimal`` arithmetic (50 digits), no
numpy and nothing imported from ``ems``. Section numbers refer to the methodology. It covers
sections 3-7 (consumption, allocation of sources, market instruments, storage ledger, attributed
CO2, carbon-free and green energy, the three CFE scores, rounding) for hourly-aligned intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, localcontext

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass
class Block:
    """A volume V [kWh] over intervals [i0, i1): a period contract or one period's certificates."""

    i0: int
    i1: int
    kwh: Decimal
    kind: str  # "contract_period" | "certificate"
    recorded_basis: Decimal | None = None


@dataclass
class Case:
    interval_minutes: int
    grid_import: list[Decimal]  # I
    export: list[Decimal]  # X
    renewables: list[Decimal]  # G
    direct: list[Decimal]  # D
    charge: list[Decimal]  # Bc
    discharge: list[Decimal]  # Bd
    deliveries: list[Decimal]  # time-matched contract deliveries per interval
    blocks: list[Block]
    ef_grid: Decimal
    ef_residual: Decimal
    eta_c: Decimal
    eta_d: Decimal
    self_discharge_per_h: Decimal
    grid_cfe_share: Decimal | None  # phi, constant


@dataclass
class Result:
    rows: dict[str, list[Decimal]] = field(default_factory=dict)  # per-interval figures, unrounded
    pool_end: dict[str, Decimal] = field(default_factory=dict)
    scores: dict[str, Decimal | None] = field(default_factory=dict)


def milli(x: Decimal) -> int:
    """Section 7 rule 1: half-to-even to a whole Wh / g."""
    return int((x * 1000).quantize(ONE, rounding=ROUND_HALF_EVEN))


def ratio(num: int, den: int) -> Decimal | None:
    if den == 0:
        return None
    return (Decimal(num) / Decimal(den)).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)


def allocate(avail: list[Decimal], b: Block) -> list[Decimal]:
    """Section 5 block allocation with the whole-Wh rule of section 7 (rule 2)."""
    idx = list(range(b.i0, b.i1))
    s = sum((avail[t] for t in idx), ZERO)
    basis = s if b.recorded_basis is None else max(b.recorded_basis, s)
    rate = min(ONE, b.kwh / basis) if basis > 0 else ZERO
    r = [(avail[t] * rate * 1000).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN) for t in idx]
    floors = [x.to_integral_value(rounding=ROUND_FLOOR) for x in r]
    n_up = int(sum(r, ZERO).quantize(ONE, rounding=ROUND_HALF_EVEN) - sum(floors, ZERO))
    order = sorted(range(len(idx)), key=lambda j: (-(r[j] - floors[j]), j))
    for j in order[:n_up]:
        floors[j] += 1
    return [min(floors[j] / 1000, avail[t]) for j, t in enumerate(idx)]


def take(supply: Decimal, need: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    served = min(supply, need)
    return served, supply - served, need - served


def account(c: Case) -> Result:
    with localcontext() as ctx:
        ctx.prec = 50
        return _account(c)


def _account(c: Case) -> Result:
    n = len(c.grid_import)
    rows: dict[str, list[Decimal]] = {}

    def put(name: str, v: Decimal) -> None:
        rows.setdefault(name, []).append(v)

    # section 3: market instruments on grid import
    ctm = [min(c.deliveries[t], c.grid_import[t]) for t in range(n)]
    contract = list(ctm)
    avail = [c.grid_import[t] - ctm[t] for t in range(n)]
    for b in [b for b in c.blocks if b.kind == "contract_period"]:
        part = allocate(avail, b)
        for j, t in enumerate(range(b.i0, b.i1)):
            contract[t] += part[j]
            avail[t] -= part[j]
    z = [ZERO] * n
    avail = [c.grid_import[t] - contract[t] for t in range(n)]
    for b in [b for b in c.blocks if b.kind == "certificate"]:
        part = allocate(avail, b)
        for j, t in enumerate(range(b.i0, b.i1)):
            z[t] += part[j]
            avail[t] -= part[j]

    # section 4: pool
    e = kg_loc = kg_mkt = f_pool = w_pool = ZERO
    keep = (ONE - c.self_discharge_per_h) ** (Decimal(c.interval_minutes) / 60)
    for t in range(n):
        i_, x_, g_, d_, bc, bd = (
            c.grid_import[t],
            c.export[t],
            c.renewables[t],
            c.direct[t],
            c.charge[t],
            c.discharge[t],
        )
        k_raw = i_ + g_ + d_ + bd - bc - x_
        k = max(k_raw, ZERO)
        put("consumption", k)
        put("imbalance", max(-k_raw, ZERO))
        n_load, n_charge, n_export = k, bc, x_
        re_load, g_left, n_load = take(g_, n_load)
        re_charge, g_left, n_charge = take(g_left, n_charge)
        _, g_left, n_export = take(g_left, n_export)
        dg_load, d_left, n_load = take(d_, n_load)
        dg_charge, d_left, n_charge = take(d_left, n_charge)
        _, d_left, n_export = take(d_left, n_export)
        dis_load, b_left, n_load = take(bd, n_load)
        dis_export, b_left, n_export = take(b_left, n_export)
        dis_charge, b_left, n_charge = take(b_left, n_charge)
        grid_load, i_left, n_load = take(i_, n_load)
        grid_charge, i_left, n_charge = take(i_left, n_charge)
        grid_export, i_left, n_export = take(i_left, n_export)

        residual = max(i_ - contract[t] - z[t], ZERO)
        e_loc, e_mkt = i_ * c.ef_grid, residual * c.ef_residual
        g_loc = c.ef_grid
        g_mkt = e_mkt / i_ if i_ > 0 else ZERO
        f_t = ctm[t] / i_ if i_ > 0 else ZERO
        w_t = (contract[t] + z[t]) / i_ if i_ > 0 else ZERO
        put("contract", contract[t])
        put("contract_excess", c.deliveries[t] - ctm[t])
        put("certificate", z[t])
        put("residual", residual)
        put("import_kg_loc", e_loc)
        put("import_kg_mkt", e_mkt)

        # 1. self-discharge
        loss = e * (ONE - keep)
        loss_f, loss_w = f_pool * (ONE - keep), w_pool * (ONE - keep)
        e, f_pool, w_pool = e * keep, f_pool * keep, w_pool * keep
        # 2. discharge
        int_loc = int_mkt = s_f = s_w = ZERO
        unk = unk_loc = unk_mkt = ZERO
        if bd > 0:
            w = bd / c.eta_d
            if w > e:
                unk = (w - e) / c.eta_c
                unk_loc, unk_mkt = unk * g_loc, unk * g_mkt
                kg_loc += unk_loc
                kg_mkt += unk_mkt
                loss += unk - (w - e)
                e = w
            r = w / e
            int_loc, int_mkt = r * kg_loc / bd, r * kg_mkt / bd
            s_f, s_w = f_pool / e, w_pool / e
            loss += w - bd
            loss_f += (w - bd) * s_f
            loss_w += (w - bd) * s_w
            e, f_pool, w_pool = (ONE - r) * e, (ONE - r) * f_pool, (ONE - r) * w_pool
            kg_loc, kg_mkt = (ONE - r) * kg_loc, (ONE - r) * kg_mkt
        # 3. charge
        ch_f = ch_w = ZERO
        if bc > 0:
            grid_in = grid_charge + n_charge  # unserved charge is grid energy of unknown origin
            clean_in = re_charge + dg_charge
            kg_loc += grid_in * g_loc + dis_charge * int_loc
            kg_mkt += grid_in * g_mkt + dis_charge * int_mkt
            ch_f = clean_in + grid_in * f_t + dis_charge * s_f
            ch_w = clean_in + grid_in * w_t + dis_charge * s_w
            e += c.eta_c * bc
            f_pool += c.eta_c * ch_f
            w_pool += c.eta_c * ch_w
            loss += (ONE - c.eta_c) * bc
            loss_f += (ONE - c.eta_c) * ch_f
            loss_w += (ONE - c.eta_c) * ch_w
        # 4. empty pool
        if e < Decimal("1e-9"):
            e = kg_loc = kg_mkt = f_pool = w_pool = ZERO

        put("losses", loss)
        put("losses_cfe", loss_f)
        put("losses_green", loss_w)
        put("charged_cfe", ch_f)
        put("charged_green", ch_w)
        put("discharge_cfe_share", s_f)
        put("discharge_green_share", s_w)
        put("unknown_origin", unk)
        put("unknown_origin_kg_loc", unk_loc)
        put("unknown_origin_kg_mkt", unk_mkt)
        put("attributed_kg_loc", grid_load * g_loc + dis_load * int_loc)
        put("attributed_kg_mkt", grid_load * g_mkt + dis_load * int_mkt)
        put("exported_kg_loc", (grid_export + n_export) * g_loc + dis_export * int_loc)
        put("exported_kg_mkt", (grid_export + n_export) * g_mkt + dis_export * int_mkt)
        put("cfe", re_load + dg_load + grid_load * f_t + dis_load * s_f)
        put("green", re_load + dg_load + grid_load * w_t + dis_load * s_w)

    res = Result(rows, {"stored": e, "kg_loc": kg_loc, "kg_mkt": kg_mkt, "cfe": f_pool, "green": w_pool})
    res.scores = scores(c, rows)
    return res


def scores(c: Case, rows: dict[str, list[Decimal]]) -> dict[str, Decimal | None]:
    """Section 6, on rounded interval values (section 7 rule 3); intervals aligned to whole hours."""
    per_h = 60 // c.interval_minutes
    n = len(rows["consumption"])
    hours = range(0, n, per_h)
    k_h = [sum(milli(k) for k in rows["consumption"][h : h + per_h]) for h in hours]
    cfe_h = [sum(milli(x) for x in rows["cfe"][h : h + per_h]) for h in hours]
    exc_h = [sum(milli(x) for x in rows["contract_excess"][h : h + per_h]) for h in hours]
    ems = [min(a, k) for a, k in zip(cfe_h, k_h, strict=True)]
    tag = [min(a + x, k) for a, x, k in zip(cfe_h, exc_h, k_h, strict=True)]
    out: dict[str, Decimal | None] = {
        "ems-storage-aware-interval": ratio(sum(ems), sum(k_h)),
        "energytag-hourly": ratio(sum(tag), sum(k_h)),
        "google-24x7": None,
    }
    if c.grid_cfe_share is not None:
        phi = c.grid_cfe_share
        goo = [m + int(((k - m) * phi).quantize(ONE, rounding=ROUND_HALF_EVEN)) for m, k in zip(tag, k_h, strict=True)]
        out["google-24x7"] = ratio(sum(goo), sum(k_h))
    return out


# ---------------------------------------------------------------------------- section 1: gaps

FULL = Decimal("0.999")


def fill(e: list[Decimal], cov: list[Decimal]) -> list[Decimal | None]:
    """Section 1 rules for one device quantity: scaled e / c, interpolated, zero outside; None = c is 0
    and the value is to be decided by the caller (the grid meter's balance rule comes first)."""
    n = len(e)
    val: list[Decimal | None] = [e[t] if cov[t] >= FULL else (e[t] / cov[t] if cov[t] > 0 else None) for t in range(n)]
    out: list[Decimal | None] = list(val)
    known = [t for t in range(n) if val[t] is not None]
    for t in range(n):
        if val[t] is not None:
            continue
        before = [k for k in known if k < t]
        after = [k for k in known if k > t]
        if not before or not after:
            out[t] = ZERO
        else:
            a, b = before[-1], after[0]
            va, vb = val[a], val[b]
            assert va is not None and vb is not None
            out[t] = va + (vb - va) * Decimal(t - a) / Decimal(b - a)
    return out


def boundary_from_meters(
    e_out: dict[str, list[Decimal]],
    e_in: dict[str, list[Decimal]],
    cov: dict[str, list[Decimal]],
    grid: str,
    generators: list[str],
    batteries: list[str],
    green: list[str],
    loads: list[str],
) -> dict[str, list[Decimal]]:
    """I, X, G, D, Bc, Bd per interval from device meters with the gap rules of section 1."""
    n = len(cov[grid])
    f_out = {d: fill(e_out[d], cov[d]) for d in cov}
    f_in = {d: fill(e_in[d], cov[d]) for d in cov}

    def total(devs: list[str], f: dict[str, list[Decimal | None]]) -> list[Decimal]:
        return [sum((f[d][t] or ZERO for d in devs), ZERO) for t in range(n)]

    g, d = total(generators, f_out), total(green, f_out)
    bc, bd = total(batteries, f_in), total(batteries, f_out)
    load = total(loads, f_in)
    imp, exp = [], []
    others = [x for x in cov if x != grid]
    for t in range(n):
        if cov[grid][t] <= 0 and all(cov[o][t] >= FULL for o in others):
            net = load[t] + bc[t] - g[t] - d[t] - bd[t]
            imp.append(max(net, ZERO))
            exp.append(max(-net, ZERO))
        else:
            imp.append(f_out[grid][t] or ZERO)
            exp.append(f_in[grid][t] or ZERO)
    return {"I": imp, "X": exp, "G": g, "D": d, "Bc": bc, "Bd": bd}
