"""One health verdict on every face (issue 21, item 4): the story's database with one source removed from the
config and one added but never polled, read through `tracker health` (text and --json), `tracker sources` (text and
--json), `tracker digest --preview`, the overview, the sources page, `/api/v1/sources`, `/api/v1/health`,
`/metrics` and `/readyz` of a real `tracker serve`. Every face says the same state for each source and the same
status for the tracker: never polled is never `ok`, the vmsa source's advisory warning is never a green badge, a
removed source is listed as removed, and `/readyz` never says "ready" as its status beside problems."""

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.web import WebServer, web_config, web_server

AT = "2022-02-16T08:00:00Z"  # the story's last poll
LATER = "2022-02-16T09:30:00Z"  # past the new source's interval, before polling counts as stalled (2 h)
EXTRA = "  - {id: extra-kb, kind: kb_build_table, url: 'http://127.0.0.1:9/kb.html', product: esxi}\n"
EXPECTED = {
    "esxi-depot": "ok",
    "esxi-downloads": "ok",
    "esxi-kb": "ok",
    "vcenter-kb": "ok",
    "vmsa": "warning",  # the story ends with an advisory fix no build maps to (advisory_unmapped)
    "extra-kb": "never polled",
    "vendor-blog": "removed",
}


def _edited(story: Path, folder: Path) -> Path:
    """The story's config with vendor-blog taken out and extra-kb added (not synced: no command wrote since)."""
    config = web_config(story, folder)
    text = re.sub(r"^  - \{id: vendor-blog.*\n", EXTRA, config.read_text(encoding="utf-8"), flags=re.M)
    config.write_text(text, encoding="utf-8")
    return config


def _cli(server: WebServer, now: str, *args: str) -> tuple[int, str]:
    done = server.cli("--now", now, *args)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout


def _metrics(server: WebServer) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = server.client().get("/metrics").text
    return {f.name: [(s.labels, s.value) for s in f.samples] for f in text_string_to_metric_families(text)}


def _faces(server: WebServer, now: str) -> dict[str, dict[str, str]]:
    """Each face's state of each source."""
    _, health = _cli(server, now, "health", "--json")
    _, listed = _cli(server, now, "sources", "--json")
    api = server.client().get("/api/v1/sources").json()["items"]
    found = _metrics(server)["tracker_source_health"]
    response = server.client().get("/sources")
    assert response.status_code == 200, response.text
    html = response.text
    page = dict(re.findall(r"<strong>([\w-]+)</strong>.*?class=\"badge badge-[\w-]+\">([^<]+)</span>", html, re.S))
    return {
        "health --json": {s["id"]: s["state"] for s in json.loads(health)["sources"]},
        "sources --json": {s["id"]: s["health"] for s in json.loads(listed)},
        "/api/v1/sources": {s["id"]: s["health"] for s in api},
        "/metrics": {labels["source"]: labels["state"] for labels, value in found if value == 1.0},
        "/sources": page,
    }


