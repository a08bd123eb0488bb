"""Park time: UTC instants as the park's local clock, from its IANA zone (:mod:`zoneinfo`).

The one place that turns UTC into park-local time. Instants are UTC ``numpy.datetime64``
arrays (or aware datetimes); the zone is ``Park.tz`` (a :class:`zoneinfo.ZoneInfo`) or an IANA
name. Each instant gets the offset in force at that instant, so a zone with daylight saving
time is right on both sides of a change (Asia/Shanghai, the default, has none since 1991).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np

#: the park time zone when a park file names none (``Park.timezone``'s default)
DEFAULT_TIMEZONE = "Asia/Shanghai"

Zone = dt.tzinfo | str

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def zone(tz: Zone) -> dt.tzinfo:
    """``tz`` as a tzinfo (an IANA name through :class:`zoneinfo.ZoneInfo`)."""
    return zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz


def utc_offset_hours(tz: Zone, at: dt.datetime) -> float:
    """UTC offset of ``tz`` at the aware instant ``at`` [h]."""
    offset = at.astimezone(zone(tz)).utcoffset()
    assert offset is not None  # astimezone to a concrete zone always has one
    return offset.total_seconds() / 3600.0


def utc_offsets_minutes(times_utc: np.ndarray, tz: Zone) -> np.ndarray:
    """UTC offset in force at each instant [min] (int64).

    Looked up once per distinct UTC hour: zones change offset on whole UTC hours.
    """
    hours = np.asarray(times_utc, dtype="datetime64[h]")
    if hours.size == 0:
        return np.zeros(0, dtype=np.int64)
    unique, inverse = np.unique(hours, return_inverse=True)
    z = zone(tz)
    per_hour = np.array(
        [utc_offset_hours(z, _EPOCH + dt.timedelta(hours=int(h))) * 60 for h in unique.astype(np.int64)],
        dtype=np.int64,
    )
    return per_hour[inverse.reshape(hours.shape)]


def local_times(times_utc: np.ndarray, tz: Zone) -> np.ndarray:
    """The park's wall clock at each UTC instant, as naive ``datetime64[us]``."""
    t = np.asarray(times_utc, dtype="datetime64[us]")
    return t + utc_offsets_minutes(t, tz).astype("timedelta64[m]")


def local_hours(times_utc: np.ndarray, tz: Zone) -> np.ndarray:
    """Hour of the local day at each UTC instant, fractional (06:30 -> 6.5)."""
    local = local_times(times_utc, tz)
    minutes = (local - local.astype("datetime64[D]")).astype("timedelta64[s]").astype(np.int64) / 60.0
    return minutes / 60.0


def is_weekend(times_utc: np.ndarray, tz: Zone) -> np.ndarray:
    """True where the local calendar day is a Saturday or Sunday."""
    days = local_times(times_utc, tz).astype("datetime64[D]").astype(np.int64)
    return (days + 3) % 7 >= 5  # 1970-01-01 was a Thursday (weekday 3, Monday = 0)


def local_datetimes(times_utc: np.ndarray, tz: Zone) -> list[dt.datetime]:
    """UTC ``datetime64`` instants as aware local datetimes."""
    z = zone(tz)
    return [
        (_EPOCH + dt.timedelta(microseconds=int(us))).astimezone(z)
        for us in np.asarray(times_utc, dtype="datetime64[us]").astype(np.int64)
    ]
