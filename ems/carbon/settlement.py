"""Import a power-trading centre's green-power settlement into the contract ledger.

The trading centre (电力交易中心) settles green-power contracts (绿电交易) on metered data and
publishes, per contract, the settled green energy — per 15-minute interval where the provincial spot
market settles at that resolution, per day or month otherwise. That file, not the dispatcher's plan,
is what an auditor accepts as evidence of contract deliveries; importing it is how deliveries reach
the ledger (:func:`ems.carbon.service.record_delivery`).

File format (CSV, UTF-8, one header row; English or the trading centre's Chinese headers)::

    contract_id,start,end,kwh            合同编号,开始时间,结束时间,结算电量(kWh)
    GPT-2026-OFFSHORE,2026-03-02T00:00+08:00,2026-03-02T00:15+08:00,1520.4

* ``start``/``end``: ISO 8601 with an offset, or without one in park time; on park-interval
  boundaries. A row one park interval long is an ``interval`` delivery (time-matched); a longer row is
  a ``period`` delivery, which the accounting spreads over the period in proportion to metered grid
  import (the documented profile, ``docs/carbon_methodology.md``).
* energy in ``kwh`` / ``结算电量(kWh)``, or ``mwh`` / ``结算电量(MWh)``; exact decimals, ≥ 0.

Every row is checked on its own and refused with its line number and reason (unknown contract, bad
time, not aligned, overlapping another row of the file, negative or non-numeric energy, a period with
no metered import yet); the valid rows are recorded. Importing is idempotent: a row whose contract
and period already hold a live delivery of the same energy is skipped as a duplicate, and one with a
different energy is recorded as a correction replacing it (revised settlements are routine).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from ems.carbon import service
from ems.carbon.certificates import LedgerError, Period
from ems.i18n import Msg, message_of
from ems.park import Park
from ems.store import Store

_HEADERS = {
    "contract_id": "contract_id",
    "合同编号": "contract_id",
    "start": "start",
    "开始时间": "start",
    "end": "end",
    "结束时间": "end",
    "kwh": "kwh",
    "结算电量(kwh)": "kwh",
    "mwh": "mwh",
    "结算电量(mwh)": "mwh",
    "reference": "reference",
    "结算单号": "reference",
}
MAX_ROWS = 200_000  # a year of 15-minute rows for five contracts


@dataclass(frozen=True)
class SettlementRow:
    line: int
    contract_id: str
    period: Period
    kwh: Decimal
    reference: str


@dataclass
class ImportResult:
    recorded: list[tuple[int, int]] = field(default_factory=list)  # (line, delivery id)
    corrected: list[tuple[int, int, int]] = field(default_factory=list)  # (line, new id, replaced id)
    duplicates: list[int] = field(default_factory=list)  # lines already in the ledger
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    @property
    def ok(self) -> bool:
        return not self.errors


def _time(text: str, park: Park) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(Msg("{text!r} is not an ISO 8601 time", text=text)) from None
    return (t if t.tzinfo else t.replace(tzinfo=park.tz)).astimezone(dt.UTC)


def parse(data: bytes, park: Park) -> tuple[list[SettlementRow], list[tuple[int, str]]]:
    """Rows of a settlement file and the refused lines (line numbers as an editor shows them)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [(0, Msg("not UTF-8 text: {reason} at byte {byte}", reason=exc.reason, byte=exc.start))]
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return [], [(0, Msg("empty file"))]
    cols = [_HEADERS.get(h.strip().lower().replace(" ", "")) for h in header]
    unknown = [h for h, c in zip(header, cols, strict=True) if c is None]
    if unknown:
        return [], [
            (
                1,
                Msg(
                    "unknown column(s) {unknown}; expected contract_id,start,end,kwh (or mwh, reference)",
                    unknown=unknown,
                ),
            )
        ]
    if not {"contract_id", "start", "end"} <= set(cols) or not {"kwh", "mwh"} & set(cols):
        return [], [(1, Msg("the header needs contract_id, start, end and kwh or mwh"))]
    known = {c.id for c in park.green.contracts}
    width = dt.timedelta(minutes=park.interval_minutes)
    rows: list[SettlementRow] = []
    errors: list[tuple[int, str]] = []
    digest = hashlib.sha256(data).hexdigest()[:12]
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if line - 1 > MAX_ROWS:
            errors.append((line, Msg("more than {n} rows: split the file", n=MAX_ROWS)))
            break
        if len(values) != len(cols):
            errors.append((line, Msg("{n} fields, the header has {m}", n=len(values), m=len(cols))))
            continue
        rec = dict(zip(cols, (v.strip() for v in values), strict=True))
        try:
            contract = rec["contract_id"]
            if contract not in known:
                raise ValueError(
                    Msg(
                        "unknown contract {contract!r} (park file knows: {known})",
                        contract=contract,
                        known=", ".join(sorted(known)) or "-",
                    )
                )
            start, end = _time(rec["start"], park), _time(rec["end"], park)
            period = Period(start, end)
            for t in (start, end):
                if (t - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) % width:
                    raise ValueError(
                        Msg("{t} is not on a {minutes}-minute boundary", t=t.isoformat(), minutes=park.interval_minutes)
                    )
            amount = rec["kwh"] if "kwh" in rec else rec["mwh"]
            try:
                kwh = Decimal(amount) if "kwh" in rec else Decimal(amount) * 1000
            except InvalidOperation:
                raise ValueError(Msg("settled energy {text!r} is not a number", text=amount)) from None
            if not kwh.is_finite() or kwh < 0:
                raise ValueError(Msg("settled energy must be a finite number >= 0, got {kwh}", kwh=kwh))
        except (ValueError, LedgerError) as exc:
            errors.append((line, message_of(exc) or type(exc).__name__))
            continue
        reference = rec.get("reference") or f"settlement {digest} line {line}"
        rows.append(SettlementRow(line, contract, period, kwh, reference))
    by_contract: dict[str, list[SettlementRow]] = {}
    for r in rows:
        by_contract.setdefault(r.contract_id, []).append(r)
    bad: set[int] = set()
    for group in by_contract.values():
        group.sort(key=lambda r: (r.period.start, r.line))
        reach = group[0]  # the row reaching furthest so far: any later row starting before its end overlaps it
        for b in group[1:]:
            if b.period.start < reach.period.end:
                errors.append((b.line, Msg("overlaps line {line} of the same contract", line=reach.line)))
                bad.add(b.line)
            elif b.period.end > reach.period.end:
                reach = b
    return [r for r in rows if r.line not in bad], sorted(errors)


