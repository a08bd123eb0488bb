"""The DL/T 645 meters of a park, as drivers for the poller (one link per TCP gateway or serial line)."""

from __future__ import annotations

from device_drivers.dlt645.data_map import DataMap, load_data_map
from device_drivers.dlt645.driver import Dlt645Driver
from device_drivers.dlt645.link import Dlt645Link
from device_drivers.health import DeviceHealth
from ems.park import Dlt645Serial, Dlt645Tcp, Park


def link_key(conn: Dlt645Tcp | Dlt645Serial) -> str:
    """Meters with the same key share one link (one RS-485 bus, read one after another)."""
    if isinstance(conn, Dlt645Tcp):
        return f"dlt645+tcp://{conn.host}:{conn.port}"
    return f"dlt645+serial://{conn.serial_port}"


def link_for(conn: Dlt645Tcp | Dlt645Serial, timeout_s: float, retries: int) -> Dlt645Link:
    if isinstance(conn, Dlt645Tcp):
        return Dlt645Link.tcp(conn.host, conn.port, timeout_s, retries)
    return Dlt645Link.serial(
        conn.serial_port, conn.baudrate, conn.parity, conn.stopbits, conn.bytesize, timeout_s, retries
    )


def park_meters(
    park: Park, wanted: set[str] | None = None, interval_s: float | None = None
) -> tuple[list[tuple[Dlt645Driver, DeviceHealth, float]], dict[str, Dlt645Link]]:
    """(driver, health, poll interval) of every DL/T 645 device of ``park`` (or of ``wanted``), and the links."""
    selected = [
        (dev, dev.connection, link_key(dev.connection))
        for dev in park.devices
        if isinstance(dev.connection, Dlt645Tcp | Dlt645Serial) and (wanted is None or dev.id in wanted)
    ]
    links: dict[str, Dlt645Link] = {}
    for key in dict.fromkeys(k for _, _, k in selected):
        conns = [c for _, c, k in selected if k == key]
        links[key] = link_for(conns[0], max(c.timeout_s for c in conns), max(c.retries for c in conns))
    maps: dict[str, DataMap] = {}
    out = []
    for dev, conn, key in selected:
        if conn.data_map not in maps:
            maps[conn.data_map] = load_data_map(conn.data_map)
        interval = interval_s or conn.poll_interval_s
        driver = Dlt645Driver(dev.id, dev, maps[conn.data_map], links[key], conn.address)
        out.append((driver, DeviceHealth(dev.id, interval, conn.timeout_s), interval))
    return out, links
