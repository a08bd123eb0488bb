"""Carbon commands: ``ems report``, ``ems factors``, ``ems certificates``, ``ems contracts``.

Register in ems/cli/main.py with::

    app.add_typer(carbon.report_app, name="report")
    app.add_typer(carbon.factors_app, name="factors")
    app.add_typer(carbon.certificates_app, name="certificates")
    app.add_typer(carbon.contracts_app, name="contracts")
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from ems.carbon import certificates, service
from ems.carbon.certificates import LedgerError, Period
from ems.carbon.factors import (
    FactorError,
    FactorRegistry,
    factor_from_mapping,
    read_factor_file,
    read_series_csv,
)
from ems.carbon.indicators import FuelUse
from ems.documents.chain import replaced_by
from ems.documents.service import CARBON_REPORTS as REPORT_CHAIN
from ems.documents.service import FOOTPRINT_DOCUMENTS as FOOTPRINT_CHAIN
from ems.documents.signing import Signer, SigningKeyError, generate_pem, signer_from_pem
from ems.documents.timestamp import TimestampAuthority
from ems.i18n import _, current_language, localise, user_message
from ems.park import Park
from ems.settings import Settings
from ems.store import Store, open_store
from entrypoints.cli.common import DataDirOption, ParkOption, park_store, settings_and_park

report_app = typer.Typer(
    help="Park emission-factor reports (JSON, CSV, PDF) and their hash chain.", no_args_is_help=True
)
factors_app = typer.Typer(help="Emission-factor registry: published factors and user versions.", no_args_is_help=True)
certificates_app = typer.Typer(help="Green certificate (GEC) ledger: register, retire, reassign.", no_args_is_help=True)
contracts_app = typer.Typer(help="Green-power contract deliveries (shares of grid import).", no_args_is_help=True)

StartOpt = Annotated[str, typer.Option("--start", help="period start: ISO date (park local midnight) or datetime")]
EndOpt = Annotated[str, typer.Option("--end", help="period end (exclusive): ISO date or datetime")]


def _signer(settings: Settings) -> Signer | None:
    try:
        return settings.report_signer()
    except SigningKeyError as exc:
        raise _fail(str(exc)) from None


def _fail(msg: str, code: int = 2) -> typer.Exit:
    typer.secho(msg, fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def parse_time(text: str, park: Park) -> dt.datetime:
    """ISO date → local midnight in the park's time zone; naive datetime → park time; aware kept."""
    zone = zoneinfo.ZoneInfo(park.timezone)
    try:
        if len(text) == 10:
            d = dt.date.fromisoformat(text)
            return dt.datetime(d.year, d.month, d.day, tzinfo=zone)
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _fail(_("cannot read time {text!r}: use YYYY-MM-DD or an ISO 8601 datetime", text=text)) from None
    return t if t.tzinfo else t.replace(tzinfo=zone)


def _period(start: str, end: str, park: Park) -> Period:
    try:
        return Period(parse_time(start, park), parse_time(end, park))
    except LedgerError as exc:
        raise _fail(user_message(exc)) from None


def expand_serials(items: list[str]) -> list[str]:
    """:func:`ems.carbon.certificates.expand_serials`, exit code 2 naming a bad range."""
    try:
        return certificates.expand_serials(items)
    except LedgerError as exc:
        raise _fail(user_message(exc)) from None


# ---------------------------------------------------------------------------- report


