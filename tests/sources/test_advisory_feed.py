"""Security advisories: the VMSA RSS feed, advisory pages (Response Matrix) and Broadcom's paged JSON listing."""

import json
from datetime import date
from pathlib import Path

import pytest

from tracker.domain.observations import AdvisoryFix, AdvisoryRecord, ParseResult
from tracker.domain.version_grammar import parse_build
from tracker.domain.versions import Build, Product, Release
from tracker.http import FetchStatusError
from tracker.sources import REGISTRY
from tracker.sources.advisory_feed import collect, follow, listing, parse
from tracker.sources.advisory_feed.listing import listing_body

FIXTURES = Path(__file__).parents[1] / "fixtures" / "advisories"
FEEDS = Path(__file__).parents[1] / "fixtures" / "feeds"
ESXI, VCENTER = Product.ESXI, Product.VCENTER
RSS_URL = "https://www.vmware.com/security/advisories.xml"
PAGE_0004 = "https://www.vmware.com/security/advisories/VMSA-2022-0004.html"
PAGE_0028 = "https://www.vmware.com/security/advisories/VMSA-2021-0028.html"
LISTING_URL = "https://support.broadcom.com/web/ecx/security-advisory/-/securityadvisory/getSecurityAdvisoryList"
NOTICE = "https://support.broadcom.com/web/ecx/support-content-notification/-/external/content/SecurityAdvisories/0/"


class FakeFetch:
    """The network edge: fixture bytes by URL for GETs, listing pages by pageNumber for POSTs; records every call."""

    def __init__(self, pages: dict[str, bytes] | None = None, listing: list[bytes] | None = None) -> None:
        self.pages = pages or {}
        self.listing = listing or []
        self.gets: list[str] = []
        self.posts: list[tuple[str, dict[str, object]]] = []

    def get(self, url: str) -> bytes:
        self.gets.append(url)
        if url not in self.pages:
            raise FetchStatusError(url, 404)
        return self.pages[url]

    def post_json(self, url: str, body: dict[str, object]) -> bytes:
        self.posts.append((url, body))
        number = body["pageNumber"]
        assert isinstance(number, int)
        return self.listing[number] if number < len(self.listing) else b'{"success": true, "data": {"list": []}}'


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def read(name: str, url: str = PAGE_0004, product: Product = ESXI) -> ParseResult:
    return parse(fixture(name), url=url, product=product)


def esxi(update: int, letter: str, number: int) -> Build:
    return Build(ESXI, number, Release(ESXI, 7, 0, update, letter))


def test_the_registry_names_this_module_as_a_multi_document_advisory_kind():
    kind = REGISTRY["advisory_feed"]
    assert (kind.module, kind.multi_document) == ("tracker.sources.advisory_feed", True)


# --- the RSS feed ---------------------------------------------------------------------------------------------
def test_it_reads_one_advisory_per_vmsa_entry_of_the_rss_feed_with_its_revision_and_cves():
    result = read("vmsa-rss.xml", url=RSS_URL)
    assert result.problem is None
    vmsa_0004, vmsa_0028 = result.advisories
    assert (vmsa_0004.id, vmsa_0004.revision, vmsa_0004.published, vmsa_0004.url) == (
        "VMSA-2022-0004",
        0,
        date(2022, 2, 15),
        PAGE_0004,
    )
    assert vmsa_0004.cves == ("CVE-2021-22040", "CVE-2021-22041", "CVE-2021-22042", "CVE-2021-22043", "CVE-2021-22050")
    assert (vmsa_0028.id, vmsa_0028.revision, vmsa_0028.published) == ("VMSA-2021-0028", 6, date(2021, 12, 10))
    assert vmsa_0028.cves == ("CVE-2021-44228", "CVE-2021-45046")


def test_an_rss_entry_without_a_vmsa_id_is_skipped_and_said_so():
    [skipped] = read("vmsa-rss.xml", url=RSS_URL).skipped
    assert (skipped.where, skipped.reason) == ("entry 3", "no VMSA id in the title")


