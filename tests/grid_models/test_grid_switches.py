"""Bus coupler from the park file: closed, both busbar sections are one node; fast path == pandapower."""

from __future__ import annotations

import pytest

from ems.park import Park, parse_park
from grid_models import build_network, snapshot


@pytest.mark.parametrize("closed", [True, False])
def test_bus_coupler(demo_park: Park, demo_op: dict[str, float], closed: bool) -> None:
    data = demo_park.model_dump(mode="json")
    data["network"]["switches"] = [{"id": "COUPLER", "bus": "MV_A", "other_bus": "MV_B", "closed": closed}]
    pn = build_network(parse_park(data))
    fast, ref = snapshot(pn, demo_op, fast=True), snapshot(pn, demo_op)
    assert fast.bus_vm_pu == pytest.approx(ref.bus_vm_pu, abs=1e-9)
    assert fast.trafo_loading_percent == pytest.approx(ref.trafo_loading_percent, abs=1e-6)
    assert (abs(fast.bus_vm_pu["MV_A"] - fast.bus_vm_pu["MV_B"]) < 1e-12) == closed
    if closed:
        # identical parallel transformers on one node share the load equally
        assert fast.trafo_loading_percent["T1"] == pytest.approx(fast.trafo_loading_percent["T2"], rel=1e-6)
    else:
        assert build_network(demo_park).net.switch.empty
        plain = snapshot(build_network(demo_park), demo_op, fast=True)
        assert plain.bus_vm_pu == pytest.approx(fast.bus_vm_pu, abs=1e-12)


def test_switch_to_unknown_bus_is_named(demo_park: Park) -> None:
    data = demo_park.model_dump(mode="json")
    data["network"]["switches"] = [{"id": "S", "bus": "MV_A", "other_bus": "MV_C"}]
    with pytest.raises(ValueError, match=r"network\.switches\[0\]\.other_bus: unknown bus 'MV_C'"):
        parse_park(data)
