"""SunSpec discovery: find the "SunS" marker and walk the model chain.

Layout (SunSpec Information Model Reference): at the base address (40000, 50000
or 0) two registers hold 0x5375 0x6E53 ("SunS"); then models follow back to
back, each starting with its ID and its length L (registers after these two); an
ID of 0xFFFF ends the chain.

Tolerance: a base address answered with a Modbus exception is probed at the next one
(the codes are reported if no base has the marker); transient refusals (busy, gateway
target failed) are re-sent by the transport; in the chain, "illegal data address" (2)
after a model is the end of a chain whose end marker is missing, while any other
exception fails the discovery with its code instead of silently dropping later models.
"""

from __future__ import annotations

from dataclasses import dataclass

from device_drivers.errors import DiscoveryError, ModbusException
from device_drivers.register_map import SUNSPEC_BASES
from device_drivers.transport import Transport

SUNS_MARKER = (0x5375, 0x6E53)
END_ID = 0xFFFF
ILLEGAL_DATA_ADDRESS = 2
MAX_MODELS = 64  # guard against a corrupt chain that never ends


@dataclass(frozen=True)
class ModelLocation:
    id: int
    address: int  # of the model's ID register
    length: int  # L


async def find_base(transport: Transport, unit: int, bases: tuple[int, ...] = SUNSPEC_BASES) -> int:
    """First base address holding the "SunS" marker; a device that refuses an address is probed at the next."""
    seen: list[str] = []
    for base in bases:
        try:
            regs = await transport.read_registers(unit, base, 2, 3)
        except ModbusException as exc:
            seen.append(f"{base}: Modbus exception code {exc.code}")
            continue
        if tuple(regs) == SUNS_MARKER:
            return base
        seen.append(f"{base}: {regs[0]:#06x} {regs[1]:#06x}")
    raise DiscoveryError(f"no SunSpec marker 'SunS' (unit {unit}; {'; '.join(seen)})")


async def walk_models(transport: Transport, unit: int, base: int) -> list[ModelLocation]:
    """Model headers in chain order, starting after the marker at ``base``."""
    models: list[ModelLocation] = []
    addr = base + 2
    for _ in range(MAX_MODELS):
        try:
            model_id, length = await transport.read_registers(unit, addr, 2, 3)
        except ModbusException as exc:
            if exc.code == ILLEGAL_DATA_ADDRESS and models:
                break  # some devices omit the end marker and refuse the address after the last model
            raise
        if model_id == END_ID or (model_id == 0 and length == 0):
            break
        models.append(ModelLocation(model_id, addr, length))
        addr += 2 + length
        if addr > 0xFFFF:
            break
    else:
        raise DiscoveryError(f"SunSpec model chain at {base} has more than {MAX_MODELS} models (corrupt?)")
    return models


async def discover(transport: Transport, unit: int, base: int | None = None) -> dict[int, ModelLocation]:
    """Model id -> location (first occurrence) of a SunSpec device; probes the standard bases if ``base`` is None."""
    b = await find_base(transport, unit, SUNSPEC_BASES if base is None else (base,))
    out: dict[int, ModelLocation] = {}
    for m in await walk_models(transport, unit, b):
        out.setdefault(m.id, m)
    return out
