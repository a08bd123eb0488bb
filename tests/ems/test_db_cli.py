"""`ems db status` on both backends, and `ems db timescaledb build` refusing a bad tarball (issue #16)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ems.park import example_park_path
from entrypoints.cli.main import app

runner = CliRunner()


def test_status_names_backend_version_and_features(fresh_db_url: str, tmp_path: Path, backend: str) -> None:
    env = {"EMS_DATABASE_URL": fresh_db_url, "EMS_DATA_DIR": str(tmp_path)}
    r = runner.invoke(app, ["db", "status", "--park", str(example_park_path("tiny"))], env=env)
    assert r.exit_code == 0, r.output
    first = r.output.splitlines()[0]
    assert first.startswith(f"backend: {backend} (PostgreSQL 18.")
    if backend == "timescaledb":
        assert "TimescaleDB 2.29.2" in first
        for line in (
            "hypertable: on",
            "compression policy: after 7 days",
            "retention policy: keep 3 years, never a period an issued report cites",
            "continuous aggregates: telemetry_15m, telemetry_1h",
            "0002_retention_keeps_cited",
        ):
            assert line in r.output
    else:
        assert "hypertable" not in r.output and "0001_series_views" in r.output
    assert "readings stored: 0" in r.output


def test_status_backend_line_in_chinese(fresh_db_url: str, tmp_path: Path, backend: str) -> None:
    env = {"EMS_DATABASE_URL": fresh_db_url, "EMS_DATA_DIR": str(tmp_path)}
    r = runner.invoke(app, ["--lang", "zh-CN", "db", "status", "--park", str(example_park_path("tiny"))], env=env)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0].startswith(f"数据库后端：{backend}（PostgreSQL 18."), r.output


def test_build_refuses_a_tarball_that_is_not_the_release(tmp_path: Path) -> None:
    fake = tmp_path / "timescaledb-2.29.2.tar.gz"
    fake.write_bytes(b"tampered")
    r = runner.invoke(app, ["db", "timescaledb", "build", "--source", str(fake), "--cache-dir", str(tmp_path)])
    assert r.exit_code == 1
    assert "does not match" in r.output and "plain PostgreSQL" in r.output
