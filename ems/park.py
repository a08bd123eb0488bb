"""The park description: one human-editable YAML file, validated by pydantic.

Everything downstream takes a :class:`Park`. Units are in the key names
(``p_rated_kw``, ``e_rated_kwh``, ``vn_kv``, ``sn_mva``); prices are CNY.

Sign convention (stated once for the whole project, see ``docs/nomenclature.md``):
active power at a device's terminals is positive when the device *injects* into
the park network (generator convention). PV and wind are positive, loads are
negative, a battery is positive while discharging, and the grid-connection
meter is positive while the park *imports* from the public grid.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import zoneinfo
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ems.constants import PV_PERFORMANCE_RATIO
from ems.i18n import N_, Msg, current_language, parse_language
from ems.parktime import DEFAULT_TIMEZONE
from ems.validation_i18n import validation_message


class ParkFileError(ValueError):
    """A park file could not be read or is invalid; the message names file, key path and problem."""

    def __init__(self, path: str, problems: list[tuple[str, str]]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(self.render("en"))

    def render(self, lang: str | None = None) -> str:
        """One line per problem, in ``lang`` (default: the current language; ``Msg`` problems)."""

        def text(m: str) -> str:
            return m.render(lang or current_language()) if isinstance(m, Msg) else m

        return "\n".join(
            f"{self.path}: {text(loc)}: {text(msg)}" if loc else f"{self.path}: {text(msg)}"
            for loc, msg in self.problems
        )


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- network


class Bus(_Model):
    id: str
    vn_kv: float = Field(gt=0, description="modelled (operating) line-to-line voltage [kV]: the per-unit base")
    nominal_kv: float | None = Field(
        default=None, gt=0, description="nominal voltage the voltage band refers to (GB/T 12325); default vn_kv"
    )
    description: str = ""


class Line(_Model):
    """A cable or overhead line. Give either a pandapower ``std_type`` or impedances."""

    id: str
    from_bus: str
    to_bus: str
    length_km: float = Field(gt=0)
    std_type: str | None = None
    r_ohm_per_km: float | None = Field(default=None, ge=0)
    x_ohm_per_km: float | None = Field(default=None, ge=0)
    c_nf_per_km: float = Field(default=0.0, ge=0)
    max_i_ka: float | None = Field(default=None, gt=0, description="thermal rating [kA]")
    parallel: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _type_or_impedance(self) -> Line:
        if self.std_type is None and (self.r_ohm_per_km is None or self.x_ohm_per_km is None or self.max_i_ka is None):
            raise ValueError(Msg("give either std_type or all of r_ohm_per_km, x_ohm_per_km, max_i_ka"))
        return self


class Oltc(_Model):
    """Deadband voltage control of an on-load tap changer at the transformer's LV bus (pu of its vn_kv)."""

    v_min_pu: float = Field(gt=0.8, lt=1.2)
    v_max_pu: float = Field(gt=0.8, lt=1.2)

    @model_validator(mode="after")
    def _band(self) -> Oltc:
        if not self.v_min_pu < self.v_max_pu:
            raise ValueError(Msg("oltc v_min_pu must be below v_max_pu"))
        return self


class Transformer(_Model):
    id: str
    hv_bus: str
    lv_bus: str
    sn_mva: float = Field(gt=0, description="rated apparent power [MVA]")
    vn_hv_kv: float = Field(gt=0)
    vn_lv_kv: float = Field(gt=0)
    vk_percent: float = Field(gt=0, lt=100, description="short-circuit voltage [%]")
    vkr_percent: float = Field(ge=0, lt=100, description="real part of short-circuit voltage [%]")
    pfe_kw: float = Field(default=0.0, ge=0, description="iron losses [kW]")
    i0_percent: float = Field(default=0.0, ge=0, description="no-load current [%]")
    max_loading_percent: float = Field(default=100.0, gt=0)
    # tap changer (ratio type); tap_pos is the fixed position, or the start position of an OLTC
    tap_side: Literal["hv", "lv"] = "hv"
    tap_neutral: int = 0
    tap_min: int = 0
    tap_max: int = 0
    tap_step_percent: float = Field(default=0.0, ge=0, lt=20)
    tap_pos: int = 0
    oltc: Oltc | None = Field(default=None, description="on-load tap changer control; None = fixed tap")

    @model_validator(mode="after")
    def _tap_range(self) -> Transformer:
        if not self.tap_min <= self.tap_pos <= self.tap_max or not self.tap_min <= self.tap_neutral <= self.tap_max:
            raise ValueError(Msg("need tap_min <= tap_pos, tap_neutral <= tap_max"))
        if self.oltc is not None and (self.tap_min == self.tap_max or self.tap_step_percent == 0):
            raise ValueError(Msg("an oltc needs a tap range (tap_min < tap_max) and tap_step_percent > 0"))
        return self


