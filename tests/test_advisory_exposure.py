"""Advisories through the CLI, as an admin sees them: the KB table of the 7.0 U3 story and one advisory page served
over real HTTP, polled with `tracker poll` or `tracker run --once`, read back from `tracker exposure --json`,
`tracker sources` and `tracker events --json`.

- A Response Matrix cell naming one fixed build per update line (VMSA-2022-0004 on 7.0: U3c, U2e, U1e) makes every
  host below its own line's fix vulnerable, and no host at or above it.
- A fixed version that cannot be mapped to a build is an `advisory_unmapped` warning on the source, never a
  harmless-looking advisory.
- A revision that changes the fixed builds changes which hosts are vulnerable.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli
from tests.support.site import FIXTURES, FixtureSite

ADVISORIES = FIXTURES / "advisories"
PAGE = "/security/advisories/VMSA-2022-0004.html"
U1D, U1E, U2D, U2E, U3A, U3C, GA = 17551050, 19324898, 18538813, 19290878, 18825058, 19193900, 15843807
INVENTORY = f"""name,kind,build,version,vcenter,datacenter,cluster,tags,owner,vibs
esx-ga.example.com,esxi,{GA},,vc-01,dc-berlin,prod-a,,team-a,
esx-u1d.example.com,esxi,{U1D},,vc-01,dc-berlin,prod-a,,team-a,
esx-u1e.example.com,esxi,{U1E},,vc-01,dc-berlin,prod-a,,team-a,
esx-u2d.example.com,esxi,{U2D},,vc-01,dc-berlin,prod-b,,team-b,
esx-u2e.example.com,esxi,{U2E},,vc-01,dc-berlin,prod-b,,team-b,
esx-u3a.example.com,esxi,{U3A},,vc-01,dc-berlin,prod-c,,team-c,
esx-u3c.example.com,esxi,{U3C},,vc-01,dc-berlin,prod-c,,team-c,
"""
COMMANDS = [["poll"], ["run", "--once"]]
OCTOBER, FEBRUARY, MARCH = "2021-10-29T08:00:00Z", "2022-02-16T08:00:00Z", "2022-03-01T08:00:00Z"


def write_config(folder: Path, site: FixtureSite, with_advisories: bool) -> Path:
    sources = f"  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi}}\n"
    if with_advisories:
        sources += f"  - {{id: vmsa, kind: advisory_feed, url: '{site.url(PAGE)}', product: esxi}}\n"
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: 'sqlite:///{folder}/tracker.db'\nsources:\n{sources}"
        "http: {politeness_delay: 0, follow_limit: 500, timeout: 5}\n",
        encoding="utf-8",
    )
    return config


def advisory_page(cell: str, name: str = "vmsa-2022-0004-per-update.html") -> bytes:
    return (ADVISORIES / name).read_bytes().replace(b"{FIXED}", cell.encode())


def estate(site: FixtureSite, folder: Path, command: list[str], page: bytes) -> Cli:
    """The KB polled in October 2021 (7.0 U3a listed) and February 2022 (U3c, U2e, U1e listed), the advisory
    source added for February's cycle (its first poll: recorded silently, and counted for exposure)."""
    site.stage("03-2021-10-29")
    cli = Cli(write_config(folder, site, with_advisories=False))
    cli(*command, now=OCTOBER)
    (folder / "hosts.csv").write_text(INVENTORY, encoding="utf-8")
    cli("inventory", "import", str(folder / "hosts.csv"), now=OCTOBER)
    site.stage("10-2022-02-16")
    site.serve(PAGE, page)
    write_config(folder, site, with_advisories=True)
    cli(*command, now=FEBRUARY)
    return cli


def exposure(cli: Cli, now: str = FEBRUARY) -> dict[str, dict[str, Any]]:
    return {row["asset"].split(".")[0]: row for row in cli.json("exposure", now=now)}


