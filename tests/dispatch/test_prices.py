"""Per-interval import/export prices from a file (dispatch.prices), onto any interval length."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from dispatch.from_park import problem_from_park
from dispatch.prices import PriceFileError, read_price_csv
from ems.forecast.base import Forecast
from ems.park import Park

HEADER = "start,import_cny_per_kwh,export_cny_per_kwh\n"


def _write(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_interval_means_are_time_weighted(tmp_path: Path) -> None:
    # Four 15-minute prices 0.4, −0.05, 1, 2 (import) from 00:00 Beijing time = 16:00 UTC the day before.
    path = _write(
        tmp_path,
        "2026-05-01T00:00:00+08:00,0.4,0.3\n"
        "2026-05-01T00:15:00+08:00,-0.05,-0.08\n"
        "2026-05-01T00:30:00+08:00,1,1\n"
        "2026-05-01T00:45:00+08:00,2,2\n",
    )
    s = read_price_csv(path)
    five = np.array(["2026-04-30T16:00", "2026-04-30T16:10", "2026-04-30T16:15"], dtype="datetime64[us]")
    imp, exp = s.interval_means(five, 5 / 60)
    assert imp == pytest.approx([0.4, 0.4, -0.05]) and exp == pytest.approx([0.3, 0.3, -0.08])
    # 16:10-16:20 straddles two prices: (5·0.4 + 5·(−0.05))/10 = 0.175
    assert s.interval_means(five[1:2], 10 / 60)[0] == pytest.approx([0.175])
    # one hour: (0.4 − 0.05 + 1 + 2)/4 = 0.8375; export (0.3 − 0.08 + 1 + 2)/4 = 0.805
    imp_h, exp_h = s.interval_means(five[:1], 1.0)
    assert imp_h == pytest.approx([0.8375]) and exp_h == pytest.approx([0.805])


def test_bad_rows_and_uncovered_horizons_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "2026-05-01T00:00:00+08:00,0.4,0.3\n2026-05-01T00:15:00,abc,0.1\n")
    with pytest.raises(PriceFileError) as err:
        read_price_csv(path)
    assert "line 3: start '2026-05-01T00:15:00' has no UTC offset" in str(err.value)
    good = read_price_csv(_write(tmp_path, "2026-05-01T00:00:00+08:00,0.4,0.3\n2026-05-01T00:15:00+08:00,0.5,0.3\n"))
    with pytest.raises(PriceFileError, match=r"interval 2 .* is outside"):
        good.interval_means(np.array(["2026-04-30T16:00"], dtype="datetime64[us]") + np.arange(3) * 900_000_000, 0.25)
    (tmp_path / "h.csv").write_text("time,price\n")
    with pytest.raises(PriceFileError, match="header must be start,import_cny_per_kwh,export_cny_per_kwh"):
        read_price_csv(tmp_path / "h.csv")


def test_problem_takes_file_prices_replacing_or_adding_to_the_tariff(tmp_path: Path, tiny_park: Park) -> None:
    start = dt.datetime(2026, 5, 1, tzinfo=tiny_park.tz).astimezone(dt.UTC)
    rows = "".join(
        f"{(start + dt.timedelta(minutes=15 * k)).isoformat()},{-0.1 + 0.01 * k},{-0.2 + 0.01 * k}\n" for k in range(4)
    )
    series = read_price_csv(_write(tmp_path, rows))
    fc = Forecast(start, 15, load_kw={ld.id: np.full(4, 100.0) for ld in tiny_park.devices_of("load")})
    p = problem_from_park(tiny_park, fc, prices=series)
    assert p.import_price == pytest.approx([-0.1, -0.09, -0.08, -0.07])
    assert p.export_price == pytest.approx([-0.2, -0.19, -0.18, -0.17])
    adding = tiny_park.model_copy(
        update={"dispatch": tiny_park.dispatch.model_copy(update={"prices_add_to_tariff": True})}
    )
    q = problem_from_park(adding, fc)
    r = problem_from_park(adding, fc, prices=series)
    assert r.import_price == pytest.approx(q.import_price + p.import_price)
