"""``--help`` in the chosen language: the command tree's help texts translated in place.

typer fixes the help texts (``help="…"``, command docstrings) when it builds the click command
tree, before ``--lang`` is parsed; so the root group translates the whole tree before parsing its
arguments. The language is the ``--lang`` given before the sub-command, else ``EMS_LANG``, else
English: help does not read the park file (it must work without one, and quickly). The msgids are
the English texts as written, extracted by ``ems.i18n_extract.extract_cli``.

click's own words follow the same language: the "Usage:" prefix (each command's context makes a
formatter that writes it translated) and the usage errors (no such option, missing argument,
invalid value, ...), whose English templates are matched and rendered from the catalogue when they
leave the root group. typer vendors click without gettext, so matching its fixed templates is the
one hook there is; a message no template matches stays English.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import typer
from typer._click.core import Context
from typer._click.exceptions import UsageError
from typer._click.formatting import HelpFormatter
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
    "ERRORS_PANEL_TITLE": N_("Error"),
    "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help."),
    "ABORTED_TEXT": N_("Aborted."),
}
_USAGE = N_("Usage: ")
Templates = tuple[tuple[re.Pattern[str], str], ...]


def _templates(*pairs: tuple[str, str]) -> Templates:
    """(English pattern, catalogue msgid) pairs, compiled once."""
    return tuple((re.compile(pattern, re.DOTALL), msgid) for pattern, msgid in pairs)


# click's usage-error templates (typer._click) → catalogue messages with the same fields
_ERRORS = _templates(
    (
        r"No such option: (?P<name>\S+) \(Possible options: (?P<options>.+)\)",
        N_("No such option: {name} (did you mean: {options})"),
    ),
    (r"No such option: (?P<name>\S+)", N_("No such option: {name}")),
    (
        r"No such command (?P<name>'.+')\. Did you mean (?P<options>.+)\?",
        N_("No such command {name}. Did you mean {options}?"),
    ),
    (r"No such command (?P<name>'.+')\.", N_("No such command {name}.")),
    (r"Missing argument (?P<name>.+)\.", N_("Missing argument {name}.")),
    (r"Missing option (?P<name>.+)\.", N_("Missing option {name}.")),
    (r"Missing parameter (?P<name>.+)\.", N_("Missing parameter {name}.")),
    (r"Missing command\.", N_("Missing command.")),
    (r"Got unexpected extra argument\(s\) \((?P<args>.+)\)", N_("Got unexpected extra argument(s) ({args})")),
    (r"Option (?P<name>'.+') requires an argument\.", N_("Option {name} requires an argument.")),
    (r"Option (?P<name>'.+') does not take a value\.", N_("Option {name} does not take a value.")),
    (r"Invalid value for (?P<name>.+?): (?P<message>.+)", N_("Invalid value for {name}: {message}")),
    (r"Invalid value: (?P<message>.+)", N_("Invalid value: {message}")),
)
# the reason inside "Invalid value for X: …" (typer coerces values with pydantic)
_VALUE_ERRORS = _templates(
    (r"Input should be a valid integer.*", N_("an integer is expected")),
    (r"Input should be a valid number.*", N_("a number is expected")),
    (r"Input should be a valid boolean.*", N_("true or false is expected")),
    (r"Input should be a valid date.*", N_("a date (YYYY-MM-DD) is expected")),
    (r"Input should be (?P<choices>'.+')", N_("expected one of {choices}")),
    (r"(?P<value>'.*') is not one of (?P<choices>.+)\.", N_("{value} is not one of {choices}.")),
    (r"(?:File|Directory|Path) (?P<path>'.+') does not exist\.", N_("{path} does not exist.")),
)
_language = "en"  # the language of the running command line (set before its arguments are parsed)


def usage_error_text(message: str, lang: str) -> str:
    """A click usage error's English text in ``lang`` (unchanged when no template matches)."""
    return _match(_ERRORS, message, lang)


def _match(table: Templates, message: str, lang: str) -> str:
    for pattern, msgid in table:
        m = pattern.fullmatch(message)
        if m:
            fields = m.groupdict()
            if "message" in fields:
                fields["message"] = _match(_VALUE_ERRORS, fields["message"], lang)
            return translate(msgid, lang, **fields)
    return message


class _Formatter(HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, translate(_USAGE, _language) if prefix is None else prefix)


class _Context(Context):
    formatter_class = _Formatter


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
    cmd.context_class = _Context
    help_option = cmd.get_help_option(typer.Context(cmd))  # created once per command, then reused
    if help_option is not None:
        help_option.help = translate(_HELP_OPTION, lang)
    for sub in getattr(cmd, "commands", {}).values():
        translate_tree(sub, lang)


class TranslatedHelpGroup(TyperGroup):
    """The ``ems`` root group: translates the tree's help before the arguments are parsed (so
    before ``--help`` of any sub-command is shown)."""

    context_class = _Context  # the root's context exists before its arguments name the language

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's vendored click Context
        global _language
        lang = _language = help_language(args)
        if lang != "en":
            translate_tree(self, lang)
        if lang != "en" or "typer.rich_utils" in sys.modules:  # a process may show both languages
            from typer import rich_utils

            for name, msgid in _RICH_TEXTS.items():
                setattr(rich_utils, name, translate(msgid, lang))
        return self._usage_errors_translated(super().parse_args, ctx, args)

    def invoke(self, ctx: Any) -> Any:
        return self._usage_errors_translated(super().invoke, ctx)

    @staticmethod
    def _usage_errors_translated(call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except UsageError as exc:
            if _language == "en":
                raise
            raise UsageError(usage_error_text(exc.format_message(), _language), exc.ctx) from None
