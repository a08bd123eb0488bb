"""Babel extractor for HTML: the text of every element marked ``data-i18n`` is a message.

Referenced from ``babel-dashboard.cfg`` as ``ems.i18n_extract:extract_html`` (Babel's extractor
interface: yields ``(lineno, funcname, message, comments)``). Marked elements hold text only.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import IO, Any


class _Marked(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._open: tuple[int, list[str]] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._open is not None:
            raise ValueError(f"line {self.getpos()[0]}: <{tag}> inside an element marked data-i18n (text only)")
        if any(k == "data-i18n" for k, _ in attrs):
            self._open = (self.getpos()[0], [])

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None:
            self.found.append((self._open[0], " ".join("".join(self._open[1]).split())))
            self._open = None


def marked_messages(html: str) -> list[tuple[int, str]]:
    """(line, text) of every ``data-i18n`` element, whitespace collapsed as a browser shows it."""
    p = _Marked()
    p.feed(html)
    p.close()
    return p.found


def extract_html(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str, str, list[str]]]:
    for line, text in marked_messages(fileobj.read().decode(options.get("encoding", "utf-8"))):
        yield line, "_", text, []
