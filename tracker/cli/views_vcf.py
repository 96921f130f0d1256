"""What `tracker builds --product vcf` prints: each VMware Cloud Foundation release, its components, and which of
them the catalog holds as pulled."""

from collections.abc import Sequence
from typing import Any

from tracker.cli.output import echo_json, esc, rich_console, rich_table
from tracker.domain.bom import BomComponent, BomView
from tracker.domain.words import count


def vcf_releases_view(views: Sequence[BomView], as_json: bool) -> None:
    """Newest release first; `status` is `pulled` when a tracked component is, with the summary saying which."""
    data = [_release_json(view) for view in reversed(views)]
    if as_json:
        echo_json(data)
        return
    table = rich_table(count(len(data), "VCF release"), ["release", "released", "components", "status"])
    for item in data:
        status = f"[red]{esc(item['summary'])}[/]" if item["status"] == "pulled" else "ok"
        components = "\n".join(esc(c["label"]) for c in item["components"])
        table.add_row(esc(item["release"]), esc(item["release_date"] or ""), components, status)
    rich_console().print(table)


def _release_json(view: BomView) -> dict[str, Any]:
    release = view.release
    return {
        "product": "vcf",
        "release": release.name,
        "version": release.version,
        "release_date": release.release_date,
        "notes_url": release.notes_url,
        "status": "pulled" if view.pulled else "ok",
        "summary": view.summary,
        "components": [_component_json(c, c in view.pulled) for c in release.components],
    }


def _component_json(component: BomComponent, pulled: bool) -> dict[str, Any]:
    product = component.product.value if component.product else None
    return {
        "name": component.name,
        "label": component.label,
        "version": component.version,
        "build": component.build,
        "product": product,
        "pulled": pulled,
    }
