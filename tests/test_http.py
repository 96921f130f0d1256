"""The fetcher against a real local server: conditional GET, typed errors, the size cap, politeness, the fetch
deadline and redirects (against tests/support/hostile_site.py: a server that trickles and redirects)."""

import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.hostile_site import HostileSite
from tests.support.site import FixtureSite
from tracker.http import (
    Document,
    FetchConnectError,
    Fetcher,
    FetchStatusError,
    FetchTimeout,
    HttpSettings,
    NotModified,
    RedirectRefused,
    ResponseTooLarge,
    Validators,
    build_client,
)

SETTINGS = HttpSettings(user_agent="release-tracker/test", timeout=1.0, max_bytes=1_000_000, politeness_delay=0)


def fetcher(settings: HttpSettings = SETTINGS, **kwargs: object) -> Fetcher:
    return Fetcher(build_client(settings), settings, **kwargs)  # type: ignore[arg-type]


def test_an_unchanged_page_costs_a_304_the_second_time(site: FixtureSite):
    site.serve("/kb.html", b"<html>builds</html>")
    first = fetcher().get(site.url("/kb.html"))
    assert isinstance(first, Document) and first.content == b"<html>builds</html>"
    assert first.validators.etag
    second = fetcher().get(site.url("/kb.html"), first.validators)
    assert isinstance(second, NotModified)
    assert second.validators.etag == first.validators.etag
    conditional = site.requests[-1][3]
    assert conditional.get("If-None-Match") == first.validators.etag


def test_a_changed_page_is_fetched_whole_despite_old_validators(site: FixtureSite):
    site.serve("/kb.html", b"<html>new</html>")
    answer = fetcher().get(site.url("/kb.html"), Validators(etag='"stale"', last_modified=None))
    assert isinstance(answer, Document) and answer.content == b"<html>new</html>"


def test_the_user_agent_says_who_is_asking(site: FixtureSite):
    site.serve("/kb.html", b"x")
    fetcher().get(site.url("/kb.html"))
    assert site.requests[-1][3].get("User-Agent") == "release-tracker/test"


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (503, False), (404, True), (429, False)])
def test_http_errors_are_typed_and_say_whether_retrying_helps(site: FixtureSite, status: int, permanent: bool):
    site.serve("/kb.html", b"x")
    site.fail("/kb.html", status)
    with pytest.raises(FetchStatusError) as caught:
        fetcher().get(site.url("/kb.html"))
    assert caught.value.status == status
    assert caught.value.permanent is permanent
    assert f"HTTP {status}" in str(caught.value)


def test_a_server_that_does_not_answer_in_time_is_a_transient_timeout(site: FixtureSite):
    site.serve("/slow.html", b"x")
    site.hold("/slow.html", 3.0)
    with pytest.raises(FetchTimeout) as caught:
        fetcher().get(site.url("/slow.html"))
    assert caught.value.permanent is False


def test_a_refused_connection_is_a_transient_connect_error():
    with pytest.raises(FetchConnectError) as caught:
        fetcher().get("http://127.0.0.1:9/nothing")
    assert caught.value.permanent is False


def test_a_50_mb_response_is_refused_at_the_cap_without_reading_it_all(site: FixtureSite):
    site.serve_huge("/huge.html", 50_000_000)
    with pytest.raises(ResponseTooLarge) as caught:
        fetcher().get(site.url("/huge.html"))
    assert caught.value.permanent is True
    assert "1,000,000" in str(caught.value)


def test_two_requests_to_one_host_keep_the_politeness_gap(site: FixtureSite):
    site.serve("/a.html", b"a")
    waits: list[float] = []
    clock = iter([0.0, 0.0, 0.0, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.3])
    polite = fetcher(
        HttpSettings("release-tracker/test", 1.0, 1000, politeness_delay=1.0),
        sleep=waits.append,
        monotonic=lambda: next(clock),
    )
    polite.get(site.url("/a.html"))
    polite.get(site.url("/a.html"))
    assert len(waits) == 1 and waits[0] == pytest.approx(0.9)


# --- the deadline: a whole fetch, body included (issue 10) --------------------------------------------------------
PAGE = b"<html><body>" + b"<p>builds</p>" * 400 + b"</body></html>"  # ~5 KB: hours at the trickle's pace
TRICKLED = HttpSettings("release-tracker/test", timeout=5.0, max_bytes=1_000_000, politeness_delay=0, deadline=1.5)
DOES_NOT_HANG = 30.0  # seconds: a generous bound, where today's fetcher never returns


@pytest.fixture
def hostile() -> Iterator[HostileSite]:
    server = HostileSite().start()
    try:
        yield server
    finally:
        server.stop()


def _times_out_at_the_deadline(fetch: Callable[[], object], url: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchTimeout) as caught:
        fetch()
    assert time.monotonic() - started < DOES_NOT_HANG
    assert str(caught.value) == f"{url}: not fetched within its 1.5 s deadline"
    assert caught.value.permanent is False


