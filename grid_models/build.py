"""The park's network, whichever way the park file describes it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grid_models.external import build_external_network
from grid_models.network import ParkNetwork, build_park_network

if TYPE_CHECKING:
    from ems.park import Park


def build_network(park: Park) -> ParkNetwork:
    """The park's network: its own model (``network.model``: pandapower JSON or MATPOWER, mapped to
    the park's devices) when the park file references one, else built from the park description."""
    if park.network.model is not None:
        return build_external_network(park)
    return build_park_network(park)
