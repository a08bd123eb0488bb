"""Value-level tests of the gateway path: what a gateway sends is what the store holds.

Every reading is pushed over real HTTP (JSON and CSV, plain, gzip and deflate) and read back with
plain SQL from the ``telemetry`` table (the far end), joined to the ``device`` and ``quantity``
tables. The expected values are computed here, from the strings that were sent, with the standard
library only: Python's ``float()`` of the decimal text (the IEEE-754 double a correct parser
must produce), and ``datetime.fromisoformat`` for the instant. So a parser that flipped a sign,
shifted a time zone, dropped a digit or mixed up two columns fails here, not only a count.
"""

from __future__ import annotations

import datetime as dt
import gzip
import zlib
from collections.abc import Callable
from zoneinfo import ZoneInfo

import orjson
import pytest

from .conftest import Api

SHANGHAI = ZoneInfo("Asia/Shanghai")

# (time as sent, device, quantity, value text, quality). Signs per the generator convention:
# a charging battery and the load draw power (negative), the grid meter imports (positive).
SENT = [
    ("2026-06-01T08:00:00+08:00", "PV1", "p_kw", "312.75", 0),  # park time = 00:00 UTC
    ("2026-06-01T00:00:05Z", "BESS1", "p_kw", "-187.0625", 0),  # charging: negative
    ("2026-06-01T00:00:05.250Z", "BESS1", "soc_pct", "57.5", 1),  # sub-second time, estimated
    ("2026-05-31T19:00:10-05:00", "LOAD1", "p_kw", "-433.125", 0),  # another offset: 00:00:10 UTC
    ("2026-06-01T00:00:10Z", "M_GRID", "p_kw", "431.5", 0),  # importing: positive
    ("2026-06-01T00:00:10Z", "M_GRID", "q_kvar", "-12.25", 2),  # suspect quality kept
    ("2026-06-01T00:00:10Z", "M_GRID", "e_in_kwh", "1234567.891", 0),  # a large counter, all digits
    ("2026-06-01T00:00:15+00:00", "WT1", "p_kw", "0.000123", 0),  # tiny, not rounded away
    ("2026-06-01T08:00:20+08:00", "WT1", "wind_speed_m_s", "7.3", 0),
    ("2026-06-01T00:00:20Z", "M_GRID", "v_v", "10512.5", 0),
    ("2026-06-01T00:00:20Z", "M_GRID", "f_hz", "49.98", 0),
    ("2026-06-01T00:00:25Z", "PV1", "p_kw", "1e2", 0),  # exponent notation
    ("2026-06-01T00:00:30Z", "LOAD1", "p_kw", "-400", 0),  # an integer (a JSON int, not a float)
]

UNITS = {"p_kw": "kW", "q_kvar": "kvar", "soc_pct": "%", "e_in_kwh": "kWh", "wind_speed_m_s": "m/s", "v_v": "V",
         "f_hz": "Hz"}  # fmt: skip


def _expected() -> set[tuple[dt.datetime, str, str, float, int]]:
    out = set()
    for t, dev, q, v, quality in SENT:
        instant = dt.datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone(dt.UTC)
        out.add((instant, dev, q, float(v), quality))
    return out


def _json(rows: list[tuple[str, str, str, str, int]]) -> bytes:
    # the value goes as a JSON number written exactly as the text above
    items = [
        f'{{"time": "{t}", "device": "{d}", "quantity": "{q}", "value": {v}, "quality": {k}}}' for t, d, q, v, k in rows
    ]
    body = '{"readings": [' + ", ".join(items) + "]}"
    orjson.loads(body)  # well-formed JSON, checked by a third-party parser
    return body.encode()


def _csv(rows: list[tuple[str, str, str, str, int]]) -> bytes:
    return (
        "time,device,quantity,value,quality\n" + "".join(f"{t},{d},{q},{v},{k}\n" for t, d, q, v, k in rows)
    ).encode()


ENCODINGS: dict[str, Callable[[bytes], bytes]] = {
    "identity": lambda b: b,
    "gzip": gzip.compress,
    "deflate": zlib.compress,
}


def _stored(api: Api) -> set[tuple[dt.datetime, str, str, float, int]]:
    with api.store.connection() as conn:
        rows = conn.execute(
            """SELECT t.time, d.device_id, q.name, t.value, t.quality
               FROM telemetry t JOIN device d USING (device_key) JOIN quantity q USING (quantity_id)"""
        ).fetchall()
    return {(r[0].astimezone(dt.UTC), r[1], r[2], r[3], r[4]) for r in rows}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_what_the_gateway_sent_is_what_the_store_holds(api: Api, fmt: str, encoding: str) -> None:
    body = _json(SENT) if fmt == "json" else _csv(SENT)
    headers = {"Content-Type": "application/json" if fmt == "json" else "text/csv"}
    if encoding != "identity":
        headers["Content-Encoding"] = encoding
    with api.client("gateway") as c:
        r = c.post("/v1/telemetry", content=ENCODINGS[encoding](body), headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["rejected"] == [] and r.json()["accepted"] == len(SENT)
    assert _stored(api) == _expected()


def test_units_are_the_canonical_ones(api: Api) -> None:
    """The store's quantity table says the unit each value is in; it is the unit the API documents."""
    with api.store.connection() as conn:
        units = dict(conn.execute("SELECT name, unit FROM quantity").fetchall())
    assert {q: units[q] for q in UNITS} == UNITS


def test_park_time_and_utc_name_the_same_instant(api: Api) -> None:
    """08:00 in Shanghai and 00:00Z are one reading: the second is a duplicate, not a new row."""
    with api.client("gateway") as c:
        first = c.post("/v1/telemetry", content=_csv([SENT[0]]), headers={"Content-Type": "text/csv"}).json()
        same = ("2026-06-01T00:00:00Z", "PV1", "p_kw", "299", 0)  # same instant, other value: first write wins
        second = c.post("/v1/telemetry", content=_csv([same]), headers={"Content-Type": "text/csv"}).json()
    assert second["rejected"] == [], second
    assert (first["accepted"], second["accepted"], second["duplicates"]) == (1, 0, 1)
    ((t, dev, q, v, _),) = _stored(api)
    assert (t, dev, q, v) == (dt.datetime(2026, 6, 1, 0, 0, tzinfo=dt.UTC), "PV1", "p_kw", 312.75)
    assert t.astimezone(SHANGHAI).hour == 8  # shown in park time as 08:00


def test_a_sign_or_hour_shift_would_be_caught() -> None:
    """The oracle itself distinguishes the faults the old count-only tests missed."""
    good = _expected()
    flipped = {(t, d, q, -v if v else v, k) for t, d, q, v, k in good}
    shifted = {(t + dt.timedelta(hours=1), d, q, v, k) for t, d, q, v, k in good}
    assert flipped != good and shifted != good
