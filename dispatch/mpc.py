"""Rolling-horizon re-planning (MPC).

Every interval (or hour, or day) the park is re-planned over a fixed-length horizon
from the latest measured SOC and forecasts. The :class:`~dispatch.solver.Dispatcher`
keeps its model: only parameters change, and the solve starts from the previous
basis / the previous plan shifted by the elapsed intervals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypedDict, Unpack

import numpy as np

from dispatch.from_park import problem_from_park, solver_options
from dispatch.prices import PriceSeries
from dispatch.problem import DispatchProblem, NetworkRow
from dispatch.schedule import Schedule
from dispatch.solver import Dispatcher, SolverOptions
from ems.forecast.base import Forecast
from ems.park import Battery, Park


class PlanState(TypedDict, total=False):
    """What a re-plan knows of the park's state besides the forecast and the SOC (:meth:`RollingHorizon.step`)."""

    peak_import_so_far_kw: float
    ghi_clear_w_m2: np.ndarray | None
    flex_delivered_kwh: dict[str, float] | None
    contract_delivered_kwh: dict[str, float] | None
    peak_margin_kw: float | np.ndarray
    re_content_kwh: dict[str, float] | None


class RollingHorizon:
    """Re-plan ``park`` with the latest measurements; one :meth:`step` per re-plan."""

    def __init__(
        self,
        park: Park,
        options: SolverOptions | None = None,
        *,
        carbon_price_cny_per_t: float = 0.0,
        batteries: list[Battery] | None = None,
        contract_volume_scale: float = 1.0,
        network: Callable[[DispatchProblem], list[NetworkRow]] | None = None,
        prices: PriceSeries | None = None,
        margin_from_batteries: bool = False,
    ) -> None:
        """``prices``: import/export price series (spot market; see :func:`problem_from_park`).
        ``margin_from_batteries``: real-time control lets the batteries absorb forecast errors, so their
        headroom covers the peak margin (:attr:`DispatchProblem.peak_margin_from_batteries`)."""
        self.park = park
        self.dispatcher = Dispatcher(options or solver_options(park), update_in_place=True)
        self.carbon_price_cny_per_t = carbon_price_cny_per_t
        self.batteries = batteries
        self.contract_volume_scale = contract_volume_scale
        self.network = network
        self.prices = prices
        self.margin_from_batteries = margin_from_batteries
        self._last_start: dt.datetime | None = None
        self.last_problem: DispatchProblem | None = None

    def problem(self, fc: Forecast, soc_measured: dict[str, float], **state: Unpack[PlanState]) -> DispatchProblem:
        """The problem :meth:`step` solves (arguments there), kept as :attr:`last_problem`."""
        p = problem_from_park(
            self.park,
            fc,
            soc0=soc_measured,
            peak_import_so_far_kw=state.get("peak_import_so_far_kw", 0.0),
            carbon_price_cny_per_t=self.carbon_price_cny_per_t,
            batteries=self.batteries,
            contract_volume_scale=self.contract_volume_scale,
            ghi_clear_w_m2=state.get("ghi_clear_w_m2"),
            flex_delivered_kwh=state.get("flex_delivered_kwh"),
            prices=self.prices,
            contract_delivered_kwh=state.get("contract_delivered_kwh"),
            re_content_kwh=state.get("re_content_kwh"),
        )
        p.peak_margin_kw = state.get("peak_margin_kw", 0.0)
        p.peak_margin_from_batteries = self.margin_from_batteries
        if self.network is not None:
            p.network = self.network(p)
        self.last_problem = p
        return p

    def step(self, fc: Forecast, soc_measured: dict[str, float], **state: Unpack[PlanState]) -> Schedule:
        """Plan the horizon of ``fc`` starting from the measured SOC (0..1 per battery) and, for
        flexible loads, the energy already consumed today; for green contracts, the energy already
        delivered in the current settlement period (month to date), so the rest of the volume is planned;
        for batteries, the local RE part of the stored energy [kWh] that the executed intervals left
        (:func:`dispatch.re_origin.re_content_kwh`), so that selling stored RE counts as a renewable loss.
        ``peak_margin_kw``: safety margin of the planned import below the billed peak, per lead time or one
        for all (:mod:`ems.forecast.peak_margin`); a parameter of the kept model, so the re-solve stays in place.

        The problem solved is kept as :attr:`last_problem` (e.g. for the flexible-load baselines).
        """
        p = self.problem(fc, soc_measured, **state)
        shift = 0
        if self._last_start is not None:
            shift = max(0, round((fc.start - self._last_start) / dt.timedelta(minutes=fc.interval_minutes)))
        self._last_start = fc.start
        return self.dispatcher.solve(p, shift=shift)
