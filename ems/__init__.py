"""Core of the zero-carbon park EMS: park description, telemetry store, forecasts, carbon accounting."""

__version__ = "0.1.0"
