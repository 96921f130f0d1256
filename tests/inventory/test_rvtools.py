"""RVTools exports: hosts from the vHost tab and vCenters from vSource, as CSV tabs or the XLSX workbook."""

from pathlib import Path

import pytest

from tracker.domain.inventory import Asset, AssetKind, ImportProblem
from tracker.inventory.files import read_inventory

FIXTURES = Path(__file__).parents[1] / "fixtures" / "inventory"
BROKEN = FIXTURES / "broken"

# (host, build, ESX Version, vCenter, datacenter, cluster): the 7.0 U3 story, from 7.0 U2c to the U3c reissue.
HOSTS = [
    ("esx01.example.net", 18426014, "VMware ESXi 7.0.2 build-18426014", "vc01.example.net", "DC-East", "Prod-A"),
    ("esx02.example.net", 18538813, "VMware ESXi 7.0.2 build-18538813", "vc01.example.net", "DC-East", "Prod-A"),
    ("esx03.example.net", 18644231, "VMware ESXi 7.0.3 build-18644231", "vc01.example.net", "DC-East", "Prod-B"),
    ("esx04.example.net", 18825058, "VMware ESXi 7.0.3 build-18825058", "vc01.example.net", "DC-East", "Prod-B"),
    ("esx11.example.net", 18905247, "VMware ESXi 7.0.3 build-18905247", "vc02.example.net", "DC-West", "Edge"),
    ("esx12.example.net", 19193900, "VMware ESXi 7.0.3 build-19193900", "vc02.example.net", "DC-West", "Edge"),
    ("esx13.example.net", 18426014, "VMware ESXi 7.0.2 build-18426014", "vc02.example.net", "DC-West", ""),
]
VCENTERS = [
    ("vc01.example.net", 19234570, "VMware vCenter Server 7.0.3 build-19234570"),
    ("vc02.example.net", 18778458, "VMware vCenter Server 7.0.3 build-18778458"),
]


def hosts(origin: Path) -> tuple[Asset, ...]:
    return tuple(
        Asset(name, AssetKind.ESXI, build, text, vcenter, datacenter, cluster, origin=str(origin))
        for name, build, text, vcenter, datacenter, cluster in HOSTS
    )


def vcenters(origin: Path) -> tuple[Asset, ...]:
    return tuple(Asset(name, AssetKind.VCENTER, build, text, origin=str(origin)) for name, build, text in VCENTERS)


@pytest.mark.parametrize("fmt", ["auto", "rvtools"])
def test_the_vhost_csv_tab_gives_one_esxi_asset_per_host(fmt: str) -> None:
    path = FIXTURES / "RVTools_tabvHost.csv"
    imported = read_inventory(path, fmt)
    assert (imported.problems, imported.warnings) == ((), ())
    assert imported.assets == hosts(path)


def test_the_vsource_csv_tab_gives_the_vcenters_named_after_their_sdk_server_and_skips_direct_host_connections() -> (
    None
):
    path = FIXTURES / "RVTools_tabvSource.csv"
    imported = read_inventory(path)
    assert imported.problems == ()
    assert imported.assets == vcenters(path)  # esx21 (API type HostAgent) is left to vHost


def test_the_workbook_gives_the_hosts_of_vhost_and_the_vcenters_of_vsource_whatever_its_column_order() -> None:
    path = FIXTURES / "RVTools_export.xlsx"
    imported = read_inventory(path)
    assert (imported.problems, imported.warnings) == ((), ())
    assert imported.assets == hosts(path) + vcenters(path)


def test_a_workbook_renamed_to_csv_is_still_read_as_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes((FIXTURES / "RVTools_export.xlsx").read_bytes())
    assert [asset.name for asset in read_inventory(path).assets] == [h[0] for h in HOSTS] + [v[0] for v in VCENTERS]


