"""What an integrator runs on site: ``ems devices scan`` (discover a SunSpec device) and
``ems maps check`` (validate a custom map)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from device_drivers.errors import DeviceError, RegisterMapError
from device_drivers.inspect import scan as scan_device
from device_drivers.register_map import load_map
from device_drivers.transport import ModbusTransport
from ems.i18n import _, user_message

app = typer.Typer(help="Modbus devices on site.", no_args_is_help=True)
maps_app = typer.Typer(help="Register map files.", no_args_is_help=True)


def _host_port(target: str) -> tuple[str, int]:
    host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise typer.BadParameter(_("{target!r}: use HOST:PORT, e.g. 192.168.1.20:502", target=target))
    return host.strip("[]"), int(port)


@app.command()
def scan(
    target: Annotated[str, typer.Argument(help="HOST:PORT of the device or its Modbus TCP gateway")],
    unit: Annotated[int, typer.Option(min=0, max=247, help="Modbus unit id")] = 1,
    base: Annotated[int | None, typer.Option(help="SunSpec base address (default: probe 40000, 50000, 0)")] = None,
    timeout: Annotated[float, typer.Option(help="per-request timeout [s]")] = 2.0,
) -> None:
    """Discover a SunSpec device: its models, where they are, and the current values the project can read."""
    host, port = _host_port(target)

    async def run() -> None:
        tr = ModbusTransport.tcp(host, port, timeout)
        try:
            b, models = await scan_device(tr, unit, base)
        finally:
            await tr.close()
        typer.echo(
            _(
                "{host}:{port} unit {unit}: SunSpec marker at {address}, {n} models",
                host=host,
                port=port,
                unit=unit,
                address=b,
                n=len(models),
            )
        )
        for m in models:
            name = m.name or "not used by the built-in maps"
            typer.echo(f"  model {m.id:5d} at {m.address}, L={m.length}  ({name})")
            for point, value in m.values.items():
                typer.echo(f"      {point:18s} {value}")

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    try:
        asyncio.run(run())
    except DeviceError as exc:
        typer.secho(f"{host}:{port} unit {unit}: {user_message(exc)}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


@maps_app.command("check")
def check_map(path: Annotated[Path, typer.Argument(help="register map file (YAML)")]) -> None:
    """Validate a register map; errors name the file, the key path and what is wrong."""
    try:
        rmap = load_map(path)
    except RegisterMapError as exc:
        typer.secho(user_message(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    n = sum(len(m.points) for m in rmap.models) + len(rmap.points)
    models = f", models {', '.join(m.name for m in rmap.models)}" if rmap.models else ""
    typer.echo(
        f"{path}: OK — {rmap.kind} map {rmap.name!r} for {', '.join(rmap.orientation)}, {n} points{models}, "
        f"controls: {', '.join(rmap.controls) or 'none'}"
    )
