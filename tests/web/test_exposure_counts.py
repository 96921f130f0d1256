"""One count per filter on every face, over the replayed story through a real `tracker serve`: each severity card
of the overview counts exactly the rows of the page it links to (and the API's total for the same filter, and
`/metrics`), `tracker exposure` says the same counts, and "at least" is a filter of its own, said in its label."""

import re

from tests.support.web import WebServer


def _cards(web: WebServer) -> list[tuple[str, str, int]]:
    """The overview's severity cards: (severity, link, count)."""
    html = web.client().get("/").text
    found = re.findall(r'<a class="card card-(\w+)" href="([^"]+)"[^>]*>\s*<span class="count">(\d+)</span>', html)
    return [(severity, href.replace("&amp;", "&"), int(count)) for severity, href, count in found]


def _listed(web: WebServer, href: str) -> tuple[int, list[str]]:
    """The page's stated total, and the asset rows of every page (following "next page")."""
    rows: list[str] = []
    total = None
    while href:
        html = web.client().get(href).text
        total = total if total is not None else int(re.search(r'<span id="total">(\d+)</span>', html).group(1))
        rows += re.findall(r'<tr class="asset-row[^"]*">(.*?)</tr>', html, flags=re.S)
        following = re.search(r'<a rel="next" href="([^"]+)">next page</a>', html)
        href = following.group(1).replace("&amp;", "&") if following else ""
    return total or 0, rows


def test_each_severity_card_counts_exactly_the_rows_of_the_page_it_links_to(web: WebServer):
    cards = _cards(web)
    assert [severity for severity, _, _ in cards] == ["critical", "important", "moderate", "low", "none"]
    for severity, href, count in cards:
        total, rows = _listed(web, href)
        assert total == len(rows) == count, href
        assert all(f"badge-{severity}" in row for row in rows)
        api = web.client().get("/api/v1/exposure", params={"severity": severity}).json()
        assert api["total"] == count and {item["severity"] for item in api["items"]} <= {severity}
    assert sum(count for _, _, count in cards) == 14  # every asset of the story, once
    assert any(count for severity, _, count in cards if severity not in ("critical", "none"))  # not a trivial split


def test_at_least_a_severity_is_its_own_filter_listing_that_card_and_every_worse_one(web: WebServer):
    cards = _cards(web)
    for n, (severity, _, _) in enumerate(cards):
        html = web.client().get("/exposure", params={"min_severity": severity}).text
        total, rows = _listed(web, f"/exposure?min_severity={severity}")
        assert total == len(rows) == sum(count for _, _, count in cards[: n + 1])
        assert f"(severity at least {severity})" in html
    low = web.client().get("/exposure", params={"severity": "low"}).text
    assert "(severity low)" in low and '<label>Severity at least <select name="min_severity"' in low


def test_tracker_exposure_and_metrics_say_the_counts_of_the_overviews_cards(web: WebServer):
    cards = _cards(web)
    said = web.cli("exposure")
    assert said.returncode == 0, said.stderr
    expected = ", ".join(f"{count} {severity}" for severity, _, count in cards)
    assert f"by severity: {expected}" in said.stdout
    metrics = web.client().get("/metrics").text
    for severity, _, count in cards:
        assert f'tracker_assets{{severity="{severity}"}} {float(count)}' in metrics
