"""``ems mqtt``: the MQTT gateway bridge as a long-running service (see :mod:`entrypoints.operate.mqtt_bridge`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Annotated

import typer

from ems.i18n import _
from ems.store import open_store
from entrypoints.cli.common import DataDirOption, ParkOption, refuse_unsafe_or_exit, settings_and_park


def mqtt(
    park: ParkOption = None,
    data_dir: DataDirOption = None,
    host: Annotated[str, typer.Option(envvar="EMS_MQTT_HOST", help="broker host")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="EMS_MQTT_PORT", help="broker port")] = 1883,
    username: Annotated[str, typer.Option(envvar="EMS_MQTT_USERNAME", help="the bridge's broker user")] = "ems-bridge",
    prefix: Annotated[str, typer.Option(envvar="EMS_MQTT_PREFIX", help="topic prefix")] = "ems",
) -> None:
    """Store what gateways publish on <prefix>/gateways/<gateway_id>/telemetry; reply on .../reply. Until Ctrl-C.

    The broker password is read from EMS_MQTT_PASSWORD only (never a command-line argument).
    """
    from ems.production import PLACEHOLDER_PASSWORDS
    from entrypoints.operate.mqtt_bridge import MqttBridge

    settings, p = settings_and_park(data_dir, park)
    refuse_unsafe_or_exit(settings, p)  # as every other service (the systemd unit runs with the example env)
    password = os.environ.get("EMS_MQTT_PASSWORD")
    if settings.environment == "production" and (password or "").strip().lower() in PLACEHOLDER_PASSWORDS:
        typer.secho(
            _("refusing to start in production mode: EMS_MQTT_PASSWORD is missing or a placeholder (e.g. CHANGE_ME)"),
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(2)
    with open_store(settings, p) as store:
        bridge = MqttBridge(
            store,
            host,
            port,
            username=username,
            password=password,
            prefix=prefix,
            max_bytes=settings.max_body_bytes,
            max_rows=settings.max_batch_rows,
        )

        async def serve() -> None:
            task = asyncio.create_task(bridge.run())
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, task.cancel)
            typer.echo(
                _(
                    "MQTT bridge: {user}@{host}:{port}, topics {prefix}/gateways/+/telemetry",
                    user=username,
                    host=host,
                    port=port,
                    prefix=prefix,
                )
            )
            with contextlib.suppress(asyncio.CancelledError):
                await task
            s = bridge.stats
            typer.echo(
                _(
                    "stopped: {messages} messages, {accepted} readings stored, {duplicates} duplicates",
                    messages=s.messages,
                    accepted=s.accepted,
                    duplicates=s.duplicates,
                )
            )

        asyncio.run(serve())
