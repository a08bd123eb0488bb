"""Green certificates (GEC, 绿证) and green-power contract deliveries: ledger rules.

Rules enforced here (pure) and again by the database (migration 0003):

* a certificate is 1 MWh; its serial is unique;
* a serial is retired once only, against one consumption period ``[start, end)``;
* a retirement never goes beyond the period's eligible consumption: the grid import of the
  period minus green-contract deliveries (the energy that would otherwise carry the residual
  factor); the eligible figure used is stored with the retirement as its allocation basis;
* retirement periods are identical or disjoint (a partial overlap is refused), so the cap is
  checked over one well-defined period;
* nothing is updated or deleted: moving a retirement to another period is a new ``reassign``
  entry that names the reason; the effective period of a serial is its latest entry.

Contract deliveries are contractual shares of grid import (not separately metered): either
per interval (time-matched) or per period (allocated pro rata to grid import). A correction
is a new delivery that ``replaces`` the old one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from ems.i18n import Msg
from ems.park import Park
from ems.store.carbon_queries import CertificateRow

MWH_PER_CERTIFICATE = Decimal(1)


class LedgerError(ValueError):
    """A ledger operation was refused; nothing was written."""


class DoubleRetirement(LedgerError):
    pass


class OverRetirement(LedgerError):
    pass


class PeriodConflict(LedgerError):
    pass


@dataclass(frozen=True)
class Certificate(CertificateRow):
    """A 1-MWh certificate (GEC), as stored (:class:`ems.store.carbon_queries.CertificateRow`)."""

    def issuance(self) -> dict[str, str]:
        """What the certificate was issued for, as strings (reports, statements and the ledger view)."""
        return {
            "generator": self.generator,
            "technology": self.technology,
            "location": self.location,
            "production_start": self.production_start.isoformat(),
            "production_end": self.production_end.isoformat(),
            "issuer": self.issuer,
        }


@dataclass(frozen=True)
class Period:
    """A consumption period [start, end), aware datetimes."""

    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise LedgerError(Msg("period bounds need a time zone"))
        if self.end <= self.start:
            raise LedgerError(
                Msg(
                    "period end {end} is not after start {start}",
                    end=self.end.isoformat(),
                    start=self.start.isoformat(),
                )
            )

    def overlaps(self, other: Period) -> bool:
        return self.start < other.end and other.start < self.end

    def same(self, other: Period) -> bool:
        return self.start == other.start and self.end == other.end

    def label(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


@dataclass(frozen=True)
class RetirementEntry:
    """One ledger entry of a serial: its first retirement or a later reassignment."""

    event_id: int
    serial: str
    seq: int
    kind: str  # "retire" | "reassign"
    period: Period
    basis_kwh: Decimal  # eligible consumption of the period when the entry was made
    beneficiary: str
    reason: str
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class ContractDelivery:
    delivery_id: int
    contract_id: str
    period: Period
    kwh: Decimal
    granularity: str  # "interval" | "period"
    basis_kwh: Decimal | None  # grid import of the period when recorded (period granularity)
    reference: str
    replaces: int | None = None


def certificates_from_park(park: Park) -> list[Certificate]:
    """Expand the park file's held certificate blocks into individual 1-MWh certificates."""
    out = []
    for block in park.green.certificates:
        width = max(len(str(block.first + block.count - 1)), 6)
        for n in range(block.first, block.first + block.count):
            out.append(
                Certificate(
                    f"{block.serial_prefix}{n:0{width}d}",
                    block.generator,
                    block.technology,
                    block.location,
                    block.production_start,
                    block.production_end,
                    block.issuer,
                )
            )
    return out


MAX_SERIALS = 100_000  # one request's certificates, ranges expanded: bounds its memory and time


