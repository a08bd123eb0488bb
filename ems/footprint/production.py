"""Production counts (units or tonnes per line per park-local day): validation, row by row.

A count names a production line of the park file, a day, a quantity >= 0 and the line's unit
(a unit other than the park file's is refused rather than converted). Valid rows are stored;
each invalid row is reported with its row number and reason, and nothing valid is lost.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ems.park import Park

FILE_COLUMNS = ("line", "day", "quantity", "unit")


@dataclass(frozen=True)
class ProductionRow:
    line: str
    day: dt.date
    quantity: Decimal
    unit: str
    source: str = ""


@dataclass
class ProductionCheck:
    accepted: list[ProductionRow] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (row number, reason)


def line_units(park: Park) -> dict[str, str]:
    return {ln.id: ln.unit for t in park.tenants for ln in t.lines}


def check_rows(park: Park, rows: list[dict[str, Any]], source: str = "", first_row: int = 1) -> ProductionCheck:
    """Validate mappings with keys line, day, quantity, unit; row numbers start at ``first_row``."""
    units = line_units(park)
    out = ProductionCheck()
    for n, r in enumerate(rows, start=first_row):
        line = str(r.get("line") or "").strip()
        if line not in units:
            out.rejected.append((n, f"unknown production line {line!r} (known: {', '.join(sorted(units)) or 'none'})"))
            continue
        try:
            day = r["day"] if isinstance(r.get("day"), dt.date) else dt.date.fromisoformat(str(r.get("day")).strip())
        except ValueError:
            out.rejected.append((n, f"day {r.get('day')!r} is not a date YYYY-MM-DD"))
            continue
        try:
            qty = Decimal(str(r.get("quantity")).strip())
        except InvalidOperation:
            out.rejected.append((n, f"quantity {r.get('quantity')!r} is not a number"))
            continue
        if not qty.is_finite() or qty < 0:
            out.rejected.append((n, f"quantity {qty} must be a finite number >= 0"))
            continue
        unit = str(r.get("unit") or "").strip()
        if unit != units[line]:
            out.rejected.append((n, f"unit {unit!r} does not match line {line}'s unit {units[line]!r}"))
            continue
        out.accepted.append(ProductionRow(line, day, qty, unit, source))
    return out


def read_csv(park: Park, text: str, source: str) -> ProductionCheck:
    """A CSV file with the header ``line,day,quantity,unit``; data rows are numbered from 2."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in FILE_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        return ProductionCheck(
            rejected=[(1, f"header lacks column(s) {', '.join(missing)}; expected {','.join(FILE_COLUMNS)}")]
        )
    return check_rows(park, list(reader), source, first_row=2)
