"""VMware Tools end to end, as an admin sees it: KB 304809 and the VMSA feed served over real HTTP, VMs' Tools
imported from RVTools' vTools tab, polled with `tracker poll` or `tracker run --once`, read back from
`tracker exposure --json`, and the alert a real webhook receiver got for VMSA-2025-0005 (Tools 12.x below 12.5.1):
the VMs it affects counted per cluster, not listed one by one.

Fixture facts: tests/fixtures/tools/make_tools_fixtures.py (KB 304809 rows, vTools columns) and
tests/fixtures/advisories/README.md (VMSA-2025-0005).
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli
from tests.support.receivers import WebhookReceiver
from tests.support.site import FIXTURES, FixtureSite

TOOLS = FIXTURES / "tools"
ADVISORIES = FIXTURES / "advisories"
KB, FEED = "/kb/304809.html", "/advisories/vmsa.rss"
MARCH, AFTER_VMSA = "2025-03-20T08:00:00Z", "2025-03-26T08:00:00Z"
COMMANDS = [["poll"], ["run", "--once"]]

ITEM = """<item><title>{title}</title><link>{link}</link><description>{title}</description>
<pubDate>{date}</pubDate></item>"""
OLD_ITEM = ITEM.format(
    title="VMSA-2024-0013: VMware ESXi and vCenter Server updates address multiple security vulnerabilities",
    link="/advisories/broadcom-24505.html",
    date="Tue, 25 Jun 2024 00:00:00 GMT",
)
TOOLS_ITEM = ITEM.format(
    title="VMSA-2025-0005: VMware Tools for Windows update addresses an authentication bypass vulnerability",
    link="/advisories/vmsa-2025-0005.html",
    date="Tue, 25 Mar 2025 00:00:00 GMT",
)


def feed(*items: str) -> bytes:
    body = "".join(items)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>VMware Security Advisories</title>'
        f"<link>https://www.vmware.com/security/advisories.html</link><description>VMSA</description>{body}"
        "</channel></rss>"
    ).encode()


def write_config(folder: Path, site: FixtureSite, hook: WebhookReceiver) -> Path:
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{folder}/tracker.db\n"
        "sources:\n"
        f"  - {{id: tools-kb, kind: kb_build_table, url: '{site.url(KB)}', product: tools}}\n"
        f"  - {{id: vmsa, kind: advisory_feed, url: '{site.url(FEED)}', product: tools}}\n"
        "http: {politeness_delay: 0, follow_limit: 500, timeout: 5}\n"
        "channels:\n"
        f"  ops-hook: {{urls: ['json://{hook.url('/hook').removeprefix('http://')}']}}\n"
        "watchlists:\n"
        "  - {name: guests, products: [tools], events: [advisory], immediate: [ops-hook]}\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module", params=COMMANDS, ids=["poll", "run-once"])
def estate(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Cli, WebhookReceiver]]:
    """March 2025: KB 304809 (12.1.5 ... 12.5.1) and a feed without Tools advisories polled, the vTools tab
    imported; then VMSA-2025-0005 published and polled again."""
    folder = tmp_path_factory.mktemp("tools")
    site = FixtureSite().start()
    with WebhookReceiver() as hook:
        cli = Cli(write_config(folder, site, hook))
        site.serve(KB, (TOOLS / "broadcom-304809-tools.html").read_bytes())
        site.serve("/advisories/broadcom-24505.html", (ADVISORIES / "broadcom-24505.html").read_bytes())
        site.serve(FEED, feed(OLD_ITEM))
        cli(*request.param, now=MARCH)
        cli("inventory", "import", str(TOOLS / "RVTools_tabvTools.csv"), now=MARCH)
        site.serve("/advisories/vmsa-2025-0005.html", (ADVISORIES / "vmsa-2025-0005-tools.html").read_bytes())
        site.serve(FEED, feed(TOOLS_ITEM, OLD_ITEM))
        cli(*request.param, now=AFTER_VMSA)
        try:
            yield cli, hook
        finally:
            site.stop()


def exposure(cli: Cli, now: str = AFTER_VMSA) -> dict[str, dict[str, Any]]:
    return {row["asset"]: row for row in cli.json("exposure", now=now)}


def test_the_kb_puts_every_tools_release_in_the_catalog(estate: tuple[Cli, WebhookReceiver]):
    cli, _ = estate
    builds = {row["build"]: row["release"] for row in cli.json("builds", "--product", "tools", now=AFTER_VMSA)}
    assert builds[24649672] == "VMware Tools 12.5.1"
    assert builds[22544099] == "VMware Tools 12.3.5"
    assert len(builds) == 9


def test_the_tools_advisory_marks_the_vms_below_its_fix_vulnerable(estate: tuple[Cli, WebhookReceiver]):
    cli, _ = estate
    rows = exposure(cli)
    vulnerable = {name for name, row in rows.items() if "VMSA-2025-0005" in row["advisories"]}
    assert vulnerable == {f"app-{i:02d}" for i in range(12)} | {"db-01"}  # 12.3.5 and 12.2.0; db-02 runs 12.5.2
    app = rows["app-00"]
    assert app["kind"] == "vm" and app["release"] == "VMware Tools 12.3.5"
    assert "vulnerable" in app["statuses"] and app["severity"] == "important"
    assert app["recommended_build"] is None  # 12.5.1 (03/25/2025) is in its cooldown; nothing older fixes it
    assert "VMware Tools 12.5.0 (24276846) does not fix VMSA-2025-0005" in app["hold"]
    assert "VMware Tools 12.5.1 (24649672) is in its 7-day cooldown until 2025-04-01" in app["hold"]
    later = exposure(cli, now="2025-04-02T08:00:00Z")["app-00"]
    assert (later["recommended_release"], later["recommended_build"]) == ("VMware Tools 12.5.1", 24649672)


def test_a_tools_version_the_catalog_does_not_know_is_reported_not_placed(estate: tuple[Cli, WebhookReceiver]):
    cli, _ = estate
    rows = exposure(cli)
    lab = rows["lab-01"]  # toolsVersion 12453 is 12.5.5, which KB 304809 does not list
    assert lab["statuses"] == ["unknown_build"]
    assert "VMware Tools 12.5.5 (reported as '12453') is not in the catalog" in lab["reasons"]
    assert rows["db-02"]["statuses"] == ["unknown_build"]  # 12.5.2 is not in March's KB either
    assert rows["linux-01"]["statuses"] == ["unknown_build"]  # open-vm-tools: no version to place
    assert rows["linux-01"]["reasons"] == ["no version reported"]


def test_the_alert_counts_the_vms_per_cluster(estate: tuple[Cli, WebhookReceiver]):
    _, hook = estate
    posts = [p.json for p in hook.posts]
    assert len(posts) == 1, posts
    message = posts[0]["message"]
    assert "VMSA-2025-0005" in posts[0]["title"]
    assert "12 VMs in cluster prod-a (vc01.example.com)" in message
    assert "1 VM in cluster prod-b (vc01.example.com)" in message
    assert "app-00" not in message  # counted, not listed
    assert "13 of your VMs affected" in message or "Affected in watchlist guests: 13" in message
