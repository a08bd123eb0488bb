"""Park simulator: Modbus TCP servers that behave like a park's devices, speaking the same register maps.

Python API: :class:`device_drivers.simulator.park.ParkSimulator`; command line: ``ems simulate``.
"""

from __future__ import annotations

from device_drivers.simulator.park import FAULT_KINDS, ParkSimulator, with_free_ports

__all__ = ["FAULT_KINDS", "ParkSimulator", "with_free_ports"]
