"""Monthly power factor at the connection point and its tariff adjustment (功率因数调整电费).

Source: 《功率因数调整电费办法》 (水电财字〔1983〕215号), table for the 0.90 standard (industrial
users of 160 kVA and more at high voltage). The month's power factor is
``kWh / sqrt(kWh² + kvarh²)`` rounded to two decimals (half up); the adjustment is a
percentage of the month's electricity charges:

* 0.91 … 0.94: 0.15 % less per 0.01 above 0.90; 0.95 and above: 0.75 % less;
* 0.89 … 0.70: 0.5 % more per 0.01 below 0.90 (0.70: +10 %);
* 0.69 … 0.65: 1 % more per 0.01 (0.65: +15 %); 0.64 and below: 2 % more per 0.01.

Energies here: kWh = active energy imported; kvarh = reactive energy in both directions
(absolute sum, as the meters of many provincial grids count leading reactive energy too).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

STANDARD_PF = Decimal("0.90")
SOURCE = "功率因数调整电费办法 (水电财字[1983]215号), table for the 0.90 standard"


def adjustment_percent(pf: Decimal) -> Decimal:
    """Tariff adjustment in percent of the month's charges (negative = reduction) for a power factor."""
    pf = pf.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    hundredths = int((pf * 100).to_integral_value())
    if hundredths >= 95:
        return Decimal("-0.75")
    if hundredths > 90:
        return Decimal("-0.15") * (hundredths - 90)
    if hundredths == 90:
        return Decimal("0")
    if hundredths >= 70:
        return Decimal("0.5") * (90 - hundredths)
    if hundredths >= 65:
        return Decimal("10") + (70 - hundredths)
    return Decimal("15") + 2 * (65 - hundredths)


@dataclass(frozen=True)
class MonthlyPowerFactor:
    month: str  # YYYY-MM (local time)
    kwh: Decimal
    kvarh: Decimal
    power_factor: Decimal  # rounded to 0.01
    adjustment_percent: Decimal


def monthly_power_factor(
    local_months: np.ndarray, exchange_kw: np.ndarray, exchange_kvar: np.ndarray, interval_h: float
) -> list[MonthlyPowerFactor]:
    """Per month (``local_months``: one 'YYYY-MM' per interval) the power factor and its adjustment."""
    out = []
    for month in sorted(set(local_months.tolist())):
        sel = local_months == month
        kwh = float(np.nansum(np.maximum(exchange_kw[sel], 0.0))) * interval_h
        kvarh = float(np.nansum(np.abs(exchange_kvar[sel]))) * interval_h
        if kwh <= 0:
            continue  # no import: nothing billed
        pf = Decimal(str(kwh / np.hypot(kwh, kvarh))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        e, r = Decimal(str(round(kwh, 1))), Decimal(str(round(kvarh, 1)))
        out.append(MonthlyPowerFactor(month, e, r, pf, adjustment_percent(pf)))
    return out
