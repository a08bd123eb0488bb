"""Validation before running (issue 13): ``ems park check`` validates every referenced map, ``ems maps check``
a custom map, ``ems devices scan`` shows an unknown device's SunSpec models and values."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ems.park import example_park_path
from entrypoints.cli.main import app
from tests.device_drivers.servers import serve_registers
from tests.device_drivers.sunspec_defs import chain, model_registers

runner = CliRunner()


def _park_with(tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    doc = yaml.safe_load(example_park_path("demo").read_text())
    edit(doc)
    path = tmp_path / "park.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _device(doc: dict, device_id: str) -> dict:  # type: ignore[type-arg]
    return next(d for d in doc["devices"] if d["id"] == device_id)


def _index(doc: dict, device_id: str) -> int:  # type: ignore[type-arg]
    return next(i for i, d in enumerate(doc["devices"]) if d["id"] == device_id)


def test_demo_park_and_its_maps_pass() -> None:
    res = runner.invoke(app, ["park", "check", str(example_park_path("demo"))])
    assert res.exit_code == 0, res.output
    assert "OK" in res.output


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("misspelt", "cannot read register map"),
        ("broken", "not valid YAML"),
        ("wrong_kind", "map 'sunspec_meter' is for meter, load devices, not pv"),
        ("unknown_quantity", "unknown quantity 'p_mw'"),
        ("overlap", "overlaps point"),
    ],
)
def test_park_check_names_file_key_path_and_problem(tmp_path: Path, case: str, expected: str) -> None:
    bad_map = tmp_path / "custom.yaml"
    base = yaml.safe_load(Path("device_drivers/maps/generic_wind.yaml").read_text())
    if case == "broken":
        bad_map.write_text("name: x\npoints: [\n")
    elif case == "unknown_quantity":
        base["points"][2]["quantity"] = "p_mw"
        bad_map.write_text(yaml.safe_dump(base))
    elif case == "overlap":
        base["points"][3]["address"] = 3  # reactive_power s32 at 3..4 over active_power at 2..3
        bad_map.write_text(yaml.safe_dump(base))

    def edit(doc: dict) -> None:  # type: ignore[type-arg]
        if case == "misspelt":
            _device(doc, "PV_CELLS")["connection"]["register_map"] = "sunspec_inverterr"
        elif case == "wrong_kind":
            _device(doc, "PV_CELLS")["connection"]["register_map"] = "sunspec_meter"
        else:
            _device(doc, "WIND")["connection"]["register_map"] = str(bad_map)

    path = _park_with(tmp_path, edit)
    res = runner.invoke(app, ["park", "check", str(path)])
    assert res.exit_code == 2, res.output
    doc = yaml.safe_load(path.read_text())
    dev = "PV_CELLS" if case in ("misspelt", "wrong_kind") else "WIND"
    assert f"{path}: devices[{_index(doc, dev)}] ({dev}).connection.register_map" in res.output
    assert expected in res.output
    if case in ("broken", "unknown_quantity", "overlap"):
        assert str(bad_map) in res.output  # the map file is named too
    if case == "unknown_quantity":
        assert "points[2].quantity" in res.output  # and the key path inside it


def test_maps_check(tmp_path: Path) -> None:
    res = runner.invoke(app, ["maps", "check", "device_drivers/maps/sunspec_storage.yaml"])
    assert res.exit_code == 0, res.output
    assert "storage_capacity" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kind: sunspec\norientation: {pv: 1}\nmodels: [{name: m, id: 103, length: 50, points: "
        "[{name: W, offset: 60, type: s16}]}]\n"
    )
    res = runner.invoke(app, ["maps", "check", str(bad)])
    assert res.exit_code == 2
    assert f"{bad}: models[0].W: offset 60 outside the model (2..51)" in res.output


async def test_devices_scan_shows_models_and_values() -> None:
    image = chain(
        [
            model_registers(1, {"Mn": "Acme", "Md": "PV-100", "SN": "A123"}),
            [64_900, 2, 0, 0],  # a vendor model
            model_registers(701, {"W": 4321, "W_SF": 1, "ACType": 2}),  # 43.21 kW
            # two MPPT inputs: 6 150 W and 5 010 W (DCW_SF = 1)
            model_registers(160, {"DCW_SF": 1, "N": 2, "module[0].DCW": 615, "module[1].DCW": 501}, repeats=2),
        ]
    )
    async with serve_registers([(40000, image)]) as port:
        res = await asyncio.to_thread(runner.invoke, app, ["devices", "scan", f"127.0.0.1:{port}"])
    assert res.exit_code == 0, res.output
    assert "SunSpec marker at 40000, 4 models" in res.output
    assert "model 64900 at 40070, L=2  (not used by the built-in maps)" in res.output
    lines = {
        line.split()[0]: line.split(maxsplit=1)[1] for line in res.output.splitlines()[1:] if line.startswith("      ")
    }
    assert lines["Mn"] == "Acme" and lines["W"] == "43.21 kW" and lines["TmpCab"] == "n/i"
    assert lines["module[1].DCW"] == "6.15 kW" and lines["module[2].DCW"] == "5.01 kW"
