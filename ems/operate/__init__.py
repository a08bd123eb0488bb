"""The park running as one system (the composition root).

* :mod:`ems.operate.planner` — one MPC planning step: store history → forecasts → dispatch with
  the AC check → saved forecast and schedule (``ems mpc`` and the demo share it);
* :mod:`ems.operate.actuate` — the first interval of a schedule written to the devices;
* :mod:`ems.operate.mpc_loop` — the production loop behind ``ems mpc``;
* :mod:`ems.operate.plant` — what the demo adds to the park simulator: the direct green line,
  a history backfill and the true available generation;
* :mod:`ems.operate.gateway` — a simulated telemetry gateway pushing through the HTTP API;
* :mod:`ems.operate.summary` — as-operated KPIs against the rule-based baseline;
* :mod:`ems.operate.live` — the live demo day: simulator, poller, planner, API, carbon accounting.
"""

from __future__ import annotations
