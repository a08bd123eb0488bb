"""The ``ems`` command in Chinese beyond its messages (issue 18): ``--help`` texts, park-file and
register-map problems. The expected Chinese is written here, not read from the catalogue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from ems.carbon.certificates import LedgerError, expand_serials
from ems.i18n import Msg, choose_language, message_of, translate
from ems.park import example_park_path
from entrypoints.cli.main import app

run = CliRunner().invoke


def test_help_in_chinese_then_english_again() -> None:
    r = run(app, ["--lang", "zh-CN", "park", "check", "--help"])
    assert r.exit_code == 0, r.output
    expected = (
        "校验园区文件及其引用的寄存器映射",
        "园区文件（YAML）",
        "显示此帮助信息并退出。",
        "参数",
        "选项",
        "[必填]",
    )
    for text in expected:
        assert text in r.output, (text, r.output)
    assert "Validate" not in r.output and "Show this message" not in r.output
    r = run(app, ["--help"], env={"EMS_LANG": "zh_CN.UTF-8"})
    assert r.exit_code == 0 and "零碳产业园区能源管理系统" in r.output and "园区描述文件" in r.output, r.output
    assert "命令" in r.output and "以 INFO 级别记录日志" in r.output
    r = run(app, ["park", "check", "--help"], env={"EMS_LANG": None})  # the same process, English again
    assert "Validate a park file" in r.output and "Arguments" in r.output and "参数" not in r.output, r.output


def _help_texts(cmd: Any, path: str = "ems") -> Iterator[tuple[str, str]]:
    if cmd.help:
        yield path, cmd.help
    for p in cmd.params:
        if getattr(p, "help", None):
            yield f"{path} {p.name}", p.help  # type: ignore[attr-defined]
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _help_texts(sub, f"{path} {name}")


def test_every_help_text_has_a_translation() -> None:
    """The live command tree (what typer shows), not the extraction: a help text built at run time
    (an f-string) would be missing from the catalogue and show in English."""
    texts = list(_help_texts(typer.main.get_command(app)))
    assert len(texts) > 250
    missing = [f"{where}: {text!r}" for where, text in texts if translate(text, "zh-CN") == text]
    assert missing == []


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "park.yaml"
    path.write_text(text, "utf-8")
    return path


def test_broken_park_file_in_chinese(tmp_path: Path) -> None:
    bad = "name: x\ntimezone: Mars/Base\ninterval_minutes: 7\nnetwork:\n  buses: [{id: b1, vn_kv: x}]\n  bogus: 1\n"
    r = run(app, ["--lang", "zh-CN", "park", "check", str(_write(tmp_path, bad))])
    assert r.exit_code == 2
    lines = r.output.splitlines()
    for expected in (
        "park.yaml: province: 缺少必填键",
        "park.yaml: timezone: 未知时区 'Mars/Base'",
        "park.yaml: interval_minutes: interval_minutes 须能整除 60",
        "park.yaml: network.buses[0].vn_kv: 须为数字",
        "park.yaml: network.bogus: 未知的键（拼写错误？）",
    ):
        assert any(line.endswith(expected) for line in lines), (expected, r.output)
    r = run(app, ["park", "check", str(_write(tmp_path, bad))])  # English by default
    assert "network.bogus: unknown key (typo?)" in r.output and "timezone: unknown time zone 'Mars/Base'" in r.output
    r = run(app, ["--lang", "zh-CN", "park", "check", str(_write(tmp_path, "name: [x\n"))])
    assert r.exit_code == 2 and "第 2 行第 1 列: 不是有效的 YAML：" in r.output, r.output
    r = run(app, ["--lang", "zh-CN", "park", "check", str(tmp_path / "absent.yaml")])
    assert r.exit_code == 2 and "无法读取文件：No such file or directory" in r.output, r.output


def test_wrong_map_and_wrong_reference_in_chinese(tmp_path: Path) -> None:
    data = yaml.safe_load(example_park_path("demo").read_text("utf-8"))
    modbus = [d for d in data["devices"] if "register_map" in d.get("connection", {})]
    modbus[0]["connection"]["register_map"] = "no_such_map"
    path = _write(tmp_path, yaml.safe_dump(data, allow_unicode=True))
    r = run(app, ["--lang", "zh-CN", "park", "check", str(path)])
    assert r.exit_code == 2 and "connection.register_map：" in r.output and "无法读取寄存器映射（" in r.output, r.output
    assert "内置映射：" in r.output
    data["devices"][0]["bus"] = "nowhere"
    r = run(app, ["--lang", "zh-CN", "park", "check", str(_write(tmp_path, yaml.safe_dump(data)))])
    assert r.exit_code == 2 and "devices[0].bus: 未知的母线 'nowhere'（已有：" in r.output, r.output


def test_ledger_refusal_in_chinese() -> None:
    """A lower layer's refusal (LedgerError carrying a Msg) shown in the CLI's language, and inside
    another message as the API builds it (rendered per request)."""
    park = str(example_park_path("demo"))
    args = ["certificates", "retire", "GEC1", "--start", "2026-03-03", "--end", "2026-03-02", "--beneficiary", "x"]
    r = run(app, ["--lang", "zh-CN", *args, "--park", park])  # refused before the database is opened
    assert r.exit_code == 2 and "时段结束 2026-03-02T00:00:00+08:00 不晚于开始 2026-03-03T00:00:00+08:00" in r.output
    r = run(app, [*args, "--park", park])
    assert "period end 2026-03-02T00:00:00+08:00 is not after start" in r.output, r.output
    with pytest.raises(LedgerError) as caught:
        expand_serials(["GEC9..GEC1"])
    refusal = Msg("refused, nothing written: {error}", error=message_of(caught.value))
    assert refusal.render("zh-CN") == "已拒绝，未写入任何内容：证书编号区间 'GEC9..GEC1' 为空"
    assert str(refusal) == "refused, nothing written: serial range 'GEC9..GEC1' is empty"


def test_click_usage_and_parse_errors_in_chinese(tmp_path: Path) -> None:
    """click's own words (typer vendors click without gettext): the usage line, the hint and every
    usage-error template in zh-CN; English again in the same process without --lang."""
    park = str(example_park_path("tiny"))
    cases = [
        (["park", "check", "--nope"], "没有此选项：--nope"),
        (["park", "check"], "缺少参数 'path'。"),
        (["parkk"], "没有此命令 'parkk'。您是否要用 'park'？"),
        (["park", "check", park, "extra"], "多余的参数（extra）"),
        (["simulate-year", "--park"], "选项 '--park' 需要一个值。"),
        (["simulate-year", "--days", "abc", "--park", park], "'--days' 的值无效：应为整数"),
        (
            ["simulate-year", "--replan", "weekly", "--park", park],
            "值无效：replan 须为 'hourly'（每小时）或 'daily'（每日）",
        ),
        (
            ["simulate-year", "--binaries", "sometimes", "--park", park],
            "值无效：binaries 须为 'auto'、'always' 或 'never'",
        ),
    ]
    for args, expected in cases:
        r = run(app, ["--lang", "zh-CN", *args], prog_name="ems", terminal_width=200)
        assert r.exit_code == 2, (args, r.output)
        assert expected in r.output and "错误" in r.output, (args, r.output)
        assert "Usage:" not in r.output and "Error" not in r.output and "Try " not in r.output, (args, r.output)
        if args != ["simulate-year", "--park"]:  # (click raises that one without a context: no usage line)
            assert "用法：ems" in r.output and "查看帮助" in r.output, (args, r.output)
    r = run(app, ["park", "check", "--nope"], prog_name="ems")
    assert r.exit_code == 2 and "No such option: --nope" in r.output and "Usage: ems park check" in r.output


def test_simulation_summary_in_chinese(tmp_path: Path) -> None:
    """The closed-loop summary an operator reads (one day of the tiny park, re-planned once)."""
    park = str(example_park_path("tiny"))
    args = ["simulate-year", "--days", "1", "--replan", "daily", "--park", park, "--out", str(tmp_path)]
    r = run(app, ["--lang", "zh-CN", *args], prog_name="ems", terminal_width=200)
    assert r.exit_code == 0, r.output
    for zh in (
        "1 天，1 次滚动重规划",
        "电网排放因子：",
        "按来源计的本地可再生能源消纳：",
        "本期成本 [元]",
        "需量电费（按期分摊）",
        "合计",
        "已写入",
    ):
        assert zh in r.output, (zh, r.output)
    assert "re-plans" not in r.output and "cost of the period" not in r.output and "demand charge" not in r.output


def test_demo_access_lines_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    from entrypoints.cli.demo import print_access
    from entrypoints.operate.live import Access

    choose_language("zh-CN")
    print_access(Access("http://127.0.0.1:8000", "http://127.0.0.1:8000/dashboard/#key=t", {"operator": "t0"}))
    out = capsys.readouterr().out
    assert "API 接口   http://127.0.0.1:8000  （OpenAPI 文档：http://127.0.0.1:8000/docs）" in out, out
    assert "运行看板   http://127.0.0.1:8000/dashboard/#key=t" in out and "为本次演示创建的 API 密钥" in out, out
    assert "dashboard  " not in out
