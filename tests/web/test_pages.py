"""The HTML pages over the replayed ESXi 7.0 U3 story, read over HTTP from a real `tracker serve`: each page
answers with its key content, the filters narrow, the pages are links, a vendor's hostile excerpt is shown as
text, and the forms refuse a write without the CSRF field or a write token."""

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.web import READ_TOKEN, WRITE_TOKEN, WebServer, web_config, web_server

HOSTILE = "<script>alert(1)</script>"
PULLED = {"18644231": "ESXi 7.0 U3", "18825058": "ESXi 7.0 U3a", "18905247": "ESXi 7.0 U3b"}


def plant_hostile_evidence(database: Path) -> None:
    """A vendor page turned hostile: its excerpt of ESXi 7.0 U3 carries a script, its link a `javascript:` URL."""
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE sighting SET excerpt = ?, url = 'javascript:alert(2)' WHERE product = 'esxi' AND build = 18644231",
            (f"ESXi 7.0 Update 3 | {HOSTILE} | 18644231",),
        )
        db.execute(
            "UPDATE event_evidence SET excerpt = ? WHERE event_id IN (SELECT id FROM event WHERE build = 18644231)",
            (f"pulled {HOSTILE}",),
        )
        db.execute("UPDATE outbox SET status = 'failed', last_error = 'HTTP 500 from the receiver' WHERE id = 1")