def import_settlement(store: Store, park: Park, data: bytes) -> ImportResult:
    """Record the valid rows of a settlement file (module docstring); nothing recorded twice."""
    rows, errors = parse(data, park)
    result = ImportResult(errors=list(errors))
    recorded = service.deliveries(store)
    replaced = {d.replaces for d in recorded if d.replaces is not None}
    live = {(d.contract_id, d.period.start, d.period.end): d for d in recorded if d.delivery_id not in replaced}
    width = dt.timedelta(minutes=park.interval_minutes)
    for r in rows:
        same = live.get((r.contract_id, r.period.start, r.period.end))
        if same is not None and same.kwh == r.kwh:
            result.duplicates.append(r.line)
            continue
        granularity = "interval" if r.period.end - r.period.start == width else "period"
        try:
            d = service.record_delivery(
                store,
                park,
                r.contract_id,
                r.period,
                r.kwh,
                granularity,
                r.reference,
                same.delivery_id if same else None,
            )
        except LedgerError as exc:
            result.errors.append((r.line, message_of(exc)))
            continue
        if same is None:
            result.recorded.append((r.line, d.delivery_id))
        else:
            result.corrected.append((r.line, d.delivery_id, same.delivery_id))
        live[(r.contract_id, r.period.start, r.period.end)] = d
    result.errors.sort()
    return result