class ElementRef(_Model):
    """A park device's element in an external network model: table plus name (or index)."""

    table: Literal["sgen", "load", "storage"]
    name: str | None = None
    index: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_key(self) -> ElementRef:
        if (self.name is None) == (self.index is None):
            raise ValueError(Msg("give exactly one of name, index"))
        return self


class ExternalNetwork(_Model):
    """The park's own network model: a pandapower JSON or a MATPOWER case (path relative to the park file).

    ``network.buses`` then lists the model's buses the park file refers to (by bus name), and
    ``elements`` maps every PV, wind, battery, load and direct green connection to an element.
    """

    format: Literal["pandapower_json", "matpower"]
    path: str
    elements: dict[str, ElementRef]


class Compensation(_Model):
    """Shunt capacitor bank (reactive compensation); supplies ``q_kvar`` at 1 pu voltage (∝ V²) with all
    ``steps`` equal steps in. ``switched``: the dispatcher chooses the steps in per interval (a fixed
    bank always has all steps in)."""

    id: str
    bus: str
    q_kvar: float = Field(gt=0)
    steps: int = Field(1, ge=1)
    switched: bool = False
    #: switching operations allowed in any 24 hours (each step switched in or out is one operation of its
    #: contactor or breaker; manufacturers rate them in operations, utilities cap them per day); None: no cap
    max_operations_per_day: int | None = Field(default=None, ge=0)
    steps_in_service: int = Field(default=0, ge=0)  # steps in when a plan starts (the bank's present state)

    @model_validator(mode="after")
    def _steps_in_service(self) -> Compensation:
        if self.steps_in_service > self.steps:
            raise ValueError(Msg("steps_in_service must not exceed steps"))
        return self


class Switch(_Model):
    """A bus-bus switch (bus coupler, sectionaliser): closed, the two buses are one node."""

    id: str
    bus: str
    other_bus: str
    closed: bool = True


class ReactiveControl(_Model):
    """Reactive power of an inverter-connected device (PV, wind, battery, direct connection).

    ``fixed_pf``: ``|Q| = |P| · tan(acos power_factor)``, absorbing (under-excited) or injecting.
    ``q_of_u``: Q as a fraction of ``s_rated_kva`` from ``curve`` [(U in pu of the bus's nominal
    voltage, Q/S)], linear between points, flat outside. ``dispatched``: Q is a decision of the
    dispatcher (connection-point power factor, bus voltages; unity without a plan). All within the capability
    ``|Q| <= min(q_max_ratio · S, sqrt(S² - P²))`` (active power has priority).
    """

    mode: Literal["fixed_pf", "q_of_u", "dispatched"]
    power_factor: float = Field(default=1.0, gt=0, le=1)
    absorbing: bool = True
    s_rated_kva: float = Field(gt=0)
    q_max_ratio: float = Field(default=0.436, ge=0, le=1, description="0.436 = Q at cos φ 0.90 at full S")
    curve: list[tuple[float, float]] = [(0.93, 0.436), (0.97, 0.0), (1.03, 0.0), (1.07, -0.436)]


class GridConnection(_Model):
    """Point of common coupling with the public grid."""

    bus: str
    import_limit_kw: float = Field(gt=0)
    export_limit_kw: float = Field(ge=0, description="0 forbids export (anti-backflow / 防逆流)")
    vm_pu: float = Field(default=1.0, gt=0.8, lt=1.2)
    s_sc_max_mva: float = Field(default=1000.0, gt=0)
    rx_max: float = Field(default=0.1, ge=0)
    meter: str | None = Field(default=None, description="id of the meter at the connection point")

    @property
    def export_allowed(self) -> bool:
        return self.export_limit_kw > 0


