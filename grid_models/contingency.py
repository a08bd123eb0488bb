"""N-1: the period re-run with each transformer and each line out of service in turn."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from grid_models.hosting import ViolationSummary, summarise
from grid_models.network import ParkNetwork
from grid_models.powerflow import timeseries
from grid_models.profiles import ParkProfiles
from grid_models.results import Violation, violations


@dataclass(frozen=True)
class ContingencyResult:
    """One outage: buses left without supply (islanded) and the violations of the rest."""

    outage: str  # "trafo T1", "line L3"
    unsupplied_buses: list[str]
    violations: list[Violation]
    summary: list[ViolationSummary]


def n_minus_1(
    pn: ParkNetwork, profiles: ParkProfiles, progress: Callable[[int], None] | None = None
) -> list[ContingencyResult]:
    """Every in-service transformer and line out in turn, over every interval of ``profiles``
    (fast path, OLTCs controlled). Radial feeders island their buses: reported as unsupplied."""
    out = []
    for table, ids in (("trafo", pn.trafo_ids), ("line", pn.line_ids)):
        for idx, label in zip(pn.net[table].index, ids, strict=True):
            if not pn.net[table].at[idx, "in_service"]:
                continue
            net = copy.deepcopy(pn.net)
            net[table].at[idx, "in_service"] = False
            outaged = ParkNetwork(net, pn.elements, pn.q_ratio, pn.limits, f"{pn.name} -{label}", pn.oltc, pn.reactive)
            res = timeseries(outaged, list(profiles.device_ids), profiles.p_kw, progress=progress, control_taps=True)
            in_service = net.bus.in_service.to_numpy(bool)
            dark = np.all(np.isnan(res.vm_pu), axis=0) & in_service
            found = violations(res, pn.limits)
            out.append(
                ContingencyResult(
                    f"{table} {label}",
                    [b for b, d in zip(pn.bus_ids, dark, strict=True) if d],
                    found,
                    summarise(f"{table} {label} out", found),
                )
            )
    return out
