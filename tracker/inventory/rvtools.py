"""RVTools exports: the vHost tab (ESXi hosts), the vSource tab (the vCenters) and the vTools tab (each VM's VMware
Tools), as the XLSX workbook RVTools writes or as the CSV files of its "export all to csv" (one file per tab:
RVTools_tabvHost.csv, ...).

Columns are found by header name, never by position: each RVTools version adds, drops and moves columns.
vHost: `Host`, `ESX Version` (`VMware ESXi 7.0.3 build-18644231`) are required; `Datacenter`, `Cluster` and
`VI SDK Server` (the vCenter) are read when present. vSource: `VI SDK Server` names the vCenter (its `Name` is the
product name, "VMware vCenter Server"), `Fullname` (`VMware vCenter Server 7.0.3 build-19234570`) or `Build`
gives the build. A vSource row whose `API type` is HostAgent is a host RVTools was pointed at directly; vHost
lists it already, so it is skipped. vTools: `VM` and `Tools Version` (vCenter's toolsVersion number, `12448` for
Tools 12.5.0, tracker/domain/tools.py) are required; `Template`, `Datacenter`, `Cluster`, `VI SDK Server` are read.
A VM whose number is no version (0: not installed; 2147483647: open-vm-tools its OS manages) is imported with an
unknown version and a warning saying which; a number that is not a toolsVersion at all is a problem of its row.
"""

import csv
import posixpath
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

from tracker.domain.inventory import Asset, AssetKind, ImportProblem, ImportResult
from tracker.domain.tools import parse_tools_build
from tracker.domain.versions import VersionError
from tracker.inventory.table import (
    Columns,
    Duplicates,
    Problems,
    Progress,
    RowCounter,
    VersionReader,
    cell_text,
    csv_rows,
    decode,
    failure,
    find_columns,
    normalize_header,
    numbered,
    result,
    version_message,
)

if TYPE_CHECKING:
    from openpyxl import Workbook

VHOST = {
    "host": ("Host",),
    "version": ("ESX Version",),
    "datacenter": ("Datacenter",),
    "cluster": ("Cluster",),
    "vcenter": ("VI SDK Server",),
}
VSOURCE = {
    "server": ("VI SDK Server",),
    "fullname": ("Fullname", "Full name"),
    "build": ("Build",),
    "api_type": ("API type",),
}
VTOOLS = {
    "vm": ("VM",),
    "version": ("Tools Version",),
    "status": ("Tools",),
    "datacenter": ("Datacenter",),
    "cluster": ("Cluster",),
    "vcenter": ("VI SDK Server",),
}
SHEETS = ("vHost", "vSource", "vTools")
ZIP_MAGIC = b"PK\x03\x04"


def looks_like_rvtools(header: Iterable[object]) -> bool:
    """Whether a CSV header row is an RVTools vHost or vSource tab rather than our own CSV."""
    names = {normalize_header(name) for name in header}
    return _tab(names) is not None


def _tab(names: set[str]) -> str | None:
    if {"vm", "tools version"} <= names:  # before vHost: vTools has Host and VI SDK Server columns too
        return "vTools"
    if "esx version" in names or {"host", "vi sdk server"} <= names:
        return "vHost"
    if "fullname" in names or "api type" in names:
        return "vSource"
    return None


def read(path: Path, progress: Progress | None = None) -> ImportResult:
    """Every host and vCenter in an RVTools workbook or tab CSV, or every problem with it."""
    with path.open("rb") as handle:
        is_zip = handle.read(4) == ZIP_MAGIC
    return read_workbook(path, progress) if is_zip else read_csv(path, progress)


@dataclass
class _Import:
    """What one file's sheets build up together."""

    origin: str
    versions: VersionReader = field(default_factory=VersionReader)
    duplicates: Duplicates = field(default_factory=Duplicates)
    assets: list[Asset] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def finish(self) -> ImportResult:
        if not self.assets and not self.problems:
            self.problems.append(ImportProblem(self.origin, None, None, "no hosts, vCenters or VMs in the file"))
        return result(self.assets, self.problems, self.warnings)


@dataclass
class _Sheet:
    """One tab: a CSV file or a workbook sheet."""

    label: str  # the file, or "file, sheet vHost"
    name: str  # vHost or vSource
    header: list[str]
    rows: Iterator[tuple[int, Sequence[object]]]


