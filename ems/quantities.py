"""Canonical telemetry quantities: one name, one unit, one meaning each.

Every reading that enters the store — from the Modbus poller or a gateway —
uses one of these quantities, in this unit. Register maps and the API point
here rather than restating units. Power follows the project's generator
convention (see :mod:`ems.park`): positive means injection into the park network.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum

# The earliest instant a reading may carry: a device clock reset to 1970, or a garbage year, is never
# real data for a park this software runs. Configurable per deployment (EMS_INGEST_MIN_TIME).
EARLIEST_READING = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

# An energy counter above 1 PWh is garbage, not a reading: the largest parks consume ~10 TWh a year,
# so this leaves a century of headroom while refusing 1.7e308-style values.
COUNTER_MAX_KWH = 1.0e12


@dataclass(frozen=True)
class Quantity:
    id: int  # stable small integer used as the storage key
    name: str
    unit: str
    description: str
    kind: str  # "power" (integrated to energy), "counter" (monotonic), "state"
    lo: float | None = None  # absolute physical bounds, if any
    hi: float | None = None


QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in [
        Quantity(1, "p_kw", "kW", "active power at the terminals, positive = injection into the park", "power"),
        Quantity(2, "q_kvar", "kvar", "reactive power at the terminals, positive = injection", "state"),
        Quantity(
            3,
            "e_out_kwh",
            "kWh",
            "energy counter: energy injected into the park network",
            "counter",
            0.0,
            COUNTER_MAX_KWH,
        ),
        Quantity(
            4, "e_in_kwh", "kWh", "energy counter: energy drawn from the park network", "counter", 0.0, COUNTER_MAX_KWH
        ),
        Quantity(5, "soc_pct", "%", "battery state of charge", "state", 0.0, 100.0),
        Quantity(6, "v_v", "V", "line-to-line voltage", "state", 0.0, 1.0e6),
        Quantity(7, "f_hz", "Hz", "frequency", "state", 40.0, 70.0),
        Quantity(8, "wind_speed_m_s", "m/s", "hub-height wind speed", "state", 0.0, 80.0),
        Quantity(9, "ghi_w_m2", "W/m²", "global horizontal irradiance", "state", 0.0, 1500.0),
        Quantity(10, "temp_c", "°C", "temperature (ambient or cabinet)", "state", -60.0, 150.0),
        Quantity(11, "i_a", "A", "phase current", "state", 0.0, 1.0e6),
        Quantity(12, "p_limit_pct", "%", "active power limit in force (curtailment)", "state", 0.0, 100.0),
        Quantity(13, "p_setpoint_kw", "kW", "active power setpoint in force", "state"),
    ]
}

QUANTITY_BY_ID: dict[int, Quantity] = {q.id: q for q in QUANTITIES.values()}


class Quality(IntEnum):
    """Quality flag carried by every reading (stored as smallint)."""

    GOOD = 0
    ESTIMATED = 1  # filled or derived, not measured
    SUSPECT = 2  # device reported degraded health or a value near its limits
    BAD = 3  # known wrong; kept for audit, excluded from rollups


def quantity(name: str) -> Quantity:
    try:
        return QUANTITIES[name]
    except KeyError:
        raise KeyError(f"unknown quantity {name!r}; known: {', '.join(QUANTITIES)}") from None