class Network(_Model):
    buses: list[Bus]
    lines: list[Line] = []
    transformers: list[Transformer] = []
    grid_connection: GridConnection
    v_min_pu: float = Field(default=0.93, description="lower voltage band; GB/T 12325: ±7% at 10 kV")
    v_max_pu: float = Field(default=1.07)
    max_line_loading_percent: float = 100.0
    min_power_factor: float = Field(
        default=0.9, ge=0, le=1, description="power factor at the connection point while importing; 0 = unchecked"
    )
    model: ExternalNetwork | None = Field(default=None, description="use this network model instead of lines etc.")
    compensation: list[Compensation] = []
    switches: list[Switch] = []
    reactive: dict[str, ReactiveControl] = Field(default={}, description="device id -> inverter reactive control")

    @model_validator(mode="after")
    def _model_or_elements(self) -> Network:
        if self.model is not None and (self.lines or self.transformers):
            raise ValueError(Msg("with network.model, lines and transformers come from the model: leave them out"))
        return self


# --------------------------------------------------------------------------- devices


class ModbusTcp(_Model):
    kind: Literal["modbus_tcp"] = "modbus_tcp"
    host: str
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=247)
    register_map: str
    poll_interval_s: float = Field(default=1.0, gt=0)
    timeout_s: float = Field(default=1.0, gt=0)
    max_block_registers: int = Field(default=125, ge=1, le=125)
    sunspec_base: int | None = Field(default=None, description="SunSpec base address; None = discover")
    retries: int = Field(
        default=2, ge=0, le=10, description="re-sends of a request refused busy (6) or gateway target failed (0x0B)"
    )


class ModbusRtu(_Model):
    kind: Literal["modbus_rtu"] = "modbus_rtu"
    serial_port: str
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = 1
    bytesize: int = 8
    unit_id: int = Field(default=1, ge=1, le=247)
    register_map: str
    poll_interval_s: float = Field(default=5.0, gt=0)
    timeout_s: float = Field(default=1.0, gt=0)
    max_block_registers: int = Field(default=125, ge=1, le=125)
    sunspec_base: int | None = None
    retries: int = Field(
        default=2, ge=0, le=10, description="re-sends of a request refused busy (6) or gateway target failed (0x0B)"
    )


class Gateway(_Model):
    kind: Literal["gateway"] = "gateway"
    gateway_id: str = Field(description="the API key's gateway that may push this device's telemetry")


class Dlt645Tcp(_Model):
    """A DL/T 645-2007 meter behind a transparent serial-to-TCP gateway (bytes forwarded unchanged)."""

    kind: Literal["dlt645_tcp"] = "dlt645_tcp"
    host: str
    port: int = Field(ge=1, le=65535)
    address: str = Field(pattern=r"^[0-9]{12}$", description="meter address: 12 digits as on the nameplate")
    data_map: str = Field(default="dlt645_3phase", description="DL/T 645 map (device_drivers/maps/dlt645)")
    poll_interval_s: float = Field(default=5.0, gt=0)
    timeout_s: float = Field(default=1.0, gt=0)
    retries: int = Field(default=1, ge=0, le=10, description="re-sends after a timeout or a broken frame")


class Dlt645Serial(_Model):
    """A DL/T 645-2007 meter on an RS-485 line (the standard's default: 2400 baud, 8 data bits, even parity)."""

    kind: Literal["dlt645_serial"] = "dlt645_serial"
    serial_port: str
    baudrate: int = 2400
    parity: Literal["N", "E", "O"] = "E"
    stopbits: int = 1
    bytesize: int = 8
    address: str = Field(pattern=r"^[0-9]{12}$", description="meter address: 12 digits as on the nameplate")
    data_map: str = Field(default="dlt645_3phase", description="DL/T 645 map (device_drivers/maps/dlt645)")
    poll_interval_s: float = Field(default=5.0, gt=0)
    timeout_s: float = Field(default=1.0, gt=0)
    retries: int = Field(default=1, ge=0, le=10, description="re-sends after a timeout or a broken frame")


class Iec104Tcp(_Model):
    """An IEC 60870-5-104 outstation (substation RTU, a plant's telecontrol unit); needs the ``iec104`` extra."""

    kind: Literal["iec104"] = "iec104"
    host: str
    port: int = Field(default=2404, ge=1, le=65535)
    point_map: str = Field(default="substation_rtu", description="104 map (device_drivers/maps_iec104)")
    common_address: int | None = Field(
        default=None, ge=1, le=65534, description="ASDU common address of the station; None = the map's"
    )
    interrogation_s: float = Field(default=60.0, gt=0, description="period of the general interrogation")
    timeout_s: float = Field(default=2.0, gt=0)


