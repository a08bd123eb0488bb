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
    family: str = ""  # for a channel quantity (``dc_p_kw.3``): its family (``dc_p_kw``)
    channel: int = 0  # and its channel number, 1-based


# Per-input data (one MPPT input or string of an inverter: SunSpec model 160's repeating "module"
# group) is stored as channel quantities named ``<family>.<n>``, one storage id each
# (``id_base + n``). Channels keep the telemetry key (device, quantity, time) and every query,
# rollup and validation path unchanged; no inverter in the SunSpec certification lists has more
# than 32 MPPT inputs per Modbus unit. DC quantities are "state": they are never integrated into
# the park's AC energy balance.
MAX_CHANNELS = 32


@dataclass(frozen=True)
class ChannelFamily:
    id_base: int
    name: str
    unit: str
    description: str
    kind: str
    lo: float | None = None
    hi: float | None = None


CHANNEL_FAMILIES: dict[str, ChannelFamily] = {
    f.name: f
    for f in [
        ChannelFamily(1000, "dc_p_kw", "kW", "DC input power of one inverter input (MPPT or string)", "state", 0.0),
        ChannelFamily(1100, "dc_v_v", "V", "DC input voltage of one inverter input", "state", 0.0, 1.0e4),
        ChannelFamily(1200, "dc_i_a", "A", "DC input current of one inverter input", "state", 0.0, 1.0e5),
        ChannelFamily(1300, "dc_e_kwh", "kWh", "energy counter of one inverter input", "counter", 0.0, COUNTER_MAX_KWH),
        ChannelFamily(1400, "dc_temp_c", "°C", "temperature of one inverter input", "state", -60.0, 150.0),
        # battery strings (SunSpec 803's repeating "string" group); 803 defines no sign for the string
        # current, so str_i_a is stored as the device reports it (the simulator: positive = discharging)
        ChannelFamily(1500, "str_soc_pct", "%", "state of charge of one battery string", "state", 0.0, 100.0),
        ChannelFamily(1600, "str_soh_pct", "%", "state of health of one battery string", "state", 0.0, 100.0),
        ChannelFamily(1700, "str_i_a", "A", "DC current of one battery string", "state", -1.0e5, 1.0e5),
        ChannelFamily(1800, "str_cell_v_v", "V", "average cell voltage of one battery string", "state", 0.0, 10.0),
        ChannelFamily(1900, "str_temp_c", "°C", "mean module temperature of one battery string", "state", -60.0, 150.0),
    ]
}


def channel_quantity(family: str, channel: int) -> str:
    """Name of channel ``channel`` (1-based) of ``family``; ValueError outside 1..MAX_CHANNELS."""
    if family not in CHANNEL_FAMILIES:
        raise ValueError(f"unknown channel family {family!r}; known: {', '.join(CHANNEL_FAMILIES)}")
    if not 1 <= channel <= MAX_CHANNELS:
        raise ValueError(f"channel {channel} of {family} outside 1..{MAX_CHANNELS}")
    return f"{family}.{channel}"


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

QUANTITIES.update(
    {
        f"{f.name}.{n}": Quantity(
            f.id_base + n, f"{f.name}.{n}", f.unit, f"{f.description}, channel {n}", f.kind, f.lo, f.hi, f.name, n
        )
        for f in CHANNEL_FAMILIES.values()
        for n in range(1, MAX_CHANNELS + 1)
    }
)

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
