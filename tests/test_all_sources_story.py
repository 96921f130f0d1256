"""The ESXi 7.0 U3 story told by every source kind at once: the KB tables (and the release notes they link), the
ESXi 7.0 download page, the online depot, the VMSA feed and the vendor blog, replayed through `tracker poll --now`
from September 2021 to VMSA-2022-0004 (stage 10), with the Log4j VMSA-2021-0028 in between (stage 08a), and read
back from `tracker events --json` and `tracker exposure --json` as a script would.

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
    ("08a-2021-12-22", "2021-12-22T08:00:00Z"),
    ("09-2022-01-28", "2022-01-28T08:00:00Z"),
    ("10-2022-02-16", "2022-02-16T08:00:00Z"),
]
FINAL = STAGES[-1][1]
U2C, U2D, U3, U3A, U3B, U3C = 18426014, 18538813, 18644231, 18825058, 18905247, 19193900
PULLED = (U3, U3A, U3B)
SOURCES = {
    "esxi-kb": ("kb_build_table", "/kb/316595.html", "esxi"),
    "vcenter-kb": ("kb_build_table", "/kb/326316.html", "vcenter"),
    "esxi-downloads": ("download_listing", "/downloads/esxi-70.html", "esxi"),
    "esxi-depot": ("depot_index", "/depot/vmw-depot-index.xml", "esxi"),
    "vmsa": ("advisory_feed", "/advisories/vmsa.rss", "esxi"),
    "vendor-blog": ("feed", "/feeds/blog.rss", "esxi"),
}
INVENTORY = """name,kind,build,version,vcenter,datacenter,cluster,tags,owner,vibs
esx-u2c.example.com,esxi,18426014,,vc-01,dc-berlin,prod-a,,team-a,
esx-u2d.example.com,esxi,18538813,,vc-01,dc-berlin,prod-a,,team-a,
esx-u3.example.com,esxi,,VMware ESXi 7.0.3 build-18644231,vc-01,dc-berlin,prod-b,,team-b,
esx-u3a.example.com,esxi,18825058,,vc-01,dc-berlin,prod-b,,team-b,
esx-u3b.example.com,esxi,18905247,,vc-01,dc-berlin,lab,,team-b,
esx-u3c.example.com,esxi,19193900,,vc-01,dc-berlin,prod-c,,team-c,
"""
VULNERABLE_HOSTS = ("esx-u2c", "esx-u2d", "esx-u3", "esx-u3a", "esx-u3b")


class Tracker:
    def __init__(self, config: Path) -> None:
        self.config = config

    def __call__(self, *args: str, now: str) -> str:
        result = CliRunner().invoke(app, ["--config", str(self.config), "--now", now, *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    def json(self, *args: str, now: str = FINAL) -> Any:
        return json.loads(self(*args, "--json", now=now))


def write_config(folder: Path, site: FixtureSite, database: str) -> Path:
    sources = "".join(
        f"  - {{id: {name}, kind: {kind}, url: '{site.url(path)}', product: {product}}}\n"
        for name, (kind, path, product) in SOURCES.items()
    )
    config = folder / "tracker.yaml"
    config.write_text(
        f"database: '{database}'\nsources:\n{sources}http: {{politeness_delay: 0, follow_limit: 500, timeout: 5}}\n",
        encoding="utf-8",
    )
    return config


class Story:
    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.polls: dict[str, dict[str, Any]] = {}  # stage -> `tracker poll --json`
        self.events: list[dict[str, Any]] = []

    def pulled(self, build: int) -> dict[str, Any]:
        return one(self.events, "pulled", build)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def story(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Story]:
    """The eleven stages, replayed once with all six sources and an inventory of one host per 7.0 build; once on the
    SQLite default and once on PostgreSQL: every test below holds on both."""
    folder = tmp_path_factory.mktemp("all-sources")
    if request.param == "sqlite":
        database = f"sqlite:///{folder}/tracker.db"
    else:
        database = request.getfixturevalue("postgres_server").create_database("all_sources")
    site = FixtureSite().start()
    try:
        tracker = Tracker(write_config(folder, site, database))
        (folder / "hosts.csv").write_text(INVENTORY, encoding="utf-8")
        tracker("inventory", "import", str(folder / "hosts.csv"), now=STAGES[0][1])
        replay = Story(tracker)
        for stage, now in STAGES:
            site.stage(stage)
            replay.polls[stage] = tracker.json("poll", now=now)
        replay.events = tracker.json("events")
        yield replay
    finally:
        site.stop()


def one(events: list[dict[str, Any]], kind: str, build: int | None = None, **where: Any) -> dict[str, Any]:
    found = [
        e for e in events if e["kind"] == kind and e["build"] == build and all(e[k] == v for k, v in where.items())
    ]
    assert len(found) == 1, found
    return found[0]


def evidence_sources(event: dict[str, Any]) -> set[str]:
    return {e["source"] for e in event["evidence"]}


def exposure(story: Story) -> dict[str, dict[str, Any]]:
    return {row["asset"].split(".")[0]: row for row in story.tracker.json("exposure")}


# --- every source answers -------------------------------------------------------------------------------------
def test_every_configured_source_answers_on_every_stage(story: Story):
    for stage, report in story.polls.items():
        outcomes = {s["source_id"]: s["outcome"] for s in report["sources"]}
        assert set(SOURCES) <= outcomes.keys(), stage
        assert {o for o in outcomes.values()} <= {"parsed", "not_modified"}, (stage, outcomes)


def test_no_source_is_ever_reported_as_an_anomaly(story: Story):
    health = {"source_anomaly", "source_failing", "source_recovered"}
    assert [e for e in story.events if e["kind"] in health] == []


# --- (a) the pulls --------------------------------------------------------------------------------------------
def test_u3_u3a_and_u3b_are_each_pulled_once_with_high_confidence(story: Story):
    for build in PULLED:
        pulled = story.pulled(build)
        assert pulled["confidence"] == "high"
        assert pulled["observed_at"].startswith("2021-11-19")


def test_the_download_page_confirms_each_pull(story: Story):
    for build in PULLED:
        assert "esxi-downloads" in evidence_sources(story.pulled(build)), build
    u3b = story.pulled(U3B)
    from_downloads = [e for e in u3b["evidence"] if e["source"] == "esxi-downloads"]
    assert "no longer offered by esxi-downloads (2 polls in a row)" in from_downloads[0]["excerpt"]


def test_the_two_availability_sources_agree_in_the_pull_evidence(story: Story):
    for build in PULLED:
        assert {"esxi-downloads", "esxi-depot"} <= evidence_sources(story.pulled(build)), build


def test_the_pull_of_u3_came_while_the_kb_still_listed_it(story: Story):
    u3 = story.pulled(U3)
    kb_silence = [e for e in u3["evidence"] if e["source"] == "esxi-kb"]
    assert u3["observed_at"].startswith("2021-11-19")
    assert kb_silence and kb_silence[0]["observed_at"].startswith("2021-11-23")  # the row vanished on 11-22
    assert "no longer listed (2 polls in a row)" in kb_silence[0]["excerpt"]


# --- (b) the reissue ------------------------------------------------------------------------------------------
def test_the_reissue_19193900_replaces_the_three_pulled_builds(story: Story):
    for build in PULLED:
        assert story.pulled(build)["replaced_by"] == U3C
    reissue = one(story.events, "reissued", U3C)
    assert reissue["replaces"] == [U3, U3A, U3B]
    assert reissue["observed_at"].startswith("2022-01-28")
    assert not [e for e in story.events if e["kind"] == "new" and e["build"] == U3C]


# --- (c) the advisory -----------------------------------------------------------------------------------------
def test_the_advisory_events_are_log4j_pending_then_fixed_and_vmsa_2022_0004(story: Story):
    advisories = sorted(
        (e["observed_at"][:10], e["release"], e["detail"]) for e in story.events if e["kind"] == "advisory"
    )
    assert [(day, label) for day, label, _ in advisories] == [
        ("2021-12-22", "VMSA-2021-0028.6"),
        ("2022-02-16", "VMSA-2021-0028.6"),  # the revision naming 7.0U3c: its page states no number, none is taken back
        ("2022-02-16", "VMSA-2022-0004"),
    ]
    pending, fixed, _ = (detail for _, _, detail in advisories)
    assert "no fix published yet: vCenter Server 7.x (Patch Pending)" in pending
    published = fixed.split("fix published: ")[1].split("(was Patch Pending)")[0]
    assert published.startswith("vCenter Server 7.0 ") and "7.0U3c" in published
    assert story.polls["10-2022-02-16"]["events"]  # the poll that saw them told them


def test_the_hosts_are_steered_to_u3c_and_the_u3c_host_is_left_alone(story: Story):
    rows = exposure(story)
    for host in VULNERABLE_HOSTS:
        assert rows[host]["recommended_build"] == U3C, rows[host]
    for host in ("esx-u3", "esx-u3a", "esx-u3b"):
        assert "pulled" in rows[host]["statuses"]
    assert "vulnerable" not in rows["esx-u3c"]["statuses"]
    assert rows["esx-u3c"]["recommended_build"] is None


def test_exposure_names_vmsa_2022_0004_on_every_host_below_its_fixes(story: Story):
    rows = exposure(story)
    for host in VULNERABLE_HOSTS:
        assert "vulnerable" in rows[host]["statuses"], rows[host]
        assert any("VMSA-2022-0004" in a for a in rows[host]["advisories"]), rows[host]


# --- (d) the vendor blog --------------------------------------------------------------------------------------
def test_the_blogs_removal_post_is_more_evidence_not_a_second_pull(story: Story):
    for build in PULLED:
        pulled = story.pulled(build)  # exactly one pulled event per build
        from_blog = [e for e in pulled["evidence"] if e["source"] == "vendor-blog"]
        assert from_blog[0]["observed_at"].startswith("2021-11-19")
        assert "removed ESXi 7.0 Update 3, 7.0 Update 3a and 7.0 Update 3b" in from_blog[0]["excerpt"]
    assert "vendor-blog" in evidence_sources(one(story.events, "reissued", U3C))  # "... replaces build ..."


def test_the_blogs_other_posts_raise_nothing(story: Story):
    # "vSphere 7 Update 3 is now generally available" names a release but no pull: stage 02 tells only new builds.
    assert {e["kind"] for e in story.polls["02-2021-10-06"]["events"]} == {"new"}


# --- the sources agree ----------------------------------------------------------------------------------------
def test_sources_that_agree_raise_no_discrepancy(story: Story):
    assert [e for e in story.events if e["kind"] == "discrepancy"] == []
