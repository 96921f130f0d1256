"""What people read is the same on every face: times in the configured zone with its name (the story's config says
`timezone: Europe/Berlin`), a bad filter refused in the same words by the CLI, the API and the pages, each evidence
excerpt once with its date, sources by their names (never an internal id), no server path, and no write form
where no write can succeed. Through a real `tracker serve` and the real CLI on one database."""

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.web import WebServer, web_config, web_server

U3 = 18644231
REMOVED = "VMware has removed ESXi 7.0 Update 3, 7.0 Update 3a and 7.0 Update 3b from all sites"


def _events_section(page: str) -> str:
    return page[page.index('<section id="events">') :]


def test_one_event_reads_the_same_time_on_the_pages_in_the_cli_and_as_iso_in_the_api(web: WebServer):
    page = web.client().get("/events", params={"kind": "pulled", "product": "esxi"}).text
    table = web.cli("events", "--kind", "pulled").stdout
    api = web.client().get("/api/v1/events", params={"kind": "pulled", "product": "esxi"}).json()["items"]
    assert "2021-11-19 09:00 CET" in page and "2021-11-19 09:00 CET" in table
    assert "UTC" not in _rows_text(page) and "UTC" not in table
    assert {e["observed_at"] for e in api} == {"2021-11-19T08:00:00Z"}
    footer = web.client().get("/").text
    assert 'As of <time datetime="2022-02-16T08:00:00Z">2022-02-16 09:00 CET</time>' in footer


def _rows_text(page: str) -> str:
    return "".join(re.findall(r"<tr class=\"event-row.*?</tr>", page, re.S))


REFUSED = [
    # CLI arguments, API path, page path, field, message: the same words on every face
    (
        ["events", "--kind", "puled"],
        "/api/v1/events?kind=puled",
        "/events?kind=puled",
        "kind",
        "unknown event kind 'puled' (did you mean 'pulled'?)",
    ),
    (
        ["builds", "--product", "esx"],
        "/api/v1/builds?product=esx",
        "/builds?product=esx",
        "product",
        "unknown product 'esx' (did you mean 'esxi'?)",
    ),
    (
        ["builds", "--status", "puled"],
        "/api/v1/builds?status=puled",
        "/builds?status=puled",
        "status",
        "unknown build status 'puled' (did you mean 'pulled'?)",
    ),
    (
        ["builds", "--line", "7.0U3"],
        "/api/v1/builds?line=7.0U3",
        "/builds?line=7.0U3",
        "line",
        "expected a release line such as 7.0 or 8.0, got '7.0U3'",
    ),
    (
        ["exposure", "--status", "vulnerabel"],
        "/api/v1/exposure?status=vulnerabel",
        "/exposure?status=vulnerabel",
        "status",
        "unknown status 'vulnerabel' (did you mean 'vulnerable'?)",
    ),
    (
        ["events", "--since", "yesterday"],
        "/api/v1/events?since=yesterday",
        "/events?since=yesterday",
        "since",
        "expected an ISO-8601 date or time such as 2021-11-19 or 2021-11-19T08:00:00Z, got 'yesterday'",
    ),
    (
        ["deliveries", "--status", "failled"],
        "/api/v1/deliveries?status=failled",
        "/deliveries?status=failled",
        "status",
        "unknown delivery status 'failled' (did you mean 'failed'?)",
    ),
]


@pytest.mark.parametrize(
    ("args", "api", "path", "field", "message"), REFUSED, ids=[r[3] + ":" + r[0][0] for r in REFUSED]
)
def test_a_bad_filter_is_refused_in_the_same_words_by_the_cli_the_api_and_the_pages(
    web: WebServer, args: list[str], api: str, path: str, field: str, message: str
):
    cli = web.cli(*args)
    answer = web.client().get(api)
    page = web.client().get(path)
    assert cli.returncode == 2 and f"tracker: --{field}: {message}" in cli.stderr
    assert answer.status_code == 422 and answer.json()["detail"] == [{"field": field, "message": message}]
    assert page.status_code == 422 and f"{field}: {message}" in html.unescape(page.text)


def test_since_after_until_is_refused_by_the_cli_the_api_and_the_page(web: WebServer):
    params = {"since": "2022-02-01", "until": "2021-01-01"}
    cli = web.cli("events", "--since", "2022-02-01", "--until", "2021-01-01")
    answer = web.client().get("/api/v1/events", params=params)
    page = web.client().get("/events", params=params)
    message = "'2021-01-01' is before since '2022-02-01'"
    assert cli.returncode == 2 and f"tracker: --until: {message}" in cli.stderr
    assert answer.status_code == 422 and answer.json()["detail"] == [{"field": "until", "message": message}]
    assert page.status_code == 422 and message in html.unescape(page.text)


def test_the_cli_and_the_api_select_the_same_events_with_the_same_filters(web: WebServer):
    """A day given as `until` takes that whole day in, in the configured zone, on both faces."""
    day = {"since": "2021-11-19", "until": "2021-11-19", "kind": "pulled", "product": "esxi", "line": "7.0"}
    items = web.client().get("/api/v1/events", params=day).json()["items"]
    listed = json.loads(web.cli("events", "--json", *(f"--{k}={v}" for k, v in day.items())).stdout)
    assert {e["build"] for e in items} == {18644231, 18825058, 18905247}
    assert sorted(e["id"] for e in listed) == sorted(e["id"] for e in items)