@pytest.fixture(scope="module")
def edited(story: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _edited(story, tmp_path_factory.mktemp("faces"))


def test_every_face_says_the_same_state_of_each_source_and_the_same_status(edited: Path):
    with web_server(edited, "--now", AT, "serve") as server:
        faces = _faces(server, AT)
        assert faces == dict.fromkeys(faces, EXPECTED)

        code, text = _cli(server, AT, "health")
        health = json.loads(_cli(server, AT, "health", "--json")[1])
        assert code == 3 and text.startswith("degraded: 1 problem")  # the advisory warning; nothing else yet
        assert "7 sources: 1 never polled, 4 ok, 1 warning, 1 removed" in " ".join(text.split())
        assert "vendor-blog: removed" in text and "extra-kb: never polled: not polled yet" in text
        assert server.client().get("/api/v1/health").json() == health

        ready = server.client().get("/readyz")  # it can serve, and says what `tracker health` says
        assert (ready.status_code, ready.json()["ready"], ready.json()["status"]) == (200, True, "degraded")
        assert ready.json()["problems"] == health["problems"]
        metrics = _metrics(server)
        assert metrics["tracker_healthy"] == [({}, 0.0)] and metrics["tracker_health_problems"] == [({}, 1.0)]

        table = " ".join(_cli(server, AT, "sources")[1].split())
        assert "vmsa │ advisory_feed │ warning" in table and "vendor-blog │ feed │ removed" in table
        assert "extra-kb │ kb_build_table │ never polled" in table

        overview = server.client().get("/").text
        assert "Every source answers." not in overview
        assert 'badge-degraded">degraded</span>: 1 problem' in overview
        for source, state in (("vmsa", "warning"), ("extra-kb", "never polled"), ("vendor-blog", "removed")):
            assert re.search(rf'>{state}</span> <a href="/sources">{source}</a>', overview), source

        _, digest = _cli(server, AT, "digest", "--preview")
        health_part = digest[digest.index("Source health:") :]
        for source, state in EXPECTED.items():
            assert f"- {source}: {state}" in health_part, source
        attention = digest[digest.index("The tracker itself needs attention") : digest.index("Source health:")]
        assert "vmsa: warning" in attention and "extra-kb" not in attention  # within its interval: no problem yet


def test_a_source_never_polled_past_its_interval_is_a_problem_on_every_face(edited: Path, tmp_path: Path):
    config = tmp_path / "tracker.yaml"
    config.write_text(edited.read_text(encoding="utf-8"), encoding="utf-8")  # the same database, synced below
    with web_server(config, "--now", LATER, "serve") as server:
        code, _ = _cli(server, AT, "init")  # registers extra-kb at 08:00 and retires vendor-blog
        assert code == 0
        faces = _faces(server, LATER)
        assert faces == dict.fromkeys(faces, EXPECTED)

        code, text = _cli(server, LATER, "health")
        assert code == 3 and "source extra-kb: never polled, although its interval is 1 h" in text
        health = json.loads(_cli(server, LATER, "health", "--json")[1])
        [extra] = [s for s in health["sources"] if s["id"] == "extra-kb"]
        assert extra["problem"] is True
        assert server.client().get("/api/v1/health").json() == health
        assert server.client().get("/readyz").json()["problems"] == health["problems"]

        overview = server.client().get("/").text
        assert 'badge-degraded">degraded</span>: 2 problems' in overview
        assert re.search(r'>never polled</span> <a href="/sources">extra-kb</a>: never polled, although', overview)

        _, digest = _cli(server, LATER, "digest", "--preview")
        attention = digest[digest.index("The tracker itself needs attention") : digest.index("Source health:")]
        assert "extra-kb: never polled (never polled, although its interval is 1 h)" in attention
        assert "Digest for console: 2 sources in trouble" not in digest  # the title is the message's subject


def test_with_every_source_removed_health_lists_them_as_removed_and_warns_that_nothing_is_polled(
    story: Path, tmp_path: Path
):
    config = web_config(story, tmp_path)
    text = re.sub(r"^sources:\n(  - .*\n)+", "sources: []\n", config.read_text(encoding="utf-8"), flags=re.M)
    config.write_text(text, encoding="utf-8")
    with web_server(config, "--now", AT, "serve") as server:
        code, shown = _cli(server, AT, "health")
        health = json.loads(_cli(server, AT, "health", "--json")[1])
        listed = json.loads(_cli(server, AT, "sources", "--json")[1])
        assert code == 0 and health["status"] == "healthy"  # nothing polled is nothing failing, but said loudly:
        assert health["warnings"] == ["no source configured: nothing is polled until one is added under `sources:`"]
        assert {s["state"] for s in health["sources"]} == {"removed"} and len(health["sources"]) == 6
        assert {s["health"] for s in listed} == {"removed"} and len(listed) == 6
        assert "6 sources: 6 removed" in shown
        assert "Every source answers." not in server.client().get("/").text
