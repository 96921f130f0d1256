"""The ESXi 7.0 U3 story, replayed through `tracker poll --now` against the fixture site on 127.0.0.1.

Sept 2021 baseline; U3, U3a, U3b appear; U3b's row vanishes, then U3's release notes announce the removal of all
three and U3/U3a's rows vanish too; U3c appears and its notes say it replaces them. Asserted from
`tracker events --json`, as a script would read it.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.site import FixtureSite
from tracker.cli import app

STAGES = [
    ("01-2021-09-20", "2021-09-20T08:00:00Z"),
    ("02-2021-10-06", "2021-10-06T08:00:00Z"),
    ("03-2021-10-29", "2021-10-29T08:00:00Z"),
    ("04-2021-11-13", "2021-11-13T08:00:00Z"),
    ("05-2021-11-18", "2021-11-18T08:00:00Z"),
    ("06-2021-11-19", "2021-11-19T08:00:00Z"),
    ("07-2021-11-22", "2021-11-22T08:00:00Z"),
    ("08-2021-11-23", "2021-11-23T08:00:00Z"),
    ("09-2022-01-28", "2022-01-28T08:00:00Z"),
]
U2D, U3, U3A, U3B, U3C = 18538813, 18644231, 18825058, 18905247, 19193900
VC_U3, VC_U3A, VC_U3B, VC_U3C = 18700403, 18778458, 18901211, 19234570


class Tracker:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.runner = CliRunner()

    def __call__(self, *args: str, now: str | None = None) -> str:
        clock = ["--now", now] if now else []
        result = self.runner.invoke(app, ["--config", str(self.config), *clock, *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    def json(self, *args: str, now: str | None = None) -> Any:
        return json.loads(self(*args, "--json", now=now))


def make_tracker(site: FixtureSite, tmp_path: Path) -> Tracker:
    config = tmp_path / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path}/tracker.db\n"
        "sources:\n"
        f"  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url('/kb/316595.html')}', product: esxi}}\n"
        f"  - {{id: vcenter-kb, kind: kb_build_table, url: '{site.url('/kb/326316.html')}', product: vcenter}}\n"
        "http: {politeness_delay: 0, follow_limit: 500, timeout: 5}\n",
        encoding="utf-8",
    )
    return Tracker(config)


@pytest.fixture
def tracker(site: FixtureSite, tmp_path: Path) -> Tracker:
    return make_tracker(site, tmp_path)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tracker, list[dict[str, Any]]]]:
    """The whole timeline, replayed once for the tests that read its outcome."""
    site = FixtureSite().start()
    try:
        tracker = make_tracker(site, tmp_path_factory.mktemp("story"))
        yield tracker, replay(site, tracker)
    finally:
        site.stop()


def replay(site: FixtureSite, tracker: Tracker, upto: int = len(STAGES)) -> list[dict[str, Any]]:
    for stage, now in STAGES[:upto]:
        site.stage(stage)
        tracker("poll", now=now)
    events: list[dict[str, Any]] = tracker.json("events")
    return events


def summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str, int | None, str]]:
    return [(e["observed_at"][:10], e["kind"], e["product"], e["build"], e["confidence"]) for e in events]


def by_build(events: list[dict[str, Any]], kind: str, build: int) -> dict[str, Any]:
    matches = [e for e in events if e["kind"] == kind and e["build"] == build]
    assert len(matches) == 1, matches
    return matches[0]


def test_the_7_0_u3_story_produces_exactly_the_events_an_admin_needs(story: tuple[Tracker, list[dict[str, Any]]]):
    _, events = story
    assert summary(events) == [
        ("2021-10-06", "new", "esxi", U3, "high"),
        ("2021-10-06", "new", "vcenter", VC_U3, "high"),
        ("2021-10-29", "new", "esxi", U3A, "high"),
        ("2021-10-29", "new", "vcenter", VC_U3A, "high"),
        ("2021-11-13", "new", "esxi", U3B, "high"),
        ("2021-11-13", "new", "vcenter", VC_U3B, "high"),
        ("2021-11-19", "pulled", "esxi", U3B, "high"),  # medium from the vanished row, raised by the notice
        ("2021-11-19", "pulled", "esxi", U3, "high"),
        ("2021-11-19", "pulled", "esxi", U3A, "high"),
        ("2021-11-23", "pulled", "vcenter", VC_U3B, "medium"),  # its KB row vanished; no notice names it
        ("2022-01-28", "reissued", "esxi", U3C, "high"),  # told as the reissue, not also as "new"
        ("2022-01-28", "new", "esxi", 19195723, "high"),  # ESXi670-202201001, listed the same day
        ("2022-01-28", "new", "esxi", 18828794, "high"),  # ESXi670-202111001
        ("2022-01-28", "reissued", "vcenter", VC_U3C, "high"),  # its update line's U3b was pulled
    ]


def test_the_pulls_carry_their_evidence_and_point_to_the_reissue(story: tuple[Tracker, list[dict[str, Any]]]):
    _, events = story
    u3b = by_build(events, "pulled", U3B)
    sources = [e["source"] for e in u3b["evidence"]]
    assert sources[0] == "esxi-kb"
    assert "no longer listed (2 polls in a row)" in u3b["evidence"][0]["excerpt"]
    assert any("removed" in e["excerpt"] and e["url"].endswith("/notes/esxi-70u3.html") for e in u3b["evidence"])
    u3 = by_build(events, "pulled", U3)
    assert "removed" in u3["evidence"][0]["excerpt"]
    assert any(e["source"] == "esxi-kb" for e in u3["evidence"])  # its row vanished later: more evidence
    for build in (U3, U3A, U3B):
        assert by_build(events, "pulled", build)["replaced_by"] == U3C
    reissue = by_build(events, "reissued", U3C)
    assert reissue["replaces"] == [U3, U3A, U3B]
    assert reissue["release"] == "ESXi 7.0 U3c"
    assert any("replaces" in e["excerpt"] for e in reissue["evidence"])


def test_the_catalog_shows_the_pulled_builds_and_their_replacement(story: tuple[Tracker, list[dict[str, Any]]]):
    tracker, _ = story
    builds = {(b["product"], b["build"]): b for b in tracker.json("builds")}
    assert builds[("esxi", U3)]["status"] == "pulled"
    assert builds[("esxi", U3)]["replaced_by"] == U3C
    assert builds[("esxi", U3C)]["status"] == "available"
    assert builds[("esxi", U2D)]["status"] == "available"
    assert builds[("esxi", U3C)]["release_date"] == "2022-01-27"


def test_the_first_poll_is_a_baseline_that_raises_nothing(site: FixtureSite, tracker: Tracker):
    events = replay(site, tracker, upto=1)
    assert events == []
    assert len(tracker.json("builds")) > 40


def test_a_second_poll_of_unchanged_pages_costs_304s_and_produces_no_events(site: FixtureSite, tracker: Tracker):
    replay(site, tracker, upto=2)
    site.reset_log()
    report = tracker.json("poll", now="2021-10-06T09:00:00Z")
    assert report["events"] == []
    assert report["counts"] == {"not_modified": len(report["sources"])}
    assert site.requests and all(status == 304 for _, _, status, _ in site.requests)


def test_events_filter_by_kind_and_since(story: tuple[Tracker, list[dict[str, Any]]]):
    tracker, _ = story
    pulled = tracker.json("events", "--kind", "pulled", "--since", "2021-11-20")
    assert [(e["kind"], e["build"]) for e in pulled] == [("pulled", VC_U3B)]
