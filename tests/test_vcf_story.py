"""Issue 12, VCF part, through `tracker poll` and `tracker run --once`: a VCF release-notes page is polled as a
`vcf_bom` source, its release is stored with its Bill of Materials, and `tracker builds --product vcf` says which
release contains a build the KB has since pulled ("(Recalled)" on its row).

The pages are tests/fixtures/vcf (release notes) and tests/fixtures/kb (Broadcom KB 316595 with its 9.x tables),
served by the fixture site on 127.0.0.1.
"""

from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.receivers import WebhookReceiver
from tests.support.site import FIXTURES, FixtureSite

ESX_900 = 24755229
KB_ESX = (FIXTURES / "kb" / "broadcom-316595-esxi-9x.html").read_bytes()
# The same page, its ESX 9.0.0.0 row now labelled as recalled: an explicit pull notice.
KB_ESX_RECALLED = KB_ESX.replace(b"VMware ESX 9.0.0.0</a>", b"VMware ESX 9.0.0.0</a> (Recalled)")


def config(site: FixtureSite, folder: Path, extra: str = "") -> Cli:
    path = folder / "tracker.yaml"
    sources = [
        ("esxi-kb", "kb_build_table", "/kb/316595.html", "esxi", ", follow_links: false"),
        ("vcf-900", "vcf_bom", "/vcf/vcf-9-0-0-release-notes.html", "vcf", ""),
        ("vcf-901", "vcf_bom", "/vcf/vcf-9-0-1-release-notes.html", "vcf", ""),
    ]
    lines = [f"database: sqlite:///{folder}/tracker.db", "sources:"]
    lines += [
        f"  - {{id: {sid}, kind: {kind}, url: '{site.url(url)}', product: {product}{extra}}}"
        for sid, kind, url, product, extra in sources
    ]
    path.write_text("\n".join([*lines, "http: {politeness_delay: 0}", extra]), encoding="utf-8")
    return Cli(path)


def replay(site: FixtureSite, folder: Path, command: tuple[str, ...], extra: str = "") -> Cli:
    cli = config(site, folder, extra)
    site.serve("/kb/316595.html", KB_ESX)
    cli(*command, now="2026-08-03T08:00:00Z")
    site.serve("/kb/316595.html", KB_ESX_RECALLED)
    cli(*command, now="2026-08-04T08:00:00Z")
    return cli


@pytest.mark.parametrize("command", [("poll",), ("run", "--once")], ids=["poll", "run-once"])
def test_builds_lists_each_vcf_release_with_its_components_and_the_pulled_esx_it_contains(
    site: FixtureSite, tmp_path: Path, command: tuple[str, ...]
):
    cli = replay(site, tmp_path, command)

    releases = cli.json("builds", "--product", "vcf", now="2026-08-04T08:00:00Z")

    assert [(r["release"], r["release_date"], r["status"]) for r in releases] == [
        ("VCF 9.0.1.0", "2025-09-29", "ok"),
        ("VCF 9.0.0.0", "2025-06-17", "pulled"),
    ]
    older = releases[1]
    assert older["summary"] == f"contains pulled ESX 9.0.0.0 ({ESX_900})"
    assert [(c["label"], c["product"], c["pulled"]) for c in older["components"]] == [
        (f"ESX 9.0.0.0 ({ESX_900})", "esxi", True),
        ("vCenter Server 9.0.0.0 (24755230)", "vcenter", False),
        ("VMware NSX 9.0.0.0", None, False),
    ]
    assert older["notes_url"] == site.url("/vcf/vcf-9-0-0-release-notes.html")
    table = cli("builds", "--product", "vcf", now="2026-08-04T08:00:00Z")
    assert f"contains pulled ESX 9.0.0.0 ({ESX_900})" in table
    assert "VCF 9.0.1.0" in table


def test_a_vcf_source_is_a_vmware_cloud_foundation_source_and_its_page_no_build_table(
    site: FixtureSite, tmp_path: Path
):
    cli = config(site, tmp_path)
    site.serve("/kb/316595.html", KB_ESX)
    cli("poll", now="2026-08-03T08:00:00Z")

    esx_builds = cli.json("builds", "--product", "esxi", now="2026-08-03T08:00:00Z")
    sources = {s["id"]: s for s in cli.json("sources", now="2026-08-03T08:00:00Z")}

    assert ESX_900 in {b["build"] for b in esx_builds}
    assert sources["vcf-900"]["last_error"] is None


@pytest.mark.parametrize("command", [("poll",), ("run", "--once")], ids=["poll", "run-once"])
def test_the_pull_alert_names_the_vcf_releases_that_contain_the_pulled_build(
    site: FixtureSite, tmp_path: Path, command: tuple[str, ...]
):
    with WebhookReceiver() as hook:
        extra = (
            f"channels:\n  ops-hook: {{urls: ['json://{hook.url('/hook').removeprefix('http://')}']}}\n"
            "watchlists:\n  - {name: vcf-esx, owner: vsphere-team, products: [esxi], lines: ['9.0'],\n"
            "     events: [pulled], immediate: [ops-hook]}\n"
        )
        replay(site, tmp_path, command, extra)
        posts = [p.json for p in hook.posts]

    assert [p["title"].split(":")[0] for p in posts] == ["[Release Tracker] PULLED"]
    assert str(ESX_900) in posts[0]["title"]
    assert "In VMware Cloud Foundation: VCF 9.0.0.0" in posts[0]["message"]
    assert "9.0.1.0" not in posts[0]["message"]  # VCF 9.0.1 ships another ESX build
