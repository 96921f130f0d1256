"""RVTools' vTools tab: each VM's VMware Tools, as a CSV tab or a workbook sheet, and VMs from a live vCenter."""

import csv
from collections.abc import Callable
from pathlib import Path

from openpyxl import Workbook

from tests.fixtures.tools.make_tools_fixtures import COLUMNS, _vm
from tests.support.cli import Cli
from tests.support.site import FIXTURES, FixtureSite
from tests.support.vcsim import Vcsim
from tracker.domain.inventory import Asset, AssetKind
from tracker.inventory.files import read_inventory
from tracker.inventory.vcenter import read_vcenter

TOOLS, ADVISORIES = FIXTURES / "tools", FIXTURES / "advisories"
VTOOLS = TOOLS / "RVTools_tabvTools.csv"


def vm(name: str, number: str, cluster: str, origin: Path) -> Asset:
    return Asset(name, AssetKind.VM, None, number, "vc01.example.com", "DC1", cluster, origin=str(origin))


def write_tab(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_the_vtools_tab_gives_one_vm_asset_per_vm_with_its_toolsversion_and_cluster():
    result = read_inventory(VTOOLS)
    assert result.ok, result.problems
    by_name = {a.name: a for a in result.assets}
    assert len(by_name) == 17 and all(a.kind is AssetKind.VM for a in by_name.values())
    assert by_name["app-00"] == vm("app-00", "12389", "prod-a", VTOOLS)
    assert by_name["db-01"] == vm("db-01", "12352", "prod-b", VTOOLS)
    assert by_name["app-00"].reported is not None and str(by_name["app-00"].reported) == "VMware Tools 12.3.5"


def test_vms_without_a_managed_tools_version_are_imported_unknown_with_a_warning_naming_why():
    result = read_inventory(VTOOLS)
    by_name = {a.name: a for a in result.assets}
    assert by_name["linux-01"].version_text == "" and by_name["template-w2022"].version_text == ""
    warnings = "\n".join(result.warnings)
    assert "row 16: VM linux-01: toolsVersion 2147483647: Tools not managed by the platform" in warnings
    assert "row 17: VM template-w2022: toolsVersion 0: VMware Tools is not installed" in warnings


def test_a_tools_version_cell_that_is_no_number_is_a_problem_of_its_row(tmp_path: Path):
    path = write_tab(
        tmp_path / "RVTools_tabvTools.csv",
        [_vm("ok-01", "toolsOk", "12448", "c", "h"), _vm("bad", "toolsOk", "twelve", "c", "h")],
    )
    result = read_inventory(path)
    assert not result.ok
    [problem] = result.problems
    assert (problem.row, problem.column) == (3, "Tools Version")
    assert "'twelve' is no VMware Tools version" in problem.message


def test_a_vm_listed_twice_is_reported_with_both_rows(tmp_path: Path):
    row = _vm("app-01", "toolsOk", "12448", "c", "h")
    result = read_inventory(write_tab(tmp_path / "RVTools_tabvTools.csv", [row, {**row, "VM": "APP-01"}]))
    assert [str(p) for p in result.problems] == [
        f"{tmp_path / 'RVTools_tabvTools.csv'}, row 3, column 'VM': VM 'APP-01' is listed twice: row 2 and row 3"
    ]


def test_a_workbook_gives_the_hosts_of_vhost_and_the_vms_of_vtools(tmp_path: Path):
    book = Workbook()
    hosts = book.active
    hosts.title = "vHost"
    hosts.append(["Host", "Cluster", "ESX Version", "VI SDK Server"])
    hosts.append(["esx01.example.com", "prod-a", "VMware ESXi 8.0.3 build-24022510", "vc01.example.com"])
    tools = book.create_sheet("vTools")
    tools.append(["VM", "Tools", "Tools Version", "Required Version", "Cluster", "Host", "VI SDK Server"])
    tools.append(["app-00", "toolsOld", 12389, 12450, "prod-a", "esx01.example.com", "vc01.example.com"])  # numbers
    path = tmp_path / "RVTools_export.xlsx"
    book.save(path)
    result = read_inventory(path)
    assert result.ok, result.problems
    assert [(a.kind, a.name, a.version_text, a.cluster) for a in result.assets] == [
        (AssetKind.ESXI, "esx01.example.com", "VMware ESXi 8.0.3 build-24022510", "prod-a"),
        (AssetKind.VM, "app-00", "12389", "prod-a"),
    ]


def test_a_vcenter_gives_its_vms_with_their_toolsversion_in_their_hosts_cluster(vcsim: Callable[..., Vcsim]):
    sim = vcsim(
        hosts={"esx-01": "8.0.3:24022510", "esx-02": "8.0.3:24022510"},
        clusters=2,
        vms={"app-02": "esx-02:12448", "app-01": "esx-01:12389", "linux-01": "esx-01:2147483647"},
    )
    result = read_vcenter("vc01", host=sim.host, port=sim.port, user=sim.user, password=sim.password, verify_tls=False)
    assert not result.problems
    vms = [
        (a.name, a.version_text, a.cluster, a.datacenter, a.vcenter) for a in result.assets if a.kind is AssetKind.VM
    ]
    assert vms == [
        ("app-01", "12389", "DC0_C0", "DC0", "vc01"),
        ("app-02", "12448", "DC0_C1", "DC0", "vc01"),
        ("linux-01", "", "DC0_C0", "DC0", "vc01"),
    ]
    assert any("vm linux-01: toolsVersion 2147483647: Tools not managed by the platform" in w for w in result.warnings)


def test_vms_synced_from_a_vcenter_are_marked_by_a_tools_advisory_in_tracker_exposure(
    vcsim: Callable[..., Vcsim], tmp_path: Path
):
    sim = vcsim(hosts={"esx-01": "8.0.3:24022510"}, vms={"app-01": "esx-01:12389", "app-02": "esx-01:12450"})
    site = FixtureSite().start()
    try:
        site.serve("/kb/304809.html", (TOOLS / "broadcom-304809-tools-1252.html").read_bytes())
        site.serve("/VMSA-2025-0005.html", (ADVISORIES / "vmsa-2025-0005-tools.html").read_bytes())
        config = tmp_path / "tracker.yaml"
        config.write_text(
            f"database: sqlite:///{tmp_path}/tracker.db\nsources:\n"
            f"  - {{id: tools-kb, kind: kb_build_table, url: '{site.url('/kb/304809.html')}', product: tools}}\n"
            f"  - {{id: vmsa, kind: advisory_feed, url: '{site.url('/VMSA-2025-0005.html')}', product: tools}}\n"
            "http: {politeness_delay: 0, timeout: 5}\n"
            f"vcenters:\n  vc-lab: {{host: {sim.host}, port: {sim.port}, user: {sim.user},"
            f" password: '{sim.password}', verify_tls: false}}\n",
            encoding="utf-8",
        )
        cli = Cli(config)
        cli("poll", now="2025-06-01T08:00:00Z")
        cli("inventory", "sync-vcenter", "vc-lab", now="2025-06-01T08:00:00Z")
        rows = {r["asset"]: r for r in cli.json("exposure", now="2025-06-01T08:00:00Z")}
    finally:
        site.stop()
    assert rows["app-01"]["release"] == "VMware Tools 12.3.5" and rows["app-01"]["advisories"] == ["VMSA-2025-0005"]
    assert rows["app-01"]["cluster"] == "DC0_C0" and rows["app-01"]["vcenter"] == "vc-lab"
    assert (rows["app-01"]["recommended_release"], rows["app-01"]["recommended_build"]) == (
        "VMware Tools 12.5.2",
        24697584,
    )
    assert rows["app-02"]["statuses"] == ["ok"] and rows["app-02"]["advisories"] == []  # 12.5.2: fixed, newest
