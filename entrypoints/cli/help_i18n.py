"""``--help`` in the chosen language: the command tree's help texts translated in place.

typer fixes the help texts (``help="…"``, command docstrings) when it builds the click command
tree, before ``--lang`` is parsed; so the root group translates the whole tree before parsing its
arguments. The language is the ``--lang`` given before the sub-command, else ``EMS_LANG``, else
English: help does not read the park file (it must work without one, and quickly). The msgids are
the English texts as written, extracted by ``ems.i18n_extract.extract_cli``. click's own
"Usage:" and its error messages stay English.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from ems.i18n import N_, normalise, translate

# typer's rich help panels read these module constants when they draw (typer.rich_utils)
_RICH_TEXTS = {
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "DEFAULT_STRING": N_("[default: {}]"),
    "ENVVAR_STRING": N_("[env var: {}]"),
    "REQUIRED_LONG_STRING": N_("[required]"),
}
_HELP_OPTION = N_("Show this message and exit.")
# help texts of typer's own root options, translated with the tree (marked here for extraction)
_TYPER_OPTIONS = (
    N_("Install completion for the current shell."),
    N_("Show completion for the current shell, to copy it or customize the installation."),
)


def help_language(args: Sequence[str]) -> str:
    """``--lang X``/``--lang=X`` before the sub-command, else ``EMS_LANG``; English when neither
    names a supported language (the root callback reports a wrong one)."""
    tag = os.environ.get("EMS_LANG")
    for i, a in enumerate(args):
        if a == "--lang" and i + 1 < len(args):
            tag = args[i + 1]
            break
        if a.startswith("--lang="):
            tag = a.partition("=")[2]
            break
        if a == "--" or not a.startswith("-"):
            break
    return normalise(tag) or "en"


def _text(text: str | None, lang: str) -> str | None:
    # translate() formats only with parameters: "[default: {}]" and the like keep their braces
    return translate(text, lang) if text else text


def translate_tree(cmd: TyperCommand | TyperGroup, lang: str) -> None:
    """Every help text of ``cmd`` and its sub-commands in ``lang`` (English: unchanged)."""
    cmd.help = _text(cmd.help, lang)
    cmd.short_help = _text(cmd.short_help, lang)
    for p in cmd.params:
        if getattr(p, "help", None):
            p.help = _text(p.help, lang)  # type: ignore[attr-defined]
    help_option = cmd.get_help_option(typer.Context(cmd))  # created once per command, then reused
    if help_option is not None:
        help_option.help = translate(_HELP_OPTION, lang)
    for sub in getattr(cmd, "commands", {}).values():
        translate_tree(sub, lang)


class TranslatedHelpGroup(TyperGroup):
    """The ``ems`` root group: translates the tree's help before the arguments are parsed (so
    before ``--help`` of any sub-command is shown)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's vendored click Context
        lang = help_language(args)
        if lang != "en":
            translate_tree(self, lang)
        if lang != "en" or "typer.rich_utils" in sys.modules:  # a process may show both languages
            from typer import rich_utils

            for name, msgid in _RICH_TEXTS.items():
                setattr(rich_utils, name, translate(msgid, lang))
        return super().parse_args(ctx, args)
