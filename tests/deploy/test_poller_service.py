"""The poller as shipped (issues 13 and 14): the exact command lines of the systemd unit and of
the compose service, run against the test database and the park simulator, store readings.

Also the durability promise of the journal: SIGKILL with the database up and while it is
down, then a restart: readings lost ≤ one poll per device, counted against the polls the
simulator answered (an independent count: the server side, not the poller's own stats).
"""

from __future__ import annotations

import asyncio
import configparser
import os
import re
import shlex
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
import yaml

from device_drivers.simulator import ParkSimulator
from device_drivers.simulator.park import free_port
from ems.park import ModbusTcp, example_park_path, load_park

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
EMS = Path(sys.executable).parent / "ems"  # this checkout's install of what the unit calls /opt/ems/.venv/bin/ems
SIM_DEVICES = ["M_GRID", "PV_CELLS", "BESS"]  # a meter, an inverter and a battery: every SunSpec map


# The shipped env file runs in production mode, which refuses a URL without a real password; the test
# server trusts its socket, so a password is accepted and ignored.
SECRET = "a-real-secret-7f3b"


def with_password(url: str) -> str:
    return psycopg.conninfo.make_conninfo(url, password=SECRET)


def systemd_command() -> tuple[list[str], dict[str, str]]:
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.read(DEPLOY / "systemd" / "ems-poller.service")
    cmd = shlex.split(unit["Service"]["ExecStart"])
    env = {}
    for line in (DEPLOY / "systemd" / "ems.env.example").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, _, v = line.partition("=")
            env[k] = v
    return cmd, env


def compose_value(value: str) -> str:
    """Compose's interpolation of ``${VAR:-default}`` with VAR unset (what a bare .env gives); the
    ``${VAR:?…}`` secrets are replaced by the test anyway."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def compose_command() -> tuple[list[str], dict[str, str]]:
    svc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["poller"]
    return list(svc["command"]), {k: compose_value(str(v)) for k, v in svc["environment"].items()}


def local(cmd: list[str]) -> list[str]:
    """The same command with the ems executable of this checkout."""
    assert Path(cmd[0]).name == "ems", cmd
    return [str(EMS), *cmd[1:]]


def park_file(tmp: Path) -> Path:
    """The demo park file with every Modbus device moved to a free port (only SIM_DEVICES are served)."""
    text = example_park_path("demo").read_text()
    park = load_park(example_park_path("demo"))
    for d in park.devices:
        conn = d.connection
        if isinstance(conn, ModbusTcp):
            text = re.sub(rf"port: {conn.port}\b", f"port: {free_port()}", text, count=1)
    path = tmp / "park.yaml"
    path.write_text(text)
    return path


class Server:
    """The park simulator, counting the polls each device answered (the first block of every poll)."""

    def __init__(self, path: Path) -> None:
        self.park_file = path
        self.park = load_park(path)
        self.sim = ParkSimulator(self.park, seed=1, devices=SIM_DEVICES)
        self.answered: dict[str, int] = dict.fromkeys(SIM_DEVICES, 0)
        self.first_block: dict[str, tuple[int, int]] = {}
        for dev_id, sim_dev in self.sim.devices.items():
            original = sim_dev.action

            async def counting(fc, start, address, count, registers, set_values, _o=original, _d=dev_id):  # type: ignore[no-untyped-def]
                res = await _o(fc, start, address, count, registers, set_values)
                if set_values is None and (address, count) == self.first_block.get(_d):
                    self.answered[_d] += 1
                return res

            sim_dev.action = counting  # type: ignore[method-assign]

    async def learn_blocks(self) -> None:
        """Where each device's poll starts: what the poller's block plan reads first."""
        from device_drivers.poller import Poller

        poller = Poller.from_park(self.park, device_ids=SIM_DEVICES)
        for dev_id, d in poller.devices.items():
            await d.driver.locate()
            b = d.driver.blocks[0]
            self.first_block[dev_id] = (b.address, b.count)
        for tr in poller.transports.values():
            await tr.close()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    srv = Server(park_file(tmp_path))
    async with srv.sim:
        await srv.learn_blocks()
        yield srv


def stored(url: str) -> dict[str, int]:
    """Distinct poll instants stored per device (one poll = one timestamp for all its readings)."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('telemetry')").fetchone() == (None,):
            return {}  # the poller has not created the schema yet
        rows = conn.execute(
            "SELECT d.device_id, count(DISTINCT t.time) FROM telemetry t JOIN device d USING (device_key) "
            "GROUP BY d.device_id"
        ).fetchall()
    return {name: int(n) for name, n in rows}


