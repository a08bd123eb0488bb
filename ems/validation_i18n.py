"""pydantic validation errors as catalogue messages (:class:`ems.i18n.Msg`), for files people edit.

A validator that raises ``ValueError(Msg(…))`` keeps its message; pydantic's own errors are
looked up by their stable ``type`` and filled from their ``ctx`` (pydantic's English ``msg`` is
the fallback for a type not listed here).
"""

from __future__ import annotations

from typing import Any

from ems.i18n import N_, Msg

# pydantic error type → message; the placeholders are keys of that type's ctx
_BY_TYPE = {
    "missing": N_("required key missing"),
    "extra_forbidden": N_("unknown key (typo?)"),
    "int_parsing": N_("must be a whole number"),
    "int_type": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "float_type": N_("must be a number"),
    "decimal_parsing": N_("must be a decimal number"),
    "decimal_type": N_("must be a decimal number"),
    "bool_parsing": N_("must be true or false"),
    "bool_type": N_("must be true or false"),
    "string_type": N_("must be a text"),
    "list_type": N_("must be a list"),
    "dict_type": N_("must be a mapping"),
    "model_type": N_("must be a mapping"),
    "model_attributes_type": N_("must be a mapping"),
    "greater_than": N_("must be greater than {gt}"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than": N_("must be less than {lt}"),
    "less_than_equal": N_("must be at most {le}"),
    "literal_error": N_("must be one of {expected}"),
    "enum": N_("must be one of {expected}"),
    "union_tag_invalid": N_("{discriminator} {tag!r} is not one of {expected_tags}"),
    "union_tag_not_found": N_("needs the key {discriminator}"),
    "too_short": N_("needs at least {min_length} item(s)"),
    "too_long": N_("takes at most {max_length} item(s)"),
    "string_too_short": N_("needs at least {min_length} character(s)"),
    "string_too_long": N_("takes at most {max_length} character(s)"),
    "date_from_datetime_parsing": N_("must be a date YYYY-MM-DD"),
    "date_parsing": N_("must be a date YYYY-MM-DD"),
    "datetime_parsing": N_("must be a date and time (ISO 8601)"),
}


def validation_message(err: Any) -> str:
    """The message of one entry of ``ValidationError.errors()``: a :class:`Msg` when known."""
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, ValueError) and cause.args and isinstance(cause.args[0], Msg):
        return cause.args[0]
    msgid = _BY_TYPE.get(err["type"])
    if msgid is None:
        return str(err["msg"]).removeprefix("Value error, ")
    try:
        return Msg(msgid, **{k: v for k, v in ctx.items() if f"{{{k}" in msgid})
    except (KeyError, IndexError):  # a ctx key missing in some pydantic version: its own words
        return str(err["msg"])
