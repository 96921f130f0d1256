"""One database, every face, one truth (issue 21's "Done when"): the story's database (`timezone: Europe/Berlin`)
read through CLI text, `--json`, the digest preview, the overview, the API, `/metrics` and `/readyz` of a real
`tracker serve`. Each face shows the same health verdict, the same exposure counts per severity, the same moment
for one event (people read it in the configured zone with its name, machines in ISO 8601 with an offset), and
refuses a bad filter with the same words. The faces are compared with each other, not with copies of their code."""

import json
import re
from datetime import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.web import WebServer
from tracker.domain.clock import human
from tracker.filters import EVENTS, EXPOSURE, FilterRefused, check

SEVERITIES = ("critical", "important", "moderate", "low", "none")
ZONE = "Europe/Berlin"  # the demo's config, which the story database was made with


def _metrics(web: WebServer) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = web.client().get("/metrics").text
    return {f.name: [(s.labels, s.value) for s in f.samples] for f in text_string_to_metric_families(text)}


def _json(web: WebServer, *args: str) -> object:
    done = web.cli(*args, "--json")
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout)


def test_the_health_verdict_is_the_same_on_every_face(web: WebServer):
    verdict = _json(web, "health")
    assert isinstance(verdict, dict)
    status, problems = verdict["status"], verdict["problems"]
    assert status == "degraded" and problems  # the story ends with an advisory fix no build maps to

    text = web.cli("health")
    assert text.returncode == 3  # problems: exit 3, as docs/operations.md says
    assert text.stdout.splitlines()[0].startswith(f"{status}: ")
    assert all(p["reason"] in " ".join(text.stdout.split()) for p in problems)

    digest = web.cli("digest", "--preview").stdout
    assert "The tracker itself needs attention" in digest
    said = dict(re.findall(r"^- ([\w-]+): ([\w ]+?)(?: \(.*\))?$", digest.split("Source health:")[1], re.M))
    assert said == {s["id"]: s["state"] for s in verdict["sources"]}

    overview = web.client().get("/").text
    badge = re.search(r'id="tracker-health">The tracker is <span class="badge badge-([\w-]+)">([^<]+)</span>', overview)
    assert badge is not None and badge.group(2) == status and badge.group(1) != "ok"

    assert web.client().get("/api/v1/health").json()["status"] == status
    metrics = _metrics(web)
    assert metrics["tracker_healthy"] == [({}, 0.0)]
    assert metrics["tracker_health_problems"] == [({}, float(len(problems)))]

    ready = web.client().get("/readyz")
    body = ready.json()
    assert body["status"] == status and body["problems"] == problems
    assert (ready.status_code == 200) is body["ready"] is True  # degraded, yet it can serve: never "ready" as status


def test_the_exposure_counts_per_severity_are_the_same_on_every_face(web: WebServer):
    rows = _json(web, "exposure")
    assert isinstance(rows, list)
    counted = {s: sum(1 for r in rows if r["severity"] == s) for s in SEVERITIES}
    assert counted["critical"] > 0 and sum(counted.values()) == len(rows)

    text = web.cli("exposure").stdout
    line = re.search(r"^by severity: (.*)$", text, re.M)
    assert line is not None
    assert dict((s, int(n)) for n, s in re.findall(r"(\d+) (\w+)", line.group(1))) == counted

    overview = web.client().get("/").text
    cards = {
        severity: int(n)
        for severity, n in re.findall(r'class="card card-(\w+)"[^>]*>\s*<span class="count">(\d+)</span>', overview)
    }
    assert cards == counted

    api = web.client()
    for severity, n in counted.items():
        assert api.get("/api/v1/exposure", params={"severity": severity}).json()["total"] == n
        page = api.get("/exposure", params={"severity": severity}).text  # where the card's link goes
        total = re.search(r'<span id="total">(\d+)</span>', page)
        assert total is not None and int(total.group(1)) == n, severity

    metrics = {labels["severity"]: int(value) for labels, value in _metrics(web)["tracker_assets"]}
    assert metrics == counted

    digest = web.cli("digest", "--preview").stdout
    line = re.search(r"^- by severity: (.*)$", digest, re.M)
    assert line is not None
    assert dict((s, int(n)) for n, s in re.findall(r"(\d+) (\w+)", line.group(1))) == counted


def test_one_event_reads_the_same_moment_on_every_face(web: WebServer):
    events = _json(web, "events", "--kind", "advisory")
    assert isinstance(events, list)
    event = next(e for e in events if "VMSA-2022-0004" in e["release"] or "VMSA-2022-0004" in json.dumps(e))
    at = datetime.fromisoformat(event["observed_at"].replace("Z", "+00:00"))
    assert at.utcoffset() is not None  # machines: ISO 8601 with an offset
    people = human(at, ZONE)
    assert people.endswith(" CET")  # the configured zone, with its name

    api = web.client().get("/api/v1/events", params={"kind": "advisory"}).json()["items"]
    assert next(e for e in api if e["id"] == event["id"])["observed_at"] == event["observed_at"]

    text = web.cli("events", "--kind", "advisory").stdout
    row = next(line for line in text.splitlines() if re.match(rf"^\W*{event['id']}\W", line))
    assert people in row

    page = web.client().get("/events", params={"kind": "advisory"}).text
    assert f'<time datetime="{event["observed_at"]}">{people}</time>' in page

    digest = web.cli("digest", "--preview").stdout
    assert f"- {people}: ADVISORY: VMSA-2022-0004" in digest

    overview = web.client().get("/").text
    assert "UTC" not in overview and people.split()[-1] in overview


@pytest.mark.parametrize(
    ("listing", "command", "path", "field", "bad"),
    [
        (EVENTS, ("events",), "events", "kind", "bogus"),
        (EXPOSURE, ("exposure",), "exposure", "severity", "dire"),
    ],
)
def test_a_bad_filter_is_refused_with_the_same_words_on_every_face(web, listing, command, path, field, bad):
    with pytest.raises(FilterRefused) as refused:
        check(listing, {field: [bad]})
    detail = refused.value.detail()
    (message,) = [d["message"] for d in detail if d["field"] == field]

    for json_flag in ((), ("--json",)):
        done = web.cli(*command, f"--{field}", bad, *json_flag)
        assert done.returncode == 2 and done.stdout == ""
        assert " ".join(done.stderr.split()) == f"tracker: --{field}: {message}"

    api = web.client().get(f"/api/v1/{path}", params={field: bad})
    assert api.status_code == 422 and api.json() == {"detail": detail}

    page = web.client().get(f"/{path}", params={field: bad})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert f"{field}: {message}".replace("'", "&#39;") in page.text