def expand_serials(items: list[str]) -> list[str]:
    """``PREFIX000001..PREFIX000010`` → the ten serials; plain serials pass through (CLI and API).

    Refuses more than :data:`MAX_SERIALS` in all, counted before any range is expanded (a short body of
    many wide ranges would otherwise expand to millions of strings)."""
    out: list[str] = []
    for item in items:
        if ".." not in item:
            if len(out) >= MAX_SERIALS:
                raise LedgerError(Msg("more than {n} certificates in one request; split it", n=MAX_SERIALS))
            out.append(item)
            continue
        a, b = item.split("..", 1)
        ma, mb = re.match(r"^(.*?)(\d+)$", a), re.match(r"^(.*?)(\d+)$", b)
        if not ma or not mb or ma.group(1) != mb.group(1) or len(ma.group(2)) != len(mb.group(2)):
            raise LedgerError(
                Msg("serial range {item!r} must be PREFIX<digits>..PREFIX<digits> with equal width", item=item)
            )
        lo, hi, width = int(ma.group(2)), int(mb.group(2)), len(ma.group(2))
        if hi < lo:
            raise LedgerError(Msg("serial range {item!r} is empty", item=item))
        if hi - lo >= 100_000:
            raise LedgerError(Msg("serial range {item!r} spans more than 100000 certificates; split it", item=item))
        if len(out) + hi - lo + 1 > MAX_SERIALS:
            raise LedgerError(Msg("more than {n} certificates in one request; split it", n=MAX_SERIALS))
        out += [f"{ma.group(1)}{n:0{width}d}" for n in range(lo, hi + 1)]
    return out


def effective(entries: list[RetirementEntry]) -> dict[str, RetirementEntry]:
    """The latest entry per serial (its effective retirement)."""
    out: dict[str, RetirementEntry] = {}
    for e in sorted(entries, key=lambda e: (e.serial, e.seq)):
        out[e.serial] = e
    return out


def check_retirement(
    serials: list[str],
    period: Period,
    eligible_kwh: Decimal,
    known: set[str],
    current: dict[str, RetirementEntry],
    *,
    reassign: bool = False,
) -> None:
    """Raise a LedgerError unless retiring (or reassigning) ``serials`` against ``period`` is allowed.

    ``current`` is the effective entry per serial already in the ledger.
    """
    if not serials:
        raise LedgerError(Msg("no certificate serials given"))
    dupes = sorted({s for s in serials if serials.count(s) > 1})
    if dupes:
        raise DoubleRetirement(Msg("serial(s) listed twice in one request: {serials}", serials=", ".join(dupes[:5])))
    unknown = [s for s in serials if s not in known]
    if unknown:
        raise LedgerError(Msg("unknown certificate serial(s): {serials}", serials=", ".join(unknown[:5])))
    if reassign:
        not_retired = [s for s in serials if s not in current]
        if not_retired:
            raise LedgerError(
                Msg("cannot reassign serial(s) never retired: {serials}", serials=", ".join(not_retired[:5]))
            )
    else:
        already = [s for s in serials if s in current]
        if already:
            e = current[already[0]]
            raise DoubleRetirement(
                Msg(
                    "serial {serial} was already retired (entry {entry}, period {period}); a serial can be "
                    "retired once only ({n} of the {total} serials are retired)",
                    serial=already[0],
                    entry=e.event_id,
                    period=e.period.label(),
                    n=len(already),
                    total=len(serials),
                )
            )
    moving = set(serials)
    others = [e for s, e in current.items() if s not in moving]
    for e in others:
        if e.period.overlaps(period) and not e.period.same(period):
            raise PeriodConflict(
                Msg(
                    "period {period} partially overlaps retirement period {other} (serial {serial}); "
                    "retirement periods must be identical or disjoint",
                    period=period.label(),
                    other=e.period.label(),
                    serial=e.serial,
                )
            )
    in_period = sum((MWH_PER_CERTIFICATE for e in others if e.period.same(period)), Decimal(0))
    wanted = in_period + MWH_PER_CERTIFICATE * len(serials)
    if wanted * 1000 > eligible_kwh:
        raise OverRetirement(
            Msg(
                "retiring {n} MWh would bring the certificates retired against {period} to {wanted} MWh, above "
                "the period's eligible consumption of {eligible} MWh (grid import minus green-contract deliveries)",
                n=len(serials),
                period=period.label(),
                wanted=wanted,
                eligible=eligible_kwh / 1000,
            )
        )
