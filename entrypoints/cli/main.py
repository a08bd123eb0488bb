"""Entry point of the ``ems`` command; each area's commands live in their own module."""

from __future__ import annotations

import logging

import typer

from ems.i18n import choose_language, parse_language
from entrypoints.cli import (
    carbon,
    db,
    demo,
    devices,
    dispatch,
    footprint,
    grid,
    keys,
    monthly,
    mqtt,
    notify,
    operate,
    park,
    pathway,
    serve,
    settlement,
    site_tools,
    telemetry,
)
from entrypoints.cli.help_i18n import TranslatedHelpGroup

app = typer.Typer(
    help="Zero-carbon industrial park EMS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=TranslatedHelpGroup,
)
app.add_typer(db.app, name="db")
app.add_typer(park.app, name="park")
app.add_typer(telemetry.app, name="telemetry")
app.add_typer(keys.app, name="keys")
app.add_typer(grid.app, name="grid")
app.add_typer(devices.app, name="simulate")
app.add_typer(devices.poll_app, name="poll")
app.add_typer(site_tools.app, name="devices")
app.add_typer(site_tools.maps_app, name="maps")
carbon.report_app.command("monthly")(monthly.monthly_cmd)
app.add_typer(carbon.report_app, name="report")
app.add_typer(carbon.factors_app, name="factors")
app.add_typer(carbon.certificates_app, name="certificates")
carbon.contracts_app.command("import-settlement")(settlement.import_settlement_cmd)
app.add_typer(carbon.contracts_app, name="contracts")
app.add_typer(footprint.tenants_app, name="tenants")
app.add_typer(footprint.production_app, name="production")
app.add_typer(footprint.cbam_app, name="cbam")
app.add_typer(pathway.app, name="pathway")
app.command()(serve.serve)
app.command()(demo.demo)
app.command("plan")(dispatch.plan)
app.command("simulate-year")(dispatch.simulate_year_cmd)
app.command("mpc")(operate.mpc)
app.command("notify")(notify.notify)
app.command("mqtt")(mqtt.mqtt)


@app.callback()
def _main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="log at INFO level"),
    lang: str | None = typer.Option(
        None, "--lang", envvar="EMS_LANG", help="language of messages and reports: en or zh-CN (default: the park's)"
    ),
) -> None:
    try:
        choose_language(parse_language(lang) if lang else None)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--lang") from None
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


if __name__ == "__main__":
    app()
