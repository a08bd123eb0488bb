"""The drivers' own small exception tree; pymodbus errors are translated at the transport boundary.

::

    DriverError
    ├── RegisterMapError          a map file is invalid (names file, key and problem)
    ├── DeviceError               one device misbehaved; carries ``device``
    │   ├── TransportError        nothing usable came back
    │   │   ├── DeviceTimeout         no answer within the timeout
    │   │   └── DeviceUnreachable     connection lost, reset or impossible
    │   │       └── ConnectionRefused     nothing listens at the address
    │   ├── ModbusException       the device answered with a Modbus exception code
    │   ├── DiscoveryError        no SunSpec marker, or a required model is missing
    │   └── GarbageValue          decoded value outside its physical range
    └── ControlError              a setpoint could not be written
        ├── ControlDisabled       control is off for the device (park file ``control.enabled``)
        └── SetpointNotConfirmed  the read-back differs from what was written
"""

from __future__ import annotations


class DriverError(Exception):
    """Base of all driver errors."""


class RegisterMapError(DriverError):
    """A register map file is invalid."""


class DeviceError(DriverError):
    """One device failed; ``device`` names it (may be empty below the poller)."""

    def __init__(self, message: str, device: str = "") -> None:
        super().__init__(f"{device}: {message}" if device else message)
        self.device = device


class TransportError(DeviceError):
    """Nothing usable came back from the device."""


class DeviceTimeout(TransportError):
    """The device did not answer within its timeout."""


class DeviceUnreachable(TransportError):
    """The connection could not be opened or was lost."""


class ConnectionRefused(DeviceUnreachable):
    """Nothing listens at the device's address (the device or its gateway is down)."""


class ModbusException(DeviceError):
    """The device answered with a Modbus exception response (function code | 0x80)."""

    def __init__(self, message: str, code: int, device: str = "") -> None:
        super().__init__(f"{message} (Modbus exception code {code})", device)
        self.code = code


class DiscoveryError(DeviceError):
    """SunSpec discovery failed: no "SunS" marker or a required model is absent."""


class GarbageValue(DeviceError):
    """A decoded value is outside its physically possible range."""


class ControlError(DriverError):
    """A setpoint could not be written."""


class ControlDisabled(ControlError):
    """Control is not enabled for this device in the park file."""


class SetpointNotConfirmed(ControlError):
    """The value read back after writing a setpoint differs from the value written."""
