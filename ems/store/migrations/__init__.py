"""Versioned SQL migrations: ``NNNN_name.sql`` applied in order; ``timescale/`` only with TimescaleDB."""
