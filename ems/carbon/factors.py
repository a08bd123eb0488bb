"""Emission-factor registry: factors are data with provenance, kept in versions.

A factor is identified by ``key`` (e.g. ``cn-jiangsu-2022``) and ``version``; its id is
``key@vN``. Published factors ship in ``published_factors.yaml`` as version 1 and are
never changed in place: a correction or a user's own value for the same key becomes a
new version with a new id, and every report records the exact id it used.
A reference without ``@vN`` resolves to the newest version of that key.

Values are kgCO2/kWh (``Decimal``). Time-varying (e.g. hourly) factors are
:class:`FactorSeries`: one value per interval start, in the same unit.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ems.i18n import Msg, message_of

UNIT = "kgCO2/kWh"
SCOPES = ("combustion_co2", "lifecycle_co2e")
_KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{1,80}$")


class FactorError(ValueError):
    """A factor reference or a factor definition is invalid; the message says which and why."""


@dataclass(frozen=True)
class EmissionFactor:
    """One version of an emission factor with its provenance."""

    key: str
    version: int
    value: Decimal  # kgCO2/kWh
    region: str
    data_year: int
    publisher: str
    document: str
    published: dt.date | None
    note: str = ""
    scope: str = "combustion_co2"
    unit: str = UNIT
    origin: str = "published"  # "published" (shipped data file) or "user"
    verification: str = ""

    @property
    def id(self) -> str:
        return f"{self.key}@v{self.version}"

    def provenance(self) -> dict[str, Any]:
        """Plain-data provenance for reports (Decimal and dates as strings)."""
        return {
            "id": self.id,
            "key": self.key,
            "version": self.version,
            "value": str(self.value),
            "unit": self.unit,
            "scope": self.scope,
            "region": self.region,
            "data_year": self.data_year,
            "publisher": self.publisher,
            "document": self.document,
            "published": self.published.isoformat() if self.published else None,
            "note": self.note,
            "origin": self.origin,
            "verification": self.verification,
        }


@dataclass(frozen=True)
class FactorSeries:
    """A time-varying factor: ``values[i]`` [kgCO2/kWh] applies to the interval from ``starts[i]`` (UTC)."""

    key: str
    version: int
    starts: np.ndarray  # datetime64[us]
    values: np.ndarray  # float64 kgCO2/kWh
    interval_minutes: int
    publisher: str
    document: str
    note: str = ""
    origin: str = "user"

    @property
    def id(self) -> str:
        return f"{self.key}@v{self.version}"

    def provenance(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "version": self.version,
            "unit": UNIT,
            "time_varying": True,
            "interval_minutes": self.interval_minutes,
            "points": len(self.values),
            "first": str(self.starts[0]) if len(self.starts) else None,
            "publisher": self.publisher,
            "document": self.document,
            "note": self.note,
            "origin": self.origin,
        }

    def at(self, starts: np.ndarray, interval_minutes: int | None = None) -> np.ndarray:
        """Factor per requested interval: the series value whose interval contains its start; for requested
        intervals of ``interval_minutes`` longer than the series' own, the mean of the series over the
        interval (emissions of a constant power: a 15-minute series on hourly data would otherwise give each
        hour its first quarter's factor).

        Raises FactorError when a requested interval is not covered (no silent fallback), or when the
        requested interval is not a whole number of the series' intervals.
        """
        sub, n = self.substeps(starts, interval_minutes)
        idx, ok = self.covered(sub)
        if not ok.all():
            first_bad = sub[~ok][0]
            raise FactorError(
                Msg("time-varying factor {factor} has no value for {time} UTC", factor=self.id, time=first_bad)
            )
        return self.values[idx].reshape(-1, n).mean(axis=1)

    def substeps(self, starts: np.ndarray, interval_minutes: int | None = None) -> tuple[np.ndarray, int]:
        """The series' own steps inside each interval of ``interval_minutes`` starting at ``starts``
        (flattened, interval by interval), and how many each interval has (1 for an interval no longer
        than the series' step)."""
        starts = np.asarray(starts, dtype="datetime64[us]")
        if interval_minutes is None or interval_minutes <= self.interval_minutes:
            return starts, 1
        if interval_minutes % self.interval_minutes:
            raise FactorError(
                Msg(
                    "time-varying factor {factor} has {step}-minute values; intervals of {minutes} minutes "
                    "are not a whole number of them",
                    factor=self.id,
                    step=self.interval_minutes,
                    minutes=interval_minutes,
                )
            )
        n = interval_minutes // self.interval_minutes
        return (starts[:, None] + np.arange(n) * self.step).ravel(), n

    @property
    def step(self) -> np.timedelta64:
        return np.timedelta64(self.interval_minutes * 60_000_000, "us")

    def covered(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each time, the index of the series value whose interval contains it, and whether one does."""
        idx = np.searchsorted(self.starts, times, side="right") - 1
        return idx, (idx >= 0) & (times < self.starts[np.clip(idx, 0, None)] + self.step)


@dataclass
class FactorRegistry:
    """All factor versions known to the system: published ones plus user versions."""

    factors: dict[str, list[EmissionFactor]] = field(default_factory=dict)
    series: dict[str, list[FactorSeries]] = field(default_factory=dict)

    @classmethod
    def published(cls) -> FactorRegistry:
        """A registry holding the shipped published factors (version 1 each)."""
        reg = cls()
        for f in load_published():
            reg.factors.setdefault(f.key, []).append(f)
        return reg

    def keys(self) -> list[str]:
        return sorted(set(self.factors) | set(self.series))

    def all(self) -> list[EmissionFactor]:
        return [f for key in sorted(self.factors) for f in self.factors[key]]

    def versions(self, key: str) -> list[EmissionFactor]:
        return list(self.factors.get(key, []))

    def get(self, ref: str) -> EmissionFactor:
        """Resolve ``key`` (newest version) or ``key@vN`` (that version)."""
        key, version = parse_ref(ref)
        found = self.factors.get(key)
        if not found:
            if key in self.series:
                raise FactorError(Msg("{key!r} is a time-varying factor; use get_series", key=key))
            raise FactorError(
                Msg("unknown emission factor {key!r}; known: {known}", key=key, known=", ".join(self.keys()))
            )
        if version is None:
            return found[-1]
        for f in found:
            if f.version == version:
                return f
        raise FactorError(
            Msg(
                "emission factor {key!r} has no version {version} (has {versions})",
                key=key,
                version=version,
                versions=[f.version for f in found],
            )
        )

    def get_series(self, ref: str) -> FactorSeries:
        key, version = parse_ref(ref)
        found = self.series.get(key)
        if not found:
            raise FactorError(Msg("no time-varying factor {key!r}", key=key))
        if version is None:
            return found[-1]
        for s in found:
            if s.version == version:
                return s
        raise FactorError(Msg("time-varying factor {key!r} has no version {version}", key=key, version=version))

    def is_series(self, ref: str) -> bool:
        return parse_ref(ref)[0] in self.series

    def next_version(self, key: str) -> int:
        existing = [f.version for f in self.factors.get(key, [])] + [s.version for s in self.series.get(key, [])]
        return max(existing, default=0) + 1

    def add(self, factor: EmissionFactor) -> EmissionFactor:
        """Add a user factor as a new version of its key; returns it with its assigned version.

        A published version is never replaced: even for a published key the new value gets
        the next version number and ``origin='user'``.
        """
        validate_factor(factor)
        new = replace(factor, version=self.next_version(factor.key), origin="user")
        self.factors.setdefault(new.key, []).append(new)
        return new

    def add_existing(self, factor: EmissionFactor) -> None:
        """Register an already-versioned factor (as loaded from the database)."""
        versions = self.factors.setdefault(factor.key, [])
        if any(f.version == factor.version for f in versions):
            raise FactorError(Msg("factor {factor} exists already; versions are never overwritten", factor=factor.id))
        versions.append(factor)
        versions.sort(key=lambda f: f.version)

    def add_series(self, s: FactorSeries) -> FactorSeries:
        if len(s.values) == 0:
            raise FactorError(Msg("time-varying factor {key!r} has no values", key=s.key))
        if np.any(~np.isfinite(s.values)) or np.any(s.values < 0):
            raise FactorError(Msg("time-varying factor {key!r} has negative or non-finite values", key=s.key))
        if np.any(np.diff(s.starts) <= np.timedelta64(0, "us")):
            raise FactorError(Msg("time-varying factor {key!r}: times must be strictly increasing", key=s.key))
        versions = self.series.setdefault(s.key, [])
        if any(x.version == s.version for x in versions):
            raise FactorError(
                Msg("time-varying factor {factor} exists already; versions are never overwritten", factor=s.id)
            )
        versions.append(s)
        versions.sort(key=lambda x: x.version)
        return s


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``key`` → (key, None); ``key@v3`` → (key, 3)."""
    key, sep, ver = ref.partition("@v")
    if not _KEY.match(key):
        raise FactorError(Msg("invalid factor key {key!r}: lower-case letters, digits, '.', '_' and '-'", key=key))
    if not sep:
        return key, None
    if not ver.isdigit() or int(ver) < 1:
        raise FactorError(Msg("invalid factor version in {ref!r}; expected key@vN with N >= 1", ref=ref))
    return key, int(ver)


def validate_factor(f: EmissionFactor) -> None:
    parse_ref(f.key)
    if f.unit != UNIT:
        raise FactorError(Msg("factor {key!r}: unit must be {unit} (got {got!r})", key=f.key, unit=UNIT, got=f.unit))
    if f.scope not in SCOPES:
        raise FactorError(
            Msg("factor {key!r}: scope must be one of {scopes} (got {got!r})", key=f.key, scopes=SCOPES, got=f.scope)
        )
    if not f.value.is_finite() or f.value < 0 or f.value > 5:
        raise FactorError(Msg("factor {key!r}: value {value} kgCO2/kWh is outside [0, 5]", key=f.key, value=f.value))
    if not 1990 <= f.data_year <= 2100:
        raise FactorError(Msg("factor {key!r}: data_year {data_year} is implausible", key=f.key, data_year=f.data_year))
    if not f.publisher.strip() or not f.document.strip():
        raise FactorError(Msg("factor {key!r}: publisher and document are required (provenance)", key=f.key))


def load_published() -> list[EmissionFactor]:
    """The shipped published factors, version 1 each."""
    text = resources.files("ems.carbon").joinpath("published_factors.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    docs = data["documents"]
    out = []
    for row in data["factors"]:
        doc = docs[row["doc"]]
        out.append(
            EmissionFactor(
                key=row["key"],
                version=1,
                value=Decimal(row["value"]),
                region=row["region"],
                data_year=int(row["data_year"]),
                publisher="生态环境部 (MEE) / 国家统计局 (NBS)",
                document=doc["document"],
                published=doc["published"],
                note=row["note"],
                verification=doc["verification"],
            )
        )
    return out


_USER_FIELDS = ("key", "value", "region", "data_year", "publisher", "document")


def factor_from_mapping(row: dict[str, Any]) -> EmissionFactor:
    """A user factor (version assigned later) from plain data; FactorError names the problem."""
    missing = [k for k in _USER_FIELDS if row.get(k) in (None, "")]
    if missing:
        raise FactorError(Msg("missing field(s): {fields}", fields=", ".join(missing)))
    try:
        value = Decimal(str(row["value"]).strip())
    except InvalidOperation:
        raise FactorError(Msg("value {value!r} is not a decimal number", value=row["value"])) from None
    published = row.get("published")
    if isinstance(published, str) and published.strip():
        try:
            published = dt.date.fromisoformat(published.strip())
        except ValueError:
            raise FactorError(Msg("published {published!r} is not an ISO date", published=published)) from None
    elif not isinstance(published, dt.date):
        published = None
    try:
        year = int(row["data_year"])
    except ValueError:
        raise FactorError(Msg("data_year {data_year!r} is not an integer", data_year=row["data_year"])) from None
    f = EmissionFactor(
        key=str(row["key"]).strip(),
        version=0,
        value=value,
        region=str(row["region"]),
        data_year=year,
        publisher=str(row["publisher"]),
        document=str(row["document"]),
        published=published,
        note=str(row.get("note") or ""),
        scope=str(row.get("scope") or "combustion_co2"),
        unit=str(row.get("unit") or UNIT),
        origin="user",
    )
    validate_factor(f)
    return f


def read_factor_file(path: str | Path) -> tuple[list[EmissionFactor], list[tuple[int, str]]]:
    """Read user factors from YAML (a list of mappings) or CSV (header row with the field names).

    Returns (valid factors, [(row number, problem)]) so one bad row loses nothing else.
    """
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() == ".csv":
        rows: list[Any] = list(csv.DictReader(text.splitlines()))
    else:
        loaded = yaml.safe_load(text)
        rows = loaded.get("factors", []) if isinstance(loaded, dict) else loaded
        if not isinstance(rows, list):
            raise FactorError(Msg("{path}: expected a list of factors (or a mapping with key 'factors')", path=p))
    good, bad = [], []
    for i, row in enumerate(rows, start=1):
        try:
            if not isinstance(row, dict):
                raise FactorError(Msg("row is not a mapping"))
            good.append(factor_from_mapping(row))
        except FactorError as exc:
            bad.append((i, message_of(exc)))
    return good, bad


def read_series_csv(
    path: str | Path, key: str, *, interval_minutes: int, publisher: str, document: str, note: str = ""
) -> FactorSeries:
    """Time-varying factor from a CSV with columns ``time`` (ISO 8601 with offset), ``value`` [kgCO2/kWh]."""
    parse_ref(key)
    starts, values = [], []
    with open(path, encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh), start=2):
            try:
                t = dt.datetime.fromisoformat(row["time"])
                if t.tzinfo is None:
                    raise FactorError(Msg("line {line}: time {time!r} has no UTC offset", line=i, time=row["time"]))
                starts.append(np.datetime64(t.astimezone(dt.UTC).replace(tzinfo=None), "us"))
                values.append(float(row["value"]))
            except (KeyError, ValueError) as exc:
                raise FactorError(
                    Msg("{path} line {line}: {error}", path=path, line=i, error=message_of(exc))
                ) from None
    return FactorSeries(
        key=key,
        version=0,
        starts=np.array(starts, dtype="datetime64[us]"),
        values=np.array(values, dtype=float),
        interval_minutes=interval_minutes,
        publisher=publisher,
        document=document,
        note=note,
    )


def registry_with(factors: Iterable[EmissionFactor], series: Iterable[FactorSeries] = ()) -> FactorRegistry:
    """Published registry plus already-versioned user factors and series (e.g. from the database)."""
    reg = FactorRegistry.published()
    for f in factors:
        reg.add_existing(f)
    for s in series:
        reg.add_series(s)
    return reg


def grid_cfe_share(registry: FactorRegistry, grid_ref: str) -> tuple[Decimal, dict[str, Any]]:
    """Carbon-free share of grid generation from the national factors of the grid factor's data year.

    The national average factor is CO2 per kWh of all generation and the fossil-only factor CO2
    per kWh of fossil generation (same notice, same year), so the fossil share of generation is
    their ratio and ``cfe_share = 1 - EF_national / EF_fossil`` (2022: 1 - 0.5366 / 0.8325 =
    0.355435). Raises FactorError when the year's pair is not registered (or the grid factor is a
    series without a data year).
    """
    if registry.is_series(grid_ref):
        raise FactorError(
            Msg("grid factor {ref!r} is a series: give carbon.grid_cfe_share in the park file", ref=grid_ref)
        )
    year = registry.get(grid_ref).data_year
    try:
        avg, fossil = registry.get(f"cn-national-{year}"), registry.get(f"cn-national-fossil-{year}")
    except FactorError as exc:
        raise FactorError(
            Msg("no national and fossil-only factors for {year}: no grid carbon-free share", year=year)
        ) from exc
    share = (1 - avg.value / fossil.value).quantize(Decimal("0.000001"))
    return share, {
        "value": str(share),
        "formula": f"1 - {avg.id} / {fossil.id}",
        "factors": [avg.provenance(), fossil.provenance()],
        "note": "national generation mix of the grid factor's year (no regional fossil factor is published)",
    }
