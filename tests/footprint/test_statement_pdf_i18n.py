"""The tenant statement PDF in Chinese (issue 18): labels translated, every glyph drawn from the
embedded font (the carbon report's checks: pypdf + fontTools, poppler rasterises every page)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from ems.footprint.pdf import SUPPLY, render_statement_pdf
from ems.footprint.statement import build_statement
from ems.park import Park
from tests.carbon.test_report_i18n import PDFTOPPM, _drawn_glyphs
from tests.footprint.test_allocation import _run

HASH = "0" * 64


@pytest.fixture(scope="module")
def content(fp_park: Park) -> dict:  # type: ignore[type-arg]
    return build_statement(_run(fp_park), "A", software_version="test")


def _text(pdf: bytes) -> str:
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_zh_statement_labels_and_glyphs(content: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    pdf = render_statement_pdf(content, HASH, "zh-CN")
    assert _drawn_glyphs(pdf) > 500
    text = _text(pdf)
    terms = ("企业（租户）用电声明", "基于位置的排放量", "基于市场的排放因子", "供电构成", "自有绿证", "最大余数法")
    for term in terms:
        assert term in text, term
    assert not any(key in text for key in SUPPLY), "a supply-mix key shown instead of its label"
    assert "Tenant electricity statement" not in text and "Evidence" not in text
    if PDFTOPPM is None:
        pytest.skip("needs poppler-utils (pdftoppm); .ci/run installs it")
    src = tmp_path / "statement-zh.pdf"
    src.write_bytes(pdf)
    run = subprocess.run([str(PDFTOPPM), "-r", "40", "-png", str(src), str(tmp_path / "page")], capture_output=True)
    assert run.returncode == 0 and run.stderr == b"", run.stderr
    pages = sorted(tmp_path.glob("page-*.png"))
    assert pages and all(Image.open(p).convert("L").getextrema()[0] < 128 for p in pages)


def test_english_statement_unchanged_in_substance(content: dict) -> None:  # type: ignore[type-arg]
    pdf = render_statement_pdf(content, HASH)
    text = _text(pdf)
    assert "Tenant electricity statement" in text and content["consumption_kwh"] in text
    assert "企业" not in text
    assert render_statement_pdf(content, HASH) == pdf  # deterministic
