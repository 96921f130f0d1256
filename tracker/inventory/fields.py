"""The fields of our own inventory formats (CSV, YAML, JSON) and how one record becomes an Asset.

A record has `name, kind, build, version, vcenter, datacenter, cluster, tags, owner, vibs`. `name` and one of
`build` / `version` are required; `kind` is esxi (the default) or vcenter. `version` is what the host reports
(`VMware ESXi 7.0.3 build-18644231`) or a release name (`7.0 U3c`); when both are given they must agree.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tracker.domain.inventory import Asset, AssetKind, Vib
from tracker.domain.versions import product_from_text
from tracker.inventory.table import Duplicates, VersionReader, version_message

FIELDS = ("name", "kind", "build", "version", "vcenter", "datacenter", "cluster", "tags", "owner", "vibs")

Report = Callable[[str, str], None]  # (field, message): the reader knows the file, row and column

_VIB = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:=(?P<version>[^\s=;,]+))?")
_VIB_EXAMPLE = "expected 'name=version' entries separated by ';', e.g. 'i40en=1.10.6;i40enu=1.8.1'"


class VibsError(ValueError):
    """A vibs cell or list we cannot read; the message says what was expected."""


@dataclass(frozen=True)
class Record:
    """One asset as written in our formats, before validation."""

    name: str = ""
    kind: str = ""
    build: str = ""
    version: str = ""
    vcenter: str = ""
    datacenter: str = ""
    cluster: str = ""
    tags: tuple[str, ...] = ()
    owner: str = ""
    vibs: tuple[Vib, ...] = ()


def split_tags(text: str) -> tuple[str, ...]:
    """`prod; i40en;;prod` -> ('prod', 'i40en'): trimmed, no empties, no repeats."""
    return _unique(part.strip() for part in text.split(";"))


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for item in items if item))


def vib(text: str) -> Vib:
    """`i40en=1.10.6` or a bare `i40en` (version unknown); raises VibsError."""
    match = _VIB.fullmatch(text.strip())
    if match is None:
        raise VibsError(f"cannot read the VIB {text.strip()!r}: {_VIB_EXAMPLE}")
    return Vib(match.group("name"), match.group("version") or "")


def parse_vibs(text: str) -> tuple[Vib, ...]:
    """`i40en=1.10.6;i40enu=1.8.1` -> two Vibs; raises VibsError."""
    return checked_vibs([vib(part) for part in text.split(";") if part.strip()])


def checked_vibs(vibs: list[Vib]) -> tuple[Vib, ...]:
    names = [item.name.casefold() for item in vibs]
    repeated = sorted({item.name for item in vibs if names.count(item.name.casefold()) > 1})
    if repeated:
        raise VibsError(f"VIB {', '.join(map(repr, repeated))} is listed more than once")
    return tuple(vibs)


def asset_from_record(record: Record, report: Report, versions: VersionReader, origin: str) -> Asset | None:
    """The asset a record describes, or None after reporting each thing wrong with it."""
    kind = _kind(record.kind, report)
    if not record.name:
        report("name", "the name is empty")
    if kind is None:
        _build_column(record.build, AssetKind.ESXI, report, versions)  # a bare number reads the same for both
        return None
    number, ok = _build(record, kind, report, versions)
    if not ok or not record.name:
        return None
    return Asset(
        name=record.name,
        kind=kind,
        build=number,
        version_text=record.version,
        vcenter=record.vcenter,
        datacenter=record.datacenter,
        cluster=record.cluster,
        tags=record.tags,
        owner=record.owner,
        vibs=record.vibs,
        origin=origin,
    )


def record_kind(record: Record) -> AssetKind | None:
    """The kind a record names (esxi when it names none), or None when it names no kind we know."""
    folded = record.kind.strip().casefold()
    try:
        return AssetKind(folded) if folded else AssetKind.ESXI
    except ValueError:
        return None


def clash(record: Record, duplicates: Duplicates, where: str) -> str | None:
    """The duplicate problem when this record's kind and name came before (checked even on a row with other
    problems, so that one pass names them all)."""
    kind = record_kind(record)
    return duplicates.message(kind, record.name, where) if kind is not None and record.name else None


def _kind(text: str, report: Report) -> AssetKind | None:
    kind = record_kind(Record(kind=text))
    if kind is None:
        report("kind", f"{text!r} is not a kind: expected 'esxi', 'vcenter' or 'vm'")
    return kind


def _build(record: Record, kind: AssetKind, report: Report, versions: VersionReader) -> tuple[int | None, bool]:
    """(build number, whether build and version are readable and agree)."""
    if not record.build and not record.version:
        report("build", "no build or version: give at least one of them")
        return None, False
    number, ok = _build_column(record.build, kind, report, versions)
    if not record.version:
        return number, ok
    parsed = versions.parse(record.version, kind)
    if parsed is None:
        report("version", _version_message(record.version, kind))
        return None, False
    if number is not None and parsed.number is not None and parsed.number != number:
        report("build", f"build {number} disagrees with version {record.version!r}, which says {parsed.number}")
        return None, False
    return (number if number is not None else parsed.number), ok


def _version_message(text: str, kind: AssetKind) -> str:
    named = product_from_text(text)
    if named is not None and named is not kind.product:
        return f"{text!r} is a {named.label} version, but the kind is {kind.value}"
    return version_message(text, kind) + " or a release such as '7.0 U3c'"


def _build_column(text: str, kind: AssetKind, report: Report, versions: VersionReader) -> tuple[int | None, bool]:
    if not text:
        return None, True
    parsed = versions.parse(text, kind) if text.isdigit() else None
    if parsed is None or parsed.number is None:
        report("build", f"{text!r} is not a build number: expected 7 or 8 digits, e.g. '18644231'")
        return None, False
    return parsed.number, True