def test_an_entry_that_states_nothing_is_important_until_its_page_says_more_and_a_cvss_score_names_the_level():
    by_id = {a.id: a for a in read("vmsa-rss-broken-dates.xml", url=RSS_URL).advisories}
    assert by_id["VMSA-2022-0004"].severity == "critical"  # "Advisory Severity: Critical" in the entry
    assert by_id["VMSA-2021-0028"].severity == "critical"  # only "CVSSv3 Range: 10.0": the range names it
    assert by_id["VMSA-2099-0002"].severity == "important"  # nothing at all: the documented default


def test_broken_feed_dates_become_none_and_never_crash():
    result = read("vmsa-rss-broken-dates.xml", url=RSS_URL)
    assert [(a.id, a.published, a.updated) for a in result.advisories] == [
        ("VMSA-2022-0004", None, None),
        ("VMSA-2021-0028", None, None),
        ("VMSA-2099-0002", None, None),
    ]


def test_collect_reads_the_response_matrix_of_each_linked_page_on_the_feeds_host():
    fetch = FakeFetch({PAGE_0004: fixture("vmsa-2022-0004.html"), PAGE_0028: fixture("vmsa-2021-0028.html")})
    result = collect(fixture("vmsa-rss.xml"), url=RSS_URL, product=ESXI, fetch=fetch)
    assert fetch.gets == [PAGE_0004, PAGE_0028]  # the subscribe entry was skipped, nothing else fetched
    vmsa_0004, vmsa_0028 = result.advisories
    assert (vmsa_0004.severity, vmsa_0004.updated, len(vmsa_0004.fixes)) == ("critical", date(2022, 2, 15), 5)
    assert (vmsa_0028.revision, vmsa_0028.severity, vmsa_0028.updated) == (6, "critical", date(2021, 12, 22))
    assert vmsa_0028.fixes == (
        AdvisoryFix(VCENTER, "7.0", "7.0 U3c", Build(VCENTER, None, Release(VCENTER, 7, 0, 3, "c"))),
        AdvisoryFix(VCENTER, "6.7", "Patch Pending", None, pending=True),
        AdvisoryFix(VCENTER, "6.5", "Patch Pending", None, pending=True),
    )
    assert vmsa_0028.published == date(2021, 12, 10)


def test_a_linked_page_that_cannot_be_fetched_leaves_the_advisory_from_the_feed_and_a_skip():
    fetch = FakeFetch({PAGE_0004: fixture("vmsa-2022-0004.html")})
    result = collect(fixture("vmsa-rss.xml"), url=RSS_URL, product=ESXI, fetch=fetch)
    assert [a.id for a in result.advisories] == ["VMSA-2022-0004", "VMSA-2021-0028"]
    assert result.advisories[1].fixes == ()
    assert any(s.where == PAGE_0028 and "not fetched" in s.reason for s in result.skipped)


def test_links_to_other_hosts_are_never_followed():
    feed = fixture("vmsa-rss.xml").replace(b"https://www.vmware.com/security/advisories/", b"https://evil.example/")
    fetch = FakeFetch()
    result = collect(feed, url=RSS_URL, product=ESXI, fetch=fetch)
    assert (fetch.gets, len(result.advisories)) == ([], 2)


def test_collect_follows_at_most_fifty_pages_per_poll():
    items = "".join(
        f"<item><title>VMSA-2020-{n:04d}: x</title><link>https://www.vmware.com/a/{n}.html</link></item>"
        for n in range(80)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    fetch = FakeFetch()
    result = collect(feed, url=RSS_URL, product=ESXI, fetch=fetch)
    assert (len(fetch.gets), len(result.advisories)) == (follow.MAX_FOLLOWED, 80)


def test_a_feed_of_ten_thousand_entries_keeps_the_first_five_hundred():
    items = "".join(
        f"<item><title>VMSA-2020-{n:04d}.1: ESXi update</title><link>https://www.vmware.com/a/{n}.html</link>"
        f"<description>CVE-2020-{n:05d}</description><pubDate>Tue, 15 Feb 2022 00:00:00 GMT</pubDate></item>"
        for n in range(10_000)
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    result = parse(feed, url=RSS_URL, product=ESXI)  # cut before feedparser: its time is measured in benchmarks/
    assert len(result.advisories) == 500
    assert (result.advisories[0].id, result.advisories[-1].id) == ("VMSA-2020-0000", "VMSA-2020-0499")


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ((FEEDS / "billion-laughs.xml").read_bytes(), "refused: the XML declares entities (never expanded)"),
        ((FEEDS / "external-dtd.xml").read_bytes(), "refused: the XML references an external DTD"),
        ((FEEDS / "empty.xml").read_bytes(), "the feed has no entries"),
        (fixture("login.html"), "login page (password field)"),
        (b"", "empty page"),
        (b'{"success": false, "message": "error"}', "the listing answered success=false"),
        (b'{"data": {"list": []}}', "the listing holds no advisories"),
        (b"{not json", "not JSON"),
    ],
)
def test_hostile_empty_and_error_documents_are_problems_not_advisories(document: bytes, problem: str):
    result = parse(document, url=RSS_URL, product=ESXI)
    assert (result.problem, result.advisories) == (problem, ())


