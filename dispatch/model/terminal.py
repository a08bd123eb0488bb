"""What the energy left in a battery at the end of the horizon is worth.

Without a value the optimiser empties every battery by the last interval; with a fixed SOC target
it buys whatever the target lacks at any price in the last hours. Instead, unless the park file sets
an explicit target, stored energy is worth what it would cost to put it back later:

``V_b = max(0, min_{t in the last 24 h} (price_t + carbon_price·ef_t)) / η_c,b``  [CNY per kWh stored]

(the prices of the horizon's last day stand for the next day's, the cheapest of them being the
replacement cost). The objective rewards ``V_b·e[b,T−1]``. Consequences, by hand: buying at
``p_t`` to store stores ``η_c`` kWh worth ``η_c·V = p_min``, so the plan never buys at the end of
the horizon at more than the cheapest price; it discharges at the end whenever ``η_c·η_d·p_t > p_min``,
i.e. whenever selling now and refilling in the next valley pays.
"""

from __future__ import annotations

import numpy as np

from dispatch.problem import BatterySpec, DispatchProblem


def terminal_value(p: DispatchProblem, b: BatterySpec) -> float:
    """Value of one kWh stored in ``b`` at the end of the horizon [CNY/kWh] (module docstring)."""
    last_day = max(1, round(24.0 / p.dt_h))
    price = np.asarray(p.import_price, dtype=float) + p.carbon_price_cny_per_kg * np.asarray(p.ef_kg_per_kwh)
    return max(0.0, float(price[-last_day:].min())) / b.eta_charge
