"""Real advisory pages through the service, as an admin meets them: the KB tables of the 7.0 U3 story and an
advisory page written the way the vendor writes it (tests/fixtures/advisories/real), served over real HTTP, polled
with `tracker poll` and with `tracker run --once`, read back from `tracker exposure --json`, `tracker sources
--json`, `tracker events --json` and `tracker health`.

- The vendor heads the matrix "VMware Product": its hosts are vulnerable, and the 6.7 bulletin is placed.
- "Patch Pending" makes every host of the line vulnerable with the hold "no fix published yet"; the revision that
  names the fix gives them their target, and its event says the fix was published.
- A matrix that cannot be read is a warning on the source and a `tracker health` problem naming the advisory.
- A host whose target needs a newer vCenter than the one managing it is told to upgrade that vCenter first.
- The KB 86287 caveat sits next to the target.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli
from tests.support.site import FIXTURES, FixtureSite

REAL = FIXTURES / "advisories" / "real"
PAGE = "/security/advisories/advisory.html"
COMMANDS = [["poll"], ["run", "--once"]]
OCTOBER, DECEMBER, FEBRUARY = "2021-10-29T08:00:00Z", "2021-12-22T08:00:00Z", "2022-02-16T08:00:00Z"
VC_U2D, VC_U3, VC_U3C = 18455184, 18700403, 19234570
INVENTORY = f"""name,kind,build,version,vcenter,datacenter,cluster,tags,owner,vibs
vc-old.example.com,vcenter,{VC_U2D},,vc-old.example.com,dc-berlin,,,team-a,
vc-new.example.com,vcenter,{VC_U3},,vc-new.example.com,dc-berlin,,,team-a,
esx-old-vc.example.com,esxi,18538813,,vc-old.example.com,dc-berlin,prod-a,,team-a,
esx-new-vc.example.com,esxi,18538813,,vc-new.example.com,dc-berlin,prod-b,,team-b,i40en=1.10.6;i40enu=1.8.1.136
esx-67.example.com,esxi,17700523,,vc-old.example.com,dc-berlin,legacy,,team-c,
"""


def write_config(folder: Path, site: FixtureSite, advisories: bool) -> Path:
    sources = (
        f"  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi}}\n"
        f"  - {{id: vcenter-kb, kind: kb_build_table, url: '{site.url('/kb/326316.html')}', product: vcenter}}\n"
    )
    if advisories:
        sources += f"  - {{id: vmsa, kind: advisory_feed, url: '{site.url(PAGE)}', product: esxi}}\n"
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: 'sqlite:///{folder}/tracker.db'\nsources:\n{sources}"
        "http: {politeness_delay: 0, follow_limit: 500, timeout: 5}\n",
        encoding="utf-8",
    )
    return config


def estate(site: FixtureSite, folder: Path, command: list[str], page: bytes, stage: str, now: str) -> Cli:
    """The KB tables polled in October 2021, the inventory imported, then the advisory source added for `now`'s
    cycle (its first poll: recorded silently, and counted for exposure)."""
    site.stage("03-2021-10-29")
    cli = Cli(write_config(folder, site, advisories=False))
    cli(*command, now=OCTOBER)
    (folder / "hosts.csv").write_text(INVENTORY, encoding="utf-8")
    cli("inventory", "import", str(folder / "hosts.csv"), now=OCTOBER)
    site.stage(stage)
    site.serve(PAGE, page)
    write_config(folder, site, advisories=True)
    cli(*command, now=now)
    return cli


def exposure(cli: Cli, now: str) -> dict[str, dict[str, Any]]:
    return {row["asset"].split(".")[0]: row for row in cli.json("exposure", now=now)}


def warnings(cli: Cli, now: str) -> dict[str, list[str]]:
    return {item["id"]: item["warnings"] for item in cli.json("sources", now=now)}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_vmware_product_matrix_makes_its_hosts_vulnerable_and_places_the_6x_bulletin(
    site: FixtureSite, tmp_path: Path, command: list[str]
):
    cli = estate(site, tmp_path, command, (REAL / "vmsa-2022-0004.html").read_bytes(), "10-2022-02-16", FEBRUARY)
    rows = exposure(cli, FEBRUARY)
    for host in ("esx-old-vc", "esx-new-vc", "esx-67"):
        assert "vulnerable" in rows[host]["statuses"] and rows[host]["advisories"] == ["VMSA-2022-0004"], rows[host]
        assert rows[host]["severity"] == "critical"
    # ESXi670-202111101-SG ships in ESXi670-202111001 (18828794); the newest 6.7 patch past its cooldown fixes it too
    assert rows["esx-67"]["recommended_build"] == 19195723  # ESXi670-202201001, never the 2019 6.7 U3b
    # the story's KB has no 6.5 table: the 6.5 bulletins are the fixed versions left unmapped, and they say so
    assert sorted(warnings(cli, FEBRUARY)["vmsa"]) == [
        f"advisory_unmapped: VMSA-2022-0004 ESXi 6.5 fixed in {bulletin!r}: no patch release of that month is in "
        "the catalog yet"
        for bulletin in ("ESXi650-202110101-SG", "ESXi650-202202401-SG")
    ]


@pytest.mark.parametrize("command", COMMANDS)
def test_patch_pending_holds_every_vcenter_of_the_line_until_a_revision_names_the_fix(
    site: FixtureSite, tmp_path: Path, command: list[str]
):
    cli = estate(site, tmp_path, command, (REAL / "vmsa-2021-0028.0.html").read_bytes(), "08-2021-11-23", DECEMBER)
    rows = exposure(cli, DECEMBER)
    for vcenter in ("vc-old", "vc-new"):
        row = rows[vcenter]
        assert ("vulnerable" in row["statuses"], row["severity"], row["recommended_build"]) == (True, "critical", None)
        assert row["hold"] == "hold: no fix published yet (VMSA-2021-0028, Patch Pending)"
        assert "VMSA-2021-0028 (critical) affects it: no fix published yet (Patch Pending)" in row["reasons"]
    assert "vulnerable" not in rows["esx-old-vc"]["statuses"]  # ESXi: "Unaffected"
    assert warnings(cli, DECEMBER)["vmsa"] == []  # no fix yet is a finding, not a page the tracker cannot read
    cli("health", now=DECEMBER)

    site.stage("10-2022-02-16")
    site.serve(PAGE, (REAL / "vmsa-2021-0028.final.html").read_bytes())
    cli(*command, now=FEBRUARY)
    [revised] = [e for e in cli.json("events", now=FEBRUARY) if e["kind"] == "advisory"]
    assert "fix published: vCenter Server 7.0 fixed in 7.0U3c, vCenter Server 6.7 fixed in 6.7 U3q" in revised["detail"]
    rows = exposure(cli, FEBRUARY)
    for vcenter in ("vc-old", "vc-new"):
        assert (rows[vcenter]["recommended_build"], rows[vcenter]["hold"]) == (VC_U3C, None), rows[vcenter]
        assert "vulnerable" in rows[vcenter]["statuses"]  # still below the fix until it is applied


@pytest.mark.parametrize("command", COMMANDS)
def test_a_matrix_that_cannot_be_read_is_a_source_warning_a_health_problem_and_a_reason_on_its_lines_hosts(
    site: FixtureSite, tmp_path: Path, command: list[str]
):
    page = (REAL / "vmsa-2022-0004.html").read_bytes().replace(b"<th>Fixed Version</th>", b"<th>Korrektur</th>")
    page = page.replace(b"<th>VMware Product</th>", b"<th>Produkt</th>")
    cli = estate(site, tmp_path, command, page, "10-2022-02-16", FEBRUARY)
    [unread] = [w for w in warnings(cli, FEBRUARY)["vmsa"] if w.startswith("advisory_unreadable")]
    assert unread.startswith("advisory_unreadable: VMSA-2022-0004 (critical): fixes unknown: a Response Matrix")
    health = json.loads(cli("health", "--json", now=FEBRUARY, code=3))
    assert {"subject": "advisories of vmsa", "reason": unread, "since": None, "source": "vmsa"} in health["problems"]
    assert "VMSA-2022-0004" in cli("health", now=FEBRUARY, code=3)
    host = exposure(cli, FEBRUARY)["esx-old-vc"]
    assert any(r.startswith("VMSA-2022-0004 (critical) may affect it: fixes unknown") for r in host["reasons"])
    [event] = [e for e in cli.json("events", now=FEBRUARY) if e["kind"] == "advisory"] or [None]
    assert event is None  # a first poll is silent; the warning above is what tells


@pytest.mark.parametrize("command", COMMANDS)
def test_a_host_whose_target_needs_a_newer_vcenter_is_told_to_upgrade_that_vcenter_first(
    site: FixtureSite, tmp_path: Path, command: list[str]
):
    cli = estate(site, tmp_path, command, (REAL / "vmsa-2022-0004.html").read_bytes(), "10-2022-02-16", FEBRUARY)
    rows = exposure(cli, FEBRUARY)
    held = rows["esx-old-vc"]  # target ESXi 7.0 U3c, managed by a vCenter on 7.0 U2d
    assert held["recommended_build"] == 19193900
    assert held["hold"] == "hold: upgrade vCenter vc-old.example.com to 7.0 U3c (7.0.3.00300) first"
    assert any(
        r.startswith("upgrade vCenter vc-old.example.com to 7.0 U3c (7.0.3.00300) first: it runs 7.0 U2d")
        for r in held["reasons"]
    )
    free = rows["esx-new-vc"]  # the same target, managed by a vCenter on 7.0 U3
    assert (free["recommended_build"], free["hold"]) == (19193900, None)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_kb_86287_caveat_sits_next_to_the_target(site: FixtureSite, tmp_path: Path, command: list[str]):
    cli = estate(site, tmp_path, command, (REAL / "vmsa-2022-0004.html").read_bytes(), "10-2022-02-16", FEBRUARY)
    row = exposure(cli, FEBRUARY)["esx-new-vc"]  # carries both i40en and i40enu
    [caveat] = row["caveats"]
    assert caveat.startswith("KB 86287: carries both the i40en and i40enu VIBs")
    assert row["advice"] == f"upgrade to ESXi 7.0 U3c (19193900); caveat {caveat}"
    assert exposure(cli, FEBRUARY)["esx-old-vc"]["caveats"] == []