Connection = Annotated[
    ModbusTcp | ModbusRtu | Gateway | Dlt645Tcp | Dlt645Serial | Iec104Tcp, Field(discriminator="kind")
]


class Control(_Model):
    """Setpoint writing. Off unless enabled; every setpoint is clamped to the device's ratings."""

    enabled: bool = False


class _Device(_Model):
    id: str
    name: str = ""
    bus: str
    connection: Connection
    control: Control = Control()
    tenant: str | None = None


class PvPlant(_Device):
    type: Literal["pv"] = "pv"
    p_rated_kw: float = Field(gt=0, description="AC rating of the inverters [kW]")
    dc_kwp: float = Field(gt=0, description="DC peak power of the modules [kWp]")
    tilt_deg: float = Field(default=20.0, ge=0, le=90)
    azimuth_deg: float = Field(default=180.0, ge=0, lt=360, description="180 = south")
    performance_ratio: float = Field(default=PV_PERFORMANCE_RATIO, gt=0, le=1)


class WindTurbine(_Device):
    type: Literal["wind"] = "wind"
    p_rated_kw: float = Field(gt=0)
    count: int = Field(default=1, ge=1, description="identical turbines behind this device")
    hub_height_m: float = Field(default=100.0, gt=0)
    power_curve: list[tuple[float, float]] = Field(
        default=[(3.0, 0.0), (5.0, 0.1), (7.0, 0.3), (9.0, 0.6), (11.0, 0.9), (12.5, 1.0), (25.0, 1.0)],
        description="(wind speed m/s, fraction of rated power), ascending; zero outside",
    )
    cut_out_m_s: float = 25.0

    @field_validator("power_curve")
    @classmethod
    def _ascending(cls, v: list[tuple[float, float]]) -> list[tuple[float, float]]:
        speeds = [s for s, _ in v]
        if speeds != sorted(speeds) or len(set(speeds)) != len(speeds):
            raise ValueError(Msg("power_curve wind speeds must be strictly ascending"))
        if any(not 0 <= f <= 1 for _, f in v):
            raise ValueError(Msg("power_curve fractions must be within [0, 1]"))
        return v

    @property
    def p_total_kw(self) -> float:
        return self.p_rated_kw * self.count


class Battery(_Device):
    type: Literal["battery"] = "battery"
    e_rated_kwh: float = Field(gt=0)
    p_charge_max_kw: float = Field(gt=0)
    p_discharge_max_kw: float = Field(gt=0)
    eta_charge: float = Field(default=0.95, gt=0, le=1)
    eta_discharge: float = Field(default=0.95, gt=0, le=1)
    self_discharge_per_h: float = Field(
        default=0.0001, ge=0, lt=1, description="fraction of stored energy lost per hour"
    )
    soc_min: float = Field(default=0.10, ge=0, le=1)
    soc_max: float = Field(default=0.95, ge=0, le=1)
    soc_initial: float = Field(default=0.5, ge=0, le=1)
    soc_terminal: float | None = Field(default=None, ge=0, le=1, description="terminal SOC target; None = initial")
    throughput_cost_cny_per_kwh: float = Field(default=0.02, ge=0, description="degradation cost per kWh discharged")

    @model_validator(mode="after")
    def _soc_order(self) -> Battery:
        if not self.soc_min < self.soc_max:
            raise ValueError(Msg("soc_min must be below soc_max"))
        return self


LoadCategory = Literal["battery_cells", "chemical_fibre", "textile", "ev_charging", "office", "generic"]


class Flexibility(_Model):
    shiftable_kwh_per_day: float = Field(ge=0)
    window_start: dt.time = dt.time(0, 0)
    window_end: dt.time = dt.time(23, 59)
    p_max_kw: float = Field(gt=0)


class Load(_Device):
    type: Literal["load"] = "load"
    p_peak_kw: float = Field(gt=0)
    category: LoadCategory = "generic"
    flexibility: Flexibility | None = None


class Meter(_Device):
    type: Literal["meter"] = "meter"
    role: Literal["grid_connection", "submeter", "green_connection"] = "submeter"
    p_rated_kw: float = Field(gt=0, description="largest power the meter should ever see [kW]")
    parent: str | None = Field(default=None, description="enclosing meter, for nested sub-metering")


Device = Annotated[PvPlant | WindTurbine | Battery | Load | Meter, Field(discriminator="type")]


# --------------------------------------------------------------------------- tariffs


PeriodName = Literal["critical_peak", "peak", "flat", "valley"]


