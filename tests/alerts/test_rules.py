"""The alert rules on hand-made observations (expected findings read off the inputs)."""

from __future__ import annotations

import datetime as dt

import pytest

from ems.alerts.rules import RULES, Observations, Thresholds, evaluate

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def _obs(**kw: object) -> Observations:
    base: dict[str, object] = {
        "now": NOW,
        "last_seen": {"PV1": NOW - dt.timedelta(minutes=2), "EV1": NOW - dt.timedelta(hours=17), "WT1": None},
        "gateways": {"gw-a": ["PV1"], "gw-ev": ["EV1"]},
        "coverage": {"PV1": 0.5, "EV1": 0.0, "WT1": 0.0},
        "forecast_nmae": {"PV1/persistence": 0.30, "LOAD1/clear_sky": 0.05},
        "violations": [{"kind": "voltage_high", "element": "LV2", "value": 1.12, "limit": 1.1}],
        "budget": {"year": 2026, "budget_t": "1500", "projected_t": "1650.5", "used_share": "0.2"},
        "fallbacks": [{"schedule_id": 7, "kind": "mpc", "fallback_reason": "time limit"}],
    }
    base.update(kw)
    return Observations(**base)  # type: ignore[arg-type]


def test_every_rule_fires_on_its_condition() -> None:
    got = {(f.rule, f.subject): f for f in evaluate(_obs())}
    assert set(got) == {
        ("device_stale", "EV1"),  # 17 h > 15 min
        ("device_stale", "WT1"),  # never reported
        ("gateway_silent", "gw-ev"),  # the "gateway silent for 17 h"
        ("data_gap", "PV1"),  # reporting but 50 % < 90 %; EV1 covers 0 % too but is already stale
        ("forecast_error", "PV1/persistence"),  # 30 % > 25 %
        ("grid_violation", "voltage_high:LV2"),
        ("budget_projection", "park"),  # 1650.5 / 1500 = 110 %
        ("solver_fallback", "dispatch"),
    }
    assert got[("gateway_silent", "gw-ev")].severity == "critical"
    assert "17.0 h ago" in got[("gateway_silent", "gw-ev")].message
    assert got[("budget_projection", "park")].details["projected_share"] == pytest.approx(1650.5 / 1500, abs=1e-4)


def test_nothing_fires_on_a_healthy_park() -> None:
    healthy = _obs(
        last_seen={"PV1": NOW - dt.timedelta(minutes=1)},
        gateways={"gw-a": ["PV1"]},
        coverage={"PV1": 1.0},
        forecast_nmae={"PV1/persistence": 0.1},
        violations=[],
        budget={"year": 2026, "budget_t": "1500", "projected_t": "1400", "used_share": "0.2"},
        fallbacks=[],
    )
    assert evaluate(healthy) == []


def test_thresholds_move_the_boundary() -> None:
    obs = _obs(
        last_seen={"PV1": NOW - dt.timedelta(minutes=20)},
        gateways={},
        coverage={},
        forecast_nmae={},
        violations=[],
        budget=None,
        fallbacks=[],
    )
    assert [f.rule for f in evaluate(obs)] == ["device_stale"]
    assert evaluate(obs, Thresholds(device_stale_s=1800)) == []


def test_unknown_rule_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid: " + ", ".join(RULES)):
        evaluate(_obs(), rules=["gateway_silent", "typo"])