@pytest.fixture(scope="module")
def hostile(story: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    config = web_config(story, tmp_path_factory.mktemp("hostile"))
    plant_hostile_evidence(config.parent / "tracker.db")
    with web_server(config) as server:
        yield server


def _html(web: WebServer, path: str, **params: str) -> str:
    response = web.client().get(path, params=params or None)  # None: keep the path's own query
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def _rows(html: str, css_class: str) -> list[str]:
    return re.findall(rf'<tr class="{css_class}[^"]*">(.*?)</tr>', html, flags=re.S)


def _csrf(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, "the page has no CSRF field"
    return found.group(1)


# --- the read pages ------------------------------------------------------------------------------------------------
def test_the_overview_names_each_pulled_build_running_here_and_the_hosts_on_it(web: WebServer):
    html = _html(web, "/")
    pulled = _rows(html, "pulled-build")
    assert len(pulled) == 3
    for build, release in PULLED.items():
        assert any(build in row and release in row for row in pulled)
    assert "esx-prod-b01.corp.example" in pulled[0] and "esx-prod-b02.corp.example" in pulled[0]
    assert 'href="/assets/esx-test-01.corp.example"' in html
    assert "ESXi 7.0 U3c" in html  # the target
    assert '<span class="count">13</span> <span class="label">critical</span>' in html  # 12 ESXi hosts, vc01
    assert "None failed." in html
    # the story ends degraded (an advisory fix no build maps to): the overview says so, as `tracker health` does
    assert "Every source answers." not in html and 'class="badge badge-degraded">degraded</span>: 1 problem' in html
    assert re.search(r'badge-warning">warning</span> <a href="/sources">vmsa</a>: advisory_unmapped', html)


def test_every_page_has_the_nav_bar_and_no_inline_script(web: WebServer):
    for path in ("/", "/builds", "/events", "/exposure", "/sources", "/deliveries", "/watchlists", "/snoozes"):
        html = _html(web, path)
        assert '<nav aria-label="pages">' in html and 'href="/exposure"' in html
        assert f'href="{path}" aria-current="page"' in html
        assert re.findall(r"<script[^>]*>", html) in ([], ['<script src="/static/refresh.js" defer>'])
        assert " style=" not in html and "<style" not in html


def test_the_stylesheet_and_the_refresh_script_are_served_from_this_origin(web: WebServer):
    css = web.client().get("/static/style.css")
    assert css.status_code == 200 and ".badge-pulled" in css.text
    assert web.client().get("/static/refresh.js").status_code == 200


def test_the_catalog_lists_each_product_and_line_with_status_badges(web: WebServer):
    html = _html(web, "/builds")
    assert "<h2>esxi 7.0</h2>" in html and "<h2>vcenter 7.0</h2>" in html
    assert '<span class="badge badge-pulled">pulled</span>' in html
    assert '<span class="badge badge-available">available</span>' in html
    assert 'href="/builds/esxi/18644231"' in html


def test_the_catalog_filters_narrow_to_pulled_esxi_builds(web: WebServer):
    html = _html(web, "/builds", product="esxi", status="pulled")
    rows = _rows(html, "build-row")
    assert {re.search(r"/builds/esxi/(\d+)", row).group(1) for row in rows} == set(PULLED)  # type: ignore[union-attr]
    assert "vcenter" not in "".join(rows)
    assert '<option value="pulled" selected>' in html  # the form shows the filter it applied


def test_a_build_page_shows_each_sources_evidence_and_the_build_that_replaced_it(web: WebServer):
    html = _html(web, "/builds/esxi/18644231")
    assert "<h1>ESXi 7.0 U3" in html and "badge-pulled" in html
    evidence = re.findall(r'<li class="evidence (listed|gone)">(.*?)</li>', html, flags=re.S)
    assert evidence and all("<blockquote" in body for _, body in evidence)
    assert "gone" in {state for state, _ in evidence}
    assert re.search(r'<a href="http://127\.0\.0\.1:\d+/kb/[^"]+" rel="noreferrer">', html)
    assert 'class="replaced-by"><a href="/builds/esxi/19193900">' in html
    assert "badge-new" in html and re.search(r"badge-pulled\">pulled</span> [^<]*was pulled", html)


def test_a_build_not_in_the_catalog_is_a_404_page(web: WebServer):
    response = web.client().get("/builds/esxi/1")
    assert response.status_code == 404
    assert "no esxi build 1 in the catalog" in response.text and "<nav" in response.text


def test_events_filter_by_kind_product_and_date(web: WebServer):
    pulled = _rows(_html(web, "/events", kind="pulled"), "event-row")
    assert pulled and all("badge-pulled" in row for row in pulled)
    vcenter = _rows(_html(web, "/events", product="vcenter", kind="pulled"), "event-row")
    assert len(vcenter) < len(pulled) and all("vCenter" in row for row in vcenter)
    recent = _rows(_html(web, "/events", since="2022-02-01"), "event-row")
    assert recent and all("2022-02" in row for row in recent)
    assert _rows(_html(web, "/events", since="2021-01-01", until="2021-02-01"), "event-row") == []


def test_events_page_through_older_links_without_repeating_one(web: WebServer):
    seen: list[str] = []
    path: str | None = "/events?limit=5"
    while path:
        html = _html(web, path.replace("&amp;", "&"))
        seen += _rows(html, "event-row")
        older = re.search(r'<a rel="next" href="([^"]+)">older</a>', html)
        path = older.group(1) if older else None
    assert seen == _rows(_html(web, "/events"), "event-row")  # every one, once, newest first
    assert len(seen) == 19  # with VMSA-2021-0028's two (Patch Pending, then its fix)


def test_exposure_filters_narrow_the_list(web: WebServer):
    every = _rows(_html(web, "/exposure"), "asset-row")
    pulled = _rows(_html(web, "/exposure", status="pulled"), "asset-row")
    dr = _rows(_html(web, "/exposure", cluster="dr"), "asset-row")
    prod_b = _rows(_html(web, "/exposure", cluster="prod-*", status="pulled", vcenter="vc01*", tag="prod"), "asset-row")
    assert len(every) == 14 and len(pulled) == 6 and len(dr) == 2
    assert all("esx-dr-" in row for row in dr)
    assert prod_b and all("esx-prod-b0" in row for row in prod_b)
    assert _rows(_html(web, "/exposure", severity="critical"), "asset-row") == [r for r in every if "critical" in r]


def test_exposure_sort_links_keep_the_filters_and_the_cursor_pages_on(web: WebServer):
    html = _html(web, "/exposure", status="pulled", limit="4")
    assert 'href="/exposure?status=pulled&amp;limit=4&amp;sort=cluster"' in html
    first = _rows(html, "asset-row")
    following = re.search(r'<a rel="next" href="([^"]+)">next page</a>', html)
    assert following and len(first) == 4
    rest = _rows(_html(web, following.group(1).replace("&amp;", "&")), "asset-row")
    assert len(rest) == 2 and not set(rest) & set(first)


def test_a_bad_filter_value_is_a_422_page_naming_the_field(web: WebServer):
    response = web.client().get("/exposure", params={"severity": "dire"})
    assert response.status_code == 422 and "severity: unknown severity &#39;dire&#39;" in response.text


def test_an_asset_page_shows_its_findings_its_target_and_why(web: WebServer):
    html = _html(web, "/assets/esx-prod-b01.corp.example")
    assert "<h1>esx-prod-b01.corp.example</h1>" in html
    assert "badge-pulled" in html and 'class="target">ESXi 7.0 U3c (19193900)' in html
    assert re.search(r'<ul class="reasons"><li>[^<]+', html)
    assert 'id="snooze-form"' in html and 'name="target" value="esx-prod-b01.corp.example"' in html
    assert web.client().get("/assets/no-such-host").status_code == 404


def test_the_sources_page_shows_health_last_success_rows_and_next_poll(web: WebServer):
    rows = _rows(_html(web, "/sources"), "source-row")
    assert len(rows) == 6
    assert all("2022-02-16 09:00 CET" in row and "2022-02-16 10:00 CET" in row for row in rows)
    [vmsa] = [row for row in rows if "<strong>vmsa</strong>" in row]
    assert "badge-warning" in vmsa and "badge-ok" not in vmsa and "advisory_unmapped" in vmsa  # never green
    assert all("badge-ok" in row for row in rows if row != vmsa)
    assert len(_rows(_html(web, "/sources", all="true"), "source-row")) > len(rows)


def test_the_deliveries_page_lists_the_targets_outcomes_in_privacy_form(web: WebServer):
    html = _html(web, "/deliveries")
    rows = _rows(html, "delivery-row")
    assert rows and all("badge-sent" in row and "ok: " in row for row in rows)
    assert "json://127.0.0.1:" in html
    assert _rows(_html(web, "/deliveries", status="failed"), "delivery-row") == []


def test_the_watchlists_page_lists_the_configs_and_offers_the_add_form(web: WebServer):
    html = _html(web, "/watchlists")
    assert "<strong>vsphere-team</strong>" in html and "edit the config" in html
    assert 'id="watchlist-form"' in html and 'name="token"' in html and 'type="password"' in html


# --- escaping ------------------------------------------------------------------------------------------------------
def test_a_hostile_excerpt_is_shown_as_text_and_its_javascript_url_is_not_linked(hostile: WebServer):
    for path in ("/builds/esxi/18644231", "/events"):
        html = _html(hostile, path)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert HOSTILE not in html
        assert 'href="javascript:' not in html
    assert '<span class="url">javascript:alert(2)</span>' in _html(hostile, "/builds/esxi/18644231")


# --- the forms that write -------------------------------------------------------------------------------------------
def _snooze_form(csrf: str, **fields: str) -> dict[str, str]:
    base = {"kind": "asset", "target": "esx-prod-b02.corp.example", "until": "2022-03-01", "reason": "change window"}
    return {**base, "csrf": csrf, **fields}


def _snoozes_listed(web: WebServer) -> list[dict[str, object]]:
    listed = web.cli("snooze", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    found: list[dict[str, object]] = json.loads(listed.stdout)
    return found


def test_a_write_without_the_csrf_field_or_with_a_stale_one_is_refused(web: WebServer):
    with web.client() as client:
        _csrf(client, "/snoozes")
        missing = client.post("/snoozes", data={**_snooze_form(""), "token": WRITE_TOKEN, "reason": "no csrf"})
        stale = client.post("/snoozes", data={**_snooze_form("forged"), "token": WRITE_TOKEN, "reason": "stale"})
    assert missing.status_code == stale.status_code == 403
    assert "CSRF" in missing.text
    assert not [s for s in _snoozes_listed(web) if s["reason"] in ("no csrf", "stale")]


def test_a_write_with_a_wrong_token_or_a_read_token_is_refused(web: WebServer):
    with web.client() as client:
        csrf = _csrf(client, "/snoozes")
        for token in ("guess", READ_TOKEN, ""):
            refused = client.post("/snoozes", data={**_snooze_form(csrf), "token": token, "reason": f"by {token}"})
            assert refused.status_code in (401, 403), token
        assert refused.status_code == 401 and "sign in" in refused.text  # no token at all: how to give one
    assert not [s for s in _snoozes_listed(web) if str(s["reason"]).startswith("by ")]


def test_a_snooze_added_with_the_form_is_listed_then_ended_with_its_end_button(web: WebServer):
    with web.client() as client:
        csrf = _csrf(client, "/snoozes")
        added = client.post("/snoozes", data={**_snooze_form(csrf), "token": WRITE_TOKEN})
        assert added.status_code == 303 and added.headers["location"] == "/snoozes"
        (snooze,) = [s for s in _snoozes_listed(web) if s["reason"] == "change window"]
        assert snooze["state"] == "standing" and snooze["target"] == "esx-prod-b02.corp.example"
        assert "change window" in client.get("/assets/esx-prod-b02.corp.example").text
        ended = client.post(f"/snoozes/{snooze['id']}/remove", data={"csrf": csrf, "token": WRITE_TOKEN})
        assert ended.status_code == 303
    assert [s["state"] for s in _snoozes_listed(web) if s["id"] == snooze["id"]] == ["removed"]


def test_a_refused_snooze_shows_the_form_again_with_the_problems_and_the_values_given(web: WebServer):
    with web.client() as client:
        csrf = _csrf(client, "/snoozes")
        form = _snooze_form(csrf, until="next tuesday", reason="kept <b>as typed</b>")
        refused = client.post("/snoozes", data={**form, "token": WRITE_TOKEN})
    assert refused.status_code == 422
    assert "<li><strong>until</strong>: expected an ISO-8601 date" in refused.text
    assert 'value="kept &lt;b&gt;as typed&lt;/b&gt;"' in refused.text and WRITE_TOKEN not in refused.text


def test_signed_in_with_the_write_token_the_forms_ask_for_no_token(web: WebServer):
    with web.client() as client:
        csrf = _csrf(client, "/signin")
        assert client.post("/signin", data={"token": WRITE_TOKEN, "csrf": csrf}).status_code == 303
        html = client.get("/snoozes").text
        assert 'name="token"' not in html and "signed in, may write" in html
        added = client.post("/snoozes", data=_snooze_form(csrf, reason="signed in"))
        assert added.status_code == 303
    assert [s for s in _snoozes_listed(web) if s["reason"] == "signed in"]


def test_a_watchlist_added_with_the_form_is_listed_and_removed_with_its_button(web: WebServer):
    with web.client() as client:
        csrf = _csrf(client, "/watchlists")
        form = {"name": "dr-team", "products": "esxi", "clusters": "dr, dr-*", "events": ["pulled", "advisory"]}
        added = client.post("/watchlists", data={**form, "min_severity": "none", "csrf": csrf, "token": WRITE_TOKEN})
        assert added.status_code == 303, added.text
        listed = web.cli("watch", "list", "--json")
        (found,) = [w for w in json.loads(listed.stdout) if w["name"] == "dr-team"]
        assert found["clusters"] == ["dr", "dr-*"] and found["events"] == ["pulled", "advisory"]
        html = client.get("/watchlists").text
        assert "<strong>dr-team</strong>" in html and 'action="/watchlists/dr-team/remove"' in html
        removed = client.post("/watchlists/dr-team/remove", data={"csrf": csrf, "token": WRITE_TOKEN})
        assert removed.status_code == 303
    assert "dr-team" not in web.cli("watch", "list", "--json").stdout


def test_a_failed_delivery_is_on_the_overview_and_its_retry_button_queues_it_again(hostile: WebServer):
    assert "HTTP 500 from the receiver" in _html(hostile, "/")
    with hostile.client() as client:
        html = client.get("/deliveries", params={"status": "failed"}).text
        assert 'action="/deliveries/1/retry"' in html
        csrf = _csrf(client, "/deliveries")
        retried = client.post("/deliveries/1/retry", data={"csrf": csrf, "token": WRITE_TOKEN})
        assert retried.status_code == 303 and retried.headers["location"] == "/deliveries"
        assert 'action="/deliveries/1/retry"' not in client.get("/deliveries").text


# --- sign-in ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def guarded(story: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    with web_server(web_config(story, tmp_path_factory.mktemp("guarded"), read="token")) as server:
        yield server


def test_with_read_token_a_page_read_without_one_goes_to_the_sign_in_page(guarded: WebServer):
    response = guarded.client().get("/exposure", params={"status": "pulled"})
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fexposure%3Fstatus%3Dpulled"
    assert 'type="password" name="token"' in guarded.client().get("/signin").text


def test_signing_in_with_the_read_token_sets_an_httponly_strict_cookie_and_opens_the_pages(guarded: WebServer):
    with guarded.client() as client:
        csrf = _csrf(client, "/signin")
        response = client.post("/signin", data={"token": READ_TOKEN, "csrf": csrf, "next": "/builds"})
        assert response.status_code == 303 and response.headers["location"] == "/builds"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("tracker_token=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert client.get("/builds").status_code == 200


def test_signing_in_with_a_wrong_token_or_without_the_csrf_field_is_refused(guarded: WebServer):
    with guarded.client() as client:
        csrf = _csrf(client, "/signin")
        wrong = client.post("/signin", data={"token": "guess", "csrf": csrf})
        assert wrong.status_code == 403 and "not a token this tracker knows" in wrong.text
        assert "set-cookie" not in wrong.headers or "tracker_token" not in wrong.headers["set-cookie"]
        assert client.post("/signin", data={"token": READ_TOKEN}).status_code == 403


def test_a_stale_sign_in_cookie_is_a_403_page_linking_to_the_sign_in_page(guarded: WebServer):
    with guarded.client() as client:
        client.cookies.set("tracker_token", "an-old-token")
        response = client.get("/builds")
    assert response.status_code == 403
    assert "this token may not read" in response.text and 'href="/signin?next=/builds"' in response.text


def test_signing_out_ends_the_sign_in(guarded: WebServer):
    with guarded.client() as client:
        csrf = _csrf(client, "/signin")
        client.post("/signin", data={"token": READ_TOKEN, "csrf": csrf})
        assert "Sign out" in client.get("/").text
        out = client.post("/signout", data={"csrf": csrf})
        assert out.status_code == 303 and 'tracker_token=""' in out.headers["set-cookie"]
        assert client.get("/").status_code == 303  # to the sign-in page again


def test_sign_in_goes_back_only_to_a_page_of_this_site(guarded: WebServer):
    with guarded.client() as client:
        csrf = _csrf(client, "/signin")
        response = client.post("/signin", data={"token": WRITE_TOKEN, "csrf": csrf, "next": "//evil.example/"})
        assert response.headers["location"] == "/"


# --- 5,000 hosts -----------------------------------------------------------------------------------------------------
def _big_inventory(path: Path, hosts: int) -> Path:
    builds = ("18644231", "18825058", "19193900", "18426014")
    lines = ["name,kind,build,version,vcenter,datacenter,cluster,tags,owner,vibs"]
    for i in range(hosts):
        build = builds[i % len(builds)]
        where = f"vc{i % 5}.big.example,dc,c{i % 40}"
        lines.append(f"esx-{i:05}.big.example,esxi,{build},VMware ESXi 7.0.3 build-{build},{where},big,ops,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_five_thousand_hosts_page_quickly_a_hundred_rows_at_a_time(story: Path, tmp_path: Path):
    config = web_config(story, tmp_path)
    offline = WebServer("", config, None)  # type: ignore[arg-type]  # the CLI alone, before the server starts
    imported = offline.cli("inventory", "import", str(_big_inventory(tmp_path / "big.csv", 5000)))
    assert imported.returncode == 0, imported.stderr
    with web_server(config) as server:
        server.client().get("/exposure")  # the first read assesses every host once
        started = time.perf_counter()
        html = _html(server, "/exposure", status="pulled", cluster="c1*")
        following = re.search(r'<a rel="next" href="([^"]+)">next page</a>', html)
        assert following
        second = _html(server, following.group(1).replace("&amp;", "&"))
        elapsed = time.perf_counter() - started
    assert len(_rows(html, "asset-row")) == 100 and _rows(second, "asset-row")
    assert elapsed < 3, f"two pages of 5,000 hosts took {elapsed:.2f}s"
