"""Issue 12 through `tracker poll` and `tracker run --once`: the 2018 recalls replay with their reissues linked, and
a KB page that adds real-shaped 9.x tables announces every 9.x build it lists and nothing else.

The pages come from tests/fixtures/make_kb9_fixtures.py (which names each build's public source), served by the
fixture site on 127.0.0.1; release-notes links are not followed (they point at techdocs.broadcom.com).
"""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli
from tests.support.site import FIXTURES, FixtureSite

RECALLS = [
    ("01-2018-01-05", "2018-01-05T08:00:00Z"),  # the baseline
    ("02-2018-01-10", "2018-01-10T08:00:00Z"),  # 6.5 U1e, 6.0 U3d, 5.5 U3g appear
    ("03-2018-01-13", "2018-01-13T08:00:00Z"),  # their rows say "(Recalled)"
    ("04-2018-03-21", "2018-03-21T08:00:00Z"),  # the replacements: "ESXi 6.5 U1g | ESXi650-201803001" ...
]
U1E, U3D, U3G = 7526125, 7504637, 7504623
U1G, U3E, U3H = 7967591, 7967664, 7967571
ESX_9X = [25370933, 25148076, 24957456, 24813472, 24755229]
VCENTER_9X = [25370922, 25148086, 24957454, 24755230]


def config(folder: Path, sources: list[tuple[str, str, str]]) -> Cli:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tracker.yaml"
    lines = [f"database: sqlite:///{folder}/tracker.db", "sources:"]
    lines += [
        f"  - {{id: {sid}, kind: kb_build_table, url: '{url}', product: {product}, follow_links: false}}"
        for sid, url, product in sources
    ]
    path.write_text("\n".join([*lines, "http: {politeness_delay: 0}", ""]), encoding="utf-8")
    return Cli(path)


def events(cli: Cli, now: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = cli.json("events", now=now)
    return [e for e in found if e["build"]]  # source-health events carry no build


def kinds(found: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return sorted((e["kind"], e["build"]) for e in found)


# --- the 2018 recalls ------------------------------------------------------------------------------------------
def replay_recalls(site: FixtureSite, folder: Path, command: tuple[str, ...]) -> Cli:
    cli = config(folder, [("esxi-kb", site.url("/kb/2143832.html"), "esxi")])
    for stage, now in RECALLS:
        site.use(f"kb9-recalls-2018/{stage}")
        cli(*command, now=now)
    return cli


@pytest.mark.parametrize("command", [("poll",), ("run", "--once")], ids=["poll", "run-once"])
def test_the_2018_recalls_replay_with_reissues_linked(site: FixtureSite, tmp_path: Path, command: tuple[str, ...]):
    cli = replay_recalls(site, tmp_path, command)
    found = events(cli, RECALLS[-1][1])
    recalled, replacements = (U1E, U3D, U3G), (U1G, U3E, U3H)
    assert kinds(found) == sorted(
        [*(("new", b) for b in recalled), *(("pulled", b) for b in recalled), *(("reissued", b) for b in replacements)]
    )
    reissues = {e["build"]: e for e in found if e["kind"] == "reissued"}
    assert {b: e["replaces"] for b, e in reissues.items()} == {U1G: [U1E], U3E: [U3D], U3H: [U3G]}
    assert {b: e["release"] for b, e in reissues.items()} == {
        # in U1e's line, as its Version column says, with the patch id the Release Name column gives (it orders
        # 6.x patch releases); 6.0 patch rows no longer land on update 0
        U1G: "ESXi 6.5 U1g (ESXi650-201803001)",
        U3E: "ESXi 6.0 U3e (ESXi600-201803001)",
        U3H: "ESXi 5.5 U3h (ESXi550-201803001)",
    }
    pulled = {e["build"]: e for e in found if e["kind"] == "pulled"}
    assert {b: (e["confidence"], e["replaced_by"]) for b, e in pulled.items()} == {
        U1E: ("high", U1G),
        U3D: ("high", U3E),
        U3G: ("high", U3H),
    }


def test_poll_and_run_once_replay_the_2018_recalls_into_the_same_events(site: FixtureSite, tmp_path: Path):
    def story(folder: str, command: tuple[str, ...]) -> list[tuple[str, int, str, Any]]:
        found = events(replay_recalls(site, tmp_path / folder, command), RECALLS[-1][1])
        return sorted((e["kind"], e["build"], e["observed_at"], e["replaces"]) for e in found)

    assert story("poll", ("poll",)) == story("run", ("run", "--once"))


# --- 9.x tables ------------------------------------------------------------------------------------------------
def serve_kb(site: FixtureSite, esxi: str, vcenter: str) -> None:
    site.serve("/kb/316595.html", (FIXTURES / "kb" / esxi).read_bytes())
    site.serve("/kb/326316.html", (FIXTURES / "kb" / vcenter).read_bytes())


def kb_cli(site: FixtureSite, folder: Path) -> Cli:
    return config(
        folder,
        [("esxi-kb", site.url("/kb/316595.html"), "esxi"), ("vcenter-kb", site.url("/kb/326316.html"), "vcenter")],
    )


@pytest.mark.parametrize("command", [("poll",), ("run", "--once")], ids=["poll", "run-once"])
def test_a_poll_of_a_kb_page_that_adds_9x_tables_announces_every_9x_build_it_lists(
    site: FixtureSite, tmp_path: Path, command: tuple[str, ...]
):
    cli = kb_cli(site, tmp_path)
    serve_kb(site, "broadcom-316595-esxi.html", "broadcom-326316-vcenter.html")
    cli(*command, now="2026-08-03T08:00:00Z")
    serve_kb(site, "broadcom-316595-esxi-9x.html", "broadcom-326316-vcenter-9x.html")
    cli(*command, now="2026-08-04T08:00:00Z")
    found = events(cli, "2026-08-04T08:00:00Z")
    assert kinds(found) == sorted(("new", b) for b in ESX_9X + VCENTER_9X)
    releases = {e["build"]: e["release"] for e in found}
    assert [releases[b] for b in ESX_9X] == [
        "ESX 9.1.0.0",
        "ESX 9.0.2.0",
        "ESX 9.0.1.0",
        "ESX 9.0.0.0100",
        "ESX 9.0.0.0",
    ]
    assert all(e["product"] == ("esxi" if e["build"] in ESX_9X else "vcenter") for e in found)
    sources = {s["id"]: s for s in cli.json("sources", now="2026-08-04T08:00:00Z")}
    assert {sid: s["health"] for sid, s in sources.items()} == {"esxi-kb": "ok", "vcenter-kb": "ok"}


def test_parsing_real_shaped_9x_tables_raises_no_false_event(site: FixtureSite, tmp_path: Path):
    cli = kb_cli(site, tmp_path)
    serve_kb(site, "broadcom-316595-esxi-9x.html", "broadcom-326316-vcenter-9x.html")
    for day in ("03", "04", "05"):  # the baseline, then the same pages twice more: nothing is new or gone
        cli("poll", now=f"2026-08-{day}T08:00:00Z")
    assert cli.json("events", now="2026-08-05T08:00:00Z") == []
    builds = {(b["product"], b["build"]): b for b in cli.json("builds", now="2026-08-05T08:00:00Z")}
    assert {builds[("esxi", b)]["line"] for b in ESX_9X} == {"9.0", "9.1"}
    assert all(builds[("vcenter", b)]["status"] == "available" for b in VCENTER_9X)
    assert json.dumps(cli.json("builds", now="2026-08-05T08:00:00Z")).count('"line": "0.0"') == 0