def test_the_billion_laughs_feed_is_refused_by_collect_before_anything_is_fetched():
    fetch = FakeFetch()
    result = collect((FEEDS / "billion-laughs.xml").read_bytes(), url=RSS_URL, product=ESXI, fetch=fetch)
    assert (result.problem, fetch.gets) == ("refused: the XML declares entities (never expanded)", [])


# --- advisory pages -------------------------------------------------------------------------------------------
def test_it_reads_the_header_and_every_esxi_fix_of_vmsa_2022_0004():
    [advisory] = read("vmsa-2022-0004.html").advisories
    assert advisory == AdvisoryRecord(
        id="VMSA-2022-0004",
        revision=0,
        title="VMware ESXi, Workstation, and Fusion updates address multiple security vulnerabilities "
        "(CVE-2021-22040, CVE-2021-22041, CVE-2021-22042, CVE-2021-22043, CVE-2021-22050)",
        severity="critical",
        url=PAGE_0004,
        published=date(2022, 2, 15),
        updated=date(2022, 2, 15),
        cves=("CVE-2021-22040", "CVE-2021-22041", "CVE-2021-22042", "CVE-2021-22043", "CVE-2021-22050"),
        fixes=(
            AdvisoryFix(ESXI, "7.0", "ESXi70U3c-19193900", esxi(3, "c", 19193900)),
            AdvisoryFix(ESXI, "7.0", "ESXi70U2e-19290878", esxi(2, "e", 19290878)),
            AdvisoryFix(ESXI, "7.0", "ESXi70U1e-19324898", esxi(1, "e", 19324898)),
            AdvisoryFix(ESXI, "6.7", "ESXi670-202111101-SG", parse_build("ESXi670-202111101-SG", ESXI)),
            AdvisoryFix(ESXI, "6.5", "ESXi650-202202401-SG", parse_build("ESXi650-202202401-SG", ESXI)),
        ),
        excerpt=advisory.title,
    )


def test_the_stated_severity_wins_over_what_the_cvss_scores_would_name():
    [vmsa_0004] = read("vmsa-2022-0004.html").advisories  # Critical stated, worst row score 8.4 (important)
    [vmsa_0013] = read("broadcom-24505.html").advisories  # Important stated, CVSSv3 range 5.3-6.8 (moderate)
    assert (vmsa_0004.severity, vmsa_0013.severity) == ("critical", "important")


def test_it_reads_the_8_0_fixes_of_vmsa_2024_0013_and_keeps_the_7_0_patch_pending_row_as_no_fix_yet():
    result = read("broadcom-24505.html", url=NOTICE + "24505")
    [advisory] = result.advisories
    assert advisory.title.startswith("VMSA-2024-0013: VMware ESXi and vCenter Server updates")
    assert advisory.fixes == (
        AdvisoryFix(ESXI, "8.0", "ESXi80U3-24022510", Build(ESXI, 24022510, Release(ESXI, 8, 0, 3, ""))),
        AdvisoryFix(ESXI, "7.0", "Patch Pending", None, pending=True),
        AdvisoryFix(VCENTER, "8.0", "8.0 U3", Build(VCENTER, None, Release(VCENTER, 8, 0, 3, ""))),
    )
    assert (result.skipped, advisory.unread) == ((), "")  # "Patch Pending" is read, not an error