class TouPeriod(_Model):
    name: PeriodName
    price_cny_per_kwh: Decimal = Field(ge=0)
    hours: list[str] = Field(description='local-time ranges "HH:MM-HH:MM", end exclusive; "24:00" allowed')
    months: list[int] = Field(default=list(range(1, 13)))

    @field_validator("hours")
    @classmethod
    def _ranges(cls, v: list[str]) -> list[str]:
        for r in v:
            _parse_range(r)
        return v

    def minute_ranges(self) -> list[tuple[int, int]]:
        return [_parse_range(r) for r in self.hours]


def _parse_range(r: str) -> tuple[int, int]:
    try:
        a, b = r.split("-")
        ha, ma = (int(x) for x in a.split(":"))
        hb, mb = (int(x) for x in b.split(":"))
    except ValueError as exc:
        raise ValueError(Msg('time range {r!r} is not "HH:MM-HH:MM"', r=r)) from exc
    start, end = ha * 60 + ma, hb * 60 + mb
    if not (0 <= start < end <= 24 * 60):
        raise ValueError(Msg("time range {r!r} must satisfy 00:00 <= start < end <= 24:00", r=r))
    return start, end


class Tariff(_Model):
    periods: list[TouPeriod]
    demand_charge_cny_per_kw_month: Decimal = Field(default=Decimal("0"), ge=0)
    capacity_charge_cny_per_kva_month: Decimal = Field(default=Decimal("0"), ge=0)
    export_price_cny_per_kwh: Decimal = Field(default=Decimal("0"), ge=0)
    source: str = ""

    @model_validator(mode="after")
    def _covers_day(self) -> Tariff:
        for month in range(1, 13):
            covered = [0] * (24 * 60)
            for p in self.periods:
                if month not in p.months:
                    continue
                for a, b in p.minute_ranges():
                    for m in range(a, b):
                        covered[m] += 1
            if any(c != 1 for c in covered):
                bad = next(i for i, c in enumerate(covered) if c != 1)
                what = Msg("not covered") if covered[bad] == 0 else Msg("covered twice")
                raise ValueError(
                    Msg(
                        "TOU periods must cover each minute of the day exactly once; month {month} {time} is {what}",
                        month=month,
                        time=f"{bad // 60:02d}:{bad % 60:02d}",
                        what=what,
                    )
                )
        return self

    def period_at(self, local: dt.datetime) -> TouPeriod:
        minute = local.hour * 60 + local.minute
        for p in self.periods:
            if local.month in p.months and any(a <= minute < b for a, b in p.minute_ranges()):
                return p
        raise AssertionError("unreachable: tariff validated to cover the day")

    @functools.cached_property
    def boundary_minutes(self) -> int:
        """The largest step every TOU boundary lies on [minutes after midnight] (computed once: prices of a
        year of intervals ask for it 35,040 times)."""
        return math.gcd(*(m for p in self.periods for r in p.minute_ranges() for m in r))

    def mean_price(self, local: dt.datetime, minutes: int) -> Decimal:
        """Energy price of the interval of ``minutes`` starting at ``local`` [CNY/kWh]: the time-weighted mean of
        the TOU periods it spans (the price of a constant power over it), so a boundary inside an interval
        (07:30 in an hourly park) is priced by its minutes, not by the period at the interval's start."""
        step = math.gcd(minutes, self.boundary_minutes)
        n = minutes // step
        if n == 1:
            return self.period_at(local).price_cny_per_kwh
        prices = [self.period_at(local + dt.timedelta(minutes=k * step)).price_cny_per_kwh for k in range(n)]
        return sum(prices, Decimal(0)) / n


# --------------------------------------------------------------------------- green supply


class GreenContract(_Model):
    """Green-power trading contract (绿电交易): bundled energy + environmental attributes."""

    id: str
    seller: str
    technology: Literal["pv", "wind", "hydro", "mixed"]
    volume_mwh: float = Field(gt=0, description="contracted energy per settlement period [MWh]")
    period: Literal["day", "month"] = "month"
    tolerance_percent: float = Field(default=10.0, ge=0, le=100, description="allowed deviation band")
    max_mw: float = Field(gt=0, description="largest delivery in any interval [MW]")
    price_cny_per_mwh: Decimal = Field(ge=0, description="energy price incl. green premium")
    green_premium_cny_per_mwh: Decimal = Field(default=Decimal("0"), ge=0)
    profile: Literal["flat", "pv", "wind"] = "flat"


