"""One DL/T 645 meter behind a data map: read each mapped DI, decode BCD, yield quantities.

The DL/T 645 counterpart of :class:`device_drivers.device.DeviceDriver`, with the same
interface towards the poller (``read()`` -> readings and a garbage count, ``last_request_s``,
``ready``, ``transport``), so health, journal/spool and validated ingest are the Modbus ones.
DL/T 645 reads one data identifier per request (no block reads). A DI the meter answers with
"no requested data" (error bit 1) is skipped from then on and listed in ``unsupported``; the
meter is still read. Values outside their physical range are kept with quality BAD.
"""

from __future__ import annotations

import math
import time

from device_drivers.device import Reading, plausible_range
from device_drivers.dlt645.data_map import DataMap, DataPoint
from device_drivers.dlt645.frame import READ_DATA, FrameError, MeterRefused, decode_bcd, di_bytes, di_text
from device_drivers.dlt645.link import Dlt645Link
from device_drivers.errors import GarbageValue
from device_drivers.register_map import orient
from ems.quantities import Quality

NO_REQUESTED_DATA = 0x02  # error byte bit 1


class Dlt645Driver:
    """Reads one meter at ``address`` (12 digits) on ``link``."""

    def __init__(self, device_id: str, device: object, data_map: DataMap, link: Dlt645Link, address: str) -> None:
        self.device_id = device_id
        self.device = device
        self.map = data_map
        self.transport = link
        self.address = address
        self.sign = data_map.sign_for(str(getattr(device, "type", "")))
        self.unsupported: dict[str, str] = {}  # DI -> the meter's refusal
        self.last_request_s = 0.0
        self.ready = True  # nothing to discover

    async def read_point(self, pt: DataPoint) -> float:
        """Engineering value of one point in the map's native convention."""
        sent = di_bytes(pt.di)
        answer = await self.transport.request(self.address, READ_DATA, sent)
        if answer.data[:4] != sent:
            raise FrameError(f"asked DI {pt.di}, meter {self.address} answered DI {di_text(answer.data[:4])}")
        try:
            return decode_bcd(answer.data[4:], pt.fmt) * pt.scale
        except GarbageValue as exc:
            raise GarbageValue(f"DI {pt.di} ({pt.name}): {exc}", self.device_id) from None

    async def read(self) -> tuple[list[Reading], int]:
        """One poll: (readings, number of garbage values among them)."""
        out: list[Reading] = []
        garbage = 0
        self.last_request_s = 0.0
        for pt in self.map.points:
            if pt.quantity is None or pt.di in self.unsupported:
                continue
            t0 = time.monotonic()
            try:
                value = await self.read_point(pt)
            except GarbageValue:
                garbage += 1
                continue
            except MeterRefused as exc:
                if exc.error != NO_REQUESTED_DATA:
                    raise
                self.unsupported[pt.di] = str(exc)
                continue
            finally:
                self.last_request_s = max(self.last_request_s, time.monotonic() - t0)
            q, v = orient(pt.quantity, value, self.sign)
            lo, hi = plausible_range(self.device, q)
            quality = Quality.GOOD
            if not (math.isfinite(v) and lo <= v <= hi):
                quality = Quality.BAD
                garbage += 1
            out.append(Reading(q, v, int(quality)))
        return out, garbage
