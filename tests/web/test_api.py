"""/api/v1 over real HTTP against `tracker serve` on the replayed ESXi 7.0 U3 story: the CLI's keys, pages walked by
cursor, the 401/403/422 paths, and writes that the CLI then sees."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.waiting import wait_until
from tests.support.web import READ_TOKEN, WRITE_TOKEN, WebServer, web_config, web_server

U3, U3A, U3B, U3C = 18644231, 18825058, 18905247, 19193900


def walk(client: httpx.Client, path: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        url = httpx.URL(path)  # its own query (?all=true) is kept beside the page's
        params: dict[str, Any] = {**url.params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        page = client.get(url.copy_with(query=None), params=params).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_builds_have_the_clis_keys_and_show_the_7_0_u3_pulls_replaced_by_u3c(web: WebServer):
    api = web.client().get("/api/v1/builds", params={"product": "esxi", "status": "pulled"}).json()["items"]
    cli = json.loads(web.cli("builds", "--product", "esxi", "--status", "pulled", "--json").stdout)
    assert api == cli
    assert {b["build"]: b["replaced_by"] for b in api if b["line"] == "7.0"} == {U3: U3C, U3A: U3C, U3B: U3C}


def test_one_builds_page_has_its_evidence_per_source_its_events_and_what_replaces_it(web: WebServer):
    pulled = web.client().get(f"/api/v1/builds/esxi/{U3}").json()
    assert pulled["status"] == "pulled" and pulled["replaced_by"] == U3C
    assert {e["source"] for e in pulled["evidence"]} >= {"esxi-kb"}
    assert "pulled" in {e["kind"] for e in pulled["events"]}
    reissue = web.client().get(f"/api/v1/builds/esxi/{U3C}").json()
    assert {r["build"] for r in reissue["replaces"]} == {U3, U3A, U3B}
    assert web.client().get("/api/v1/builds/esxi/1").status_code == 404


def test_events_walked_page_by_page_give_each_event_once_the_same_as_the_cli(web: WebServer):
    walked = walk(web.client(), "/api/v1/events", 3)
    cli = json.loads(web.cli("events", "--json").stdout)
    assert sorted(e["id"] for e in walked) == sorted(e["id"] for e in cli)
    assert [e["id"] for e in walked] == sorted((e["id"] for e in walked), reverse=True)  # newest first
    assert {json.dumps(e, sort_keys=True) for e in walked} == {json.dumps(e, sort_keys=True) for e in cli}


def test_events_filter_by_kind_product_line_and_date(web: WebServer):
    client = web.client()
    pulled = client.get("/api/v1/events", params={"kind": "pulled", "product": "esxi", "line": "7.0"}).json()
    assert {e["build"] for e in pulled["items"]} == {U3, U3A, U3B}
    later = client.get("/api/v1/events", params={"since": "2022-01-01"}).json()["items"]
    assert later and all(e["observed_at"] >= "2022-01-01" for e in later)
    assert U3 not in {e["build"] for e in later if e["kind"] == "pulled"}


def test_exposure_walked_by_cursor_is_the_clis_exposure_and_filters_narrow_it(web: WebServer):
    client = web.client()
    walked = walk(client, "/api/v1/exposure", 5)
    cli = json.loads(web.cli("exposure", "--json").stdout)
    assert [e["asset"] for e in walked] == [e["asset"] for e in cli]
    assert walked == cli
    pulled = client.get("/api/v1/exposure", params={"status": "pulled"}).json()
    assert pulled["total"] == 6 and {e["build"] for e in pulled["items"]} == {U3, U3A, U3B}
    cluster = client.get("/api/v1/exposure", params={"cluster": "prod-b*", "sort": "asset"}).json()["items"]
    assert [e["asset"] for e in cluster] == sorted(e["asset"] for e in cluster) and len(cluster) == 4


def test_assets_and_one_asset_with_its_target(web: WebServer):
    client = web.client()
    listed = walk(client, "/api/v1/assets", 4)
    cli = json.loads(web.cli("inventory", "list", "--json").stdout)
    assert sorted(a["name"] for a in listed) == sorted(a["name"] for a in cli)
    one = client.get("/api/v1/assets/esx-prod-b01.corp.example").json()
    assert one["assets"][0]["exposure"]["recommended_build"] == U3C
    assert client.get("/api/v1/assets/nowhere").status_code == 404


@pytest.mark.parametrize(
    ("path", "cli"),
    [
        ("/api/v1/builds", ["builds", "--json"]),
        ("/api/v1/sources?all=true", ["sources", "--all", "--json"]),
        ("/api/v1/watchlists", ["watch", "list", "--json"]),
    ],
)
def test_every_short_listing_walked_two_at_a_time_is_the_clis_listing(web: WebServer, path: str, cli: list[str]):
    walked = [json.dumps(i, sort_keys=True) for i in walk(web.client(), path, 2)]
    listed = [json.dumps(i, sort_keys=True) for i in json.loads(web.cli(*cli).stdout)]
    assert walked and sorted(walked) == sorted(listed)


def test_sources_deliveries_watchlists_and_snoozes_answer_with_the_clis_keys(web: WebServer):
    client = web.client()
    assert {s["id"] for s in client.get("/api/v1/sources").json()["items"]} >= {"esxi-kb", "vcenter-kb"}
    deliveries = client.get("/api/v1/deliveries").json()["items"]
    assert deliveries and set(deliveries[0]) == {
        "id", "kind", "channel", "status", "attempts", "event_id", "created_at", "next_attempt_at", "sent_at",
        "last_error", "what", "targets",
    }  # fmt: skip
    assert [w["name"] for w in client.get("/api/v1/watchlists").json()["items"]] == ["vsphere-team"]
    assert client.get("/api/v1/snoozes").status_code == 200


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/events?kind=exploded", "kind"),
        ("/api/v1/events?since=yesterday", "since"),
        ("/api/v1/events?cursor=abc", "cursor"),
        ("/api/v1/exposure?status=melted", "status"),
        ("/api/v1/exposure?sort=colour", "sort"),
        ("/api/v1/exposure?cursor=bm9wZQ", "cursor"),
        ("/api/v1/exposure?limit=0", "limit"),
        ("/api/v1/exposure?limit=5000", "limit"),
        ("/api/v1/deliveries?status=lost", "status"),
        ("/api/v1/builds?cursor=esxi/1", "cursor"),
    ],
)
def test_a_bad_filter_is_a_422_naming_the_field(web: WebServer, path: str, field: str):
    response = web.client().get(path)
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == [field]


def test_openapi_describes_every_listing(web: WebServer):
    spec = web.client().get("/api/v1/openapi.json").json()
    paths = set(spec["paths"])
    for name in ("builds", "events", "exposure", "assets", "sources", "deliveries", "watchlists", "snoozes"):
        assert f"/api/v1/{name}" in paths
    assert not any(p.startswith(("/exposure", "/feeds")) for p in paths)  # the pages are not API


# --- writes ----------------------------------------------------------------------------------------------------------
def test_a_write_without_a_token_is_401_and_with_a_read_token_403(web: WebServer):
    body = {"asset": "esx-test-01.corp.example", "until": "2022-03-01", "reason": "x"}
    assert web.client().post("/api/v1/snoozes", json=body).status_code == 401
    assert web.client(READ_TOKEN).post("/api/v1/snoozes", json=body).status_code == 403
    assert web.client("not-a-token-at-all-really").post("/api/v1/poll").status_code == 403


def test_a_snooze_made_through_the_api_is_listed_by_the_cli_and_a_delete_ends_it(web: WebServer):
    writer = web.client(WRITE_TOKEN)
    made = writer.post(
        "/api/v1/snoozes", json={"asset": "esx-test-01.corp.example", "until": "2022-03-01", "reason": "change freeze"}
    )
    assert made.status_code == 201, made.text
    listed = {s["id"]: s for s in json.loads(web.cli("snooze", "list", "--json").stdout)}
    assert listed[made.json()["id"]]["reason"] == "change freeze"
    assert listed[made.json()["id"]]["state"] == "standing"
    assert writer.delete(f"/api/v1/snoozes/{made.json()['id']}").status_code == 204
    listed = {s["id"]: s for s in json.loads(web.cli("snooze", "list", "--json").stdout)}
    assert listed[made.json()["id"]]["state"] == "removed"
    assert writer.delete(f"/api/v1/snoozes/{made.json()['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"until": "2022-03-01", "reason": "x"}, ["target"]),
        ({"asset": "a", "build": 1, "until": "2022-03-01", "reason": "x"}, ["target"]),
        ({"asset": "a", "until": "2021-01-01", "reason": "x"}, ["until"]),
        ({"asset": "a", "until": "soon", "reason": " "}, ["until", "reason"]),
    ],
)
def test_a_bad_snooze_is_a_422_naming_each_field(web: WebServer, body: dict[str, Any], fields: list[str]):
    response = web.client(WRITE_TOKEN).post("/api/v1/snoozes", json=body)
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["detail"]] == fields


def test_a_watchlist_added_through_the_api_is_listed_by_the_cli_and_can_be_removed(web: WebServer):
    writer = web.client(WRITE_TOKEN)
    spec = {"name": "prod-b", "clusters": ["prod-b"], "events": ["pulled"], "immediate": ["console"]}
    assert writer.post("/api/v1/watchlists", json=spec).status_code == 201
    assert writer.post("/api/v1/watchlists", json=spec).status_code == 409
    assert "prod-b" in {w["name"] for w in json.loads(web.cli("watch", "list", "--json").stdout)}
    refused = writer.post("/api/v1/watchlists", json={"name": "x", "events": ["exploded"], "digest": ["nowhere"]})
    assert refused.status_code == 422
    assert writer.delete("/api/v1/watchlists/vsphere-team").status_code == 409  # the config's
    assert writer.delete("/api/v1/watchlists/prod-b").status_code == 204


def test_an_inventory_with_a_bad_row_is_a_422_listing_row_and_column_and_nothing_is_written(web: WebServer):
    before = web.cli("inventory", "list", "--json").stdout
    bad = "name,kind,build\nesx-new-01,esxi,19193900\nesx-new-02,esxi,not-a-build\n"
    response = web.client(WRITE_TOKEN).post("/api/v1/inventory?filename=hosts.csv", content=bad)
    assert response.status_code == 422, response.text
    problems = response.json()["detail"]
    assert [(p["row"], p["column"]) for p in problems] == [(3, "build")]
    assert web.cli("inventory", "list", "--json").stdout == before


def test_a_good_inventory_upload_is_imported_and_listed(web: WebServer):
    good = b"name,kind,build\nesx-new-01.corp.example,esxi,19193900\n"
    files = {"file": ("new-hosts.csv", good, "text/csv")}
    response = web.client(WRITE_TOKEN).post("/api/v1/inventory", files=files)
    assert response.status_code == 200, response.text
    assert response.json()["added"] == ["esx-new-01.corp.example"]
    names = {a["name"] for a in walk(web.client(), "/api/v1/assets", 100)}
    assert "esx-new-01.corp.example" in names


def test_retrying_a_delivery_that_is_not_failed_is_a_404(web: WebServer):
    sent = next(d for d in walk(web.client(), "/api/v1/deliveries", 100) if d["status"] == "sent")
    assert web.client(WRITE_TOKEN).post(f"/api/v1/deliveries/{sent['id']}/retry").status_code == 404


def test_no_response_carries_a_token(web: WebServer):
    client = web.client(WRITE_TOKEN)
    for path in ("/api/v1/sources", "/api/v1/deliveries", "/api/v1/watchlists", "/api/v1/openapi.json", "/healthz"):
        text = client.get(path).text
        assert WRITE_TOKEN not in text and READ_TOKEN not in text


# --- read: token -----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def private(story: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with web_server(web_config(story, tmp_path_factory.mktemp("private"), read="token")) as server:
        yield server


def test_with_read_token_a_read_needs_a_token_and_a_wrong_one_is_403(private: WebServer):
    assert private.client().get("/api/v1/builds").status_code == 401
    assert private.client().get("/api/v1/builds").headers["www-authenticate"] == "Bearer"
    assert private.client("wrong-token-0123456789").get("/api/v1/builds").status_code == 403
    assert private.client(READ_TOKEN).get("/api/v1/builds").status_code == 200
    assert private.client(WRITE_TOKEN).get("/api/v1/builds").status_code == 200
    assert private.client().get("/healthz").status_code == 200  # the probe stays open


def test_post_poll_runs_a_whole_cycle_as_tracker_poll_does(story: Path, tmp_path: Path):
    # The story's pages were served by the replay, which has ended: every source now refuses the connection, so
    # the cycle that POST /api/v1/poll starts records an error for each of them.
    with web_server(web_config(story, tmp_path)) as server:
        before = {s["id"]: s["last_error_at"] for s in server.client().get("/api/v1/sources").json()["items"]}
        assert server.client().get("/api/v1/poll").json() == {"running": False, "last": None}
        queued = server.client(WRITE_TOKEN).post("/api/v1/poll")
        assert queued.status_code == 202 and queued.json()["queued"] is True

        def polled() -> list[dict[str, Any]]:
            found = server.client().get("/api/v1/sources").json()["items"]
            return [s for s in found if s["last_error_at"] and s["last_error_at"] != before[s["id"]]]

        changed = wait_until(lambda: len(polled()) == len(before) and polled(), 60, "the cycle to record each source")

        def ended() -> dict[str, Any] | None:
            state: dict[str, Any] = server.client().get("/api/v1/poll").json()
            return None if state["running"] else state["last"]

        last = wait_until(ended, 60, "GET /api/v1/poll to tell how the cycle ended")
    assert {s["id"] for s in changed} == set(before)
    assert all("onnect" in (s["last_error"] or "") for s in changed)
    assert last["asked_at"] == "2022-02-16T08:00:00Z"  # the server's --now, as every API time is written
    assert last["sources"] >= len(before)  # the configured sources and the release notes they link to
    assert last["summary"].startswith(f"poll: {last['sources']} pages: {last['sources']} errors; ")
    assert last["lease_lost"] is None and last["blocked_by"] is None