def test_the_build_page_quotes_each_excerpt_once_with_the_date_it_was_observed(web: WebServer):
    events = _events_section(web.client().get(f"/builds/esxi/{U3}").text)
    assert events.count(f'<blockquote class="excerpt">{REMOVED}') == 1  # the blog said it again in January: once
    said = re.sub(r"<[^>]+>", "", events)
    assert "the vSphere blog, observed 2021-11-19 09:00 CET" in said
    assert "ESXi 7.0 U3c release notes, observed 2022-01-28 09:00 CET" in said  # read two months later: so dated
    item = web.client().get(f"/api/v1/builds/esxi/{U3}").json()
    for event in item["events"]:
        said = [(e["source"], e["excerpt"]) for e in event["evidence"]]
        assert len(said) == len(set(said))
        assert [e["observed_at"] for e in event["evidence"]] == sorted(e["observed_at"] for e in event["evidence"])


def test_people_never_read_an_internal_source_id(web: WebServer):
    shown = {
        "build page": web.client().get(f"/builds/esxi/{U3}").text,
        "builds page": web.client().get("/builds", params={"product": "esxi"}).text,
        "events page": web.client().get("/events").text,
        "sources page": web.client().get("/sources", params={"all": "true"}).text,  # followed notes by release
        "tracker events": web.cli("events").stdout,
    }
    assert {face: ":notes:" in text for face, text in shown.items()} == dict.fromkeys(shown, False)
    assert "ESXi 7.0 U3 release notes" in shown["build page"] and "the vSphere blog" in shown["build page"]
    assert "ESXi 7.0 U3 release notes" in shown["tracker events"]
    assert "<strong>ESXi 7.0 U3 release notes</strong>" in shown["sources page"]
    assert "esxi-kb:notes:" in web.client().get(f"/api/v1/builds/esxi/{U3}").text  # machines keep the ids


def test_an_assets_origin_is_a_file_name_never_a_server_path(web: WebServer):
    found = web.client().get("/api/v1/assets/esx-prod-b01.corp.example").json()
    listed = web.cli("inventory", "list", "--json").stdout
    assert {a["origin"] for a in found["assets"]} == {"inventory.csv"}
    assert "/" not in "".join(re.findall(r'"origin": "([^"]*)"', listed))


WRITE_PAGES = ["/snoozes", "/watchlists", "/deliveries", "/assets/esx-prod-b01.corp.example"]


@pytest.fixture(scope="module")
def read_only(story: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """The story served with no write token configured: no write can succeed."""
    config = web_config(story, tmp_path_factory.mktemp("read-only"))
    text = re.sub(r"^  write_tokens: .*\n", "", config.read_text(encoding="utf-8"), flags=re.M)
    config.write_text(text, encoding="utf-8")
    with web_server(config) as server:
        yield server


def test_with_writes_off_no_page_shows_a_write_form_or_a_sign_in(read_only: WebServer, web: WebServer):
    for path in WRITE_PAGES:
        page = read_only.client().get(path)
        assert page.status_code == 200, path
        assert 'method="post"' not in page.text and "Sign in" not in page.text, path
    assert "Sign in" in web.client().get("/snoozes").text  # with write tokens: the forms and the sign-in are there
    assert 'id="snooze-form"' in web.client().get("/snoozes").text


@pytest.mark.parametrize(
    "params",
    [
        {"min_severity": "important"},
        {"severity": "critical", "kind": "esxi"},
        {"status": "pulled", "cluster": "prod-*"},
    ],
)
def test_the_cli_and_the_api_list_the_same_assets_for_the_same_exposure_filters(web: WebServer, params: dict[str, str]):
    api = web.client().get("/api/v1/exposure", params={**params, "limit": "1000"}).json()["items"]
    options = [f"--{name.replace('_', '-')}={value}" for name, value in params.items()]
    cli = json.loads(web.cli("exposure", "--json", *options).stdout)
    assert api and sorted((e["asset"], e["kind"]) for e in cli) == sorted((e["asset"], e["kind"]) for e in api)


def test_a_snoozes_day_is_the_configured_zones_day_on_every_face(web: WebServer):
    """`--until 2022-03-01` in Berlin ends the snooze at that day's midnight there, and the CLI's answer, its list and
    the API say so: the day given, never the UTC day before."""
    added = web.cli("snooze", "add", "--asset", "esx-dr-02.corp.example", "--until", "2022-03-01", "--reason", "window")
    assert added.returncode == 0, added.stderr
    assert "until 2022-03-01 00:00 CET" in added.stdout
    listed = web.cli("snooze", "list").stdout
    assert "2022-03-01 00:00 CET" in listed
    stored = [s for s in json.loads(web.cli("snooze", "list", "--json").stdout) if s["target"].startswith("esx-dr-02")]
    assert [s["until"] for s in stored] == ["2022-02-28T23:00:00Z"]  # machines: the same moment, in UTC
    empty = web.cli("snooze", "add", "--asset", "esx-dr-02.corp.example", "--until", "", "--reason", "window")
    assert empty.returncode == 2 and "--until: give the day the snooze ends" in empty.stderr
