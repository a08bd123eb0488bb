"""The declared telemetry request body: what ``POST /v1/telemetry`` accepts, as pydantic models.

The route parses bodies with the fast column parser of :mod:`api.parse` (a 60,000-row batch through
these models would take seconds); ``tests/api/test_parse_schema.py`` generates bodies with
Hypothesis and checks that both accept and refuse the same readings with the same values, so the
schema published in OpenAPI is the parser's contract.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field, StrictInt, StrictStr, WithJsonSchema

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})")
"""ISO 8601 date and time with a zone (``Z`` or ``±hh:mm``/``±hhmm``); a naive time is refused, because
guessing a gateway's local time is how data ends up an hour off."""
MAX_EXACT_INT = 2**53
"""Integers beyond this are not exact as float64: refused rather than silently rounded."""


def _iso_text(v: object) -> object:
    if not isinstance(v, str) or ISO_TIME.fullmatch(v) is None:
        raise ValueError("not an ISO 8601 timestamp with a time zone")
    return v


def _plain_number(v: object) -> object:
    if isinstance(v, bool) or (isinstance(v, int) and abs(v) > MAX_EXACT_INT):
        raise ValueError(f"a number within ±2**53 or a decimal text is required, got {v!r}")
    return v


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_text),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": f"^{ISO_TIME.pattern}$"}),
]
Name = Annotated[StrictStr, Field(min_length=1)]
Value = Annotated[
    float,
    BeforeValidator(_plain_number),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "description": "decimal text (CSV style); NaN and infinities are refused later"},
            ]
        }
    ),
]


class Reading(BaseModel):
    time: Timestamp = Field(
        description="ISO 8601 with a time zone, e.g. 2026-06-01T08:00:00+08:00", examples=["2026-06-01T00:00:00Z"]
    )
    device: Name = Field(examples=["PV1"])
    quantity: Name = Field(description="one of the canonical quantities (GET /v1/quantities)", examples=["p_kw"])
    value: Value = Field(description="in the quantity's unit; power in generator convention")
    quality: Annotated[StrictInt, Field(ge=0, le=3)] | None = Field(
        0, description="0 good, 1 estimated, 2 suspect, 3 bad; null or absent = 0"
    )


class TelemetryBatch(BaseModel):
    """A malformed reading is refused on its own (``rejected`` in the answer); the others are stored."""

    readings: list[Reading]


def openapi_schema() -> dict[str, Any]:
    """The batch's JSON schema with the reading inlined (a request body cannot add components)."""
    schema = TelemetryBatch.model_json_schema()
    defs = schema.pop("$defs")
    schema["properties"]["readings"]["items"] = defs["Reading"]
    return schema
