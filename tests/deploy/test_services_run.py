"""The deploy files are code under test: each long-running service's exact command line, as the
systemd unit and the compose file write it, is run against the test database for a bounded time and
must do what the service exists for, then stop cleanly on SIGTERM (what systemd and compose send).

The environment is the shipped ``ems.env.example`` with what a real installation changes: the
database URL (the test database, with a real password), the park file, the data directory, a free
port and the declared TLS proxy that production mode requires for a public bind address.
"""

from __future__ import annotations

import configparser
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from api.server import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
EMS = str(Path(sys.executable).with_name("ems"))


def unit_command(name: str) -> list[str]:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.read(DEPLOY / "systemd" / f"ems-{name}.service")
    argv = cp["Service"]["ExecStart"].split()
    assert argv[0] == "/opt/ems/.venv/bin/ems", argv  # the installed entry point, here: this venv's
    return [EMS, *argv[1:]]


def compose_command(service: str, port: int) -> list[str]:
    argv = list(yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"][service]["command"])
    assert argv[0] == "ems", argv
    if "--port" in argv:  # the container's port 8080, mapped by compose: here a free host port
        argv[argv.index("--port") + 1] = str(port)
    return [EMS, *argv[1:]]


def service_env(db_url: str, data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMS_")}
    for line in (DEPLOY / "systemd" / "ems.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    assert env["EMS_ENVIRONMENT"] == "production"  # the services run in production mode, as shipped
    env.update(
        EMS_DATABASE_URL=psycopg.conninfo.make_conninfo(db_url, password="a-real-secret-7f3b"),
        EMS_PARK_FILE=str(ROOT / "examples" / "tiny_park.yaml"),
        EMS_DATA_DIR=str(data_dir),
        EMS_API_PORT=str(port),
        EMS_BEHIND_PROXY="true",
    )
    return env


@pytest.fixture
def run_service(tmp_path: Path) -> Iterator[Callable[[list[str], dict[str, str]], subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []

    def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
        log = (tmp_path / f"{len(procs)}.log").open("w")
        p = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def stop_gracefully(p: subprocess.Popen[str], timeout_s: float = 30.0) -> int:
    """SIGTERM, as systemd (KillSignal=SIGTERM, TimeoutStopSec=30) and compose do."""
    p.send_signal(signal.SIGTERM)
    return p.wait(timeout_s)


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"service exited with {proc.returncode} before {what}"
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("source", ["systemd", "compose"])
def test_api_service_answers_readyz_and_stops_on_sigterm(
    source: str, fresh_db_url: str, tmp_path: Path, run_service: Callable[..., subprocess.Popen[str]]
) -> None:
    port = free_port()
    argv = unit_command("api") if source == "systemd" else compose_command("api", port)
    p = run_service(argv, service_env(fresh_db_url, tmp_path, port))
    wait_until(lambda: _ready(port), 90, "/readyz to answer 200", p)
    assert stop_gracefully(p) == 0


@pytest.mark.parametrize("source", ["systemd", "compose"])
def test_dispatcher_service_stores_a_schedule_and_stops_on_sigterm(
    source: str, fresh_db_url: str, tmp_path: Path, run_service: Callable[..., subprocess.Popen[str]]
) -> None:
    argv = unit_command("dispatcher") if source == "systemd" else compose_command("dispatcher", 0)

    def schedules() -> int:
        try:
            with psycopg.connect(fresh_db_url) as conn:
                row = conn.execute("SELECT count(*) FROM schedule WHERE kind = 'mpc'").fetchone()
                return int(row[0]) if row else 0
        except psycopg.errors.UndefinedTable:  # migrations not applied yet
            return 0

    p = run_service(argv, service_env(fresh_db_url, tmp_path, free_port()))
    wait_until(lambda: schedules() >= 1, 120, "the dispatcher to store an MPC schedule", p)
    assert stop_gracefully(p) == 0
    assert schedules() >= 1


def test_sigterm_stops_the_embedded_server_that_ems_serve_started(
    tmp_path: Path, run_service: Callable[..., subprocess.Popen[str]]
) -> None:
    """Development mode without a database URL: the server `ems serve` started must not outlive it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMS_")}
    env.update(EMS_DATA_DIR=str(tmp_path), EMS_PARK_FILE=str(ROOT / "examples" / "tiny_park.yaml"))
    p = run_service([EMS, "serve", "--port", str(port)], env)
    wait_until(lambda: _ready(port), 120, "/readyz to answer 200", p)
    pid_file = tmp_path / "pg" / "postmaster.pid"
    assert pid_file.exists()  # the embedded server is running
    postmaster = int(pid_file.read_text().split()[0])
    assert stop_gracefully(p) == 0
    assert not pid_file.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(postmaster, 0)
