"""Babel extractors: HTML (the text of every element marked ``data-i18n``) and the CLI (Python
plus typer's ``--help`` texts, which cannot be wrapped in a marker: docstrings and ``help=``).

Referenced from ``babel-dashboard.cfg`` as ``ems.i18n_extract:extract_html`` and from
``babel.cfg`` as ``ems.i18n_extract:extract_cli`` (Babel's extractor interface: yields
``(lineno, funcname, message, comments)``). Marked HTML elements hold text only.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any, cast

from babel.messages.extract import extract_python


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


def _command_docstrings(tree: ast.Module, here: Path) -> Iterator[tuple[int, str]]:
    """Docstrings typer shows as help: functions decorated ``@x.command(…)``/``@x.callback(…)``, and
    functions of a sibling module registered as ``x.command(…)(module.function)`` (the CLI's main)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
            isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ("command", "callback")
            for d in node.decorator_list
        ):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield node.lineno, doc
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Call)
            and isinstance(node.func.func, ast.Attribute)
            and node.func.func.attr == "command"
            and node.args
            and isinstance(node.args[0], ast.Attribute)
            and isinstance(node.args[0].value, ast.Name)
        ):
            module = ast.parse((here / f"{node.args[0].value.id}.py").read_text("utf-8"))
            for fn in module.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == node.args[0].attr:
                    doc = ast.get_docstring(fn, clean=True)
                    if doc:
                        yield node.lineno, doc


def extract_cli(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[Any, ...]]:
    """Python extraction plus what typer shows as ``--help``: every literal ``help="…"`` argument
    and every command's docstring (translated when shown: ``entrypoints.cli.help_i18n``)."""
    yield from extract_python(fileobj, keywords, comment_tags, cast(Any, options))
    fileobj.seek(0)
    tree = ast.parse(fileobj.read().decode(options.get("encoding", "utf-8")))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "help" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    yield kw.value.lineno, None, inspect.cleandoc(kw.value.value), []
    for line, doc in _command_docstrings(tree, Path(getattr(fileobj, "name", ".")).parent):
        yield line, None, doc, []
