"""The dashboard in Chinese (issue 18): headless Chromium (Debian's package) over a seeded database,
the park file's default language zh-CN, then the switch to English.

"Untranslated" is checked on what a person sees: every visible text node is read from the page, and
none may be an English msgid of the dashboard catalogue or a raw API key (snake_case, enum values).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from ems.i18n import catalogue
from ems.park import Park
from ems.store import Store
from ems.synthetic import synthesize

from ..api.conftest import make_api

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="needs Debian's chromium (apt-get install chromium); .ci/run installs it",
)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
# the text of every visible text node (a parent with a layout box, not hidden)
VISIBLE_TEXT = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const n = walk.currentNode, el = n.parentElement, t = n.textContent.trim();
    if (!t || !el || el.closest("[hidden], script, style, option")) continue;
    if (el.getClientRects().length === 0 || getComputedStyle(el).visibility === "hidden") continue;
    out.push(t);
  }
  return out;
}"""
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
API_VALUES = {"ok", "degraded", "offline", "pushed", "pv", "wind", "battery", "load", "meter", "optimal", "fallback"}


def test_dashboard_in_chinese_then_english(store: Store, tiny_park: Park, tmp_path: Path, artifacts_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    from services.planning import plan_from_store

    park = tiny_park.model_copy(update={"language": "zh-CN"})  # the park file's default
    day = dt.datetime(2026, 6, 21, tzinfo=park.tz)
    syn = synthesize(park, day.astimezone(dt.UTC), hours=24, step_s=300, seed=3)
    assert store.ingest(syn.batch, now=day + dt.timedelta(days=2)).rejected == []
    plan_from_store(store, park, day.astimezone(dt.UTC), 96, ac_check=False)
    api = make_api(store, park)
    zh = catalogue("zh-CN", "dashboard")
    english = {msgid for msgid, text in zh.items() if text != msgid}
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1300, "height": 1700})
            page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{api.url}/dashboard/#key={api.tokens['operator']}")
            page.wait_for_selector("body[data-loaded=true]", timeout=30_000)
            assert page.evaluate("document.documentElement.lang") == "zh-CN"
            assert page.input_value("#lang") == "zh-CN"
            page.screenshot(path=str(tmp_path / "dashboard-zh-CN.png"), full_page=True)
            shutil.copy(tmp_path / "dashboard-zh-CN.png", artifacts_dir / "dashboard-zh-CN.png")
            texts = page.evaluate(VISIBLE_TEXT)
            untranslated = [t for t in texts if t in english or t in API_VALUES or SNAKE.search(t)]
            assert untranslated == [], untranslated
            seen = " ".join(texts)
            for term in (
                "园区电力碳排放因子",
                "零碳园区指标",
                "储能荷电状态",
                "单位能耗碳排放",
                "清洁能源消费占比",
                "绿电交易",
            ):
                assert term in seen, term
            assert page.locator("#devices tbody tr").count() == len(park.devices)
            for chart in ("grid", "re", "battery", "soc", "load", "supply", "plan-soc", "curtail", "ef", "forecast"):
                assert page.locator(f"#chart-{chart}").get_attribute("data-state") == "drawn", chart
            # the switch: English, kept in localStorage across the reload it makes
            page.select_option("#lang", "en")
            page.wait_for_selector("html[lang=en] body[data-loaded=true]", timeout=30_000)
            assert "Battery state of charge" in page.inner_text("main")
            assert "储能荷电状态" not in page.inner_text("main")
            # the key form, before any key, in the language asked for
            page2 = browser.new_page()
            page2.goto(f"{api.url}/dashboard/?lang=zh-CN")
            page2.wait_for_selector("#key-form:not([hidden])", timeout=10_000)
            assert "运行人员 API 密钥" in page2.inner_text("#key-form")
            browser.close()
    finally:
        api.server.stop()
    assert errors == [], errors
