"""DL/T 645-2007 revenue meters (China's meter protocol) over RS-485 or a transparent TCP gateway.

* :mod:`.frame` — frames, checksum, the +0x33 offset, BCD data formats, error answers;
* :mod:`.data_map` — declarative maps (``maps/dlt645/*.yaml``): DI -> quantity, format, scale;
* :mod:`.link` — one TCP or serial line, request/answer with timeouts;
* :mod:`.driver` — one meter: read the mapped DIs, decode, orient, check plausibility;
* :mod:`.park_meters` — a park's DL/T 645 meters for :class:`device_drivers.poller.Poller`.

The simulator is :mod:`device_drivers.simulator.dlt645_meter`.
"""