class DirectGreenConnection(_Model):
    """Direct green connection (绿电直连): a dedicated line from an off-site plant."""

    id: str
    plant: str
    technology: Literal["pv", "wind"]
    capacity_kw: float = Field(gt=0, description="line / plant capacity [kW]")
    plant_p_rated_kw: float = Field(gt=0)
    price_cny_per_kwh: Decimal = Field(ge=0)
    bus: str
    meter: str | None = None


class HeldCertificates(_Model):
    """Green electricity certificates (GEC, 绿证) held at start; 1 certificate = 1 MWh."""

    serial_prefix: str
    first: int = Field(ge=0)
    count: int = Field(ge=1)
    generator: str
    technology: Literal["pv", "wind", "hydro", "biomass", "other"]
    location: str
    production_start: dt.date
    production_end: dt.date
    issuer: str = "国家能源局可再生能源信息管理中心 (NEA Renewable Energy Information Management Center)"


class CertificateRules(_Model):
    """Which certificates a retirement may claim against a consumption period (ems/carbon/eligibility.py).

    Default: the GEC rule in force in China, a certificate is valid for two years counted from its
    production month (NDRC/MOF/NEA 发改能源〔2023〕1044号 art. 6); production after the consumption
    period is not allowed. Technology and location lists apply when a claim requires them (e.g. RE100
    market boundary, a buyer's wind-only claim); empty = any.
    """

    vintage_months_before: int = Field(default=24, ge=0, description="production may end this long before the period")
    vintage_months_after: int = Field(default=0, ge=0, description="production may start this long after it ends")
    technologies: list[str] = Field(default=[], description="allowed technologies; empty = any")
    locations: list[str] = Field(default=[], description="allowed locations (prefix match); empty = any")
    rule: str = "GEC validity: 2 years from the production month (NDRC/MOF/NEA 发改能源〔2023〕1044号)"


class GreenSupply(_Model):
    contracts: list[GreenContract] = []
    direct_connections: list[DirectGreenConnection] = []
    certificates: list[HeldCertificates] = []
    certificate_rules: CertificateRules = CertificateRules()


# --------------------------------------------------------------------------- carbon


class OtherFuel(_Model):
    name: str
    unit: str
    kgce_per_unit: Decimal = Field(gt=0)
    kgco2_per_unit: Decimal = Field(ge=0)


class CarbonSettings(_Model):
    grid_factor: str = Field(description="factor registry key of the location-based grid factor")
    residual_factor: str | None = Field(default=None, description="registry key for market-based residual")
    kgce_per_kwh: Decimal = Field(default=Decimal("0.1229"), gt=0, description="electricity to standard coal")
    annual_budget_tco2: Decimal = Field(ge=0)
    other_fuels: list[OtherFuel] = []
    accounting_origin: dt.date | None = Field(
        default=None, description="storage pool carried from here (park time); default 1 January of the period"
    )
    grid_cfe_share: Decimal | None = Field(
        default=None, ge=0, le=1, description="grid carbon-free share for the 24/7 CFE score; default from factors"
    )


# --------------------------------------------------------------------------- tenants


class ProductionLine(_Model):
    id: str
    product: str
    unit: str = Field(description="unit of production, e.g. 't' or 'module'")
    meter: str


class Tenant(_Model):
    id: str
    name: str
    meters: list[str]
    lines: list[ProductionLine] = []
    shared_meter_key: float | None = Field(default=None, ge=0, le=1, description="share of shared-services meters")
    contracts: list[str] = Field(
        default=[], description="ids of green contracts held by this tenant (allocated to it first)"
    )


# --------------------------------------------------------------------------- dispatch options


class DispatchSettings(_Model):
    """How the park is optimised (``ems plan`` options override each key); see docs/dispatch.md."""

    objective: Literal["lexicographic", "weighted"] = Field(
        default="lexicographic", description="local RE first then cost, or cost + weight × local RE lost"
    )
    re_weight_cny_per_kwh: float = Field(default=10.0, ge=0, description="weighted mode: price of 1 kWh of RE lost")
    time_limit_s: float = Field(default=10.0, gt=0, description="solver time for a whole plan [s]")
    mip_rel_gap: float = Field(default=1e-4, ge=0, lt=1, description="relative MIP gap at which a plan is optimal")
    prices_file: str | None = Field(
        default=None,
        description="CSV of per-interval prices (start, import_cny_per_kwh, export_cny_per_kwh; negative allowed), "
        "relative to the park file",
    )
    prices_add_to_tariff: bool = Field(
        default=False, description="add the file's import prices to the TOU tariff instead of replacing it"
    )
    grid_model: bool = Field(
        default=False,
        description="AC-checked plans carry losses, dispatched reactive power (power factor, voltages) re-linearised "
        "per interval (about 10x slower; docs/dispatch.md)",
    )
    n_1: bool = Field(default=False, description="AC-checked plans also hold every non-islanding N-1 outage")
    peak_margin_quantile: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="MPC plans a peak-import safety margin: this quantile (e.g. 0.95) of the net-load forecast "
        "errors of the last history days (docs/dispatch.md); none by default",
    )


