"""Our own inventory formats: CSV, YAML and JSON describe the same assets and report every bad row or field."""

from dataclasses import replace
from pathlib import Path

import pytest

from tracker.domain.inventory import Asset, AssetKind, ImportProblem, Vib
from tracker.inventory.files import read_inventory

FIXTURES = Path(__file__).parents[1] / "fixtures" / "inventory"
BROKEN = FIXTURES / "broken"
CONFIG = Path(__file__).parents[2] / "config"

I40EN = (Vib("i40en", "1.10.6"), Vib("i40enu", "1.8.1"))
# What tests/fixtures/inventory/inventory.{csv,yaml,json} hold (origin left out: it is the file).
EXPECTED = (
    Asset("vc01.example.net", AssetKind.VCENTER, 19234570, "VMware vCenter Server 7.0.3 build-19234570",
          datacenter="DC-East", tags=("prod",), owner="platform-team"),
    Asset("esx01.example.net", AssetKind.ESXI, 18426014, "7.0 U2c", "vc01.example.net", "DC-East", "Prod-A",
          ("prod", "pci"), "platform-team", I40EN),
    Asset("esx02.example.net", AssetKind.ESXI, 18538813, "7.0 U2d", "vc01.example.net", "DC-East", "Prod-A",
          ("prod", "pci"), "platform-team", I40EN),
    Asset("esx03.example.net", AssetKind.ESXI, 18644231, "VMware ESXi 7.0.3 build-18644231", "vc01.example.net",
          "DC-East", "Prod-B", ("prod",), "platform-team", (Vib("i40enu", ""),)),
    Asset("esx04.example.net", AssetKind.ESXI, 18825058, "", "vc01.example.net", "DC-East", "Prod-B"),
    Asset("esx11.example.net", AssetKind.ESXI, None, "7.0 U3b", "vc02.example.net", "DC-West", "Edge", ("edge",),
          "edge-team"),
)  # fmt: skip


def located(path: Path) -> tuple[Asset, ...]:
    return tuple(replace(asset, origin=str(path)) for asset in EXPECTED)


@pytest.mark.parametrize("name", ["inventory.csv", "inventory.yaml", "inventory.json"])
def test_each_of_our_formats_reads_the_same_assets(name: str) -> None:
    path = FIXTURES / name
    imported = read_inventory(path)
    assert imported.problems == ()
    assert imported.assets == located(path)


@pytest.mark.parametrize(
    ("name", "warnings"),
    [
        ("inventory.csv", ("ignored column 'Notes': ours are " + "name, kind, build, version, vcenter, datacenter, "
                           "cluster, tags, owner, vibs",)),
        ("inventory.yaml", ("{path}, assets[3]: ignored field 'notes'",
                            "{path}, assets[5]: ignored field 'notes'")),
    ],
)  # fmt: skip
def test_columns_and_fields_we_do_not_read_are_named_in_a_warning(name: str, warnings: tuple[str, ...]) -> None:
    path = FIXTURES / name
    assert read_inventory(path).warnings == tuple(w.format(path=path) for w in warnings)


def test_the_commented_examples_in_config_describe_the_same_hosts_and_import_cleanly() -> None:
    from_csv = read_inventory(CONFIG / "inventory.example.csv")
    from_yaml = read_inventory(CONFIG / "inventory.example.yaml")
    assert (from_csv.problems, from_csv.warnings, from_yaml.problems, from_yaml.warnings) == ((), (), (), ())
    assert [replace(a, origin="") for a in from_csv.assets] == [replace(a, origin="") for a in from_yaml.assets]
    assert [(a.name, a.build) for a in from_csv.assets] == [
        ("vc01.example.net", 18700403),
        ("esx01.example.net", 18426014),
        ("esx02.example.net", 18538813),
        ("esx03.example.net", 18644231),
        ("esx04.example.net", 18825058),
        ("esx05.example.net", 18905247),
    ]


def test_every_bad_row_of_our_csv_is_reported_with_its_row_and_column_and_nothing_is_imported() -> None:
    path = BROKEN / "inventory_bad_rows.csv"
    imported = read_inventory(path)
    vib_help = "expected 'name=version' entries separated by ';', e.g. 'i40en=1.10.6;i40enu=1.8.1'"
    assert imported.assets == ()
    assert imported.problems == tuple(
        ImportProblem(str(path), row, column, message)
        for row, column, message in [
            (3, "kind", "'host' is not a kind: expected 'esxi', 'vcenter' or 'vm'"),
            (4, "vibs", f"cannot read the VIB 'i40en 1.10.6': {vib_help}"),
            (5, "build", "'188250' is not a build number: expected 7 or 8 digits, e.g. '18644231'"),
            (6, "build", "build 18905247 disagrees with version 'VMware ESXi 7.0.3 build-18825058', "
                         "which says 18825058"),
            (7, "version", "cannot read the version 'ESXi seven U3': expected e.g. 'VMware ESXi 7.0.3 build-18644231' "
                           "or a release such as '7.0 U3c'"),
            (8, "name", "the name is empty"),
            (9, "name", "ESXi host 'ESX01.example.net' is listed twice: row 2 and row 9"),
            (10, "vibs", "VIB 'i40en' is listed more than once"),
            (10, "build", "no build or version: give at least one of them"),
        ]
    )  # fmt: skip