# --- CSV ---------------------------------------------------------------------------------------------------------
def read_csv(path: Path, progress: Progress | None = None) -> ImportResult:
    rows = csv_rows(decode(path.read_bytes()))
    header = next(rows, None)
    if header is None or not any(cell.strip() for cell in header):
        return failure(str(path), "the file is empty")
    tab = _tab({normalize_header(name) for name in header})
    if tab is None:
        return _not_a_tab(str(path), header)
    counter = RowCounter(progress)
    state = _Import(str(path))
    try:
        _read_sheet(_Sheet(str(path), tab, header, numbered(rows, counter)), state)
    except csv.Error as error:  # a runaway quoted field
        return failure(str(path), f"not a CSV file we can read: {error}")
    counter.done()
    return state.finish()


def _not_a_tab(file: str, header: Sequence[str]) -> ImportResult:
    columns = find_columns(header, {})
    message = columns.missing_message(
        [
            "'Host' and 'ESX Version' (vHost), 'VI SDK Server' and 'Fullname' (vSource) "
            "or 'VM' and 'Tools Version' (vTools)"
        ]
    )
    return ImportResult(problems=(ImportProblem(file, 1, None, message),))


# --- XLSX --------------------------------------------------------------------------------------------------------
def read_workbook(path: Path, progress: Progress | None = None) -> ImportResult:
    # openpyxl refuses a path whose extension is not .xlsx; an open file it takes whatever its name.
    import openpyxl  # lazy: 10 MiB of a service's idle memory (the web's import form), loaded only for an .xlsx

    with path.open("rb") as handle:
        try:
            workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        except Exception:  # openpyxl raises KeyError, BadZipFile, InvalidFileException ... for a non-workbook
            return failure(str(path), "this is a ZIP archive but not an Excel workbook (RVTools writes .xlsx)")
        try:
            return _read_workbook(path, workbook, RowCounter(progress))
        except Exception as error:  # a sheet's XML is read lazily, row by row: a damaged one fails mid-way
            return failure(str(path), f"a damaged Excel workbook: {type(error).__name__}: {error}")
        finally:
            workbook.close()


def _read_workbook(path: Path, workbook: "Workbook", counter: RowCounter) -> ImportResult:
    sheets = {name.casefold(): name for name in workbook.sheetnames}
    present = [sheets[tab.casefold()] for tab in SHEETS if tab.casefold() in sheets]
    if not present:
        found = ", ".join(map(repr, workbook.sheetnames))
        return failure(str(path), f"no vHost, vSource or vTools sheet: not an RVTools export (sheets found: {found})")
    state = _Import(str(path))
    for title in present:
        rows = workbook[title].iter_rows(values_only=True)
        _read_sheet(_workbook_sheet(path, title, rows, counter), state)
    counter.done()
    return state.finish()


def _workbook_sheet(path: Path, title: str, rows: Iterator[Sequence[object]], counter: RowCounter) -> _Sheet:
    header = [cell_text(value) for value in next(rows, ())]
    tab = next(tab for tab in SHEETS if tab.casefold() == title.casefold())
    return _Sheet(f"{path}, sheet {title}", tab, header, numbered(rows, counter))


# --- rows ----------------------------------------------------------------------------------------------------------
_TABS: dict[str, tuple[Mapping[str, tuple[str, ...]], tuple[str, ...]]] = {  # tab -> (columns, required ones)
    "vHost": (VHOST, ("host", "version")),
    "vSource": (VSOURCE, ("server",)),
    "vTools": (VTOOLS, ("vm", "version")),
}


def _read_sheet(sheet: _Sheet, state: _Import) -> None:
    wanted, required = _TABS[sheet.name]
    columns = find_columns(sheet.header, wanted)
    problems = Problems(sheet.label)
    missing = [repr(wanted[key][0]) for key in required if key not in columns.index]
    if sheet.name == "vSource" and not {"fullname", "build"} & columns.index.keys():
        missing.append("'Fullname' or 'Build'")
    if missing:
        problems.add(1, None, columns.missing_message(missing))
    else:
        read_row = {"vHost": _host, "vSource": _vcenter, "vTools": _vm}[sheet.name]
        for number, row in sheet.rows:
            _add(read_row(number, row, columns, problems, state), number, columns, problems, state)
    state.problems.extend(problems.items)


def _add(asset: Asset | None, number: int, columns: Columns, problems: Problems, state: _Import) -> None:
    if asset is None:
        return
    clash = state.duplicates.message(asset.kind, asset.name, f"row {number}")
    if clash:
        key = {AssetKind.ESXI: "host", AssetKind.VCENTER: "server", AssetKind.VM: "vm"}[asset.kind]
        problems.add(number, columns.name(key), clash)
    state.assets.append(asset)


