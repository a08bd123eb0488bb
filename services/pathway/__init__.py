"""Zero-carbon pathway planner: the least-cost mix of new PV, wind, storage, direct green lines,
green-power contracts and certificates that meets the national zero-carbon park indicators
(as ``ems.carbon`` computes them), year by year, with sweeps on Dask. See ``docs/pathway.md``.

Modules: ``options`` (the options file), ``data`` (one year's numbers), ``model`` (the LP, one
module per constraint family), ``solve`` (HiGHS, read-out), ``check`` (the solution through
``ems.carbon``), ``pathway`` (year by year), ``representative`` (tsam), ``sweep`` (Dask),
``report`` (JSON, charts).
"""
