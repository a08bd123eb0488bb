"""IEC 60870-5-104: declarative point maps (:mod:`.point_map`) and a client driver (:mod:`.client`).

The 104 counterpart of the Modbus drivers: same quantities, health rules and telemetry sink.
"""
