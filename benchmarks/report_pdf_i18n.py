"""The carbon report PDF in English and Chinese: what the embedded CJK font costs.

    python benchmarks/report_pdf_i18n.py [--quick]

Report: the demo park with 200 metered devices (as ``benchmarks/carbon.py``), a month (--quick)
or a year of 15-minute data. Each PDF is rendered twice in one process: the first render of a
language pays for preparing its font (fontTools subset of Noto Sans CJK SC + CFF→TrueType
conversion, ``ems/cjk_font.py``), the second reuses it. Baseline measured in the same run: the
English PDF with its font ready; the figure of merit is the Chinese PDF's time against it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from benchmarks.carbon import START, bench_park, year_energy
from benchmarks.common import emit
from ems.carbon.factors import FactorRegistry
from ems.carbon.pdf import render_pdf
from ems.carbon.report import build_report, intervals_csv
from ems.carbon.run import compute_run


def _timed(content: dict, lang: str) -> tuple[float, int]:  # type: ignore[type-arg]
    t = time.perf_counter()
    pdf = render_pdf(content, lang)
    return time.perf_counter() - t, len(pdf)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a month of data instead of a year")
    args = ap.parse_args()
    days = 31 if args.quick else 365
    park = bench_park()
    run = compute_run(park, year_energy(park, days), START, START + dt.timedelta(days=days), FactorRegistry.published())
    content = build_report(run, software_version="bench")
    en_cold, _ = _timed(content, "en")
    en_warm, en_bytes = _timed(content, "en")
    zh_cold, _ = _timed(content, "zh-CN")
    zh_warm, zh_bytes = _timed(content, "zh-CN")
    t = time.perf_counter()
    intervals_csv(content, "zh-CN")
    csv_zh = time.perf_counter() - t
    t = time.perf_counter()
    intervals_csv(content)
    csv_en = time.perf_counter() - t
    print(f"{days}-day report, {len(content['intervals']['start_utc'])} intervals")
    print(f"PDF en: first {en_cold:.2f} s, then {en_warm:.2f} s ({en_bytes / 1e3:.0f} kB)  <- baseline")
    print(f"PDF zh-CN: first {zh_cold:.2f} s, then {zh_warm:.2f} s ({zh_bytes / 1e3:.0f} kB); {zh_warm / en_warm:.2f}x")
    print(f"CSV zh-CN header {csv_zh * 1000:.0f} ms vs en {csv_en * 1000:.0f} ms")
    emit(
        {
            "days": days,
            "pdf_en_first_s": round(en_cold, 3),
            "pdf_en_s": round(en_warm, 3),
            "pdf_zh_first_s": round(zh_cold, 3),
            "pdf_zh_s": round(zh_warm, 3),
            "pdf_zh_vs_en_ratio": round(zh_warm / en_warm, 3),
            "pdf_zh_kb": round(zh_bytes / 1e3, 1),
            "pdf_en_kb": round(en_bytes / 1e3, 1),
            "csv_zh_ms": round(csv_zh * 1000, 1),
            "csv_en_ms": round(csv_en * 1000, 1),
        }
    )


if __name__ == "__main__":
    main()
