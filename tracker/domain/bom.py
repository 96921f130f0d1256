"""VMware Cloud Foundation releases as bills of materials (pure).

A VCF release (9.0.0.0) ships a fixed set of component builds: ESX, vCenter, NSX, SDDC Manager and more, listed in
the "Bill of Materials" table of its release notes. Components of products the catalog tracks (ESX, vCenter) carry
their `Product` and build, so a pull of that build in the catalog shows on every release that contains it; the
others (NSX, VCF Operations) stay text until they are a product row of their own.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from tracker.domain.catalog import BuildStatus, Catalog
from tracker.domain.versions import Product


@dataclass(frozen=True)
class BomComponent:
    name: str  # as the BOM writes it: "VMware ESX", "VMware NSX"
    version: str  # "9.0.0.0"
    build: int | None  # None when the BOM names no build
    product: Product | None  # the tracked product it is a build of, or None (kept as text)

    @property
    def label(self) -> str:
        """`ESX 9.0.0.0 (24755229)`: the product's name in its line, or the BOM's own name."""
        name = self.product.label_for(_major(self.version)) if self.product else self.name
        return f"{name} {self.version} ({self.build})" if self.build else f"{name} {self.version}"


@dataclass(frozen=True)
class VcfRelease:
    version: str  # "9.0.0.0"
    components: tuple[BomComponent, ...]
    release_date: str | None = None  # ISO date
    notes_url: str | None = None

    @property
    def name(self) -> str:
        return f"VCF {self.version}"

    def contains(self, product: Product, build: int) -> bool:
        return any(c.product is product and c.build == build for c in self.components)


@dataclass(frozen=True)
class BomView:
    """A release as the catalog sees it now: which of its tracked components are pulled."""

    release: VcfRelease
    pulled: tuple[BomComponent, ...]

    @property
    def summary(self) -> str:
        """`contains pulled ESX 9.0.0.0 (24755229)`, or `ok` when no tracked component is pulled."""
        if not self.pulled:
            return "ok"
        return "contains pulled " + ", ".join(c.label for c in self.pulled)


def view_release(release: VcfRelease, catalog: Catalog) -> BomView:
    """The release with each tracked component the catalog holds as pulled."""
    return BomView(release, tuple(c for c in release.components if _is_pulled(c, catalog)))


def releases_containing(releases: Iterable[VcfRelease], product: Product, build: int) -> tuple[VcfRelease, ...]:
    """The VCF releases whose BOM names this build: what a pull alert for it lists."""
    return tuple(r for r in releases if r.contains(product, build))


def _is_pulled(component: BomComponent, catalog: Catalog) -> bool:
    if component.product is None or component.build is None:
        return False
    entry = catalog.find(component.product, component.build)
    return entry is not None and entry.status is BuildStatus.PULLED


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0
