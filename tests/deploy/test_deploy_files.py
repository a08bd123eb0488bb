"""deploy/: Docker cannot run here, so check the files' syntax and that they point at real commands."""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from pathlib import Path

import typer.main
import yaml

from entrypoints.cli.main import app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _cli_commands() -> set[str]:
    group = typer.main.get_command(app)
    return set(group.commands)  # type: ignore[attr-defined]


def test_compose_file_is_valid_and_complete() -> None:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = doc["services"]
    assert {"db", "api", "poller", "dispatcher", "grafana"} <= set(services)
    assert services["db"]["image"].startswith("timescale/timescaledb")
    for name in ("db", "api"):
        assert "healthcheck" in services[name], name
    # issue 21: every image is pinned to a version (":latest" or no tag changes under a running park)
    for name, svc in services.items():
        image = svc.get("image", doc["x-ems"]["image"])
        assert re.fullmatch(r"[\w./-]+:[\w.${}:-]*\d[\w.${}:-]*", image) and "latest" not in image, (name, image)
    for name in ("api", "poller", "dispatcher", "notifier"):
        svc = services[name]
        env = svc["environment"]
        assert env["EMS_DATABASE_URL"].startswith("postgresql://") and "${EMS_DB_PASSWORD" in env["EMS_DATABASE_URL"]
        assert svc["depends_on"]["db"]["condition"] == "service_healthy"
        assert svc["command"][0] == "ems" and svc["command"][1] in _cli_commands()
    assert services["grafana"]["profiles"] == ["grafana"]
    assert set(doc["volumes"]) == {"db-data", "ems-data", "grafana-data"}
    # no secret written into the file: passwords come from the environment
    keys = re.findall(r"^\s*(\w*PASSWORD\w*):\s*(.*)$", (DEPLOY / "compose.yaml").read_text(), re.MULTILINE)
    assert keys and all(value.startswith("$") for _, value in keys), keys


def test_dockerfile_copies_every_package() -> None:
    """Every package the project installs (pyproject's package list, not a copy of it) is in the image."""
    text = (DEPLOY / "Dockerfile").read_text()
    pyproject = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    assert {"ems", "api", "services", "entrypoints"} <= set(packages)
    for pkg in packages:
        assert f"COPY {pkg} {pkg}" in text, pkg


def test_every_image_is_pinned() -> None:
    """Base and service images name an exact release (x.y.z), never a moving tag such as latest or 3.11-slim."""
    refs = re.findall(r"^FROM\s+(\S+)", (DEPLOY / "Dockerfile").read_text(), re.MULTILINE)
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    refs += [svc["image"] for svc in services.values() if "image" in svc]
    assert len(refs) >= 3, refs
    for ref in map(compose_default, refs):
        tag = ref.rsplit(":", 1)[1] if ":" in ref else "latest"
        assert re.match(r"\d+\.\d+\.\d+", tag), f"{ref}: not pinned to an exact version"


def compose_default(tag: str) -> str:
    """``${EMS_VERSION:-0.1.0}`` -> ``0.1.0`` (what compose uses when the variable is unset)."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", tag)


def test_systemd_units_run_real_commands() -> None:
    commands = _cli_commands()
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert len(units) == 4
    for unit in units:
        cp = configparser.ConfigParser(strict=False, interpolation=None)
        cp.read(unit)
        assert {"Unit", "Service", "Install"} <= set(cp.sections()), unit
        exec_start = cp["Service"]["ExecStart"].split()
        assert exec_start[0].endswith("/ems") and exec_start[1] in commands, (unit, exec_start)
        assert cp["Service"]["User"] == "ems" and cp["Service"]["EnvironmentFile"] == "/etc/ems/ems.env"


def test_grafana_provisioning_parses() -> None:
    prov = DEPLOY / "grafana" / "provisioning"
    ds = yaml.safe_load((prov / "datasources" / "ems.yaml").read_text())
    assert ds["datasources"][0]["jsonData"]["timescaledb"] is True
    dash = json.loads((prov / "dashboards" / "park.json").read_text())
    sql = " ".join(t["rawSql"] for p in dash["panels"] for t in p["targets"])
    assert "telemetry_15m" in sql and "energy_rollup" in sql
