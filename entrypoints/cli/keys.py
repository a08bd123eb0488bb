"""``ems keys``: API keys (the token is printed once at creation; only its hash is stored)."""

from __future__ import annotations

from typing import Annotated

import typer

from ems.i18n import _
from ems.store.keys import ROLES, create_key, list_keys, revoke_key
from entrypoints.cli.common import DataDirOption, ParkOption, park_store

app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)


@app.command()
def create(
    name: Annotated[str, typer.Option(help="who or what uses the key")],
    role: Annotated[str, typer.Option(metavar="|".join(ROLES), help="the key's role")],
    gateway: Annotated[str | None, typer.Option(help="gateway id (gateway keys): devices the park binds to it")] = None,
    device: Annotated[list[str] | None, typer.Option(help="extra device a gateway key may write (repeatable)")] = None,
    tenant: Annotated[str | None, typer.Option(help="tenant id (tenant keys)")] = None,
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a key and print its token once."""
    with park_store(data_dir, park) as (_settings, _p, store):
        try:
            key, token = create_key(store, name, role, gateway, device or [], tenant)
        except ValueError as exc:
            typer.secho(str(exc), fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
    typer.echo(
        _(
            "created {role} key {id} ({name}); the token is shown only now:",
            role=key.role,
            id=key.key_id,
            name=key.name,
        )
    )
    typer.echo(token)


@app.command("list")
def list_(park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """List keys (never their secrets)."""
    with park_store(data_dir, park) as (_settings, _p, store):
        for k in list_keys(store):
            status = _("revoked {date}", date=f"{k.revoked_at:%Y-%m-%d}") if k.revoked_at else _("active")
            bound = k.gateway_id or ",".join(k.devices) or k.tenant_id or ""
            typer.echo(f"{k.key_id}  {k.role:9s} {status:18s} {bound:16s} {k.name}")


@app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="key id as shown by `ems keys list`")],
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a key (it stops working at once)."""
    with park_store(data_dir, park) as (_settings, _p, store):
        if not revoke_key(store, key_id):
            typer.secho(_("no active key {id!r}", id=key_id), fg=typer.colors.RED, err=True)
            raise typer.Exit(1)
    typer.echo(_("revoked {id}", id=key_id))
