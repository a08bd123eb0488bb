"""The languages people read: English (the source text) and Simplified Chinese (``zh-CN``).

Mechanism (docs/i18n.md): GNU gettext catalogues kept with Babel. Code marks English source
strings (``_("…")`` / ``N_("…")`` / ``Msg("…", name=value)`` in Python, ``_("…")`` in the
dashboard's JavaScript, ``data-i18n`` attributes in its HTML); ``pybabel extract`` collects them
(``babel.cfg``) and translators edit ``ems/locale/zh_CN/LC_MESSAGES/<domain>.po``. Only the
``.po`` sources are committed: they are compiled in memory when first used (Babel reads the
``.po``, writes the ``.mo`` bytes, gettext reads those), so a compiled file can never be stale.
Domains: ``ems`` (CLI, API errors, reports) and ``dashboard``. Placeholders are ``{name}``
(``str.format``), the same in every language.

Which language: the park file's ``language`` is the default; HTTP clients choose with
``Accept-Language``, the CLI with ``--lang`` or ``EMS_LANG``.
"""

from __future__ import annotations

import contextvars
import functools
import gettext
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "zh-CN")  # BCP 47 tags, as park files and HTTP write them
DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAINS = ("ems", "dashboard")
_GETTEXT_NAME = {"en": "en", "zh-CN": "zh_CN"}
# a requested tag's primary subtag + script/region → our language ("zh-TW"/"zh-Hant" are not zh-CN)
_ALIASES = {"en": "en", "zh": "zh-CN", "zh-cn": "zh-CN", "zh-hans": "zh-CN", "zh-hans-cn": "zh-CN", "zh-sg": "zh-CN"}

_current: contextvars.ContextVar[str] = contextvars.ContextVar("ems_language", default=DEFAULT_LANGUAGE)
_explicit: contextvars.ContextVar[bool] = contextvars.ContextVar("ems_language_explicit", default=False)


def normalise(tag: str | None) -> str | None:
    """``zh_CN.UTF-8``, ``zh-Hans``, ``zh`` → ``zh-CN``; ``en-US`` → ``en``; anything else → None."""
    if not tag:
        return None
    t = tag.split(".")[0].replace("_", "-").strip().lower()
    if t in _ALIASES:
        return _ALIASES[t]
    return "en" if t.split("-")[0] == "en" else None


def parse_language(tag: str) -> str:
    """A supported language from a tag, or ValueError listing the supported ones."""
    lang = normalise(tag)
    if lang is None:
        raise ValueError(f"unsupported language {tag!r}; supported: {', '.join(LANGUAGES)}")
    return lang


def from_accept_language(header: str | None) -> str | None:
    """The supported language an ``Accept-Language`` header prefers most (RFC 9110 q-values), or None."""
    best: tuple[float, int, str] | None = None
    for i, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        m = re.search(r"q\s*=\s*([0-9.]+)", params)
        if m:
            try:
                q = float(m.group(1))
            except ValueError:
                continue
        lang = normalise(tag)
        if lang and q > 0 and (best is None or (q, -i) > (best[0], best[1])):
            best = (q, -i, lang)
    return best[2] if best else None


@functools.cache
def translations(lang: str, domain: str = "ems") -> gettext.NullTranslations:
    """The catalogue of ``lang`` compiled in memory from its ``.po`` (English: the msgids themselves)."""
    if lang == "en":
        return gettext.NullTranslations()
    po = LOCALE_DIR / _GETTEXT_NAME[lang] / "LC_MESSAGES" / f"{domain}.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=_GETTEXT_NAME[lang], domain=domain)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)  # fuzzy entries are unreviewed: English shows instead
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def catalogue(lang: str, domain: str) -> dict[str, str]:
    """msgid → text for every message of a domain (for the dashboard's JavaScript)."""
    t = translations(lang, domain)
    if isinstance(t, gettext.GNUTranslations):
        return {k: v for k, v in t._catalog.items() if isinstance(k, str) and k}  # type: ignore[attr-defined]
    return {}


def translate(msgid: str, lang: str | None = None, domain: str = "ems", **params: Any) -> str:
    """``msgid`` in ``lang`` (default: the current language), with ``{name}`` placeholders filled."""
    text = translations(lang or _current.get(), domain).gettext(msgid)
    return text.format(**params) if params else text


def _(msgid: str, **params: Any) -> str:
    """``msgid`` in the current language (:func:`use_language`)."""
    return translate(msgid, **params)


def N_(msgid: str) -> str:
    """Marks a string for extraction, translated later where it is shown."""
    return msgid


class Msg(str):
    """A message that is English text (so existing callers and logs see English) and can be
    rendered in another language later, e.g. by the API for the request's ``Accept-Language``."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Msg:
        self = super().__new__(cls, msgid.format(**params) if params else msgid)
        self.msgid, self.params = msgid, params
        return self

    def render(self, lang: str) -> str:
        params = {k: v.render(lang) if isinstance(v, Msg) else v for k, v in self.params.items()}
        return translate(self.msgid, lang, **params)


class Lines(Msg):
    """Several messages shown one per line (e.g. every problem of a file), each rendered later."""

    items: tuple[str, ...]

    def __new__(cls, items: Sequence[str]) -> Lines:
        self = str.__new__(cls, "\n".join(items))
        self.msgid, self.params, self.items = "", {}, tuple(items)
        return self

    def render(self, lang: str) -> str:
        return "\n".join(localise(m, lang) for m in self.items)


def current_language() -> str:
    return _current.get()


def choose_language(lang: str | None) -> None:
    """The language chosen for this context (the CLI's ``--lang``/``EMS_LANG``); None: none chosen,
    English until :func:`default_language` names the park's."""
    _current.set(lang or DEFAULT_LANGUAGE)
    _explicit.set(lang is not None)


def default_language(lang: str) -> None:
    """The park file's language, used unless one was chosen."""
    if not _explicit.get():
        _current.set(lang)


def localise(text: str, lang: str | None = None) -> str:
    """A :class:`Msg` in ``lang`` (default: the current language); any other text as it is."""
    return text.render(lang or _current.get()) if isinstance(text, Msg) else text


def user_message(exc: BaseException, lang: str | None = None) -> str:
    """What a person reads for an exception shown at an edge (CLI, API): lower layers raise with a
    :class:`Msg` (``raise SomeError(Msg("…", name=value))``) or give the exception a
    ``render(lang)`` method; other exceptions show their English text."""
    render = getattr(exc, "render", None)
    if callable(render):
        return str(render(lang))
    return localise(message_of(exc), lang)


def message_of(exc: BaseException) -> str:
    """An exception's :class:`Msg` (to render later, e.g. as a parameter of another) or its text."""
    return exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Msg) else str(exc)
