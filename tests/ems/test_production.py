"""Production mode refuses unsafe settings, naming each one (and never echoing a secret)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ems.park import Park
from ems.production import Listener, UnsafeForProduction, production_problems, refuse_unsafe
from ems.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
GOOD_URL = "postgresql://ems:Vq8-long-real-secret@db.internal:5432/ems"


def _settings(**kw: object) -> Settings:
    base: dict[str, object] = {"environment": "production", "database_url": GOOD_URL}
    base.update(kw)
    return Settings(**base)  # type: ignore[arg-type]


def test_development_mode_checks_nothing() -> None:
    assert production_problems(Settings(environment="development"), listener=Listener("0.0.0.0", False, False)) == []


def test_safe_production_settings_pass(tiny_park: Park) -> None:
    assert production_problems(_settings(), tiny_park, Listener("127.0.0.1", tls=False, behind_proxy=False)) == []
    # public address is fine behind a TLS-terminating proxy
    assert production_problems(_settings(behind_proxy=True), tiny_park, Listener("0.0.0.0", False, True)) == []


@pytest.mark.parametrize(
    ("overrides", "listener", "names"),
    [
        ({"database_url": None}, None, "EMS_DATABASE_URL is not set"),
        ({"database_url": "postgresql://ems:CHANGE_ME@127.0.0.1:5432/ems"}, None, "placeholder password"),
        ({"database_url": "postgresql://ems@127.0.0.1:5432/ems"}, None, "placeholder password"),
        ({}, Listener("0.0.0.0", tls=False, behind_proxy=False), "EMS_API_HOST=0.0.0.0"),
        ({"cors_origins": ["*"]}, None, "EMS_CORS_ORIGINS"),
        ({"behind_proxy": True, "forwarded_allow_ips": "*"}, None, "EMS_FORWARDED_ALLOW_IPS contains '*'"),
        ({"tls_certfile": Path("/nonexistent/cert.pem")}, None, "EMS_TLS_CERTFILE and EMS_TLS_KEYFILE"),
    ],
)
def test_each_unsafe_setting_is_named(overrides: dict[str, object], listener: Listener | None, names: str) -> None:
    problems = production_problems(_settings(**overrides), None, listener)
    assert any(names in p for p in problems), problems
    with pytest.raises(UnsafeForProduction) as err:
        refuse_unsafe(_settings(**overrides), None, listener)
    assert names in str(err.value)


def test_control_on_an_unrated_device_is_refused(tiny_park: Park) -> None:
    load = next(d for d in tiny_park.devices if d.type == "load")
    i = next(i for i, d in enumerate(tiny_park.devices) if d.id == load.id)
    raw = tiny_park.model_dump()
    raw["devices"][i]["control"] = {"enabled": True}
    park = Park.model_validate(raw)
    problems = production_problems(_settings(), park)
    assert problems == [
        f"park file devices[{i}] ({load.id}): control.enabled on a load, which has no rating the setpoint "
        "writer can clamp to; only battery, pv, wind and ev_charging load devices can be controlled"
    ]


def test_a_secret_is_never_echoed() -> None:
    problems = production_problems(_settings(cors_origins=["*"]), None, Listener("10.0.0.5", False, False))
    assert len(problems) == 2
    assert not any("Vq8-long-real-secret" in p for p in problems)


@pytest.mark.parametrize("command", ["serve", "mqtt"])
def test_the_shipped_example_env_is_refused_by_ems_serve(tmp_path: Path, command: str) -> None:
    """The exact env file the systemd units ship, with `ems serve` and `ems mqtt` as the units run them: refused,
    exit 2 (`ems mqtt` went straight on, to the embedded database when no URL was set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMS_")}
    for line in (ROOT / "deploy/systemd/ems.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    env["EMS_PARK_FILE"] = str(ROOT / "examples/tiny_park.yaml")
    env["EMS_DATA_DIR"] = str(tmp_path)
    ems = Path(sys.executable).with_name("ems")
    out = subprocess.run([str(ems), command], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "refusing to start in production mode" in out.stderr
    assert "placeholder password" in out.stderr
    if command == "serve":
        assert "EMS_API_HOST=0.0.0.0" in out.stderr
    assert not (tmp_path / "pg").exists()  # refused before anything was opened or started


def test_a_misspelt_environment_is_an_error() -> None:
    with pytest.raises(ValueError, match="environment"):
        Settings(environment="prod")  # type: ignore[arg-type]


def test_empty_variables_mean_unset() -> None:
    """compose passes ``${EMS_TLS_CERTFILE:-}`` as an empty string: that is "not configured", not "./"."""
    s = Settings(tls_certfile="", tls_keyfile=" ", database_url="")  # type: ignore[arg-type]
    assert (s.tls_certfile, s.tls_keyfile, s.database_url) == (None, None, None)
