"""Errors raised in the core reach a Chinese reader in Chinese (issue 18): metering, the factor
registry, settlement-file rows. The expected Chinese is written here, not read from the catalogue;
English stays the default for callers that do not translate."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ems.carbon.factors import FactorError, FactorRegistry
from ems.carbon.settlement import parse
from ems.footprint.metering import MeteringError, meter_plan
from ems.i18n import localise, user_message
from ems.park import Park, load_park, parse_park
from entrypoints.cli.main import app
from tests.footprint.conftest import footprint_park_data

run = CliRunner().invoke


def test_metering_errors_in_chinese() -> None:
    data = footprint_park_data()
    data["tenants"][1]["meters"] = ["M_B", "M_A"]  # M_A belongs to tenant A already
    with pytest.raises(MeteringError) as caught:
        meter_plan(parse_park(data, "two owners"))
    assert str(caught.value) == "meter 'M_A' is named by tenants 'A' and 'B'"
    assert user_message(caught.value, "zh-CN") == "电表 'M_A' 同时被租户 'A' 和 'B' 列为其电表"
    data = footprint_park_data()
    data["tenants"][0]["shared_meter_key"] = 0.75  # 0.75 + 0.5 > 1
    with pytest.raises(MeteringError) as caught:
        meter_plan(parse_park(data, "keys"))
    assert user_message(caught.value, "zh-CN") == "各租户的公共电表分摊系数（shared_meter_key）之和为 1.25，超过 1"


def test_factor_registry_errors_in_chinese() -> None:
    reg = FactorRegistry.published()
    with pytest.raises(FactorError) as caught:
        reg.get("no-such-factor")
    zh = user_message(caught.value, "zh-CN")
    assert zh.startswith("未知排放因子 'no-such-factor'；已登记：") and "cn-national-" in zh
    assert str(caught.value).startswith("unknown emission factor 'no-such-factor'; known: ")


def test_factor_add_refusal_in_chinese_through_the_cli() -> None:
    """Refused while validating, before any database is opened."""
    args = ["factors", "add", "--key", "my-ppa", "--value", "abc", "--year", "2025", "--region", "CN-JS"]
    args += ["--publisher", "x", "--document", "y", "--published", "2025-01-01"]
    r = run(app, ["--lang", "zh-CN", *args])
    assert r.exit_code != 0 and "数值 'abc' 不是十进制数" in r.output, r.output
    r = run(app, args)
    assert "value 'abc' is not a decimal number" in r.output, r.output


def test_settlement_rows_refused_in_chinese() -> None:
    park: Park = load_park(Path(__file__).parents[2] / "examples" / "demo_park.yaml")
    csv = (
        "contract_id,start,end,kwh\n"
        "GPT-2026-OFFSHORE,2026-03-01T00:00+08:00,2026-03-01T00:15+08:00,100\n"  # good
        "NOPE,2026-03-01T00:00+08:00,2026-03-01T00:15+08:00,100\n"
        "GPT-2026-OFFSHORE,2026-03-01T00:15+08:00,2026-03-01T00:20+08:00,100\n"  # 00:20 off the grid
        "GPT-2026-OFFSHORE,yesterday,2026-03-01T00:30+08:00,100\n"
        "GPT-2026-OFFSHORE,2026-03-01T00:30+08:00,2026-03-01T00:45+08:00,lots\n"
        "GPT-2026-OFFSHORE,2026-03-01T00:45+08:00,2026-03-01T01:00+08:00,-5\n"
        "GPT-2026-OFFSHORE,2026-03-01T00:00+08:00,2026-03-01T00:30+08:00,7\n"  # overlaps line 2
        "a,b\n"
    )
    rows, errors = parse(csv.encode(), park)
    assert [r.line for r in rows] == [2]
    zh = {line: localise(reason, "zh-CN") for line, reason in errors}
    assert zh == {
        3: "未知合同 'NOPE'（园区文件中的绿电交易合同：GPT-2026-OFFSHORE）",
        4: "2026-02-28T16:20:00+00:00 不在 15 分钟时段边界上",
        5: "'yesterday' 不是 ISO 8601 时间",
        6: "结算电量 'lots' 不是数字",
        7: "结算电量须为不小于 0 的有限数，实为 -5",
        8: "与同一合同的第 2 行时段重叠",
        9: "本行有 2 个字段，表头有 4 个",
    }
    assert dict(errors)[9] == "2 fields, the header has 4"  # English for callers that do not translate
    assert localise(parse(b"", park)[1][0][1], "zh-CN") == "空文件"
    assert localise(parse(b"\xff\xfe", park)[1][0][1], "zh-CN").startswith("不是 UTF-8 文本：第 0 字节处")


def test_register_map_content_errors_in_chinese() -> None:
    """Every problem of a plain map on its own line, each in the reader's language."""
    from device_drivers.errors import RegisterMapError
    from device_drivers.register_map import parse_map

    data = {
        "kind": "plain",
        "orientation": {"wind": 1},
        "points": [
            {"name": "p", "address": 2, "function": 4, "type": "s33", "quantity": "p_kw"},
            {"name": "e", "address": 70000, "function": 5, "type": "u16", "quantity": "e_kwh"},
        ],
    }
    with pytest.raises(RegisterMapError) as caught:
        parse_map(data, "bad.yaml")
    zh = user_message(caught.value, "zh-CN").splitlines()
    assert "bad.yaml：points[0].type：未知数据类型 's33'（已知：" in zh[0]
    assert "bad.yaml：points[1].quantity：未知物理量 'e_kwh'（已知：" in "\n".join(zh)
    assert "bad.yaml：points[1].function：功能码须为 3（保持寄存器）或 4（输入寄存器）" in zh
    assert "bad.yaml：points[1].address：须为 0..65535 的整数" in zh
    english = str(caught.value).splitlines()
    assert len(english) == len(zh) and "bad.yaml: points[1].address: must be an integer 0..65535" in english


def test_poller_without_the_iec104_extra_says_so_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one thing that cannot be had here for real is a machine without c104: its client module
    is made unimportable for this test."""
    import sys

    from device_drivers.errors import RegisterMapError
    from device_drivers.iec104.park_stations import iec104_clients
    from ems.park import Iec104Tcp

    park = load_park(Path(__file__).parents[2] / "examples" / "tiny_park.yaml")
    conn = Iec104Tcp(host="127.0.0.1", port=2404, point_map="substation_rtu")
    devices = [d.model_copy(update={"connection": conn}) if d.id == "M_GRID" else d for d in park.devices]
    monkeypatch.setitem(sys.modules, "device_drivers.iec104.client", None)
    with pytest.raises(RegisterMapError) as caught:
        iec104_clients(park.model_copy(update={"devices": devices}), None, None)
    zh = user_message(caught.value, "zh-CN")
    assert zh.startswith("设备 M_GRID 是 IEC 104 站，需要安装 iec104 扩展：pip install"), zh