def _host(number: int, row: Sequence[object], columns: Columns, problems: Problems, state: _Import) -> Asset | None:
    name, text = columns.cell(row, "host"), columns.cell(row, "version")
    if not name:
        problems.add(number, columns.name("host"), "the host name is empty")
        return None
    build, ok = _build(number, text, AssetKind.ESXI, columns.name("version"), problems, state)
    if not ok:
        return None
    return Asset(
        name=name,
        kind=AssetKind.ESXI,
        build=build,
        version_text=text,
        vcenter=columns.cell(row, "vcenter"),
        datacenter=columns.cell(row, "datacenter"),
        cluster=columns.cell(row, "cluster"),
        origin=state.origin,
    )


def _vcenter(number: int, row: Sequence[object], columns: Columns, problems: Problems, state: _Import) -> Asset | None:
    if columns.cell(row, "api_type").casefold() == "hostagent":
        return None  # RVTools was pointed at this host directly; vHost lists it
    name = columns.cell(row, "server")
    text = columns.cell(row, "fullname") or columns.cell(row, "build")
    column = columns.name("fullname" if columns.cell(row, "fullname") else "build")
    if not name:
        problems.add(number, columns.name("server"), "the vCenter name (VI SDK Server) is empty")
        return None
    build, ok = _build(number, text, AssetKind.VCENTER, column, problems, state)
    if not ok:
        return None
    return Asset(name=name, kind=AssetKind.VCENTER, build=build, version_text=text, origin=state.origin)


def _vm(number: int, row: Sequence[object], columns: Columns, problems: Problems, state: _Import) -> Asset | None:
    """A VM's Tools: its toolsVersion number as vCenter reports it, decoded when the catalog is asked, never here."""
    name, text = columns.cell(row, "vm"), columns.cell(row, "version")
    if not name:
        problems.add(number, columns.name("vm"), "the VM name is empty")
        return None
    where = f"{problems.file}, row {number}: VM {name}"
    status = columns.cell(row, "status")
    parsed = None
    try:
        parsed = parse_tools_build(text) if text else None
    except VersionError as error:
        if not _PACKED_NUMBER.fullmatch(text):
            problems.add(number, columns.name("version"), f"{error}")
            return None
        state.warnings.append(f"{where}: {error}; its Tools are not assessed")
        text = ""
    else:
        if not text:
            state.warnings.append(f"{where} reports no Tools version" + (f" ({status})" if status else ""))
    return Asset(
        name=name,
        kind=AssetKind.VM,
        build=parsed.number if parsed else None,
        version_text=text,
        vcenter=columns.cell(row, "vcenter"),
        datacenter=columns.cell(row, "datacenter"),
        cluster=columns.cell(row, "cluster"),
        origin=state.origin,
    )


_PACKED_NUMBER = re.compile(r"-?\d{1,10}")  # a toolsVersion cell: a number, even one that is no version


def _build(
    number: int, text: str, kind: AssetKind, column: str, problems: Problems, state: _Import
) -> tuple[int | None, bool]:
    """(build number, readable). An empty cell is readable: a disconnected host reports no version, and is
    imported with an unknown build and a warning."""
    if not text:
        state.warnings.append(f"{problems.file}, row {number}: no {column}, so the build is unknown (disconnected?)")
        return None, True
    parsed = state.versions.parse(text, kind)
    if parsed is None or parsed.number is None:
        problems.add(number, column, version_message(text, kind))
        return None, False
    return parsed.number, True


# --- row count for a progress bar ---------------------------------------------------------------------------------
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"')


def workbook_rows(path: Path) -> int | None:
    """The data rows of the vHost, vSource and vTools sheets, from each sheet's <dimension> record (a few hundred bytes
    into the sheet), without parsing the sheets: openpyxl would read a whole sheet to find its size. None when a
    sheet has no dimension record."""
    with zipfile.ZipFile(path) as archive:
        counts = [_sheet_rows(archive, target) for target in _sheet_parts(archive).values()]
    return sum(count - 1 for count in counts if count is not None) if counts and None not in counts else None


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """vHost / vSource / vTools -> the sheet's part in the archive (xl/worksheets/sheet3.xml)."""
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    parts: dict[str, str] = {}
    for sheet in ElementTree.fromstring(archive.read("xl/workbook.xml")).iter(f"{_MAIN}sheet"):
        if sheet.get("name", "").casefold() in {tab.casefold() for tab in SHEETS}:
            target = targets.get(sheet.get(_REL_ID), "")
            parts[sheet.get("name", "")] = (
                target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
            )
    return parts


def _sheet_rows(archive: zipfile.ZipFile, part: str) -> int | None:
    with archive.open(part) as handle:
        match = _DIMENSION.search(handle.read(4096))
    return int(match.group(1)) if match else None