# --------------------------------------------------------------------------- park


class Location(_Model):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    altitude_m: float = 0.0


class Park(_Model):
    name: str
    province: str
    grid_region: str
    timezone: str = DEFAULT_TIMEZONE
    language: str = Field(default="en", description="default language people read: en or zh-CN (docs/i18n.md)")
    interval_minutes: int = Field(default=15, gt=0, le=60)
    location: Location
    network: Network
    devices: list[Device]
    tariff: Tariff
    green: GreenSupply = GreenSupply()
    carbon: CarbonSettings
    tenants: list[Tenant] = []
    shared_meters: list[str] = []
    sources: dict[str, str] = Field(default={}, description="where the numbers come from")
    dispatch: DispatchSettings = DispatchSettings()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(Msg("unknown time zone {v!r}", v=v)) from exc
        return v

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        return parse_language(v)

    @field_validator("interval_minutes")
    @classmethod
    def _divides_hour(cls, v: int) -> int:
        if 60 % v:
            raise ValueError(Msg("interval_minutes must divide 60"))
        return v

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def interval(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.interval_minutes)

    @property
    def intervals_per_day(self) -> int:
        return 24 * 60 // self.interval_minutes

    def device(self, device_id: str) -> Device:
        for d in self.devices:
            if d.id == device_id:
                return d
        raise KeyError(f"unknown device {device_id!r}; known: {', '.join(d.id for d in self.devices)}")

    def devices_of(self, kind: str) -> list[Any]:
        return [d for d in self.devices if d.type == kind]

    @property
    def grid_meter(self) -> Meter | None:
        for d in self.devices:
            if isinstance(d, Meter) and d.role == "grid_connection":
                return d
        return None

    def iter_references(self) -> Iterator[tuple[str, str, set[str], str]]:
        """(key path, referenced id, valid ids, what) for every cross-reference in the file."""
        buses = {b.id for b in self.network.buses}
        device_ids = {d.id for d in self.devices}
        meters = {d.id for d in self.devices if d.type == "meter"}
        tenants = {t.id for t in self.tenants}
        net = self.network
        for i, ln in enumerate(net.lines):
            yield f"network.lines[{i}].from_bus", ln.from_bus, buses, N_("bus")
            yield f"network.lines[{i}].to_bus", ln.to_bus, buses, N_("bus")
        for i, tr in enumerate(net.transformers):
            yield f"network.transformers[{i}].hv_bus", tr.hv_bus, buses, N_("bus")
            yield f"network.transformers[{i}].lv_bus", tr.lv_bus, buses, N_("bus")
        yield "network.grid_connection.bus", net.grid_connection.bus, buses, N_("bus")
        for i, c in enumerate(net.compensation):
            yield f"network.compensation[{i}].bus", c.bus, buses, N_("bus")
        injecting = {d.id for d in self.devices if d.type in ("pv", "wind", "battery")}
        injecting |= {g.id for g in self.green.direct_connections}
        for dev in net.reactive:
            yield f"network.reactive.{dev}", dev, injecting, N_("PV, wind, battery or direct connection")
        for i, sw in enumerate(net.switches):
            yield f"network.switches[{i}].bus", sw.bus, buses, N_("bus")
            yield f"network.switches[{i}].other_bus", sw.other_bus, buses, N_("bus")
        if net.grid_connection.meter:
            yield "network.grid_connection.meter", net.grid_connection.meter, meters, N_("meter")
        for i, d in enumerate(self.devices):
            yield f"devices[{i}].bus", d.bus, buses, N_("bus")
            if d.tenant:
                yield f"devices[{i}].tenant", d.tenant, tenants, N_("tenant")
            if isinstance(d, Meter) and d.parent:
                yield f"devices[{i}].parent", d.parent, meters, N_("meter")
        for i, g in enumerate(self.green.direct_connections):
            yield f"green.direct_connections[{i}].bus", g.bus, buses, N_("bus")
            if g.meter:
                yield f"green.direct_connections[{i}].meter", g.meter, meters, N_("meter")
        # a load device measures itself, so tenants may name loads as well as meters
        for i, t in enumerate(self.tenants):
            for j, m in enumerate(t.meters):
                yield f"tenants[{i}].meters[{j}]", m, device_ids, N_("metered device")
            for j, pl in enumerate(t.lines):
                yield f"tenants[{i}].lines[{j}].meter", pl.meter, device_ids, N_("metered device")
        for i, m in enumerate(self.shared_meters):
            yield f"shared_meters[{i}]", m, device_ids, N_("metered device")


