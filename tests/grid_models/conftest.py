"""Fixtures of the grid-model tests: the demo park's network and the CIGRE MV benchmark."""

from __future__ import annotations

import pytest

from ems.park import Park
from grid_models import ParkNetwork, build_network, cigre_mv_park


@pytest.fixture(scope="module")
def demo_pn(demo_park: Park) -> ParkNetwork:
    return build_network(demo_park)


@pytest.fixture(scope="module")
def cigre_pn() -> ParkNetwork:
    return cigre_mv_park()


@pytest.fixture
def demo_op() -> dict[str, float]:
    """A demo-park operating point in kW (generator convention): sunny, windy, battery charging."""
    return {
        "PV_CELLS": 8000.0,
        "PV_CHEM": 6000.0,
        "PV_TEX": 5000.0,
        "PV_CARPORT": 800.0,
        "WIND": 12000.0,
        "BESS": -5000.0,
        "LOAD_CELLS": -20000.0,
        "LOAD_CHEM": -15000.0,
        "LOAD_TEX": -8000.0,
        "LOAD_EV": -2000.0,
        "LOAD_OFFICE": -1200.0,
        "DG-SALTFLAT-PV": 9000.0,
    }
