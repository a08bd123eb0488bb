"""The fast telemetry parser (api.parse) against the declared request schema (api.telemetry_schema).

Hypothesis generates JSON bodies whose readings mix well-formed and malformed fields (timestamps
with and without zones, out-of-range dates, numbers as JSON numbers and as text, bools, huge
integers, qualities out of range...). For every reading, the parser must accept it exactly when
pydantic validates it against ``Reading``, with the same UTC time (µs), device, quantity, value
and quality. Pydantic's parsers are the independent reference here, not a copy of api.parse.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from api.parse import BodyError, parse_json
from api.telemetry_schema import Reading, TelemetryBatch

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

digits = st.integers
date_part = st.one_of(
    st.builds(
        "{:04d}-{:02d}-{:02d}".format, digits(1990, 2100), digits(0, 13), digits(0, 32)
    ),  # includes month 0/13, day 0/31/32
    st.sampled_from(["2026-02-29", "2024-02-29", "2026-6-1", "20260601"]),
)
time_part = st.one_of(
    st.builds("{:02d}:{:02d}".format, digits(0, 24), digits(0, 60)),
    st.builds("{:02d}:{:02d}:{:02d}".format, digits(0, 24), digits(0, 60), digits(0, 61)),
    st.builds(
        "{:02d}:{:02d}:{:02d}.{}".format,
        digits(0, 23),
        digits(0, 59),
        digits(0, 59),
        st.text("0123456789", min_size=1, max_size=9),
    ),
)
zone = st.sampled_from(["Z", "z", "+08:00", "-05:30", "+0800", "+08", "+14:00", "-00:00", "+24:00", "", " Z", "UTC"])
timestamp = st.one_of(
    st.builds(
        lambda d, sep, t, z: f"{d}{sep}{t}{z}", date_part, st.sampled_from(["T", " ", "t", "_"]), time_part, zone
    ),
    st.builds(lambda d, z: f"{d}{z}", date_part, zone),
    st.integers(0, 2**31),
    st.none(),
    st.text(max_size=12),
)
number_text = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(
        ["NaN", "nan", "-inf", "Infinity", "1_000", " 1.5 ", "1.", ".5", "+1", "1e5", "0x10", "١", "", "abc", "1,5"]
    ),
)
value = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**60), 2**60),
    st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1]),
    number_text,
    st.booleans(),
    st.none(),
    st.lists(st.integers(0, 9), max_size=1),
)
name = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["PV1", "p_kw", ""]),
    st.integers(-(2**63), 2**63 - 1),
    st.none(),
    st.booleans(),
)
quality = st.one_of(st.integers(-2, 5), st.booleans(), st.sampled_from([1.0, "1", None]))
good_timestamp = st.builds(
    lambda d, sep, t, z: f"{d.isoformat()}{sep}{t.isoformat()}{z}",
    st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)),
    st.sampled_from(["T", " "]),
    st.times(),
    st.sampled_from(["Z", "+08:00", "-05:30", "+0800", "+00:00"]),
)
good_value = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**53), 2**53), number_text)


def mostly(good: st.SearchStrategy[object], bad: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """Valid three times in four, so that whole readings are often valid and values get compared."""
    return st.integers(0, 3).flatmap(lambda i: bad if i == 0 else good)


FIELDS = {
    "time": mostly(good_timestamp, timestamp),
    "device": mostly(st.text(min_size=1, max_size=6), name),
    "quantity": mostly(st.sampled_from(["p_kw", "e_in_kwh"]), name),
    "value": mostly(good_value, value),
    "quality": mostly(st.integers(0, 3), quality),
}
reading = st.fixed_dictionaries(
    {k: v for k, v in FIELDS.items() if k != "quality"}, optional={"quality": FIELDS["quality"]}
)
row = mostly(reading, st.one_of(st.fixed_dictionaries({}, optional=FIELDS), st.integers(0, 9), st.text(max_size=3)))


def _reference(r: object) -> Reading | None:
    try:
        return Reading.model_validate_json(orjson.dumps(r))
    except ValidationError:
        return None


def _check(rows: list[object]) -> None:
    body = orjson.dumps({"readings": rows})
    TelemetryBatch.model_validate_json(orjson.dumps({"readings": []}))  # the envelope itself is valid
    batch, malformed, index = parse_json(body)
    bad = {m.row for m in malformed}
    expected = [_reference(r) for r in rows]
    refused = {i for i, e in enumerate(expected) if e is None}
    assert bad == refused, [(i, rows[i], i in bad) for i in bad ^ refused]
    assert index.tolist() == [i for i in range(len(rows)) if i not in refused]
    for k, i in enumerate(index.tolist()):
        e = expected[i]
        assert e is not None
        us = (e.time - EPOCH) // dt.timedelta(microseconds=1)
        assert int(batch.time_us[k]) == us, rows[i]
        assert (batch.device[k], batch.quantity[k]) == (e.device, e.quantity)
        got = float(batch.value[k])
        assert got == e.value or (math.isnan(got) and math.isnan(e.value)), rows[i]
        assert int(batch.quality[k]) == (e.quality or 0)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(row, max_size=8))
@example(
    [
        {"time": "2026-06-01T00:00:00Z", "device": "PV1", "quantity": "p_kw", "value": 1.5},
        {
            "time": "2026-06-01T08:00:00.1234567+08:00",
            "device": "PV1",
            "quantity": "p_kw",
            "value": "NaN",
            "quality": 3,
        },
        {"time": "2026-06-01T00:00:00", "device": "PV1", "quantity": "p_kw", "value": 1},  # naive
        {"time": "2026-06-01T00:00:00Z", "device": "PV1", "quantity": "p_kw", "value": True},
        {"time": "2026-06-01T00:00:00Z", "device": "PV1", "quantity": "p_kw", "value": 2**53 + 1},
    ]
)
def test_parser_agrees_with_declared_schema(rows: list[object]) -> None:
    _check(rows)


@pytest.mark.parametrize("body", [b"[]", b'{"readings": {}}', b"{", b'{"x": []}', b'"readings"'])
def test_bodies_refused_whole_are_refused_by_the_schema_too(body: bytes) -> None:
    with pytest.raises(BodyError):
        parse_json(body)
    with pytest.raises(ValidationError):
        TelemetryBatch.model_validate_json(body)


def test_values_read_back_exactly() -> None:
    """Hand-written expectation: 08:00 at +08:00 is 00:00 UTC = 1780272000 s after the epoch."""
    batch, malformed, _ = parse_json(
        b'{"readings": [{"time": "2026-06-01T08:00:00+08:00", "device": "B1", "quantity": "p_kw", "value": -12.5}]}'
    )
    assert not malformed
    assert batch.time_us.tolist() == [1_780_272_000 * 10**6]
    assert batch.value.tolist() == [-12.5] and np.signbit(batch.value[0])
