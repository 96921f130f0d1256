"""The fixture site answers like a real web server: conditional GETs, faults, overlays, huge bodies."""

import httpx
import pytest

from tests.support.site import FixtureSite


def get(site: FixtureSite, path: str, **headers: str) -> httpx.Response:
    return httpx.get(site.url(path), headers=headers, timeout=5)


def test_it_answers_304_when_the_etag_still_matches(site: FixtureSite):
    first = get(site, "kb/broadcom-316595-esxi.html")
    again = get(site, "kb/broadcom-316595-esxi.html", **{"If-None-Match": first.headers["ETag"]})
    assert (first.status_code, again.status_code, again.content) == (200, 304, b"")
    assert first.headers["Content-Type"] == "text/html; charset=utf-8"


def test_it_answers_304_when_nothing_changed_since_the_last_modified_date(site: FixtureSite):
    first = get(site, "kb/login.html")
    again = get(site, "kb/login.html", **{"If-Modified-Since": first.headers["Last-Modified"]})
    assert again.status_code == 304


def test_a_new_stage_changes_both_validators_of_the_same_path(site: FixtureSite):
    site.stage("04-2021-11-13")
    before = get(site, "kb/316595.html")
    site.stage("05-2021-11-18")
    validators = {"If-None-Match": before.headers["ETag"], "If-Modified-Since": before.headers["Last-Modified"]}
    after = get(site, "kb/316595.html", **validators)
    by_date = get(site, "kb/316595.html", **{"If-Modified-Since": before.headers["Last-Modified"]})
    assert (after.status_code, by_date.status_code) == (200, 200)
    assert b"18905247" in before.content and b"18905247" not in after.content


def test_a_stage_falls_back_to_the_common_pages(site: FixtureSite):
    site.stage("01-2021-09-20")
    assert get(site, "notes/esxi-70u2d.html").status_code == 200
    assert get(site, "notes/esxi-70u3c.html").status_code == 404
    site.stage("09-2022-01-28")
    assert b"replaces build 18644231" in get(site, "notes/esxi-70u3c.html").content


@pytest.mark.parametrize("status", [404, 500, 503])
def test_a_fault_replaces_the_page_until_cleared(site: FixtureSite, status: int):
    site.fail("kb/login.html", status)
    assert get(site, "kb/login.html").status_code == status
    site.clear_faults()
    assert get(site, "kb/login.html").status_code == 200


def test_a_held_page_makes_the_client_time_out(site: FixtureSite):
    site.serve("slow.html", b"<html>late</html>")
    site.hold("slow.html", 2.0)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(site.url("slow.html"), timeout=0.2)


def test_ad_hoc_bodies_keep_their_status_and_type(site: FixtureSite):
    site.serve("feed.xml", b"<rss/>", content_type="application/rss+xml", status=410)
    answer = get(site, "feed.xml")
    assert (answer.status_code, answer.headers["Content-Type"], answer.content) == (
        410,
        "application/rss+xml",
        b"<rss/>",
    )


def test_a_huge_body_streams_its_full_length(site: FixtureSite):
    site.serve_huge("huge.html", 50 * 1024 * 1024)
    received = 0
    with httpx.stream("GET", site.url("huge.html"), timeout=10) as answer:
        assert answer.headers["Content-Length"] == str(50 * 1024 * 1024)
        for chunk in answer.iter_bytes():
            received += len(chunk)
    assert received == 50 * 1024 * 1024


def test_the_latin1_fixture_is_served_with_its_own_charset(site: FixtureSite):
    answer = get(site, "kb/vmware-2143832-esxi.latin1.html")
    assert answer.headers["Content-Type"] == "text/html; charset=iso-8859-1"
    assert b"\xa9" in answer.content  # the copyright sign as one latin-1 byte


def test_it_logs_every_request_with_its_status_and_headers(site: FixtureSite):
    get(site, "kb/login.html?session=1", **{"X-Probe": "yes"})
    get(site, "missing.html")
    hits = site.requests
    assert [(h.method, h.path, h.status) for h in hits] == [
        ("GET", "/kb/login.html?session=1", 200),
        ("GET", "/missing.html", 404),
    ]
    assert hits[0].headers["X-Probe"] == "yes"
    site.reset_log()
    assert site.requests == []


def test_paths_cannot_escape_the_fixture_folder(site: FixtureSite):
    assert get(site, "../conftest.py").status_code == 404
    assert get(site, "kb/../../conftest.py").status_code == 404
