"""The fetcher against a real local server: conditional GET, typed errors, the size cap, politeness."""

import pytest

from tests.support.site import FixtureSite
from tracker.http import (
    Document,
    FetchConnectError,
    Fetcher,
    FetchStatusError,
    FetchTimeout,
    HttpSettings,
    NotModified,
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
