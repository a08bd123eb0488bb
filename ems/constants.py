"""Named modelling constants, each with where it comes from. One place: import, never retype.

Factors with legal standing (grid emission factors, tariffs) are not here: they are data with
their publication (``ems/carbon/published_factors.yaml``, the park file).
"""

from __future__ import annotations

#: PV performance ratio, AC energy / (DC rating × in-plane irradiation / 1 kW/m²), as defined in
#: IEC 61724-1. 0.82 is the demo park's assumption for East China rooftop PV (``examples/
#: demo_park.yaml`` sources); typical well-kept systems reach 0.75-0.85 (Reich et al., "Performance
#: ratio revisited", Prog. Photovolt. 20 (2012) 717). The default of ``PvPlant.performance_ratio``,
#: of the synthetic profiles, the clear-sky forecaster and direct green lines' availability.
PV_PERFORMANCE_RATIO = 0.82

#: DC/AC (inverter loading) ratio assumed for PV known only by its AC rating (direct green
#: connections, hosting what-ifs): 1.2, inside the 1.1-1.3 range typical of utility-scale plants
#: (LBNL "Utility-Scale Solar", 2023 edition: median 1.29 for US single-axis tracking). Illustrative.
PV_DC_AC_RATIO = 1.2
