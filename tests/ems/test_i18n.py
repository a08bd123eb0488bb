"""Translation catalogues and language choice (issue 18).

The completeness test extracts the marked strings from the source with Babel (the same mapping
files as ``pybabel extract``, docs/i18n.md) and fails on any msgid the zh-CN catalogue lacks, has
empty or fuzzy, or translates with different ``{placeholders}``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from ems.i18n import LOCALE_DIR, Msg, from_accept_language, normalise, translate
from ems.park import ParkFileError, example_park_path, load_park, parse_park

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = {"ems": "babel.cfg", "dashboard": "babel-dashboard.cfg"}
KEYWORDS = {**DEFAULT_KEYWORDS, "Msg": None, "N_": None}
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def _extracted(domain: str) -> dict[str, str]:
    with (ROOT / MAPPINGS[domain]).open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = {}
    for filename, line, message, _comments, _context in extract_from_dir(ROOT, method_map, options_map, KEYWORDS):
        found.setdefault(message if isinstance(message, str) else message[0], f"{filename}:{line}")
    return found


@pytest.mark.parametrize("domain", sorted(MAPPINGS))
def test_zh_cn_catalogue_translates_every_message(domain: str) -> None:
    extracted = _extracted(domain)
    assert len(extracted) > 20, "extraction found almost nothing: mapping file broken?"
    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / f"{domain}.po").open("rb") as fh:
        po = {m.id: m for m in read_po(fh) if m.id}
    problems = []
    for msgid, where in sorted(extracted.items()):
        m = po.get(msgid)
        if m is None or not m.string:
            problems.append(f"{where}: untranslated {msgid!r}")
        elif m.fuzzy:
            problems.append(f"{where}: fuzzy (unreviewed) {msgid!r}")
        elif sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(str(m.string))):
            problems.append(f"{where}: placeholders differ in {msgid!r} → {m.string!r}")
    stale = sorted(set(po) - set(extracted))
    assert problems == [], "\n".join(problems) + "\nrun pybabel extract/update (docs/i18n.md)"
    assert stale == [], f"catalogue entries no longer in the source: {stale}"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("da, en-gb;q=0.8, en;q=0.7", "en"),  # RFC 9110 section 12.5.4 example
        ("fr;q=0.9, zh-Hans-CN;q=0.5", "zh-CN"),
        ("en;q=0.2, zh;q=0.7", "zh-CN"),  # q-values, not order, decide
        ("zh-TW", None),  # Traditional Chinese is another language; fall back to the default
        ("zh;q=0, de", None),  # q=0 means "not acceptable"
        ("*", None),
        ("", None),
        (None, None),
    ],
)
def test_accept_language(header: str | None, expected: str | None) -> None:
    assert from_accept_language(header) == expected


def test_tags_normalise() -> None:
    assert [normalise(t) for t in ("zh_CN.UTF-8", "zh-cn", "ZH", "en_GB", "C", "")] == [
        "zh-CN",
        "zh-CN",
        "zh-CN",
        "en",
        None,
        None,
    ]


def test_messages_render_later_in_any_language() -> None:
    m = Msg("{where} contains a NUL character", where=Msg("query"))
    assert m == "query contains a NUL character"  # a plain str for callers that do not translate
    assert m.render("zh-CN") == "查询字符串含有 NUL 字符"
    assert translate("location-based", "zh-CN") == "基于位置" and translate("market-based", "zh-CN") == "基于市场"
    assert translate("no such message", "zh-CN") == "no such message"


def test_park_language_default_and_validation() -> None:
    assert load_park(example_park_path("tiny")).language == "en"
    data = load_park(example_park_path("tiny")).model_dump(mode="json")
    assert parse_park({**data, "language": "zh_CN"}).language == "zh-CN"
    with pytest.raises(ParkFileError, match=r"language.*unsupported language 'fr'; supported: en, zh-CN"):
        parse_park({**data, "language": "fr"})
