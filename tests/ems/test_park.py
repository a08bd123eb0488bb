"""Park file validation: good files load; bad ones name the file, the key path and the problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from ems.park import ParkFileError, example_park_path, load_park


def _write(tmp_path: Path, data: object, name: str = "park.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, allow_unicode=True) if not isinstance(data, str) else data)
    return p


@pytest.fixture
def tiny_data() -> dict:
    return yaml.safe_load(example_park_path("tiny").read_text())


def test_example_parks_load() -> None:
    demo = load_park(example_park_path("demo"))
    assert demo.timezone == "Asia/Shanghai" and demo.interval_minutes == 15
    assert demo.network.grid_connection.export_allowed is False  # anti-backflow demo
    assert sum(d.p_rated_kw for d in demo.devices_of("pv")) == 25_000
    assert demo.device("WIND").p_total_kw == 20_000  # type: ignore[union-attr]
    assert demo.grid_meter is not None and demo.grid_meter.id == "M_GRID"
    assert load_park(example_park_path("tiny")).intervals_per_day == 96


def test_tariff_period_lookup_follows_months() -> None:
    demo = load_park(example_park_path("demo"))
    assert demo.tariff.period_at(dt.datetime(2026, 7, 1, 14, 30)).name == "critical_peak"
    assert demo.tariff.period_at(dt.datetime(2026, 3, 1, 14, 30)).name == "flat"
    assert demo.tariff.period_at(dt.datetime(2026, 3, 1, 3, 0)).name == "valley"
    assert demo.tariff.period_at(dt.datetime(2026, 3, 1, 21, 59)).name == "peak"


def test_unknown_bus_names_path_and_known_ids(tmp_path: Path, tiny_data: dict) -> None:
    tiny_data["devices"][1]["bus"] = "NOWHERE"
    path = _write(tmp_path, tiny_data)
    with pytest.raises(ParkFileError) as exc:
        load_park(path)
    msg = str(exc.value)
    assert str(path) in msg
    assert "devices[1].bus" in msg and "unknown bus 'NOWHERE'" in msg and "LV2" in msg


def test_typo_key_and_bad_value_are_both_reported(tmp_path: Path, tiny_data: dict) -> None:
    tiny_data["devices"][3]["e_rated_kwhh"] = 400  # typo on the battery
    tiny_data["network"]["transformers"][0]["sn_mva"] = -1
    with pytest.raises(ParkFileError) as exc:
        load_park(_write(tmp_path, tiny_data))
    locs = [loc for loc, _ in exc.value.problems]
    assert "devices[3].e_rated_kwhh" in locs
    assert "network.transformers[0].sn_mva" in locs
    assert any("unknown key" in m for _, m in exc.value.problems)


def test_tariff_gap_is_reported_with_time(tmp_path: Path, tiny_data: dict) -> None:
    tiny_data["tariff"]["periods"][0]["hours"] = ["00:00-07:00"]
    with pytest.raises(ParkFileError) as exc:
        load_park(_write(tmp_path, tiny_data))
    assert "07:00 is not covered" in str(exc.value)
    assert "tariff" in str(exc.value)


def test_battery_soc_limits_order(tmp_path: Path, tiny_data: dict) -> None:
    tiny_data["devices"][3]["soc_min"] = 0.9
    tiny_data["devices"][3]["soc_max"] = 0.5
    with pytest.raises(ParkFileError, match=r"devices\[3\].*soc_min must be below soc_max"):
        load_park(_write(tmp_path, tiny_data))


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nnetwork: [unclosed\n")
    with pytest.raises(ParkFileError, match=r"line \d+, column \d+: not valid YAML"):
        load_park(path)


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ParkFileError, match="cannot read file"):
        load_park(tmp_path / "absent.yaml")
    with pytest.raises(ParkFileError, match="mapping at the top level"):
        load_park(_write(tmp_path, "- just\n- a list\n"))


def test_duplicate_device_id_and_timezone(tmp_path: Path, tiny_data: dict) -> None:
    tiny_data["devices"][2]["id"] = "PV1"
    tiny_data["timezone"] = "Mars/Olympus"
    with pytest.raises(ParkFileError) as exc:
        load_park(_write(tmp_path, tiny_data))
    assert "timezone" in str(exc.value) and "unknown time zone" in str(exc.value)
    tiny_data["timezone"] = "Asia/Shanghai"
    with pytest.raises(ParkFileError, match=r"devices\[2\]\.id: duplicate id 'PV1'"):
        load_park(_write(tmp_path, tiny_data))