def test_a_csv_without_the_required_columns_gets_one_problem_naming_the_columns_it_has() -> None:
    path = BROKEN / "inventory_missing_columns.csv"
    assert read_inventory(path).problems == (
        ImportProblem(
            str(path), 1, None,
            "missing columns 'name'; 'build' or 'version' (columns found: 'host', 'esx build', 'cluster')",
        ),
    )  # fmt: skip


def test_every_bad_yaml_asset_is_reported_by_its_path_in_the_document() -> None:
    path = BROKEN / "inventory_bad.yaml"
    imported = read_inventory(path)
    assert imported.assets == ()
    assert imported.problems == tuple(
        ImportProblem(str(path), None, column, message)
        for column, message in [
            ("assets[1].kind", "'vcsa' is not a kind: expected 'esxi', 'vcenter' or 'vm'"),
            ("assets[2].name", "expected text, got list ['esx03.example.net']"),
            ("assets[3].version", "'VMware vCenter Server 7.0.3 build-19234570' is a vCenter Server version, but the "
                                  "kind is esxi"),
            ("assets[4].vibs", "a VIB without a name: expected e.g. {name: i40en, version: 1.10.6}"),
            ("assets[5]", "expected a mapping of fields (name, kind, build, version, ...)"),
            ("assets[6].name", "ESXi host 'esx01.example.net' is listed twice: assets[0] and assets[6]"),
        ]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("invalid.yaml", "not valid YAML: did not find expected '-' indicator at line 4, column 4"),
        ("invalid.json", "not valid JSON: Expecting ',' delimiter at line 3, column 32"),
    ],
)
def test_a_document_that_does_not_parse_gets_one_problem_with_the_line(name: str, message: str) -> None:
    path = BROKEN / name
    assert read_inventory(path).problems == (ImportProblem(str(path), None, None, message),)


NO_ASSETS_LIST = "expected a mapping with an 'assets' list, as in config/inventory.example.yaml"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("assets: []\n", "the 'assets' list is empty"),
        ("- name: esx01\n  build: 18426014\n", NO_ASSETS_LIST),
        ("hosts:\n  - esx01\n", NO_ASSETS_LIST),
        ("# nothing here yet\n", "the file is empty"),
    ],
)  # fmt: skip
def test_a_yaml_file_without_an_assets_list_gets_one_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(text, encoding="utf-8")
    assert read_inventory(path).problems == (ImportProblem(str(path), None, None, message),)


@pytest.mark.parametrize(
    ("cell", "vibs"),
    [
        ("", ()),
        ("i40en=1.10.6", (Vib("i40en", "1.10.6"),)),
        (" i40en=1.10.6 ; i40enu=1.8.1 ;", (Vib("i40en", "1.10.6"), Vib("i40enu", "1.8.1"))),
        ("i40en", (Vib("i40en", ""),)),
        ("i40en=1.10.6-1OEM.700.1.0.15843807", (Vib("i40en", "1.10.6-1OEM.700.1.0.15843807"),)),
    ],
)
def test_a_vibs_cell_lists_name_equals_version_pairs_separated_by_semicolons(
    tmp_path: Path, cell: str, vibs: tuple[Vib, ...]
) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text(f'name,build,vibs\nesx01,18426014,"{cell}"\n', encoding="utf-8")
    assert read_inventory(path).assets[0].vibs == vibs


@pytest.mark.parametrize("cell", ["i40en 1.10.6", "=1.10.6", "i40en=", "i40en=1.10.6,i40enu=1.8.1", "i40en==1"])
def test_a_vibs_cell_that_is_not_name_equals_version_is_a_problem(tmp_path: Path, cell: str) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text(f'name,build,vibs\nesx01,18426014,"{cell}"\n', encoding="utf-8")
    expected = "expected 'name=version' entries separated by ';', e.g. 'i40en=1.10.6;i40enu=1.8.1'"
    assert read_inventory(path).problems == (
        ImportProblem(str(path), 2, "vibs", f"cannot read the VIB {cell!r}: {expected}"),
    )


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("name,build,tags\nesx01,18426014,prod;pci\n", "comma"),
        ('name;build;tags\nesx01;18426014;"prod;pci"\n', "semicolon, as Excel writes in many locales"),
        ("name\tbuild\ttags\nesx01\t18426014\tprod;pci\n", "tab"),
    ],
)
def test_our_csv_may_be_separated_by_comma_semicolon_or_tab(tmp_path: Path, text: str, delimiter: str) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text(text, encoding="utf-8")
    assert read_inventory(path).assets == (
        Asset("esx01", AssetKind.ESXI, 18426014, tags=("prod", "pci"), origin=str(path)),
    ), delimiter


def test_a_csv_saved_by_excel_in_windows_1252_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "inventory.csv"
    path.write_bytes("name,build,owner\nesx01,18426014,Équipe réseau\n".encode("cp1252"))
    assert read_inventory(path).assets[0].owner == "Équipe réseau"