def vulnerable(rows: dict[str, dict[str, Any]]) -> dict[str, int | None]:
    """Host -> the recommended build, for the hosts VMSA-2022-0004 makes vulnerable."""
    return {
        name: row["recommended_build"]
        for name, row in sorted(rows.items())
        if "vulnerable" in row["statuses"] and "VMSA-2022-0004" in " ".join(row["advisories"])
    }


def source_warnings(cli: Cli, now: str = FEBRUARY) -> dict[str, list[str]]:
    return {item["id"]: item["warnings"] for item in cli.json("sources", now=now)}


# --- one fixed build per update line ---------------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    "cell",
    [
        "ESXi70U3c-19193900, ESXi70U2e-19290878, ESXi70U1e-19324898",
        "<p>ESXi70U3c-19193900</p><p>ESXi70U2e-19290878</p><p>ESXi70U1e-19324898</p>",
        "ESXi70U3c-19193900 (7.0 U3c)<br>ESXi70U2e-19290878 (7.0 U2e)<br>ESXi70U1e-19324898 (7.0 U1e)",
    ],
    ids=["commas", "paragraphs", "notes"],
)
def test_every_host_below_its_own_update_lines_fix_is_vulnerable_and_steered_to_a_build_that_fixes_it(
    site: FixtureSite, tmp_path: Path, command: list[str], cell: str
):
    cli = estate(site, tmp_path, command, advisory_page(cell))
    rows = exposure(cli)
    # 7.0 GA names no fix of its own and sits below every fixed update line: vulnerable too. U1e and U2e are in
    # their 7-day cooldown on 2022-02-16, so each host is steered to 7.0 U3c, which fixes every line.
    assert vulnerable(rows) == {"esx-ga": U3C, "esx-u1d": U3C, "esx-u2d": U3C, "esx-u3a": U3C}
    for fixed in ("esx-u1e", "esx-u2e", "esx-u3c"):
        assert "vulnerable" not in rows[fixed]["statuses"], rows[fixed]
    assert rows["esx-u2d"]["severity"] == "critical"


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        # 7.0 U1 is named by no fix and sits below the fixed U2 and U3 lines: vulnerable, even on U1e.
        ("ESXi70U3c-19193900<br>ESXi70U2e-19290878", {"esx-ga", "esx-u1d", "esx-u1e", "esx-u2d", "esx-u3a"}),
        # 7.0 U3 is above every fixed line: the advisory would name a U3 fix if U3 needed one.
        ("ESXi70U2e-19290878<br>ESXi70U1e-19324898", {"esx-ga", "esx-u1d", "esx-u2d"}),
    ],
    ids=["no-U1-fix", "no-U3-fix"],
)
def test_a_host_on_an_update_line_the_cell_does_not_name_is_judged_by_the_fixed_lines_around_it(
    site: FixtureSite, tmp_path: Path, command: list[str], cell: str, expected: set[str]
):
    cli = estate(site, tmp_path, command, advisory_page(cell))
    assert set(vulnerable(exposure(cli, now=MARCH))) == expected


# --- advisory_unmapped -----------------------------------------------------------------------------------------
UNMAPPED = "advisory_unmapped: VMSA-2024-0013.1 ESXi 7.0 fixed in 'ESXi 7.0 hot-patch HP-4711'"


