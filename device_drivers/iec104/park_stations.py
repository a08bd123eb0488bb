"""The IEC 104 stations of a park, as clients for the poller (``iec104`` connections of the park file).

``c104`` (GPLv3) is an optional extra: it is imported only when a park declares a 104 station, and
its absence is one clear error naming the extra instead of a traceback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from device_drivers.errors import RegisterMapError
from device_drivers.iec104.point_map import Iec104Map, load_iec104_map
from ems.i18n import Msg
from ems.park import Iec104Tcp, Park

if TYPE_CHECKING:
    from device_drivers.iec104.client import Iec104Client

EXTRA_HINT = "pip install 'zero-carbon-park-ems[iec104]' (c104, GPLv3)"


def station_map(conn: Iec104Tcp) -> Iec104Map:
    """The connection's point map, with its common address when the park file sets one."""
    pmap = load_iec104_map(conn.point_map)
    if conn.common_address is not None:
        pmap = pmap.model_copy(update={"common_address": conn.common_address})
    return pmap


def iec104_clients(
    park: Park, wanted: set[str] | None = None, clock: Callable[[], dt.datetime] | None = None
) -> list[Iec104Client]:
    """One client (without a sink: the poller journals what it receives) per 104 device of ``park``."""
    selected = [
        (dev, dev.connection)
        for dev in park.devices
        if isinstance(dev.connection, Iec104Tcp) and (wanted is None or dev.id in wanted)
    ]
    if not selected:
        return []
    try:
        from device_drivers.iec104.client import Iec104Client
    except ImportError as exc:
        ids = ", ".join(dev.id for dev, _ in selected)
        raise RegisterMapError(
            Msg("devices {ids} are IEC 104 stations, which need the iec104 extra: {hint}", ids=ids, hint=EXTRA_HINT)
        ) from exc
    return [
        Iec104Client(
            dev.id,
            dev,
            station_map(conn),
            conn.host,
            conn.port,
            interrogation_s=conn.interrogation_s,
            timeout_s=conn.timeout_s,
            clock=clock,
        )
        for dev, conn in selected
    ]
