"""``ems notify``: alerts and the city-platform export, delivered through the outbox."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Annotated

import typer

from ems.i18n import _, user_message
from ems.outbox import Receivers
from ems.store import Store, open_store
from entrypoints.cli.common import DataDirOption, ParkOption, refuse_unsafe_or_exit, settings_and_park
from entrypoints.operate.notifier import run_notifier


def notify(
    park: ParkOption = None,
    data_dir: DataDirOption = None,
    interval_s: Annotated[float, typer.Option(min=5, help="seconds between cycles")] = 60.0,
    cycles: Annotated[int | None, typer.Option(help="stop after this many cycles (default: until Ctrl-C)")] = None,
) -> None:
    """Evaluate the alert rules, queue each completed day for the city platform and deliver due messages
    (WeCom, DingTalk, e-mail, city platform: EMS_NOTIFY_* settings, docs/alerts.md)."""
    settings, p = settings_and_park(data_dir, park)
    refuse_unsafe_or_exit(settings, p)
    try:
        rc = Receivers()
    except ValueError as exc:
        raise typer.BadParameter(user_message(exc)) from None
    logging.getLogger("entrypoints.operate").setLevel(logging.INFO)
    typer.echo(
        _(
            "notify: {park}, receivers: {receivers}",
            park=p.name,
            receivers=", ".join(rc.configured()) or _("none (alerts recorded only)"),
        )
    )

    async def main(store: Store) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await run_notifier(store, p, rc, interval_s, stop, cycles)

    with open_store(settings, p) as store:
        n = asyncio.run(main(store))
    typer.echo(_("notify: stopped after {n} cycles", n=n))
