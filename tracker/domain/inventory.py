"""The admins' inventory: ESXi hosts, vCenters and VMs (for their VMware Tools), their builds and the driver VIBs
hosts run.

Importers (tracker/inventory) turn files and live vCenters into `Asset` values, or into `ImportProblem`s naming
the file, row and column; an import is all or nothing. An asset is keyed by (kind, name), case-insensitive, so a
re-import updates rather than duplicates.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from tracker.domain.version_grammar import parse_build
from tracker.domain.versions import Build, Product, VersionError


class AssetKind(StrEnum):
    ESXI = "esxi"
    VCENTER = "vcenter"
    VM = "vm"  # a virtual machine, for the VMware Tools in it (its version is what `version_text` says)

    @property
    def product(self) -> Product:
        return _KIND_PRODUCTS[self]


_KIND_PRODUCTS = {AssetKind.ESXI: Product.ESXI, AssetKind.VCENTER: Product.VCENTER, AssetKind.VM: Product.TOOLS}


@dataclass(frozen=True, slots=True)
class Vib:
    name: str  # i40en, i40enu, esx-base ...
    version: str = ""


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    kind: AssetKind
    build: int | None  # None when the version text named no build we could read
    version_text: str = ""  # what it reported: "VMware ESXi 7.0.3 build-18644231"; a VM's toolsVersion "12448"
    vcenter: str = ""
    datacenter: str = ""
    cluster: str = ""
    tags: tuple[str, ...] = ()
    owner: str = ""
    vibs: tuple[Vib, ...] = ()
    origin: str = ""  # where it came from: a file, or "vcenter:NAME"

    @property
    def key(self) -> tuple[AssetKind, str]:
        return (self.kind, self.name.casefold())

    @property
    def reported(self) -> Build | None:
        """What the version text says (line and update even when the catalog does not know the build)."""
        try:
            return parse_build(self.version_text, self.kind.product) if self.version_text else None
        except VersionError:
            return None


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with an input file, located so a person can fix it."""

    file: str
    row: int | None  # 1-based data row as a spreadsheet shows it (the header is row 1), None for the whole file
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ImportResult:
    assets: tuple[Asset, ...] = ()
    problems: tuple[ImportProblem, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems


def build_from_text(text: str, kind: AssetKind) -> int:
    """The build number in a reported version (`VMware ESXi 7.0.3 build-18644231`, `7.0.3-0.35.19482537`, or a
    bare number); raises VersionError with a message for the user."""
    parsed = parse_build(text, kind.product)
    if parsed.number is None:
        raise VersionError(
            f"{text!r} names a release but no build number (expected e.g. 'VMware ESXi 7.0.3 "
            "build-18644231' or '18644231')"
        )
    return parsed.number


def duplicates(assets: list[Asset]) -> dict[tuple[AssetKind, str], int]:
    """Keys that occur more than once, with their count."""
    counts: dict[tuple[AssetKind, str], int] = {}
    for asset in assets:
        counts[asset.key] = counts.get(asset.key, 0) + 1
    return {key: n for key, n in counts.items() if n > 1}


@dataclass(frozen=True)
class ImportPlan:
    """What an import changes: decided before anything is written, shown as is by --dry-run."""

    added: tuple[Asset, ...] = ()
    updated: tuple[tuple[Asset, Asset], ...] = ()  # (before, after)
    unchanged: tuple[Asset, ...] = ()
    removed: tuple[Asset, ...] = ()  # only with --replace

    @property
    def changes(self) -> int:
        return len(self.added) + len(self.updated) + len(self.removed)


def plan_import(existing: list[Asset], incoming: list[Asset], replace: bool, origin: str) -> ImportPlan:
    """Compare an import with the stored assets. With `replace`, assets of the same scope that the import no
    longer lists are removed: the scope is the vCenters the import speaks for, or, without any, its origin."""
    known = {a.key: a for a in existing}
    added, updated, unchanged = [], [], []
    for asset in incoming:
        before = known.get(asset.key)
        if before is None:
            added.append(asset)
        elif before == asset:
            unchanged.append(asset)
        else:
            updated.append((before, asset))
    removed: list[Asset] = []
    if replace:
        listed = {a.key for a in incoming}
        vcenters = {a.vcenter.casefold() for a in incoming if a.vcenter}
        removed = [
            a
            for a in existing
            if a.key not in listed and (a.vcenter.casefold() in vcenters if vcenters else a.origin == origin)
        ]
    return ImportPlan(tuple(added), tuple(updated), tuple(unchanged), tuple(removed))
