"""Any RSS/Atom feed: entries that name releases or builds with pull or reissue wording become notices."""

from pathlib import Path

import pytest

from tracker.domain.observations import NoticeKind, ParseResult
from tracker.domain.versions import Build, Product, Release
from tracker.sources import REGISTRY
from tracker.sources.feed import MAX_ENTRIES, NOTICE_ENTRIES, parse, read_feed

FIXTURES = Path(__file__).parents[1] / "fixtures"
ESXI = Product.ESXI
BLOG = "https://blogs.vmware.com/vsphere/feed/"
REMOVAL_POST = "https://blogs.vmware.com/vsphere/2021/11/important-information-on-esxi-7-0-update-3.html"


def read(path: str) -> ParseResult:
    return parse((FIXTURES / path).read_bytes(), url=BLOG, product=ESXI)


def esxi(update: int, letter: str, number: int | None = None) -> Build:
    return Build(ESXI, number, Release(ESXI, 7, 0, update, letter))


def test_the_registry_names_this_module_as_a_plain_feed_kind():
    kind = REGISTRY["feed"]
    assert (kind.module, kind.multi_document) == ("tracker.sources.feed", False)


def test_the_u3_removal_post_becomes_a_pull_notice_naming_u3_u3a_and_u3b_with_its_link():
    pulled, replaced = read("feeds/vendor-blog.xml").notices
    assert (pulled.kind, pulled.subjects) == (NoticeKind.PULLED, (esxi(3, ""), esxi(3, "a"), esxi(3, "b")))
    assert pulled.excerpt.startswith("VMware has removed ESXi 7.0 Update 3, 7.0 Update 3a and 7.0 Update 3b")
    assert pulled.excerpt.endswith(f"({REMOVAL_POST})")
    assert (replaced.kind, replaced.replacement) == (NoticeKind.REPLACED, esxi(3, "c", 19193900))
    assert replaced.subjects == (esxi(3, "", 18644231), esxi(3, "a", 18825058), esxi(3, "b", 18905247))


def test_entries_without_pull_or_reissue_wording_next_to_a_release_are_ignored():
    result = read("feeds/vendor-blog.xml")
    assert len(result.notices) == 2  # "What's new in the vSphere Client" (a removed plugin) says nothing
    assert (result.problem, result.records) == (None, ())


def test_broken_dates_never_crash_and_the_atom_entry_still_counts():
    result = read("feeds/broken-dates.xml")
    [notice] = result.notices
    assert (notice.kind, notice.subjects) == (NoticeKind.PULLED, (esxi(3, "b", 18905247),))
    assert notice.excerpt.endswith("(https://tracker.example.com/esxi-70u3b-pulled)")
    assert [e.published for e in read_feed((FIXTURES / "feeds/broken-dates.xml").read_bytes()).entries] == [None, None]


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("feeds/billion-laughs.xml", "refused: the XML declares entities (never expanded)"),
        ("feeds/external-dtd.xml", "refused: the XML references an external DTD"),
        ("feeds/empty.xml", "the feed has no entries"),
    ],
)
def test_hostile_and_empty_feeds_are_problems(path: str, problem: str):
    result = read(path)
    assert (result.problem, result.notices) == (problem, ())


def test_a_page_that_is_not_a_feed_is_a_problem():
    result = read("kb/login.html")
    assert result.problem is not None and result.problem.startswith("not a feed")
    assert parse(b"", url=BLOG, product=ESXI).problem is not None


def test_the_billion_laughs_text_is_never_expanded_anywhere():
    read_result = read_feed((FIXTURES / "feeds/billion-laughs.xml").read_bytes())
    assert (read_result.entries, read_result.problem) == ((), "refused: the XML declares entities (never expanded)")


def test_a_utf16_feed_declaring_entities_is_refused_too():
    document = (FIXTURES / "feeds/billion-laughs.xml").read_text(encoding="utf-8").encode("utf-16")
    assert read_feed(document).problem == "refused: the XML declares entities (never expanded)"


def test_a_plain_doctype_line_is_fine():
    document = b'<?xml version="1.0"?><!DOCTYPE rss><rss version="2.0"><channel><item><title>t</title></item></channel>'
    document += b"</rss>"
    assert read_feed(document).problem is None


def test_a_huge_atom_feed_is_cut_to_the_first_entries():
    entries = "".join(
        f"<entry><title>Post {n}</title><id>urn:{n}</id><link href='https://x.example/{n}'/>"
        f"<updated>2022-01-27T00:00:00Z</updated><summary>VMware has removed ESXi 7.0 Update 3b.</summary></entry>"
        for n in range(10_000)
    )
    document = f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{entries}</feed>'
    feed = read_feed(document.encode())
    result = parse(document.encode(), url=BLOG, product=ESXI)
    assert (len(feed.entries), feed.truncated, feed.entries[-1].title) == (MAX_ENTRIES, True, "Post 499")
    assert len(result.notices) == NOTICE_ENTRIES  # the newest entries only; each excerpt carries its own link
