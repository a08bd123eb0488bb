"""Carbon accounting: factor registry, per-interval accounting (location- and market-based Scope 2),
storage carbon ledger, hourly matching, green certificates and contracts, zero-carbon park
indicators, reproducible auditor reports with a hash chain. Method: docs/carbon_methodology.md.

Entry points for the CLI and the API are in :mod:`ems.carbon.service`.
"""
