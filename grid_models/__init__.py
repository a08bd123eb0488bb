"""Grid model of a park: pandapower network, AC power flow (reference and fast batch path),
violations, linear sensitivities for dispatch and hosting checks. See ``docs/grid_model.md``."""

from __future__ import annotations

from grid_models.build import build_network
from grid_models.hosting import HostingCapacity, HostingReport, ViolationSummary, hosting_capacity, hosting_check
from grid_models.network import (
    LOAD_POWER_FACTOR,
    NetworkLimits,
    NetworkModelError,
    ParkNetwork,
    cigre_mv_park,
)
from grid_models.period_check import PeriodCheck, check_period
from grid_models.powerflow import snapshot, timeseries
from grid_models.profiles import ParkProfiles, park_profiles, year_profiles
from grid_models.results import PowerFlowResult, SeriesResult, Violation, violations
from grid_models.sensitivity import LinearConstraint, Sensitivities, sensitivities

__all__ = [
    "LOAD_POWER_FACTOR",
    "HostingCapacity",
    "HostingReport",
    "LinearConstraint",
    "NetworkLimits",
    "NetworkModelError",
    "ParkNetwork",
    "ParkProfiles",
    "PeriodCheck",
    "PowerFlowResult",
    "Sensitivities",
    "SeriesResult",
    "Violation",
    "ViolationSummary",
    "build_network",
    "check_period",
    "cigre_mv_park",
    "hosting_capacity",
    "hosting_check",
    "park_profiles",
    "sensitivities",
    "snapshot",
    "timeseries",
    "violations",
    "year_profiles",
]