def _check_references(park: Park) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for where, ref, valid, what in park.iter_references():
        if ref not in valid:
            known = ", ".join(sorted(valid)) or Msg("none")
            problems.append(
                (where, Msg("unknown {what} {ref!r} (known: {known})", what=Msg(what), ref=ref, known=known))
            )
    for name, items in [
        ("network.buses", [b.id for b in park.network.buses]),
        ("network.lines", [x.id for x in park.network.lines]),
        ("network.transformers", [x.id for x in park.network.transformers]),
        ("devices", [d.id for d in park.devices]),
    ]:
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item in seen:
                problems.append((f"{name}[{i}].id", Msg("duplicate id {item!r}", item=item)))
            seen.add(item)
    buses = {b.id: b for b in park.network.buses}
    for i, tr in enumerate(park.network.transformers):
        for side, bus_id, vn in (("hv", tr.hv_bus, tr.vn_hv_kv), ("lv", tr.lv_bus, tr.vn_lv_kv)):
            bus = buses.get(bus_id)
            if bus and abs(bus.vn_kv - vn) / vn > 0.1:
                problems.append(
                    (
                        f"network.transformers[{i}].vn_{side}_kv",
                        Msg(
                            "{vn} kV does not match bus {bus_id!r} ({bus_kv} kV)",
                            vn=vn,
                            bus_id=bus_id,
                            bus_kv=bus.vn_kv,
                        ),
                    )
                )
    return problems


def _format_loc(loc: tuple[int | str, ...], data: Any) -> str:
    """Turn pydantic's location (which includes discriminator tags) into a key path."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
        elif isinstance(node, dict) and part in node:
            out += f".{part}" if out else part
            node = node[part]
        elif isinstance(node, dict):
            # a discriminator tag ("pv", "modbus_tcp"); or a missing key
            if part in {"pv", "wind", "battery", "load", "meter", "modbus_tcp", "modbus_rtu", "gateway"}:
                continue
            out += f".{part}" if out else str(part)
            node = None
        else:
            out += f".{part}" if out else str(part)
    return out


def parse_park(data: Any, source: str = "<park>") -> Park:
    """Validate a park description given as plain data (e.g. parsed YAML)."""
    if not isinstance(data, dict):
        raise ParkFileError(source, [("", Msg("the park file must be a mapping at the top level"))])
    try:
        park = Park.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            problems.append((_format_loc(err["loc"], data), validation_message(err)))
        raise ParkFileError(source, problems) from None
    problems = _check_references(park)
    if problems:
        raise ParkFileError(source, problems)
    return park


def load_park(path: str | Path) -> Park:
    """Read and validate a park file (YAML)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParkFileError(str(p), [("", Msg("cannot read file: {error}", error=exc.strerror))]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = Msg("line {line}, column {column}", line=mark.line + 1, column=mark.column + 1) if mark else ""
        problem = Msg("not valid YAML: {error}", error=getattr(exc, "problem", exc))
        raise ParkFileError(str(p), [(where, problem)]) from None
    park = parse_park(data, str(p))
    model = park.network.model
    if model is not None and not Path(model.path).is_absolute():
        # a network model's path is relative to the park file
        resolved = model.model_copy(update={"path": str(p.parent / model.path)})
        park = park.model_copy(update={"network": park.network.model_copy(update={"model": resolved})})
    return park


EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


def example_park_path(name: str = "demo") -> Path:
    """Path of a shipped example park: ``demo`` (Jiangsu coastal park) or ``tiny``."""
    path = EXAMPLES_DIR / f"{name}_park.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no example park {name!r} at {path}")
    return path
