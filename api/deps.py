"""Typed dependencies for the routers (FastAPI's ``Annotated[T, Depends(...)]`` style).

The app keeps everything it needs in one :class:`AppState` (built by :func:`api.app.create_app`);
routes ask for what they use: ``store: StoreDep``, ``park: ParkDep``, ``period: PeriodDep``...
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Query, Request

from api.jobs import JobBoard
from api.limits import RateLimiter
from api.metrics import Metrics
from api.principal import KeyCache
from ems.carbon import service as carbon
from ems.carbon.factors import FactorRegistry
from ems.i18n import Msg
from ems.park import Park
from ems.quantities import EARLIEST_READING
from ems.settings import Settings
from ems.store import Store

if TYPE_CHECKING:
    from grid_models import ParkNetwork

HealthProvider = Callable[[], list[dict[str, Any]]]
"""Poll health of each polled device (``device``, ``state`` and details), from the live poller."""
GridStatusProvider = Callable[[], dict[str, Any] | None]
"""The latest grid status computed by a running service (None: not computed yet)."""

EARLIEST = EARLIEST_READING  # no period starts before the earliest reading the store accepts
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
MAX_PERIOD = dt.timedelta(days=400)


class RegistryCache:
    """The factor registry, reloaded at most once every ``ttl_s`` (user factors can be added meanwhile)."""

    def __init__(self, ttl_s: float = 60.0) -> None:
        self.ttl_s = ttl_s
        self._loaded: tuple[float, FactorRegistry] | None = None
        self._lock = threading.Lock()

    def get(self, store: Store) -> FactorRegistry:
        with self._lock:
            if self._loaded is None or time.monotonic() - self._loaded[0] >= self.ttl_s:
                self._loaded = (time.monotonic(), carbon.load_registry(store))
            return self._loaded[1]


@dataclass
class AppState:
    """Everything the routes share, typed; one per app (no globals)."""

    settings: Settings
    park: Park
    store: Store
    key_cache: KeyCache
    metrics: Metrics = field(default_factory=Metrics)
    health_provider: HealthProvider | None = None
    grid_status: GridStatusProvider | None = None
    registry: RegistryCache = field(default_factory=RegistryCache)
    park_network: ParkNetwork | None = None  # built on first use by the grid route
    pathway_jobs: JobBoard = field(default_factory=JobBoard)
    rate_limiter: RateLimiter = field(init=False)
    auth_failures: RateLimiter = field(init=False)  # per client address

    def __post_init__(self) -> None:
        s = self.settings
        self.rate_limiter = RateLimiter(s.rate_limit_per_s, s.rate_limit_burst)
        self.auth_failures = RateLimiter(s.auth_failures_per_min / 60.0, s.auth_failures_burst)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.ems
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_store(state: StateDep) -> Store:
    return state.store


def get_park(state: StateDep) -> Park:
    return state.park


def get_settings(state: StateDep) -> Settings:
    return state.settings


def get_metrics(state: StateDep) -> Metrics:
    return state.metrics


def get_registry(state: StateDep) -> FactorRegistry:
    return state.registry.get(state.store)


def get_health_provider(state: StateDep) -> HealthProvider | None:
    return state.health_provider


def get_grid_status(state: StateDep) -> GridStatusProvider | None:
    return state.grid_status


def get_reports_dir(settings: Annotated[Settings, Depends(get_settings)]) -> Path:
    """Where issued carbon reports are written and served from."""
    return Path(settings.data_dir) / "reports"


def get_footprints_dir(settings: Annotated[Settings, Depends(get_settings)]) -> Path:
    """Where issued tenant documents are written and served from."""
    return Path(settings.data_dir) / "footprints"


StoreDep = Annotated[Store, Depends(get_store)]
ParkDep = Annotated[Park, Depends(get_park)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
RegistryDep = Annotated[FactorRegistry, Depends(get_registry)]
HealthProviderDep = Annotated[HealthProvider | None, Depends(get_health_provider)]
GridStatusDep = Annotated[GridStatusProvider | None, Depends(get_grid_status)]
ReportsDir = Annotated[Path, Depends(get_reports_dir)]
FootprintsDir = Annotated[Path, Depends(get_footprints_dir)]


@dataclass(frozen=True)
class Period:
    """A requested period [start, end), checked and widened to whole park intervals."""

    start: dt.datetime
    end: dt.datetime


def checked_period(start: dt.datetime, end: dt.datetime, interval_minutes: int = 15) -> Period:
    """Validate a requested period and widen it to whole park intervals (start floored, end ceiled)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise HTTPException(400, Msg("start and end need a time zone (e.g. 2026-06-01T00:00:00+08:00)"))
    if not (start >= EARLIEST and end <= LATEST):
        raise HTTPException(
            400, Msg("periods must lie between {first} and {last}", first=EARLIEST.year, last=LATEST.year)
        )
    if not start < end:
        raise HTTPException(400, Msg("start must be before end"))
    if end - start > MAX_PERIOD:
        raise HTTPException(400, Msg("period longer than {days} days; request it in parts", days=MAX_PERIOD.days))
    step = dt.timedelta(minutes=interval_minutes)
    start_utc = start.astimezone(dt.UTC)
    floor = start_utc - (start_utc - EARLIEST) % step
    over = (end.astimezone(dt.UTC) - EARLIEST) % step
    ceil = end.astimezone(dt.UTC) + (step - over if over else dt.timedelta(0))
    return Period(floor.astimezone(start.tzinfo), ceil.astimezone(end.tzinfo))


def get_period(
    park: ParkDep,
    start: Annotated[dt.datetime, Query(description="period start with time zone")],
    end: Annotated[dt.datetime, Query(description="period end (exclusive) with time zone")],
) -> Period:
    """The ``start``/``end`` query parameters as a checked :class:`Period` (400 naming the problem)."""
    return checked_period(start, end, park.interval_minutes)


PeriodDep = Annotated[Period, Depends(get_period)]
