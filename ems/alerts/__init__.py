"""Alerts: rules over what the store knows (pure, :mod:`ems.alerts.rules`), kept open/cleared and
acknowledged in the database, each new alert queued to the configured receivers
(:mod:`ems.alerts.engine`). Gathering the observations (store, grid status, budget) is
:mod:`services.alerts`, as it combines the grid model with the core.
"""