def test_log4j_rows_for_patch_pending_unaffected_and_other_products_give_a_fix_or_no_fix_yet_and_no_skip():
    result = read("vmsa-2021-0028.html", url=PAGE_0028, product=VCENTER)
    [advisory] = result.advisories
    assert [(f.line, f.fixed_text, f.pending) for f in advisory.fixes] == [
        ("7.0", "7.0 U3c", False),
        ("6.7", "Patch Pending", True),
        ("6.5", "Patch Pending", True),
    ]  # ESXi "Unaffected" and the Horizon row give nothing
    assert result.skipped == ()


def test_an_unknown_fixed_version_spelling_is_skipped_and_kept_as_a_fix_with_no_build():
    result = read("unknown-fixed-version.html")
    [advisory] = result.advisories
    assert (advisory.id, advisory.revision) == ("VMSA-2024-0013", 1)
    assert advisory.fixes == (
        AdvisoryFix(ESXI, "8.0", "ESXi80U3-24022510", Build(ESXI, 24022510, Release(ESXI, 8, 0, 3, ""))),
        AdvisoryFix(ESXI, "7.0", "ESXi 7.0 hot-patch HP-4711", None),  # advisory_unmapped, never dropped
    )
    [skipped] = result.skipped
    assert (skipped.where, skipped.text, skipped.reason) == (
        "Response Matrix, row 2",
        "ESXi 7.0 hot-patch HP-4711",
        "unknown fixed-version spelling",
    )


U3C_U2E_U1E = [esxi(3, "c", 19193900), esxi(2, "e", 19290878), esxi(1, "e", 19324898)]


@pytest.mark.parametrize(
    "cell",
    [
        "ESXi70U3c-19193900, ESXi70U2e-19290878, ESXi70U1e-19324898",  # the spelling
        "ESXi70U3c-19193900<br>ESXi70U2e-19290878<br>ESXi70U1e-19324898",
        "ESXi70U3c-19193900\nESXi70U2e-19290878\nESXi70U1e-19324898",
        "<p>ESXi70U3c-19193900</p><p>ESXi70U2e-19290878</p><p>ESXi70U1e-19324898</p>",
        "<div>ESXi70U3c-19193900</div>\n<div>ESXi70U2e-19290878</div>\n<div>ESXi70U1e-19324898</div>",
        "<ul><li>ESXi70U3c-19193900</li><li>ESXi70U2e-19290878</li><li>ESXi70U1e-19324898</li></ul>",
        "<span>ESXi70U3c-19193900</span><span>ESXi70U2e-19290878</span><span>ESXi70U1e-19324898</span>",
        "ESXi70U3c-19193900 (7.0 U3c)<br>ESXi70U2e-19290878 (7.0 U2e)<br>ESXi70U1e-19324898 (7.0 U1e)",
        "ESXi70U3c-19193900 and ESXi70U2e-19290878 or ESXi70U1e-19324898",
    ],
)
def test_a_fixed_version_cell_listing_one_build_per_update_line_gives_every_build(cell: str):
    page = fixture("vmsa-2022-0004-per-update.html").replace(b"{FIXED}", cell.encode())
    result = parse(page, url=PAGE_0004, product=ESXI)
    [advisory] = result.advisories
    assert [f.fixed for f in advisory.fixes if f.line == "7.0"] == U3C_U2E_U1E
    assert result.skipped == ()


@pytest.mark.parametrize(
    ("cell", "unreadable"),
    [
        ("ESXi70U3c-19193900, see KB 87349", "see KB 87349"),
        ("ESXi70U3c-19193900 ESXi 7.0 hot-patch HP-4711", "ESXi70U3c-19193900 ESXi 7.0 hot-patch HP-4711"),
        ("Upgrade to the latest", "Upgrade to the latest"),
    ],
)
def test_a_cell_part_that_cannot_be_read_is_a_fix_with_no_build_and_a_skip(cell: str, unreadable: str):
    page = fixture("vmsa-2022-0004-per-update.html").replace(b"{FIXED}", cell.encode())
    result = parse(page, url=PAGE_0004, product=ESXI)
    [advisory] = result.advisories
    assert AdvisoryFix(ESXI, "7.0", unreadable, None) in advisory.fixes
    assert {s.text for s in result.skipped} == {unreadable}


def test_a_withdrawn_advisory_is_marked_withdrawn():
    [advisory] = read("withdrawn.html").advisories
    assert (advisory.id, advisory.revision, advisory.withdrawn) == ("VMSA-2099-0001", 1, True)
    assert not read("vmsa-2022-0004.html").advisories[0].withdrawn


