"""The park running as one system (the composition root).

* :mod:`entrypoints.operate.mpc_step` — one MPC planning step: store history → forecasts → dispatch with
  the AC check → saved forecast and schedule (``ems mpc`` and the demo share it), and the scoring of
  stored forecasts once an interval is metered (in the background: :mod:`entrypoints.operate.scoring`);
* :mod:`entrypoints.operate.actuate` — the first interval of a schedule written to the devices;
* :mod:`entrypoints.operate.mpc_loop` — the production loop behind ``ems mpc``;
* :mod:`entrypoints.operate.plant` — what the demo adds to the park simulator: the direct green line,
  a history backfill and the true available generation;
* :mod:`entrypoints.operate.gateway` — a simulated telemetry gateway pushing through the HTTP API;
* :mod:`entrypoints.operate.summary` — as-operated KPIs against the rule-based baseline;
* :mod:`entrypoints.operate.period_carbon` — carbon accounting of the operated period (factor series,
  an issued and verified report);
* :mod:`entrypoints.operate.guard` / :mod:`entrypoints.operate.clock` — the import-cap guard between
  re-plans; interval boundaries on a (simulated) clock;
* :mod:`entrypoints.operate.live` — the live demo day: simulator, poller, planner, API, carbon accounting.
"""

from __future__ import annotations