@pytest.mark.parametrize(
    ("header", "row"),
    [
        ("Host,ESX Version", "esx01,VMware ESXi 7.0.3 build-18644231"),
        ("ESX Version,Cluster,Host", "VMware ESXi 7.0.3 build-18644231,,esx01"),
        ("  host ,esx  version,vi sdk server", "esx01,VMware ESXi 7.0.3 build-18644231,"),
        ("VI SDK Server,Host,Datacenter,ESX Version,Custom Attribute", ",esx01,,VMware ESXi 7.0.3 build-18644231,x"),
    ],
)
def test_vhost_columns_are_found_by_name_in_any_order_case_or_spacing(tmp_path: Path, header: str, row: str) -> None:
    path = tmp_path / "RVTools_tabvHost.csv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-8")
    assert read_inventory(path).assets == (
        Asset("esx01", AssetKind.ESXI, 18644231, "VMware ESXi 7.0.3 build-18644231", origin=str(path)),
    )


def test_a_vhost_tab_without_esx_version_gets_one_problem_naming_the_columns_it_has() -> None:
    path = BROKEN / "RVTools_tabvHost_missing_columns.csv"
    found = "'Host', 'Datacenter', 'Cluster', 'CPU Model', '# Cores', 'Boot time', 'VI SDK Server'"
    assert read_inventory(path).problems == (
        ImportProblem(str(path), 1, None, f"missing column 'ESX Version' (columns found: {found})"),
    )


def test_every_unreadable_esx_version_is_quoted_with_its_row_and_what_was_expected() -> None:
    path = BROKEN / "RVTools_tabvHost_bad_version.csv"
    imported = read_inventory(path)
    expected = "expected e.g. 'VMware ESXi 7.0.3 build-18644231'"
    assert imported.assets == ()
    assert imported.problems == (
        ImportProblem(str(path), 3, "ESX Version", f"cannot read the version 'VMware ESXi 7.0.3': {expected}"),
        ImportProblem(str(path), 5, "ESX Version", f"cannot read the version '7.0 Update 3 (18644231)': {expected}"),
    )


def test_a_host_listed_twice_is_reported_with_both_rows_whatever_its_case() -> None:
    path = BROKEN / "RVTools_tabvHost_duplicates.csv"
    imported = read_inventory(path)
    assert imported.assets == ()
    assert imported.problems == (
        ImportProblem(str(path), 6, "Host", "ESXi host 'esx01.example.net' is listed twice: row 2 and row 6"),
        ImportProblem(str(path), 7, "Host", "ESXi host 'ESX03.EXAMPLE.NET' is listed twice: row 4 and row 7"),
    )


def test_a_disconnected_host_without_a_version_is_imported_with_an_unknown_build_and_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "RVTools_tabvHost.csv"
    path.write_text("Host,ESX Version\nesx01,VMware ESXi 7.0.3 build-18644231\nesx02,\n", encoding="utf-8")
    imported = read_inventory(path)
    assert imported.assets[1] == Asset("esx02", AssetKind.ESXI, None, "", origin=str(path))
    assert imported.warnings == (f"{path}, row 3: no ESX Version, so the build is unknown (disconnected?)",)


def test_a_vcenter_version_in_the_esx_version_column_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "RVTools_tabvHost.csv"
    path.write_text("Host,ESX Version\nesx01,VMware vCenter Server 7.0.3 build-19234570\n", encoding="utf-8")
    assert read_inventory(path).problems == (
        ImportProblem(
            str(path), 2, "ESX Version",
            "cannot read the version 'VMware vCenter Server 7.0.3 build-19234570': expected e.g. "
            "'VMware ESXi 7.0.3 build-18644231'",
        ),
    )  # fmt: skip


def test_a_vsource_tab_without_a_version_column_names_what_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "RVTools_tabvSource.csv"
    path.write_text("Name,API type,VI SDK Server\nVMware vCenter Server,VirtualCenter,vc01\n", encoding="utf-8")
    assert read_inventory(path).problems == (
        ImportProblem(
            str(path), 1, None,
            "missing column 'Fullname' or 'Build' (columns found: 'Name', 'API type', 'VI SDK Server')",
        ),
    )  # fmt: skip


def test_a_vsource_row_with_only_a_build_number_is_a_vcenter_at_that_build(tmp_path: Path) -> None:
    path = tmp_path / "RVTools_tabvSource.csv"
    path.write_text("Name,API type,Build,VI SDK Server\nVMware vCenter Server,VirtualCenter,19234570,vc01\n")
    assert read_inventory(path).assets == (Asset("vc01", AssetKind.VCENTER, 19234570, "19234570", origin=str(path)),)