def test_a_page_trickled_one_byte_at_a_time_fails_at_the_fetch_deadline(hostile: HostileSite):
    hostile.trickle("/kb.html", PAGE)
    url = hostile.url("/kb.html")
    _times_out_at_the_deadline(lambda: fetcher(TRICKLED).get(url), url)


def test_a_conditional_get_of_a_trickled_page_keeps_the_deadline_too(hostile: HostileSite):
    hostile.trickle("/kb.html", PAGE)
    url = hostile.url("/kb.html")
    _times_out_at_the_deadline(lambda: fetcher(TRICKLED).get(url, Validators(etag='"old"')), url)


def test_trickled_headers_count_against_the_deadline(hostile: HostileSite):
    hostile.trickle("/kb.html", PAGE, headers_too=True)
    url = hostile.url("/kb.html")
    _times_out_at_the_deadline(lambda: fetcher(TRICKLED).get(url), url)


def test_a_depot_document_read_through_content_keeps_the_deadline(hostile: HostileSite):
    hostile.trickle("/depot/vmw-depot-index.xml", PAGE)
    url = hostile.url("/depot/vmw-depot-index.xml")
    _times_out_at_the_deadline(lambda: fetcher(TRICKLED).content(url), url)


def test_a_json_post_answered_by_a_trickle_keeps_the_deadline(hostile: HostileSite):
    hostile.trickle("/listing", b'{"data": {"list": []}}' * 100)
    url = hostile.url("/listing")
    _times_out_at_the_deadline(lambda: fetcher(TRICKLED).post_json(url, {"pageNumber": 0}), url)


def test_a_fetch_well_within_its_deadline_is_untouched_by_it(hostile: HostileSite):
    hostile.serve("/kb.html", PAGE)
    answer = fetcher(TRICKLED).get(hostile.url("/kb.html"))
    assert isinstance(answer, Document) and answer.content == PAGE and answer.redirected is False


# --- redirects (issue 10) -------------------------------------------------------------------------------------
def test_a_redirect_on_the_same_host_is_followed_and_the_document_names_where_it_came_from(hostile: HostileSite):
    hostile.redirect("/kb/316595", "/kb/316595.html")
    hostile.serve("/kb/316595.html", PAGE)
    answer = fetcher().get(hostile.url("/kb/316595"))
    assert isinstance(answer, Document) and answer.content == PAGE
    assert (answer.url, answer.redirected) == (hostile.url("/kb/316595.html"), True)


def test_a_redirect_to_another_host_is_refused_naming_both_hosts_without_query_or_credentials(hostile: HostileSite):
    elsewhere = hostile.url("/mirror/316595.html?sig=s3cr3t-signature", host="user:pa55w0rd@localhost")
    hostile.redirect("/kb/316595.html", elsewhere)
    hostile.serve("/mirror/316595.html", PAGE)
    with pytest.raises(RedirectRefused) as caught:
        fetcher().get(hostile.url("/kb/316595.html"))
    port = hostile.port
    assert str(caught.value) == (
        f"http://127.0.0.1:{port}/kb/316595.html: redirected from 127.0.0.1:{port} to localhost:{port}, another "
        "host; not followed (list 'localhost' in the source's allow_hosts to follow it)"
    )
    assert caught.value.permanent is True
    assert [hit.host for hit in hostile.requests] == [f"127.0.0.1:{port}"]  # the other host was never asked


def test_a_redirect_to_a_host_the_source_allows_is_followed(hostile: HostileSite):
    hostile.redirect("/kb/316595.html", hostile.url("/mirror/316595.html", host="localhost"))
    hostile.serve("/mirror/316595.html", PAGE)
    answer = fetcher().get(hostile.url("/kb/316595.html"), allow_hosts=frozenset({"localhost"}))
    assert isinstance(answer, Document) and answer.content == PAGE
    assert answer.url == hostile.url("/mirror/316595.html", host="localhost")


def test_a_redirect_to_another_port_of_the_same_host_is_another_origin(hostile: HostileSite, site: FixtureSite):
    site.serve("/kb.html", PAGE)
    hostile.redirect("/kb.html", site.url("/kb.html"))
    with pytest.raises(RedirectRefused):
        fetcher().get(hostile.url("/kb.html"))


def test_a_redirect_loop_on_one_host_still_stops(hostile: HostileSite):
    hostile.redirect("/a.html", "/b.html")
    hostile.redirect("/b.html", "/a.html")
    with pytest.raises(FetchStatusError) as caught:
        fetcher().get(hostile.url("/a.html"))
    assert caught.value.status == 310


def test_httpx_loads_without_its_command_line_and_the_process_is_left_as_it_was():
    """httpx's own command line (click, rich, pygments: a fifth of a quiet poll) is not loaded with the tracker's
    client, and nothing stays blocked: code that wants httpx's command line later still gets it."""
    probe = (
        "import sys, tracker.http\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'click', 'rich', 'pygments'}))\n"
        "print('httpx._main' in sys.modules)\n"
        "import httpx._main\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'click', 'rich', 'pygments'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.splitlines() == ["[]", "False", "['click', 'pygments', 'rich']"]
