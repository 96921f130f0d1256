"""The inventory and what the catalog means for it: inventory import | sync-vcenter | list, exposure."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from tracker.cli.common import JsonOpt, checked_filters, fail, get_config, get_now, open_engine
from tracker.domain.words import count
from tracker.escape import visible

commands = typer.Typer()  # added to the app without a name: its commands are top-level
inventory_app = typer.Typer(
    help="The hosts and vCenters you run: import them (CSV, RVTools, YAML/JSON, live vCenter) and list them.",
    no_args_is_help=True,
)


@inventory_app.command("import")
def inventory_import(
    paths: Annotated[list[str] | None, typer.Argument(help="Files to import (default: inventory.files).")] = None,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="auto, csv, rvtools, yaml or json.")] = "auto",
    replace: Annotated[
        bool, typer.Option("--replace", help="Remove assets of the same vCenters (or file) the import no longer lists.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import an inventory file. All or nothing: any bad row aborts it, every problem is listed, nothing is
    written."""
    # lazy: the file readers (openpyxl for XLSX) and the ORM, which --help must not load
    from tracker.cli.views_inventory import import_view, row_progress
    from tracker.inventory.files import FORMAT_CHOICES, count_rows, read_inventory
    from tracker.jobs.inventory import ImportMode, import_inventory

    if fmt not in FORMAT_CHOICES:
        fail(f"--format: expected one of {', '.join(FORMAT_CHOICES)}, got {fmt!r}", 2)
    config = get_config()
    targets = paths or list(config.inventory.files)
    if not targets:
        fail("no file to import: give a PATH or list files under inventory.files in the config", 2)
    engine = open_engine(config)
    for target in targets:
        bar = not as_json and sys.stderr.isatty()
        with row_progress(Path(target).name, count_rows(Path(target), fmt) if bar else None, bar) as progress:
            result = read_inventory(Path(target), fmt, progress)
        if not result.ok:
            for problem in result.problems:
                typer.echo(f"tracker: {visible(problem)}", err=True)
            fail(f"{target}: {count(len(result.problems), 'problem')}; nothing was imported", 1)
        plan = import_inventory(engine, result, str(Path(target).name), get_now(), ImportMode(replace, dry_run))
        import_view(target, result, plan, dry_run, as_json)


@inventory_app.command("sync-vcenter")
def inventory_sync_vcenter(
    name: Annotated[str, typer.Argument(help="A vCenter named under `vcenters:` in the config.")],
    replace: Annotated[bool, typer.Option("--replace", help="Remove this vCenter's hosts it no longer has.")] = True,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Read the hosts of a vCenter (and the vCenter itself) live through its API, and import them."""
    # lazy: pyVmomi and the ORM, which --help must not load
    from tracker.cli.views_inventory import import_view
    from tracker.inventory.vcenter import read_vcenter
    from tracker.jobs.inventory import ImportMode, import_inventory

    config = get_config(uses=(f"vcenters.{name}",))  # its password only: other vCenters may be unset
    vcenter = config.vcenters.get(name)
    if vcenter is None:
        known = ", ".join(sorted(config.vcenters)) or "none"
        fail(f"no vCenter named {name!r} under vcenters: in the config (known: {known})", 2)
    engine = open_engine(config)
    result = read_vcenter(
        name,
        host=vcenter.host,
        port=vcenter.port,
        user=vcenter.user,
        password=vcenter.password,
        verify_tls=vcenter.verify_tls,
    )
    if not result.ok:
        for problem in result.problems:
            typer.echo(f"tracker: {visible(problem)}", err=True)
        fail(f"vCenter {name}: nothing was imported", 1)
    plan = import_inventory(engine, result, f"vcenter:{name}", get_now(), ImportMode(replace, dry_run))
    import_view(f"vcenter {name}", result, plan, dry_run, as_json)


@inventory_app.command("list")
def inventory_list(as_json: JsonOpt = False) -> None:
    """List the assets: hosts and vCenters with their builds, clusters and VIBs."""
    # lazy: the ORM (and rich, in the views), which --help must not load
    from tracker.cli.views_inventory import assets_view
    from tracker.store.assets import load_assets
    from tracker.store.db import session_scope

    engine = open_engine(get_config())
    with session_scope(engine) as session:
        assets = load_assets(session)
    assets_view(assets, as_json)


@commands.command()
def exposure(
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status",
            help="Only assets with this status (repeatable): pulled, vulnerable, "
            "end_of_support, end_of_support_soon, behind, unknown_build, ok.",
        ),
    ] = None,
    severity: Annotated[
        str | None, typer.Option("--severity", help="Only assets of exactly this severity: none, low ... critical.")
    ] = None,
    min_severity: Annotated[
        str | None, typer.Option("--min-severity", help="Only assets of at least this severity.")
    ] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind of asset: esxi, vcenter or vm.")] = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", metavar="GLOB", help="Only clusters matching this glob.")
    ] = None,
    vcenter: Annotated[
        str | None, typer.Option("--vcenter", metavar="GLOB", help="Only vCenters matching this glob.")
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", metavar="GLOB", help="Only assets with a tag matching this.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What the catalog means for each asset, worst first: statuses, severity, reasons and the safe target. The
    filters are the exposure page's and the API's, with the same meanings."""
    # lazy: the domain and the ORM, which --help must not load
    from tracker.cli.views_inventory import exposure_view
    from tracker.domain.exposure import Status
    from tracker.domain.exposure_filter import ExposureFilter
    from tracker.filters import EXPOSURE
    from tracker.jobs.inventory import assess_exposure

    config = get_config()
    given = {"status": status or [], "severity": severity, "min_severity": min_severity, "kind": kind}
    statuses = {Status(s) for s in checked_filters(EXPOSURE, given, config)["status"]}
    rest = ExposureFilter(
        severity=severity or "",
        min_severity=min_severity or "",
        kind=kind or "",
        cluster=cluster or "",
        vcenter=vcenter or "",
        tag=tag or "",
    )
    results = rest.select(assess_exposure(config, open_engine(config), get_now()))
    if statuses:  # repeatable here: an asset with any of them
        results = [r for r in results if statuses & set(r.statuses)]
    exposure_view(results, as_json)
