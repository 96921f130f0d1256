"""Reading an inventory file: pick the format (by extension and content), reject files of the wrong type with one
clear problem, and hand the file to its reader. One reader per format, in one registry:

    csv      our CSV                 tracker/inventory/csv_format.py
    rvtools  RVTools vHost/vSource   tracker/inventory/rvtools.py (XLSX workbook or the tabs as CSV)
    yaml     our YAML                tracker/inventory/structured.py
    json     our JSON                tracker/inventory/structured.py

Readers are pure apart from reading the one file: they return an ImportResult with every problem found, located
by file, row and column, and no assets when there is any problem (an import is all or nothing).
"""

from collections.abc import Callable
from pathlib import Path

from tracker.domain.inventory import ImportResult
from tracker.inventory import csv_format, rvtools, structured
from tracker.inventory.table import Progress, csv_rows, decode, failure

Reader = Callable[[Path, Progress | None], ImportResult]

FORMATS: dict[str, Reader] = {
    "csv": csv_format.read,
    "rvtools": rvtools.read,
    "yaml": structured.read_yaml,
    "json": structured.read_json,
}
FORMAT_CHOICES = ("auto", *FORMATS)

_LABELS = {"csv": "a CSV file", "rvtools": "an RVTools export", "yaml": "a YAML file", "json": "a JSON file"}
_SUFFIXES = {".xlsx": "rvtools", ".xlsm": "rvtools", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
_HEAD = 8192  # bytes read to recognise a file
# What a file is, by its first bytes, when it is not text.
_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (rvtools.ZIP_MAGIC, "a ZIP archive (an Office document?)"),
    (b"\xd0\xcf\x11\xe0", "an old-style Office document (.xls or .doc; save it as .xlsx or CSV)"),
    (b"\x1f\x8b", "a gzip archive"),
)


def read_inventory(path: Path, fmt: str = "auto", progress: Progress | None = None) -> ImportResult:
    """Every asset in the file, or every problem with it. `progress` is told the rows read so far, every ~1000
    rows. Raises ValueError only for a format name not in FORMAT_CHOICES."""
    if fmt not in FORMAT_CHOICES:
        raise ValueError(f"unknown inventory format {fmt!r}: expected one of {', '.join(FORMAT_CHOICES)}")
    try:
        head = _head(path)
        if not head.strip():
            return failure(str(path), "the file is empty")
        chosen = detect(path, head) if fmt == "auto" else fmt
        wrong = wrong_type(head, chosen)
        return failure(str(path), wrong) if wrong else FORMATS[chosen](path, progress)
    except OSError as error:
        return failure(str(path), f"cannot read the file: {error.strerror or error}")


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(_HEAD)


def binary_kind(head: bytes) -> str | None:
    """What a file is when it is not text ("a PNG image"), else None."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):  # NULs in text mean UTF-16
        return "binary data"
    return None


def wrong_type(head: bytes, fmt: str) -> str | None:
    """The problem when the file's content cannot be in this format, else None."""
    kind = binary_kind(head)
    if kind is None or (fmt == "rvtools" and head.startswith(rvtools.ZIP_MAGIC)):
        return None  # a ZIP may be an RVTools workbook: its reader says if it is not
    return f"this is {kind}, not {_LABELS[fmt]}"


def detect(path: Path, head: bytes) -> str:
    """The format of a file, by extension and then by content."""
    by_suffix = _SUFFIXES.get(path.suffix.casefold())
    if by_suffix:
        return by_suffix
    if head.startswith(rvtools.ZIP_MAGIC):
        return "rvtools"  # an .xlsx saved under another name
    text = decode(head).lstrip()
    if text[:1] in ("{", "["):
        return "json"
    if text.startswith(("assets:", "---")):
        return "yaml"
    header = next((row for row in csv_rows(text) if row and not row[0].lstrip().startswith("#")), [])
    return "rvtools" if rvtools.looks_like_rvtools(header) else "csv"


def count_rows(path: Path, fmt: str = "auto") -> int | None:
    """About how many rows `read_inventory` will report progress for, cheaply; None when unknown."""
    try:
        head = _head(path)
        chosen = detect(path, head) if fmt == "auto" else fmt
        if chosen == "rvtools" and head.startswith(rvtools.ZIP_MAGIC):
            return rvtools.workbook_rows(path)
        if chosen in ("csv", "rvtools"):
            return max(_line_count(path) - 1, 0)
    except Exception:  # only a hint for a progress bar: reading will report what is wrong
        return None
    return None


def _line_count(path: Path) -> int:
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last != b"\n")
