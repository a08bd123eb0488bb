"""Fixtures for the driver tests: real pymodbus servers on free loopback ports."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from device_drivers.simulator.park import with_free_ports
from ems.park import Park


@pytest.fixture(autouse=True)
def _quiet_pymodbus() -> Iterator[None]:
    """Fault-injection tests make pymodbus log every timeout at ERROR level; keep the output readable."""
    log = logging.getLogger("pymodbus")
    old = log.level
    log.setLevel(logging.CRITICAL)
    yield
    log.setLevel(old)


@pytest.fixture
def demo_free(demo_park: Park) -> Park:
    """The demo park with every Modbus device on its own free loopback port."""
    return with_free_ports(demo_park)
