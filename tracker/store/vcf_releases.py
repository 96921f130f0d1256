"""Stored VMware Cloud Foundation releases: save the ones a release-notes page listed, load them as domain values."""

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, select

from tracker.domain.bom import BomComponent, VcfRelease
from tracker.domain.versions import Product
from tracker.store.models import VcfReleaseRow


def load_vcf_releases(session: Session) -> list[VcfRelease]:
    """Every stored release, oldest version first."""
    rows = session.exec(select(VcfReleaseRow)).all()
    return sorted((_release(row) for row in rows), key=lambda r: tuple(int(p) for p in r.version.split(".")))


def save_vcf_releases(session: Session, changed: Mapping[str, tuple[str, VcfRelease]]) -> None:
    """Write each release (by version) with the id of the source that listed it; a re-read replaces the row."""
    for source_id, release in changed.values():
        row = session.get(VcfReleaseRow, release.version) or VcfReleaseRow(version=release.version)
        row.release_date, row.notes_url, row.source_id = release.release_date, release.notes_url, source_id
        row.components = [_component_json(c) for c in release.components]
        session.add(row)


def _component_json(component: BomComponent) -> dict[str, Any]:
    product = component.product.value if component.product else None
    return {"name": component.name, "version": component.version, "build": component.build, "product": product}


def _release(row: VcfReleaseRow) -> VcfRelease:
    components = tuple(
        BomComponent(c["name"], c["version"], c["build"], Product(c["product"]) if c["product"] else None)
        for c in row.components
    )
    return VcfRelease(row.version, components, row.release_date, row.notes_url)
