"""Certificate serial ranges (CLI and API): expanded exactly, and one request's total is bounded before any
range is expanded (a 2.5 kB body of 100 wide ranges expanded to 10 million strings and held the server)."""

from __future__ import annotations

import time

import pytest

from ems.carbon.certificates import MAX_SERIALS, LedgerError, expand_serials


def test_ranges_expand_exactly() -> None:
    assert expand_serials(["GEC-000009..GEC-000011", "GEC-X"]) == ["GEC-000009", "GEC-000010", "GEC-000011", "GEC-X"]


def test_the_total_is_bounded_before_expanding() -> None:
    assert len(expand_serials(["P000000..P099999"])) == MAX_SERIALS == 100_000
    wide = [f"P{k}00000..P{k}99999" for k in range(1, 100)]  # 99 ranges of 100,000: 9.9 million serials
    t0 = time.perf_counter()
    with pytest.raises(LedgerError, match="more than 100000 certificates in one request"):
        expand_serials(wide)
    assert time.perf_counter() - t0 < 1.0  # refused after the second range, not after expanding all
    with pytest.raises(LedgerError):
        expand_serials(["P000000..P099999", "Q1"])  # plain serials count too
