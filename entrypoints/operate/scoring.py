"""Forecast scoring off the planning path: once an interval is metered, the accuracy of the stored
forecasts that covered it is computed in a worker thread while the loop goes on to the next plan.

One scoring at a time: an interval metered while one still runs is taken up by the next call, whose
window starts where the last one ended (:meth:`~entrypoints.operate.mpc_step.Planner.score_forecasts`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from entrypoints.operate.mpc_step import Planner

log = logging.getLogger(__name__)


class BackgroundScoring:
    def __init__(self, planner: Planner) -> None:
        self.planner = planner
        self.task: asyncio.Task[object] | None = None

    def metered(self, until: dt.datetime) -> None:
        """Everything before ``until`` is metered: score it unless a scoring is still running."""
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(asyncio.to_thread(self.planner.score_forecasts, until))
            self.task.add_done_callback(_log_failure)

    async def finish(self) -> None:
        """Wait for a scoring still running (before the store closes)."""
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


def _log_failure(task: asyncio.Task[object]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("forecast scoring failed (taken up at the next interval): %s", task.exception())