# --- Broadcom's JSON listing ----------------------------------------------------------------------------------
def listing_pages() -> list[bytes]:
    return [fixture(f"listing-page-{n}.json") for n in range(3)]


def test_collect_posts_page_after_page_until_a_short_page(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(listing, "LISTING_PAGE_SIZE", 2)
    first, *rest = listing_pages()
    fetch = FakeFetch(listing=[first, *rest])
    result = collect(first, url=LISTING_URL, product=ESXI, fetch=fetch)
    assert fetch.posts == [(LISTING_URL, listing_body(1, "VC")), (LISTING_URL, listing_body(2, "VC"))]
    assert fetch.posts[0][1] == {
        "pageNumber": 1,
        "pageSize": 2,
        "searchVal": "",
        "segment": "VC",
        "sortInfo": {"column": "", "order": ""},
    }
    assert [(a.id, a.revision, a.severity, a.published) for a in result.advisories] == [
        ("VMSA-2025-0004", 0, "critical", date(2025, 3, 4)),
        ("VMSA-2024-0013", 0, "important", date(2024, 6, 25)),  # Broadcom's HIGH
        ("VMSA-2024-0012", 0, "critical", date(2024, 6, 18)),
        ("VMSA-2024-0006", 1, "critical", date(2024, 3, 5)),
    ]
    assert [s.reason for s in result.skipped if s.where.startswith("listing")] == ["no VMSA id"]


def test_collect_posts_from_page_zero_when_the_get_answer_is_not_a_listing(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(listing, "LISTING_PAGE_SIZE", 2)
    fetch = FakeFetch(listing=listing_pages())
    result = collect(b"", url=LISTING_URL, product=ESXI, fetch=fetch)
    assert [body["pageNumber"] for _, body in fetch.posts] == [0, 1, 2]
    assert len(result.advisories) == 4


def test_collect_stops_at_the_page_cap_and_says_older_pages_were_not_read(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(listing, "LISTING_PAGE_SIZE", 1)
    pages = [
        json.dumps({"data": {"list": [{"documentId": n, "title": f"VMSA-2023-{n:04d}: x"}]}}).encode()
        for n in range(40)
    ]
    fetch = FakeFetch(listing=pages)
    result = collect(b"", url=LISTING_URL, product=ESXI, fetch=fetch)
    assert (len(fetch.posts), len(result.advisories)) == (listing.MAX_LISTING_PAGES, 20)
    assert result.skipped[-1].reason == "page cap reached; older pages unread"


def test_a_server_that_ignores_page_numbers_does_not_loop(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(listing, "LISTING_PAGE_SIZE", 2)
    first = listing_pages()[0]
    fetch = FakeFetch(listing=[first] * 30)
    result = collect(first, url=LISTING_URL, product=ESXI, fetch=fetch)
    assert (len(fetch.posts), len(result.advisories)) == (1, 2)


def test_collect_follows_notification_urls_for_the_response_matrix(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(listing, "LISTING_PAGE_SIZE", 2)
    fetch = FakeFetch({NOTICE + "24505": fixture("broadcom-24505.html")}, listing=listing_pages())
    result = collect(listing_pages()[0], url=LISTING_URL, product=ESXI, fetch=fetch)
    assert fetch.gets == [NOTICE + "25390", NOTICE + "24505", NOTICE + "24453"]  # 0006 has no notificationUrl
    vmsa_0013 = next(a for a in result.advisories if a.id == "VMSA-2024-0013")
    assert [f.fixed_text for f in vmsa_0013.fixes] == ["ESXi80U3-24022510", "Patch Pending", "8.0 U3"]
    assert (vmsa_0013.severity, vmsa_0013.updated) == ("important", date(2024, 6, 25))


def test_a_failing_listing_page_makes_the_whole_poll_a_problem(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(listing, "LISTING_PAGE_SIZE", 2)
    first = listing_pages()[0]
    fetch = FakeFetch(listing=[first, b"<html><title>Something went wrong</title></html>"])
    result = collect(first, url=LISTING_URL, product=ESXI, fetch=fetch)
    assert (result.problem, result.advisories) == ("listing page 1: not JSON", ())
