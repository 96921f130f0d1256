"""The pages in a real Chromium (Playwright, /usr/bin/chromium) over the replayed story, with one hostile excerpt
planted in the evidence of ESXi 7.0 U3: what an admin sees on the morning check, the filters, a snooze added
through the form, and no script from a vendor's page ever running. One browser for the module; each page is saved
as a screenshot in the test's tmp_path."""

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

from tests.support.web import WRITE_TOKEN, WebServer, web_config, web_server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE = "<script>alert(1)</script>"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (scripts/install-test-deps.sh)")


@pytest.fixture(scope="module")
def site(story: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    config = web_config(story, tmp_path_factory.mktemp("browser"))
    with sqlite3.connect(config.parent / "tracker.db") as db:
        db.execute(
            "UPDATE sighting SET excerpt = ? WHERE product = 'esxi' AND build = 18644231",
            (f"ESXi 7.0 Update 3 | {HOSTILE} | 18644231",),
        )
    with web_server(config) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, site: WebServer) -> Iterator[Page]:
    context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: _refuse(dialog, dialogs))
    yield opened
    context.close()
    assert dialogs == [], f"a script ran and opened a dialog: {dialogs}"


def _refuse(dialog: Dialog, seen: list[str]) -> None:
    seen.append(dialog.message)
    dialog.dismiss()


def _shot(page: Page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path


def test_the_overview_names_the_pulled_builds_and_the_hosts_running_them(page: Page, tmp_path: Path):
    page.goto("/")
    rows = page.locator("tr.pulled-build")
    assert rows.count() == 3
    text = page.locator("#pulled").inner_text()
    for release, hosts in {
        "ESXi 7.0 U3": ("esx-prod-b01.corp.example", "esx-prod-b02.corp.example"),
        "ESXi 7.0 U3a": ("esx-prod-b03.corp.example", "esx-prod-b04.corp.example"),
        "ESXi 7.0 U3b": ("esx-test-01.corp.example", "esx-test-02.corp.example"),
    }.items():
        assert release in text and all(host in text for host in hosts)
    _shot(page, tmp_path, "overview")


def test_the_exposure_filters_narrow_the_list(page: Page, tmp_path: Path):
    page.goto("/exposure")
    assert page.locator("tr.asset-row").count() == 14
    page.select_option("#f-status", "pulled")
    page.fill("input[name=cluster]", "prod-*")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/exposure?*status=pulled*")
    names = page.locator("tr.asset-row td:first-child a").all_inner_texts()
    assert sorted(names) == [f"esx-prod-b0{i}.corp.example" for i in range(1, 5)]
    assert page.locator("#total").inner_text() == "4"
    page.get_by_role("link", name="cluster", exact=True).click()  # the sort link keeps the filters
    page.wait_for_url("**sort=cluster**")
    assert page.locator("tr.asset-row").count() == 4
    _shot(page, tmp_path, "exposure")


def test_a_build_page_shows_its_evidence_timeline_and_the_hostile_excerpt_as_text(page: Page, tmp_path: Path):
    page.goto("/builds/esxi/18644231")
    assert "ESXi 7.0 U3" in page.locator("h1").inner_text()
    evidence = page.locator("#evidence li.evidence")
    assert evidence.count() >= 2
    assert page.locator("#evidence li.gone").count() >= 1
    assert page.locator("#events li.event").count() >= 2
    shown = page.locator("#evidence blockquote.excerpt").all_inner_texts()
    assert any(HOSTILE in text for text in shown)  # the markup is text on the page, not a script in it
    assert page.locator("main script").count() == 0  # and the page fixture saw no dialog open
    page.click("dd.replaced-by a")
    page.wait_for_url("**/builds/esxi/19193900")
    _shot(page, tmp_path, "build")


def test_every_page_renders_and_is_saved_as_a_screenshot(page: Page, tmp_path: Path):
    for path, heading in {
        "/builds": "Build catalog",
        "/events": "Events",
        "/assets/esx-prod-b01.corp.example": "esx-prod-b01.corp.example",
        "/sources": "Sources",
        "/deliveries": "Deliveries",
        "/watchlists": "Watchlists",
        "/snoozes": "Snoozes",
        "/signin": "Sign in",
    }.items():
        response = page.goto(path)
        assert response is not None and response.ok, path
        assert page.locator("h1").inner_text() == heading
        _shot(page, tmp_path, path.strip("/").replace("/", "-") or "overview")
    assert len(list(tmp_path.glob("*.png"))) == 8


def test_a_snooze_added_through_the_form_with_the_write_token_is_listed_by_the_cli(
    page: Page, site: WebServer, tmp_path: Path
):
    page.goto("/assets/esx-prod-b01.corp.example")
    form = page.locator("#snooze-form")
    form.locator("input[name=until]").fill("2022-03-01")
    form.locator("input[name=reason]").fill("waiting for the change window")
    form.locator("input[name=token]").fill(WRITE_TOKEN)
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/snoozes")
    assert "waiting for the change window" in page.locator("tr.snooze-row").first.inner_text()
    _shot(page, tmp_path, "snoozes")
    listed = site.cli("snooze", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    snoozes = json.loads(listed.stdout)
    assert ("asset", "esx-prod-b01.corp.example", "waiting for the change window", "standing") in {
        (s["kind"], s["target"], s["reason"], s["state"]) for s in snoozes
    }


def test_with_javascript_off_the_filters_and_the_snooze_form_still_work(browser: Browser, site: WebServer):
    context = browser.new_context(base_url=site.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/events")
    page.select_option("#f-kind", "pulled")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/events?kind=pulled*")
    assert page.locator("tr.event-row").count() == page.locator("tr.kind-pulled").count() > 0
    page.goto("/snoozes")
    form = page.locator("#snooze-form")
    form.locator("select[name=kind]").select_option("build")
    form.locator("input[name=target]").fill("18905247")
    form.locator("input[name=until]").fill("2022-03-15")
    form.locator("input[name=reason]").fill("test hosts only")
    form.locator("input[name=token]").fill(WRITE_TOKEN)
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/snoozes")
    assert "test hosts only" in page.locator("main table").inner_text()
    context.close()