async def start(cmd: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *cmd, env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )


async def polling(proc: asyncio.subprocess.Process) -> None:
    """Wait for the poller's start line (its signal handlers are installed by then)."""
    assert proc.stdout is not None
    while True:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line, "the poller exited before polling"
        if line.startswith(b"polling "):
            return


async def wait_stored(url: str, at_least: int, timeout_s: float) -> dict[str, int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        got = await asyncio.to_thread(stored, url)
        if all(got.get(d, 0) >= at_least for d in SIM_DEVICES):
            return got
        if loop.time() > deadline:
            raise AssertionError(f"after {timeout_s} s the store holds {got}")
        await asyncio.sleep(0.3)


@pytest.mark.slow
async def test_shipped_poller_commands_store_readings(server: Server, fresh_db_url: str, tmp_path: Path) -> None:
    """Each distinct command line of the deploy files runs until stopped and stores readings."""
    (sd_cmd, sd_env), (co_cmd, co_env) = systemd_command(), compose_command()
    runs = {tuple(local(sd_cmd)): sd_env}
    runs.setdefault(tuple(local(co_cmd)), {}).update(co_env)  # today both are `ems poll`: run once, both envs
    for cmd, env in runs.items():
        env = {
            **env,
            "EMS_DATABASE_URL": with_password(fresh_db_url),
            "EMS_PARK_FILE": str(server.park_file),
            "EMS_DATA_DIR": str(tmp_path / "data"),
        }
        before = await asyncio.to_thread(stored, fresh_db_url)
        proc = await start(list(cmd), env)
        try:
            await wait_stored(fresh_db_url, 3 + max(before.values(), default=0), timeout_s=90)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(proc.communicate(), 40)
        assert proc.returncode == 0, out.decode()
        assert b"stopped:" in out  # graceful: journal flushed and delivered


@pytest.mark.slow
async def test_sigkill_loses_at_most_one_poll_per_device(server: Server, fresh_db_url: str, tmp_path: Path) -> None:
    """Started with the database down, SIGKILL; restarted with it up, SIGKILL; restarted, SIGTERM."""
    cmd, env = systemd_command()
    down_url = f"postgresql://ems:{SECRET}@127.0.0.1:{free_port()}/ems?connect_timeout=1"  # nothing listens there
    env.update(EMS_PARK_FILE=str(server.park_file), EMS_DATA_DIR=str(tmp_path / "data"))
    for url in (down_url, fresh_db_url):
        proc = await start(local(cmd), {**env, "EMS_DATABASE_URL": with_password(url)})
        await polling(proc)
        before = dict(server.answered)
        await asyncio.sleep(3.5)  # ~3 polls per device; with the database down, all of them journaled only
        proc.kill()
        await proc.wait()
        assert all(server.answered[d] - before[d] >= 2 for d in SIM_DEVICES), (before, server.answered)
    last = await start(local(cmd), {**env, "EMS_DATABASE_URL": with_password(fresh_db_url)})
    try:
        await polling(last)
        await asyncio.sleep(2.0)
    finally:
        last.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(last.communicate(), 40)
    assert last.returncode == 0, out.decode()
    got = await asyncio.to_thread(stored, fresh_db_url)
    for dev in SIM_DEVICES:
        lost = server.answered[dev] - got.get(dev, 0)
        # two kills, each may lose the poll in flight (answered by the device, not yet journaled)
        assert 0 <= lost <= 2, f"{dev}: {server.answered[dev]} polls answered, {got.get(dev, 0)} stored"
