"""Reading an inventory file: the format is found by extension and content, a file of the wrong type gets one
clear problem (never a traceback), and progress is reported for the CLI's bar."""

from pathlib import Path

import pytest

from tracker.domain.inventory import ImportProblem, ImportResult
from tracker.inventory.files import FORMAT_CHOICES, count_rows, detect, read_inventory

FIXTURES = Path(__file__).parents[1] / "fixtures" / "inventory"
BROKEN = FIXTURES / "broken"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("RVTools_export.xlsx", "rvtools"),
        ("RVTools_tabvHost.csv", "rvtools"),
        ("RVTools_tabvSource.csv", "rvtools"),
        ("inventory.csv", "csv"),
        ("inventory.yaml", "yaml"),
        ("inventory.json", "json"),
        ("broken/letter.csv", "rvtools"),  # a ZIP: only the workbook reader can tell what it is
        ("broken/picture.csv", "csv"),
    ],
)
def test_auto_detection_picks_the_format_by_extension_then_content(name: str, fmt: str) -> None:
    path = FIXTURES / name
    assert detect(path, path.read_bytes()[:8192]) == fmt


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("inventory.txt", '{"assets": []}', "json"),
        ("inventory", "assets:\n  - name: esx01\n", "yaml"),
        ("hosts.export", "Host,ESX Version\nesx01,VMware ESXi 7.0.3 build-18644231\n", "rvtools"),
        ("hosts", "name,build\nesx01,18644231\n", "csv"),
    ],
)
def test_a_file_without_a_known_extension_is_recognised_by_its_content(
    tmp_path: Path, name: str, text: str, fmt: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    assert detect(path, path.read_bytes()) == fmt


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        ("broken/picture.csv", "auto", "this is a PNG image, not a CSV file"),
        ("broken/picture.csv", "rvtools", "this is a PNG image, not an RVTools export"),
        ("broken/letter.csv", "auto", "this is a ZIP archive but not an Excel workbook (RVTools writes .xlsx)"),
        ("broken/letter.csv", "csv", "this is a ZIP archive (an Office document?), not a CSV file"),
        ("RVTools_export.xlsx", "yaml", "this is a ZIP archive (an Office document?), not a YAML file"),
        ("broken/no_rvtools_sheets.xlsx", "auto",
         "no vHost, vSource or vTools sheet: not an RVTools export (sheets found: 'Budget')"),
        ("broken/empty.csv", "auto", "the file is empty"),
        ("broken/header_only.csv", "auto", "no assets below the header"),
    ],
)  # fmt: skip
def test_a_file_of_the_wrong_type_gets_one_clear_problem(name: str, fmt: str, message: str) -> None:
    path = FIXTURES / name
    assert read_inventory(path, fmt) == ImportResult(problems=(ImportProblem(str(path), None, None, message),))


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("garbage.csv", bytes(range(256)) * 4, "this is binary data, not a CSV file"),
        ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),
         "this is an old-style Office document (.xls or .doc; save it as .xlsx or CSV), not an RVTools export"),
        ("scan.json", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "this is a PDF document, not a JSON file"),
        ("broken.xlsx", b"PK\x03\x04" + bytes(100),
         "this is a ZIP archive but not an Excel workbook (RVTools writes .xlsx)"),
        ("blank.yaml", b"\n  \n", "the file is empty"),
        ("blank.csv", b"\r\n\r\n", "the file is empty"),
    ],
)  # fmt: skip
def test_binary_or_blank_content_is_recognised_whatever_the_extension(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert read_inventory(path).problems == (ImportProblem(str(path), None, None, message),)


def test_a_missing_file_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    assert read_inventory(path).problems == (
        ImportProblem(str(path), None, None, "cannot read the file: No such file or directory"),
    )


def test_an_unknown_format_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="expected one of auto, csv, rvtools, yaml, json"):
        read_inventory(FIXTURES / "inventory.csv", "xls")
    assert FORMAT_CHOICES == ("auto", "csv", "rvtools", "yaml", "json")


def test_progress_is_told_the_rows_read_every_thousand_rows_and_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "RVTools_tabvHost.csv"
    lines = [f"esx{i:04d},VMware ESXi 7.0.3 build-18644231" for i in range(2500)]
    path.write_text("Host,ESX Version\n" + "\n".join(lines) + "\n", encoding="utf-8")
    calls: list[int] = []
    imported = read_inventory(path, progress=calls.append)
    assert (len(imported.assets), calls) == (2500, [1000, 2000, 2500])
    assert count_rows(path) == 2500


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("RVTools_tabvHost.csv", 7),
        ("RVTools_export.xlsx", 11),  # 8 vHost rows (one blank) and 3 vSource rows
        ("inventory.yaml", None),
        ("broken/empty.csv", 0),
    ],
)
def test_count_rows_gives_the_progress_bar_a_cheap_total(name: str, rows: int | None) -> None:
    assert count_rows(FIXTURES / name) == rows


def test_counting_the_rows_of_a_file_that_is_not_there_gives_no_total(tmp_path: Path) -> None:
    assert count_rows(tmp_path / "nowhere.csv") is None


def test_every_problem_renders_with_file_row_and_column_for_the_cli() -> None:
    path = BROKEN / "RVTools_tabvHost_bad_version.csv"
    assert str(read_inventory(path).problems[0]) == (
        f"{path}, row 3, column 'ESX Version': cannot read the version 'VMware ESXi 7.0.3': "
        "expected e.g. 'VMware ESXi 7.0.3 build-18644231'"
    )
