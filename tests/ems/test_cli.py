"""The `ems` command: --help everywhere, the demo on a real database, park check, keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from ems.park import example_park_path
from entrypoints.cli.main import app

runner = CliRunner()


def _commands(cmd: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    if hasattr(cmd, "commands"):  # typer vendors its own click: duck-type the group
        for name, sub in cmd.commands.items():
            out.extend(_commands(sub, (*prefix, name)))
    return out


def test_every_command_has_help() -> None:
    paths = _commands(typer.main.get_command(app))
    assert ("demo",) in paths and ("keys", "create") in paths and ("db", "upgrade") in paths
    for path in paths:
        r = runner.invoke(app, [*path, "--help"])
        assert r.exit_code == 0, (path, r.output)
        assert "Usage" in r.output


def test_demo_on_tiny_park(fresh_db_url: str, tmp_path: Path) -> None:
    env = {"EMS_DATABASE_URL": fresh_db_url, "EMS_DATA_DIR": str(tmp_path)}
    r = runner.invoke(app, ["demo", "--park", str(example_park_path("tiny")), "--step-s", "60"], env=env)
    assert r.exit_code == 0, r.output
    # 5 devices' power + SOC + 2 counters + wind speed + irradiance, every 60 s for a day
    assert "ingested 14,400 readings" in r.output
    assert "5 of 5 devices reporting, data coverage 100.0%" in r.output
    again = runner.invoke(app, ["demo", "--park", str(example_park_path("tiny")), "--step-s", "60"], env=env)
    assert "0 new, 14,400 already stored" in again.output


def test_park_check_reports_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        example_park_path("tiny").read_text().replace("bus: LV2, p_rated_kw: 400", "bus: LV9, p_rated_kw: 400")
    )
    r = runner.invoke(app, ["park", "check", str(bad)])
    assert r.exit_code == 2
    assert "devices[1].bus: unknown bus 'LV9'" in r.output
    ok = runner.invoke(app, ["park", "check", str(example_park_path("demo"))])
    assert ok.exit_code == 0 and "OK" in ok.output


@pytest.mark.parametrize("role", ["operator"])
def test_keys_cli(fresh_db_url: str, tmp_path: Path, role: str) -> None:
    env = {"EMS_DATABASE_URL": fresh_db_url, "EMS_PARK_FILE": str(example_park_path("tiny"))}
    r = runner.invoke(app, ["keys", "create", "--name", "ops desk", "--role", role], env=env)
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    key_id = token.split("_")[1]
    listed = runner.invoke(app, ["keys", "list"], env=env).output
    assert key_id in listed and token.split("_", 2)[2] not in listed
    assert runner.invoke(app, ["keys", "revoke", key_id], env=env).exit_code == 0
    assert "revoked" in runner.invoke(app, ["keys", "list"], env=env).output
    assert "已吊销 " in runner.invoke(app, ["--lang", "zh-CN", "keys", "list"], env=env).output
    runner.invoke(app, ["keys", "create", "--name", "desk 2", "--role", role], env=env)
    zh = runner.invoke(app, ["--lang", "zh-CN", "keys", "list"], env=env).output
    assert "有效" in zh and "active" not in zh and "revoked" not in zh, zh
    bad = runner.invoke(app, ["keys", "create", "--name", "x", "--role", "gateway"], env=env)
    assert bad.exit_code == 2 and "gateway id" in bad.output
