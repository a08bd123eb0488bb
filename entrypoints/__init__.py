"""Entry points: the `ems` command line and live operation (the demo, the poller and MPC services).

The top layer: it may import every other package; nothing imports it.
"""
