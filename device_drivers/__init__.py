"""Modbus device drivers: register maps as data, SunSpec discovery, polling, spooling, setpoints.

Layers, bottom up:

* :mod:`device_drivers.codec` — numbers <-> registers (types, word and byte order);
* :mod:`device_drivers.register_map` — declarative maps (``maps/*.yaml``);
* :mod:`device_drivers.transport` — one pymodbus connection behind ``read_registers``/``write_registers``;
* :mod:`device_drivers.sunspec` — "SunS" marker and model chain discovery;
* :mod:`device_drivers.device` — one device: block reads, decoding, quality, setpoint writes;
* :mod:`device_drivers.health`, :mod:`device_drivers.poller` — per-device health and the polling loop;
* :mod:`device_drivers.spool` — the on-disk spool the poller uses as its write-ahead journal;
* :mod:`device_drivers.control` — clamped, confirmed setpoints for the dispatcher;
* :mod:`device_drivers.simulator` — the park simulator serving the same maps.

Errors: :mod:`device_drivers.errors`.
"""

from __future__ import annotations

from device_drivers.control import Controller, SetpointResult
from device_drivers.health import State
from device_drivers.poller import Poller
from device_drivers.register_map import RegisterMap, load_map
from device_drivers.spool import Spool

__all__ = ["Controller", "Poller", "RegisterMap", "SetpointResult", "Spool", "State", "load_map"]