@pytest.mark.parametrize("command", COMMANDS)
def test_a_fixed_version_that_cannot_be_mapped_is_a_warning_on_the_source_and_on_the_hosts_of_its_line(
    site: FixtureSite, tmp_path: Path, command: list[str]
):
    cli = estate(site, tmp_path, command, (ADVISORIES / "unknown-fixed-version.html").read_bytes())
    [warning] = source_warnings(cli)["vmsa"]
    assert warning == f"{UNMAPPED}: a spelling the tracker cannot read"
    assert source_warnings(cli)["esxi-kb"] == []
    table = cli("sources", now=FEBRUARY)
    assert "(1 warning)" in table and f"warning vmsa: {UNMAPPED}" in " ".join(table.split())
    u2d = exposure(cli)["esx-u2d"]
    assert any(
        r.startswith("VMSA-2024-0013.1 (important) names a fix for ESXi 7.0 that could not be mapped")
        for r in u2d["reasons"]
    ), u2d
    health = json.loads(cli("health", "--json", now=FEBRUARY, code=3))  # loud in the health check too
    assert {"subject": "advisories of vmsa", "reason": warning, "since": None, "source": "vmsa"} in health["problems"]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_6x_bulletin_is_placed_through_its_months_patch_release_and_one_the_catalog_lacks_is_unmapped(
    site: FixtureSite, tmp_path: Path, command: list[str]
):
    # The KB lists ESXi670-202111001 (6.7 P06, 18828794), so the 6.7 bulletin ESXi670-202111101-SG is placed; it
    # has no 6.5 table, so ESXi650-202202401-SG (which names no build number) stays unmapped, loudly.
    cli = estate(site, tmp_path, command, advisory_page("ESXi70U3c-19193900"))
    assert source_warnings(cli)["vmsa"] == [
        "advisory_unmapped: VMSA-2022-0004 ESXi 6.5 fixed in 'ESXi650-202202401-SG': no patch release of that "
        "month is in the catalog yet"
    ]


# --- revisions -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS)
def test_a_revision_that_adds_fixed_builds_re_assesses_which_hosts_are_vulnerable(
    site: FixtureSite, tmp_path: Path, command: list[str]
):
    cli = estate(site, tmp_path, command, advisory_page("ESXi70U3c-19193900"))
    before = vulnerable(exposure(cli, now=MARCH))
    assert set(before) == {"esx-ga", "esx-u1d", "esx-u1e", "esx-u2d", "esx-u2e", "esx-u3a"}
    revised = advisory_page("ESXi70U3c-19193900<br>ESXi70U2e-19290878<br>ESXi70U1e-19324898")
    site.serve(PAGE, revised.replace(b"VMSA-2022-0004</div>", b"VMSA-2022-0004.1</div>"))
    cli(*command, now=MARCH)
    after = vulnerable(exposure(cli, now=MARCH))
    assert set(after) == {"esx-ga", "esx-u1d", "esx-u2d", "esx-u3a"}  # the U1e and U2e hosts are fixed now
    [event] = [e for e in cli.json("events", now=MARCH) if e["kind"] == "advisory"]
    assert event["release"] == "VMSA-2022-0004.1" and event["observed_at"].startswith("2022-03-01")
    assert [row["advisories"] for name, row in exposure(cli, now=MARCH).items() if name == "esx-u2d"] == [
        ["VMSA-2022-0004.1"]
    ]


@pytest.mark.parametrize("command", COMMANDS)
def test_a_revision_that_moves_a_fix_to_a_newer_build_makes_the_hosts_on_the_old_fix_vulnerable(
    site: FixtureSite, tmp_path: Path, command: list[str]
):
    cli = estate(site, tmp_path, command, advisory_page("ESXi70U3c-19193900<br>ESXi70U2e-19290878"))
    assert "esx-u3c" not in vulnerable(exposure(cli, now=MARCH))
    revised = advisory_page("ESXi70U3d-19482537<br>ESXi70U2e-19290878")  # 7.0 U3d: 2022-03-29, not listed yet
    site.serve(PAGE, revised.replace(b"VMSA-2022-0004</div>", b"VMSA-2022-0004.1</div>"))
    cli(*command, now=MARCH)
    u3c = exposure(cli, now=MARCH)["esx-u3c"]
    assert ("vulnerable" in u3c["statuses"], u3c["advisories"]) == (True, ["VMSA-2022-0004.1"])
    assert u3c["recommended_build"] is None
    assert u3c["hold"].startswith("hold: no safe target yet"), u3c
