"""The carbon CLI in Chinese (issue 18): ``--lang``/``EMS_LANG`` over the park file's default, the
report's PDF and CSV in that language, and refusals in it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
import yaml
from pypdf import PdfReader
from typer.testing import CliRunner

from ems.i18n import choose_language
from entrypoints.cli.main import app
from tests.carbon.conftest import carbon_park_data
from tests.carbon.test_cli import cli  # noqa: F401  (the fixture: a seeded database and park file)


@pytest.fixture(autouse=True)
def _english_afterwards() -> Iterator[None]:
    yield
    choose_language(None)  # the CLI's choice lives in this process's context: leave none behind


def test_report_in_chinese(cli: typer.Typer, tmp_path: Path) -> None:  # noqa: F811
    run = CliRunner().invoke
    r = run(
        app,
        ["--lang", "zh-CN", "report", "create", "--start", "2026-03-02", "--end", "2026-03-03", "--allow-incomplete"],
    )
    assert r.exit_code == 0, r.output
    assert "内容 sha256 " in r.output and "（哈希链第 1 条）" in r.output
    files = {
        line.split()[0]: Path(line.split()[1]) for line in r.output.splitlines() if line[:4] in ("json", "csv ", "pdf ")
    }
    assert files["csv"].read_bytes().decode("utf-8-sig").startswith("时段开始（UTC）,电网购入电量 [kWh]")
    text = PdfReader(io.BytesIO(files["pdf"].read_bytes())).pages[0].extract_text()
    assert "园区电力碳排放因子报告" in text
    r = run(app, ["report", "verify", str(files["json"])], env={"EMS_LANG": "zh_CN.UTF-8"})
    assert r.exit_code == 0 and r.output.startswith("通过（") and "哈希链完整" in r.output, r.output
    r = run(app, ["--lang", "zh-CN", "report", "verify", str(tmp_path / "absent.json")])
    assert r.exit_code == 2 and "文件不存在：" in r.output


def test_park_default_and_unknown_language(tmp_path: Path) -> None:
    park_file = tmp_path / "park.yaml"
    park_file.write_text(yaml.safe_dump({**carbon_park_data(), "language": "zh-CN"}, allow_unicode=True), "utf-8")
    run = CliRunner().invoke
    bad_start = ["report", "create", "--start", "2026-3-2", "--end", "2026-03-03", "--park", str(park_file)]
    r = run(app, bad_start)  # refused after the park file is read, before any database access
    assert r.exit_code == 2 and "无法识别时间 '2026-3-2'" in r.output  # the park file's default
    r = run(app, ["--lang", "en", *bad_start])
    assert r.exit_code == 2 and "cannot read time '2026-3-2'" in r.output  # the choice beats the park's
    r = run(app, ["--lang", "fr", "report", "list"])
    assert r.exit_code == 2 and "unsupported language 'fr'; supported: en, zh-CN" in r.output
