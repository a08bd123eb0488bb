"""Certificate eligibility: may a certificate be claimed against a consumption period? (issue 22)

The park file's ``green.certificate_rules`` (:class:`ems.park.CertificateRules`) sets the rule in
force. With ``B = vintage_months_before`` and ``A = vintage_months_after`` and the consumption
period ``[start, end)`` taken in park time, a certificate is eligible when

* ``production_end >= first day of start's month - B months`` (not too old: with B = 24, the GEC
  two-year validity counted from the production month), and
* ``production_start`` before the day after the last consumption day (A = 0), or before the first
  day of the month A + 1 months after the last consumption month (A > 0: up to A whole months
  after), and
* its technology is one of ``technologies`` and its location starts with one of ``locations``
  (each only when the list is not empty: the claim requires it).

Checked at retirement and reassignment (:func:`ems.carbon.service.retire`); a refusal names the
serial, its production dates or attribute, and the rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ems.carbon.certificates import Certificate, LedgerError, Period
from ems.park import CertificateRules


class IneligibleCertificate(LedgerError):
    pass


def _add_months(d: dt.date, months: int) -> dt.date:
    """First day of the month ``months`` after ``d``'s month (negative = before)."""
    k = d.year * 12 + d.month - 1 + months
    return dt.date(k // 12, k % 12 + 1, 1)


def vintage_window(period: Period, rules: CertificateRules, tz: dt.tzinfo) -> tuple[dt.date, dt.date]:
    """(earliest production end allowed, production start must be before this date)."""
    first = period.start.astimezone(tz).date()
    last = (period.end.astimezone(tz) - dt.timedelta(microseconds=1)).date()  # last day with consumption
    months = rules.vintage_months_after
    after = last + dt.timedelta(days=1) if months == 0 else _add_months(last, months + 1)
    return _add_months(first, -rules.vintage_months_before), after


def check_eligibility(
    certificates: Sequence[Certificate], period: Period, rules: CertificateRules, tz: dt.tzinfo
) -> None:
    """Raise :class:`IneligibleCertificate` for the first certificate the rules refuse (module docstring)."""
    earliest_end, start_before = vintage_window(period, rules, tz)
    techs = {t.lower() for t in rules.technologies}
    places = [p.lower() for p in rules.locations]
    for c in certificates:
        if c.production_end < earliest_end or c.production_start >= start_before:
            raise IneligibleCertificate(
                f"certificate {c.serial} (produced {c.production_start}..{c.production_end}) is outside the vintage "
                f"window of consumption period {period.label()}: production must end on or after {earliest_end} "
                f"and start before {start_before} ({rules.rule}; park file green.certificate_rules)"
            )
        if techs and c.technology.lower() not in techs:
            raise IneligibleCertificate(
                f"certificate {c.serial} is {c.technology or 'of no stated technology'}; the claim requires one of "
                f"{', '.join(sorted(techs))} (park file green.certificate_rules.technologies)"
            )
        if places and not any(c.location.lower().startswith(p) for p in places):
            raise IneligibleCertificate(
                f"certificate {c.serial} comes from {c.location or 'no stated location'}; the claim requires a "
                f"location starting with {' or '.join(rules.locations)} (park file green.certificate_rules.locations)"
            )