@report_app.command("create")
def report_create(
    start: StartOpt,
    end: EndOpt,
    replaces: Annotated[str | None, typer.Option(help="content hash of the report this one restates")] = None,
    fuel: Annotated[list[str] | None, typer.Option(help="other fuel use NAME=QUANTITY (park file units)")] = None,
    pdf: Annotated[bool, typer.Option(help="also render the PDF")] = True,
    out: Annotated[Path | None, typer.Option(help="output folder; default DATA_DIR/reports")] = None,
    allow_incomplete: Annotated[
        bool, typer.Option(help="issue even for a period not yet over or without enough data (stated in the report)")
    ] = False,
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Issue a park emission-factor report for [START, END) and append it to the hash chain.

    Signed with the park's Ed25519 key when one is configured (EMS_REPORT_SIGNING_KEY_FILE)."""
    settings, p = settings_and_park(data_dir, park)
    signer = _signer(settings)
    period = _period(start, end, p)
    fuels = []
    for item in fuel or []:
        name, _sep, qty = item.partition("=")
        try:
            fuels.append(FuelUse(name, Decimal(qty)))
        except InvalidOperation:
            raise _fail(_("--fuel {item!r}: expected NAME=QUANTITY", item=item)) from None
    folder = out or settings.data_dir / "reports"
    with tqdm(total=2, desc="report", unit="step") as bar, open_store(settings, p) as store:
        bar.update(1)
        try:
            issued = service.issue_report(
                store,
                p,
                period.start,
                period.end,
                folder,
                replaces=replaces,
                fuels=fuels,
                pdf=pdf,
                signer=signer,
                allow_incomplete=allow_incomplete,
                lang=current_language(),
            )
        except (LedgerError, FactorError, ValueError) as exc:
            raise _fail(user_message(exc)) from None
        bar.update(1)
    typer.echo(_("content sha256 {sha} (chain entry {seq})", sha=issued.content_sha256, seq=issued.entry["seq"]))
    for kind, path in issued.files.items():
        typer.echo(f"{kind:5s} {path}")
    tsa = settings.timestamp_authority()
    if tsa is not None:  # best effort: an authority that is down leaves the entry for `ems report timestamp`
        with open_store(settings, p) as store:
            _stamp(store, tsa)


def _stamp(store: Store, tsa: TimestampAuthority) -> int:
    """Timestamp every unstamped entry of both chains; prints what failed; returns how many failed."""
    failed = 0
    for chain in (REPORT_CHAIN, FOOTPRINT_CHAIN):
        stored, problems = chain.timestamp_pending(store, tsa)
        if stored:
            typer.echo(_("{n} chain entries timestamped by {url}", n=stored, url=tsa.public_url))
        for problem in problems:
            typer.secho(_("timestamp pending: {problem}", problem=problem), fg=typer.colors.YELLOW, err=True)
        failed += len(problems)
    return failed


@report_app.command("timestamp")
def report_timestamp(park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """Request RFC 3161 timestamps (EMS_TSA_URL) for every chain entry that has none; exit 1 if any is left pending."""
    with park_store(data_dir, park) as (settings, _p, store):
        tsa = settings.timestamp_authority()
        if tsa is None:
            raise _fail(_("no time-stamping authority configured (EMS_TSA_URL)"))
        if _stamp(store, tsa):
            raise typer.Exit(1)


@report_app.command("list")
def report_list(park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """List issued reports in chain order (times in park time; the chain itself stores UTC)."""
    with park_store(data_dir, park) as (_settings, p, store):
        entries = service.list_reports(store)
        local = lambda iso: dt.datetime.fromisoformat(iso).astimezone(p.tz).isoformat(timespec="seconds")  # noqa: E731
        for e in entries:
            later = replaced_by(entries, e["content_sha256"])
            typer.echo(
                f"{e['seq']:4d} {e['content_sha256']} {local(e['period_start'])} → {local(e['period_end'])} "
                + _("issued {time}", time=local(e["issued_at"]))
                + (" " + _("replaces {sha}", sha=e["replaces_sha256"][:12]) if e["replaces_sha256"] else "")
                + (" " + _("replaced by {sha}", sha=later[:12]) if later else "")
                + (" " + _("signed") if e.get("signature") else "")
            )


@report_app.command("verify")
def report_verify(
    file: Annotated[Path, typer.Argument(help="issued report file: JSON, CSV or PDF")],
    chain: Annotated[
        Path | None, typer.Option(help="exported hash_chain.jsonl (offline); default: the database")
    ] = None,
    public_key: Annotated[
        str | None, typer.Option(help="the park's Ed25519 public key (hex) to require; default: the configured key")
    ] = None,
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Check an issued file against the hash chain (and the park's signing key, when configured);
    exit code 1 if it fails. A restated report is valid and names the report replacing it."""
    if not file.exists():
        raise _fail(_("no such file: {file}", file=file))
    signer = None if public_key else _signer(Settings())
    trusted = frozenset({public_key}) if public_key else None if signer is None else frozenset({signer.public_key_hex})
    if chain is not None:
        v = service.verify_report_file(file, chain_file=chain, trusted_keys=trusted)
    else:
        with park_store(data_dir, park) as (settings, _p, store):
            tsa = settings.timestamp_authority()
            roots = () if tsa is None else tsa.roots
            v = service.verify_report_file(file, store=store, trusted_keys=trusted, tsa_roots=roots)
    if v.ok and v.entry is not None:
        signed = _("signed, signature valid") if v.entry.get("signature") else _("unsigned")
        if v.timestamp is not None:
            signed += "; " + _("timestamp {time} valid", time=v.timestamp)
        typer.secho(
            _(
                "OK ({status}): {file} is the {fmt} file of report {sha}, chain entry {seq} issued {time}; "
                "{signed}; chain intact",
                status=v.status,
                file=file,
                fmt=v.fmt,
                sha=v.content_sha256,
                seq=v.entry["seq"],
                time=v.entry["issued_at"],
                signed=signed,
            ),
            fg=typer.colors.GREEN,
        )
        return
    for problem in v.problems:
        typer.secho(_("FAIL: {problem}", problem=problem), fg=typer.colors.RED)
    raise typer.Exit(1)


@report_app.command("keygen")
def report_keygen(out: Annotated[Path, typer.Argument(help="where to write the private key (PEM, mode 0600)")]) -> None:
    """Create an Ed25519 key for signing chain entries; prints its public key (set EMS_REPORT_SIGNING_KEY_FILE)."""
    if out.exists():
        raise _fail(f"{out} exists; not overwriting a key")
    pem = generate_pem()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch(mode=0o600)
    out.write_bytes(pem)
    typer.echo(_("public key {key}", key=signer_from_pem(pem, str(out)).public_key_hex))


@report_app.command("factors")
def report_factors(
    start: StartOpt,
    end: EndOpt,
    resolution: Annotated[str, typer.Option(help="interval, hour, day, month or year")] = "hour",
    method: Annotated[str, typer.Option(help="location or market")] = "market",
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print the park emission-factor series as CSV (time, gCO2/kWh, completeness, estimated)."""
    settings, p = settings_and_park(data_dir, park)
    period = _period(start, end, p)
    with open_store(settings, p) as store:
        try:
            pts = service.factor_series(store, p, period.start, period.end, resolution, method)
        except (ValueError, FactorError) as exc:
            raise _fail(user_message(exc)) from None
    typer.echo("time,method,g_per_kwh,consumption_kwh,emissions_kg,completeness,estimated")
    for pt in pts:
        typer.echo(
            f"{pt.time.isoformat()},{pt.method},{'' if pt.value_g_per_kwh is None else pt.value_g_per_kwh},"
            f"{pt.consumption_kwh},{pt.emissions_kg},{pt.completeness},{str(pt.estimated).lower()}"
        )


# ---------------------------------------------------------------------------- factors


@factors_app.command("list")
def factors_list(
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="show every version, not only the newest")
    ] = False,
    offline: Annotated[bool, typer.Option(help="published factors only, without the database")] = False,
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """List emission factors with value and source."""
    if offline:
        reg = FactorRegistry.published()
    else:
        with park_store(data_dir, park) as (_settings, _p, store):
            reg = service.load_registry(store)
    for key in reg.keys():  # noqa: SIM118 (a registry method, not dict.keys)
        if key in reg.series:
            for s in reg.series[key] if all_versions else reg.series[key][-1:]:
                typer.echo(f"{s.id:36s} {'(time-varying)':>10s} {len(s.values)} points  {s.publisher}: {s.document}")
        for f in reg.versions(key) if all_versions else reg.versions(key)[-1:]:
            typer.echo(
                f"{f.id:36s} {f.value!s:>10s} {f.unit}  {f.origin:9s} {f.document} ({f.published or 'date unverified'})"
            )


@factors_app.command("show")
def factors_show(
    key: Annotated[str, typer.Argument(help="factor key or key@vN")],
    offline: bool = False,
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Show one factor's full provenance."""
    if offline:
        reg = FactorRegistry.published()
    else:
        with park_store(data_dir, park) as (_settings, _p, store):
            reg = service.load_registry(store)
    try:
        f = reg.get(key)
    except FactorError as exc:
        raise _fail(user_message(exc)) from None
    for k, v in f.provenance().items():
        typer.echo(f"{k:13s} {v}")


@factors_app.command("add")
def factors_add(
    file: Annotated[Path | None, typer.Option(help="YAML list or CSV of factors (fields as below)")] = None,
    key: Annotated[str | None, typer.Option(help="factor key, e.g. my-ppa-2025")] = None,
    value: Annotated[str | None, typer.Option(help="kgCO2/kWh as a decimal")] = None,
    region: str | None = None,
    data_year: Annotated[int | None, typer.Option("--year")] = None,
    publisher: str | None = None,
    document: str | None = None,
    published: Annotated[str | None, typer.Option(help="publication date YYYY-MM-DD")] = None,
    note: str = "",
    scope: str = "combustion_co2",
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add user factors as new versions (a published value is never overwritten)."""
    if file is not None:
        try:
            factors, bad = read_factor_file(file)
        except (OSError, FactorError) as exc:
            raise _fail(f"{file}: {user_message(exc)}") from None
    else:
        try:
            factors = [
                factor_from_mapping(
                    {
                        "key": key,
                        "value": value,
                        "region": region,
                        "data_year": data_year,
                        "publisher": publisher,
                        "document": document,
                        "published": published,
                        "note": note,
                        "scope": scope,
                    }
                )
            ]
        except FactorError as exc:
            raise _fail(user_message(exc)) from None
        bad = []
    for row, problem in bad:
        typer.secho(
            _("row {row}: {problem} (not added)", row=row, problem=localise(problem)), fg=typer.colors.RED, err=True
        )
    with park_store(data_dir, park) as (_settings, _p, store):
        for f in factors:
            new = service.add_factor(store, f)
            typer.echo(_("added {factor} = {value} {unit}", factor=new.id, value=new.value, unit=new.unit))
    if bad:
        raise typer.Exit(1)


@factors_app.command("add-series")
def factors_add_series(
    key: Annotated[str, typer.Option(help="key of the time-varying factor")],
    csv_file: Annotated[Path, typer.Option("--csv", help="CSV with columns time (ISO 8601 with offset), value")],
    publisher: Annotated[str, typer.Option()],
    document: Annotated[str, typer.Option()],
    interval_minutes: int = 60,
    note: str = "",
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Load a time-varying (e.g. hourly) factor; a park file may then name KEY as its grid factor."""
    try:
        s = read_series_csv(
            csv_file,
            key,
            interval_minutes=interval_minutes,
            publisher=publisher,
            document=document,
            note=note,
        )
    except (OSError, FactorError) as exc:
        raise _fail(user_message(exc)) from None
    with park_store(data_dir, park) as (_settings, _p, store):
        try:
            new = service.add_series(store, s)
        except FactorError as exc:
            raise _fail(user_message(exc)) from None
    typer.echo(_("added {factor}: {n} values", factor=new.id, n=len(new.values)))


# ---------------------------------------------------------------------------- certificates


@certificates_app.command("register")
def certificates_register(park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """Enter the certificates held according to the park file into the ledger."""
    with park_store(data_dir, park) as (_settings, p, store):
        n = service.register_park_certificates(store, p)
    typer.echo(_("{n} new certificates registered", n=n))


@certificates_app.command("list")
def certificates_list(park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """List certificates with their effective retirement (if any)."""
    with park_store(data_dir, park) as (_settings, _p, store):
        current = {e.serial: e for e in service.effective_retirements(store)}
        for c in service.certificates(store):
            e = current.get(c.serial)
            state = f"retired {e.period.label()} (entry {e.event_id}, {e.kind})" if e else "available"
            typer.echo(f"{c.serial:24s} {c.technology:7s} {c.generator[:30]:30s} {state}")


@certificates_app.command("retire")
def certificates_retire(
    serials: Annotated[list[str], typer.Argument(help="serials or ranges PREFIX000001..PREFIX000010")],
    start: StartOpt,
    end: EndOpt,
    beneficiary: Annotated[str, typer.Option(help="who claims the certificates")],
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Retire certificates against a consumption period (once only, never beyond its consumption)."""
    settings, p = settings_and_park(data_dir, park)
    period = _period(start, end, p)
    with open_store(settings, p) as store:
        try:
            entries = service.retire(store, p, expand_serials(serials), period, beneficiary)
        except LedgerError as exc:
            raise _fail(_("refused, nothing retired: {error}", error=user_message(exc))) from None
    typer.echo(
        f"retired {len(entries)} certificates against {period.label()} (entries {entries[0].event_id}"
        f"-{entries[-1].event_id}; eligible {entries[0].basis_kwh} kWh)"
    )


@certificates_app.command("reassign")
def certificates_reassign(
    serials: Annotated[list[str], typer.Argument(help="serials or ranges")],
    start: StartOpt,
    end: EndOpt,
    reason: Annotated[str, typer.Option(help="why the retirement is corrected (kept in the ledger)")],
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Move retired certificates to another period; a new ledger entry, the old one stays visible."""
    settings, p = settings_and_park(data_dir, park)
    period = _period(start, end, p)
    with open_store(settings, p) as store:
        try:
            entries = service.reassign(store, p, expand_serials(serials), period, reason)
        except LedgerError as exc:
            raise _fail(_("refused, nothing changed: {error}", error=user_message(exc))) from None
    typer.echo(_("reassigned {n} certificates to {period}", n=len(entries), period=period.label()))


@certificates_app.command("history")
def certificates_history(serial: str, park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """Every ledger entry of one serial."""
    with park_store(data_dir, park) as (_settings, _p, store):
        for e in service.retirement_events(store, serial):
            typer.echo(
                f"{e.event_id:6d} seq {e.seq} {e.kind:8s} {e.period.label()} basis {e.basis_kwh} kWh "
                f"{e.beneficiary} {e.reason}"
            )


# ---------------------------------------------------------------------------- contracts


@contracts_app.command("deliver")
def contracts_deliver(
    contract: Annotated[str, typer.Argument(help="contract id from the park file")],
    start: StartOpt,
    end: EndOpt,
    kwh: Annotated[str, typer.Option(help="delivered energy [kWh]")],
    granularity: Annotated[str, typer.Option(help="'period' (volume over the period) or 'interval'")] = "period",
    reference: Annotated[str, typer.Option(help="settlement document reference")] = "",
    replaces: Annotated[int | None, typer.Option(help="delivery id this entry corrects")] = None,
    park: ParkOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Record a green-contract delivery (claims are capped at metered grid import)."""
    settings, p = settings_and_park(data_dir, park)
    period = _period(start, end, p)
    try:
        amount = Decimal(kwh)
    except InvalidOperation:
        raise _fail(_("--kwh {kwh!r} is not a number", kwh=kwh)) from None
    with open_store(settings, p) as store:
        try:
            d = service.record_delivery(store, p, contract, period, amount, granularity, reference, replaces)
        except LedgerError as exc:
            raise _fail(_("refused: {error}", error=user_message(exc))) from None
    typer.echo(
        _(
            "delivery {id}: {kwh} kWh of {contract} over {period}",
            id=d.delivery_id,
            kwh=d.kwh,
            contract=d.contract_id,
            period=d.period.label(),
        )
    )


@contracts_app.command("list")
def contracts_list(park: ParkOption = None, data_dir: DataDirOption = None) -> None:
    """List recorded contract deliveries (corrections show what they replace)."""
    with park_store(data_dir, park) as (_settings, _p, store):
        for d in service.deliveries(store):
            typer.echo(
                f"{d.delivery_id:6d} {d.contract_id:20s} {d.period.label()} {d.kwh} kWh {d.granularity}"
                + (f" replaces {d.replaces}" if d.replaces else "")
                + f" {d.reference}"
            )
