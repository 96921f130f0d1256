"""The feeds and the operations endpoints over real HTTP, read by the libraries their consumers use: the Atom feed by
feedparser, the calendar by icalendar, /metrics by prometheus-client's parser."""

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import feedparser
import pytest
from icalendar import Calendar
from prometheus_client.parser import text_string_to_metric_families

from tests.support.web import READ_TOKEN, WebServer, web_config, web_server
from tracker import __version__
from tracker.store import SCHEMA_HEAD


def test_the_atom_feed_lists_the_storys_pulls_and_the_reissue_with_links_to_their_builds(web: WebServer):
    response = web.client().get("/feeds/events.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    titles = [e.title for e in feed.entries]
    assert any(t.startswith("PULLED: ESXi 7.0 U3") for t in titles)
    assert any(t.startswith("REISSUED: ESXi 7.0 U3c") for t in titles)
    reissue = next(e for e in feed.entries if e.title.startswith("REISSUED: ESXi 7.0 U3c"))
    assert reissue.link == f"{web.url}/builds/esxi/19193900"
    assert len(feed.entries) == len(json.loads(web.cli("events", "--json").stdout))


def test_a_watchlists_feed_has_only_the_events_it_selects_and_an_unknown_one_is_404(web: WebServer):
    feed = feedparser.parse(web.client().get("/feeds/events.atom", params={"watchlist": "vsphere-team"}).content)
    kinds = {e.tags[0].term for e in feed.entries}
    assert kinds and kinds <= {"pulled", "reissued", "restored", "advisory", "discrepancy"}  # its `events:`
    assert "new" not in kinds
    assert web.client().get("/feeds/events.atom", params={"watchlist": "nobody"}).status_code == 404


def test_the_calendar_has_each_lines_end_of_support_and_a_new_snoozes_expiry(web: WebServer):
    made = web.cli("snooze", "add", "--asset", "esx-dr-01.corp.example", "--until", "2022-04-01", "--reason", "DR")
    assert made.returncode == 0, made.stderr
    response = web.client().get("/feeds/calendar.ics")
    assert response.headers["content-type"].startswith("text/calendar")
    events = {str(e["summary"]): e for e in Calendar.from_ical(response.content).walk("VEVENT")}
    assert events["ESXi 7.0: end of general support"].decoded("dtstart") == date(2025, 10, 2)
    assert events["ESXi 7.0: end of technical guidance"].decoded("dtstart") == date(2027, 4, 2)
    assert events["Snooze ends: asset esx-dr-01.corp.example"].decoded("dtstart") == date(2022, 4, 1)
    assert len({str(e["uid"]) for e in events.values()}) == len(events)


def metrics(web: WebServer, token: str | None = None) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = web.client(token).get("/metrics").text
    return {
        family.name: [(sample.labels, sample.value) for sample in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_metrics_parse_and_count_the_events_by_kind_as_the_cli_lists_them(web: WebServer):
    found = metrics(web)
    assert all(name.startswith("tracker_") for name in found)
    cli: dict[str, float] = {}
    for event in json.loads(web.cli("events", "--json").stdout):
        cli[event["kind"]] = cli.get(event["kind"], 0) + 1
    assert {labels["kind"]: value for labels, value in found["tracker_events"]} == cli
    health = {(labels["source"], labels["state"]): value for labels, value in found["tracker_source_health"]}
    assert health[("esxi-kb", "ok")] == 1.0
    assert {labels["source"] for labels, _ in found["tracker_source_last_success_timestamp_seconds"]} >= {"esxi-kb"}
    assert found["tracker_outbox_messages"] and found["tracker_poll_cycle_duration_seconds"][0][1] >= 0
    severity = {labels["severity"]: value for labels, value in found["tracker_assets"]}
    assert severity["critical"] == 13  # the dozen ESXi hosts on pulled or vulnerable builds, vc01 (Log4j)
    assert found["tracker_digest_last_sent_timestamp_seconds"][0][1] > 0
    assert found["tracker_build_info"] == [({"version": __version__, "schema": SCHEMA_HEAD}, 1.0)]


def test_readyz_serves_the_degraded_story_saying_degraded_as_tracker_health_does_and_healthz_answers(
    web: WebServer,
):
    health = web.client().get("/healthz").json()
    assert (health["status"], health["version"], health["schema"]) == ("ok", __version__, SCHEMA_HEAD)
    ready = web.client().get("/readyz")
    cli = web.cli("health", "--json")
    assert cli.returncode == 3  # the story ends with an advisory fix no build maps to: degraded
    # it can serve (200, ready), and says the verdict, never "ready" as its status beside problems
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert {k: ready.json()[k] for k in ("status", "problems", "sources")} == {
        k: json.loads(cli.stdout)[k] for k in ("status", "problems", "sources")
    }
    assert ready.json()["status"] == "degraded"


def test_readyz_is_503_naming_the_reason_when_polling_has_stalled(story: Path, tmp_path: Path):
    config = web_config(story, tmp_path)
    with web_server(config, "--now", "2022-06-01T08:00:00Z", "serve") as server:
        response = server.client().get("/readyz")
    assert response.status_code == 503 and response.json()["ready"] is False
    assert "no source polled" in response.json()["reason"] or "poll" in response.json()["reason"]
    assert response.json()["status"] == "degraded"  # as `tracker health` says it (exit 3), with the problem named


@pytest.fixture(scope="module")
def private(story: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with web_server(web_config(story, tmp_path_factory.mktemp("private"), read="token")) as server:
        yield server


def test_with_read_token_metrics_and_feeds_need_a_token_and_the_probes_do_not(private: WebServer):
    for path in ("/metrics", "/feeds/events.atom", "/feeds/calendar.ics"):
        assert private.client().get(path).status_code == 401, path
        assert private.client(READ_TOKEN).get(path).status_code == 200, path
    assert private.client().get("/healthz").status_code == 200
    assert private.client().get("/readyz").status_code == 200
