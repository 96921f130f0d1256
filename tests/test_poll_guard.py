"""The anomaly guard and bad input, through `tracker poll` against the fixture site: never cry wolf, never crash,
never a half-written poll."""

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.site import STORY, FixtureSite
from tests.test_page_guards import flooded
from tracker.cli import app
from tracker.store import repo

FIXTURES = Path(__file__).parent / "fixtures"
KB = "/kb/316595.html"
GOOD = (FIXTURES / "kb" / "broadcom-316595-esxi.html").read_bytes()


class Tracker:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.day = 0

    def run(self, *args: str, code: int = 0) -> str:
        result = CliRunner().invoke(app, ["--config", str(self.config), *args])
        assert result.exit_code == code, result.output
        return result.stdout

    def poll(self) -> dict[str, Any]:
        self.day += 1
        data: dict[str, Any] = json.loads(self.run("--now", f"2026-06-{self.day:02d}T08:00:00Z", "poll", "--json"))
        return data

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json"))


@pytest.fixture
def tracker(site: FixtureSite, tmp_path: Path) -> Tracker:
    config = tmp_path / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path}/tracker.db\n"
        f"sources:\n  - {{id: esxi-kb, kind: kb_build_table, url: '{site.url(KB)}', product: esxi,"
        " follow_links: false}\n"
        "http: {politeness_delay: 0, timeout: 0.5, max_bytes: 2000000}\n",
        encoding="utf-8",
    )
    site.serve(KB, GOOD)
    tracker = Tracker(config)
    tracker.poll()  # the baseline
    return tracker


def serve_fixture(site: FixtureSite, name: str) -> None:
    site.serve(KB, (FIXTURES / "kb" / name).read_bytes())


BAD_PAGES = {
    "a 500": lambda site: site.fail(KB, 500),
    "a timeout": lambda site: site.hold(KB, 2.0),
    "a login page": lambda site: serve_fixture(site, "login.html"),
    "an error page": lambda site: serve_fixture(site, "error-page-not-found.html"),
    "an empty table": lambda site: serve_fixture(site, "broadcom-316595-empty-table.html"),
    "a truncated page": lambda site: serve_fixture(site, "broadcom-316595-truncated.html"),
    "half the rows": lambda site: serve_fixture(site, "broadcom-316595-half.html"),
    "a cut at 80%": lambda site: site.serve(KB, GOOD[: len(GOOD) * 8 // 10]),
    "10,000 more rows": lambda site: site.serve(KB, flooded(GOOD, 10_000)),
    "a 50 MB response": lambda site: site.serve_huge(KB, 50_000_000),
}


@pytest.mark.parametrize("bad", list(BAD_PAGES))
def test_a_bad_page_infers_nothing_and_the_next_good_poll_resumes_cleanly(
    site: FixtureSite, tracker: Tracker, bad: str
):
    builds_before = tracker.json("builds")
    BAD_PAGES[bad](site)
    first, second = tracker.poll(), tracker.poll()
    assert [e["kind"] for e in first["events"]] == ["source_anomaly"]
    assert second["events"] == []  # health is a state: one event when it turns bad, not one per poll
    assert tracker.json("builds") == builds_before  # nothing pulled, nothing new
    health = tracker.json("sources")[0]
    assert health["health"] == "anomaly" and health["last_error"]
    site.clear_faults()
    site.serve(KB, GOOD)
    recovered = tracker.poll()
    assert [e["kind"] for e in recovered["events"]] == ["source_recovered"]
    assert tracker.json("sources")[0]["health"] == "ok"
    assert [e["kind"] for e in tracker.poll()["events"]] == []
    assert all(b["status"] == "available" for b in tracker.json("builds"))


def test_a_source_failing_poll_after_poll_is_reported_as_failing_once(site: FixtureSite, tracker: Tracker):
    site.fail(KB, 503)
    kinds = [[e["kind"] for e in tracker.poll()["events"]] for _ in range(4)]
    assert kinds == [["source_anomaly"], [], ["source_failing"], []]
    assert tracker.json("sources")[0]["failures"] == 4
    assert "HTTP 503" in tracker.json("sources")[0]["last_error"]


def test_the_errors_are_named_in_the_poll_output_and_the_exit_code_is_still_0(site: FixtureSite, tracker: Tracker):
    site.fail(KB, 500)
    output = tracker.run("--now", "2026-07-01T08:00:00Z", "poll")
    assert "esxi-kb" in output and "HTTP 500" in output
    assert "source_anomaly" in output


def test_the_size_cap_is_named_in_the_error(site: FixtureSite, tracker: Tracker):
    site.serve_huge(KB, 50_000_000)
    tracker.poll()
    assert "more than the 2,000,000 cap" in tracker.json("sources")[0]["last_error"]


def fresh_tracker(site: FixtureSite, tmp_path: Path) -> Tracker:
    config = tmp_path / "fresh.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path}/fresh.db\n"
        f"sources:\n  - {{id: kb, kind: kb_build_table, url: '{site.url('/odd.html')}', product: esxi,"
        " follow_links: false}\nhttp: {politeness_delay: 0}\n",
        encoding="utf-8",
    )
    return Tracker(config)


@pytest.mark.parametrize(
    "name", ["malformed.html", "broadcom-316595-invalid-bytes.html", "broadcom-316595-unknown-spellings.html"]
)
def test_hostile_or_odd_pages_never_crash_a_fresh_source(site: FixtureSite, tmp_path: Path, name: str):
    site.serve("/odd.html", (FIXTURES / "kb" / name).read_bytes())
    report = fresh_tracker(site, tmp_path).poll()
    assert report["counts"].keys() <= {"parsed", "anomaly"}


def test_unknown_release_spellings_are_skipped_and_reported(site: FixtureSite, tmp_path: Path):
    site.serve("/odd.html", (FIXTURES / "kb" / "broadcom-316595-unknown-spellings.html").read_bytes())
    tracker = fresh_tracker(site, tmp_path)
    output = tracker.run("--now", "2026-06-05T08:00:00Z", "poll")
    assert "kb: 3 rows skipped:" in output
    assert "not a release name we know" in output or "expected" in output
    assert len(tracker.json("builds")) >= 1


def test_a_poll_that_fails_half_way_leaves_nothing_half_written(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    tracker = fresh_tracker(site, tmp_path)
    site.serve("/odd.html", (STORY / "01-2021-09-20" / "kb" / "316595.html").read_bytes())
    tracker.poll()
    builds_before = tracker.json("builds")
    site.serve("/odd.html", (STORY / "02-2021-10-06" / "kb" / "316595.html").read_bytes())

    def broken(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(repo, "record_changes", broken)  # fails after the catalog rows were written
    with pytest.raises(RuntimeError):
        CliRunner().invoke(app, ["--config", str(tracker.config), "poll"], catch_exceptions=False)
    monkeypatch.undo()
    assert tracker.json("builds") == builds_before  # the source's transaction rolled back whole
    report = tracker.poll()
    assert [(e["kind"], e["build"]) for e in report["events"]] == [("new", 18644231)]
