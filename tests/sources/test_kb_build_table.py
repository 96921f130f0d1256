"""KB build tables over pages shaped like Broadcom KB 316595 / 326316 and kb.vmware.com 2143832 / 2143838."""

import csv
from datetime import date
from pathlib import Path

import pytest

from tracker.domain.observations import BuildRecord, ParseResult
from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Product, Release
from tracker.sources.kb_build_table import parse

FIXTURES = Path(__file__).parents[1] / "fixtures"
BROADCOM_ESXI = "https://knowledge.broadcom.com/external/article/316595/build-numbers-and-versions-of-vmware-esxi.html"
BROADCOM_VC = "https://knowledge.broadcom.com/external/article/326316/build-numbers-and-versions-of-vmware-vcenter.html"
TECHDOCS = "https://techdocs.broadcom.com/us/en/vmware-cis/vsphere/vsphere"
ESXI, VCENTER = Product.ESXI, Product.VCENTER


def read(name: str, product: Product = ESXI, url: str = BROADCOM_ESXI) -> ParseResult:
    return parse((FIXTURES / "kb" / name).read_bytes(), url=url, product=product)


def by_build(result: ParseResult) -> dict[int, BuildRecord]:
    return {r.build: r for r in result.records}


def csv_rows() -> list[dict[str, str]]:
    with (Path(__file__).parents[1] / "data" / "vmware-builds.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --- Broadcom KB 316595 (ESXi) ------------------------------------------------------------------------------
def test_it_reads_every_row_of_the_broadcom_esxi_table():
    result = read("broadcom-316595-esxi.html")
    expected = {int(r["build"]) for r in csv_rows() if r["product"] == "ESXi" and "src=vlT" in r["notes"]}
    assert result.problem is None
    assert result.skipped == ()
    assert result.tables == ("ESXi 8.0", "ESXi 7.0", "ESXi 6.7")
    assert len(result.records) == 91
    assert {r.build for r in result.records} == expected
    assert result.lines == {"8.0", "7.0", "6.7"}


def test_every_broadcom_esxi_row_keeps_the_csv_date_and_release_name():
    records = by_build(read("broadcom-316595-esxi.html"))
    for row in csv_rows():
        if row["product"] == "ESXi" and "src=vlT" in row["notes"]:
            record = records[int(row["build"])]
            assert (record.release_name, record.release_date) == (
                row["release_name"],
                date.fromisoformat(row["release_date"]),
            )


def test_it_reads_the_reissue_row_exactly():
    assert by_build(read("broadcom-316595-esxi.html"))[19193900] == BuildRecord(
        product=ESXI,
        build=19193900,
        release=Release(ESXI, 7, 0, 3, "c"),
        release_name="ESXi 7.0 Update 3c",
        release_date=date(2022, 1, 27),
        notes_url=f"{TECHDOCS}/7-0/release-notes/esxi-update-and-patch-release-notes/vsphere-esxi-70u3c-release-notes.html",
        excerpt="ESXi 7.0.3 U3c | ESXi 7.0 Update 3c | 2022-01-27 | 19193900 | ISO",
    )


@pytest.mark.parametrize(
    ("build", "release", "released"),
    [
        (25595708, Release(ESXI, 8, 0, 3, "k"), date(2026, 7, 29)),  # 2026/07/29
        (25429389, Release(ESXI, 8, 0, 3, "j"), date(2026, 5, 27)),  # "May 27, 2026"
        (24814147, Release(ESXI, 8, 0, 0, "f"), date(2025, 7, 15)),  # ESXi 8.0f
        (19324898, Release(ESXI, 7, 0, 1, "e"), date(2022, 2, 15)),  # U1e, listed in the U1 group
        (18644231, Release(ESXI, 7, 0, 3, ""), date(2021, 10, 5)),  # 7.0 U3: pulled, still listed today
        (18828794, parse_release("ESXi670-202111001", ESXI), date(2021, 11, 23)),  # a 6.7 patch id
        (8169922, Release(ESXI, 6, 7, 0, ""), date(2018, 4, 17)),  # 7-digit build
    ],
)
def test_it_reads_builds_releases_and_every_date_spelling(build: int, release: Release, released: date):
    record = by_build(read("broadcom-316595-esxi.html"))[build]
    assert (record.release, record.release_date) == (release, released)


def test_a_release_name_split_over_two_links_reads_as_one_name():
    page = (FIXTURES / "kb" / "broadcom-316595-esxi.html").read_text(encoding="utf-8")
    assert "ESXi 8.0 </a><a " in page  # the fixture really splits some names
    record = by_build(read("broadcom-316595-esxi.html"))[24859861]
    assert (record.release_name, record.release) == ("ESXi 8.0 Update 3g", Release(ESXI, 8, 0, 3, "g"))


def test_the_pulled_updates_of_7_0_u3_are_not_in_todays_table():
    records = by_build(read("broadcom-316595-esxi.html"))
    assert {18825058, 18905247} & records.keys() == set()
    assert not any(r.recalled for r in records.values())


def test_rows_keep_the_vendors_order_grouped_by_update_line():
    builds = [r.build for r in read("broadcom-316595-esxi.html").records if r.line == "7.0"]
    # U3 line first (newest build first), then U2, U1 (U1e of 2022 tops its group), then GA.
    assert builds[:2] == [24784741, 24723872]
    assert builds.index(19324898) < builds.index(17551050) < builds.index(15843807)
    assert builds.index(19290878) < builds.index(19324898)


# --- Broadcom KB 326316 (vCenter) ---------------------------------------------------------------------------
def test_it_reads_the_broadcom_vcenter_tables_by_header_text():
    result = read("broadcom-326316-vcenter.html", VCENTER, BROADCOM_VC)
    assert (result.problem, result.skipped, result.tables) == (None, (), ("vCenter Server 8.0", "vCenter Server 7.0"))
    assert len(result.records) == 63


@pytest.mark.parametrize(
    ("build", "release", "alt_builds", "released"),
    [
        (24853646, Release(VCENTER, 8, 0, 3, "g", appliance=600), (), date(2025, 7, 29)),
        (20519528, Release(VCENTER, 8, 0, 0, "", appliance=10000), (), date(2022, 10, 11)),
        (19234570, Release(VCENTER, 7, 0, 3, "c", appliance=300), (), date(2022, 1, 27)),
        (15952498, Release(VCENTER, 7, 0, 0, "", appliance=10100), (15952599,), date(2020, 4, 2)),
        (17491101, Release(VCENTER, 7, 0, 1, "d", appliance=300), (17491160,), date(2021, 2, 2)),
    ],
)
def test_vcenter_rows_carry_the_appliance_version_and_the_mob_build(
    build: int, release: Release, alt_builds: tuple[int, ...], released: date
):
    record = by_build(read("broadcom-326316-vcenter.html", VCENTER, BROADCOM_VC))[build]
    assert (record.release, record.alt_builds, record.release_date) == (release, alt_builds, released)


# --- old kb.vmware.com ---------------------------------------------------------------------------------------
def test_the_old_esxi_kb_header_is_a_plain_first_row():
    result = read("vmware-2143832-esxi.html", url="https://kb.vmware.com/s/article/2143832")
    assert result.tables == ("ESXi 7.0", "ESXi 6.7", "ESXi 6.5", "ESXi 6.0", "ESXi 5.5")
    assert (result.problem, result.skipped, len(result.records)) == (None, (), 59)
    u3b = by_build(result)[18905247]
    assert (u3b.release, u3b.release_date, u3b.recalled) == (Release(ESXI, 7, 0, 3, "b"), date(2021, 11, 12), False)
    assert u3b.notes_url == "https://docs.vmware.com/en/VMware-vSphere/7.0/rn/esxi-70u3b.html"


@pytest.mark.parametrize(
    ("build", "release"),
    [
        (7526125, Release(ESXI, 6, 5, 1, "e")),
        (7504637, Release(ESXI, 6, 0, 3, "d")),
        (7504623, Release(ESXI, 5, 5, 3, "g")),
    ],
)
def test_a_recalled_label_marks_the_row_and_leaves_the_release_readable(build: int, release: Release):
    record = by_build(read("vmware-2143832-esxi.html"))[build]
    assert (record.recalled, record.release, record.release_date) == (True, release, date(2018, 1, 9))


def test_the_old_vcenter_kb_reads_vami_and_client_builds():
    result = read("vmware-2143838-vcenter.html", VCENTER, "https://kb.vmware.com/s/article/2143838")
    assert (result.problem, result.tables, len(result.records)) == (None, ("vCenter Server 7.0",), 18)
    records = by_build(result)
    ga = records[15952498]
    assert (ga.release, ga.alt_builds) == (Release(VCENTER, 7, 0, 0, "", appliance=10100), (15952599,))
    assert ga.release_name == "vCenter Server 7.0 GA (7.0.0.10100)"
    u2a = records[17920168]
    assert (u2a.release, u2a.alt_builds) == (Release(VCENTER, 7, 0, 2, "a", appliance=100), ())
    assert records[16189094].alt_builds == (16189207,)


# --- pages that are not a build table ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("login.html", "login page (password field)"),
        ("error-page-not-found.html", "error page: Page Not Found | Broadcom Support Portal"),
        ("error-access-denied.html", "error page: Access Denied"),
        ("error-something-went-wrong.html", "error page: Something went wrong"),
        ("broadcom-316595-no-table.html", "no build table on the page"),
        ("broadcom-316595-empty-table.html", "build table has no data rows"),
    ],
)
def test_it_names_the_problem_of_a_page_that_is_not_a_build_table(name: str, problem: str):
    result = read(name)
    assert (result.problem, result.records) == (problem, ())


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty page"),
        (b"   \n", "empty page"),
        (
            b"<html><head><title>503 Service Unavailable</title></head><body></body></html>",
            "error page: 503 Service Unavailable",
        ),
        (
            b"<html><body><form action='/sso/saml'><p>Log in with SSO</p></form></body></html>",
            "login page (sign-in form)",
        ),
    ],
)
def test_it_never_raises_on_odd_bodies(content: bytes, problem: str):
    assert parse(content, url=BROADCOM_ESXI, product=ESXI).problem == problem


def test_the_empty_table_page_still_reports_which_tables_it_saw():
    assert read("broadcom-316595-empty-table.html").tables == ("ESXi 8.0", "ESXi 7.0", "ESXi 6.7")


# --- damaged pages -------------------------------------------------------------------------------------------
def test_a_truncated_page_counts_no_rows_and_says_where_it_ends():
    result = read("broadcom-316595-truncated.html")  # cut in the middle of a 7.0 row's date
    assert result.records == () and result.skipped == ()
    assert result.problem == "page ends early: no </table> after row 21 of table 'ESXi 7.0'"
    assert result.tables == ("ESXi 8.0", "ESXi 7.0")


CUTS = {
    "inside a build table": ("19193900", "page ends early: no </table> after row"),
    "after the tables, inside the article": ("Additional Information", "page ends early: no </article>"),
    "after the article": ("</main>", "page ends early: no </body> or </html>"),
    "inside the closing script": ("Related article 300", "page ends early: no </body> or </html>"),
}


@pytest.mark.parametrize("where", list(CUTS))
def test_a_page_cut_anywhere_before_its_end_counts_no_rows(where: str):
    page = (FIXTURES / "kb" / "broadcom-316595-esxi.html").read_bytes()
    marker, problem = CUTS[where]
    result = parse(page[: page.rindex(marker.encode())], url=BROADCOM_ESXI, product=ESXI)
    assert result.records == ()
    assert result.problem is not None and result.problem.startswith(problem)


def test_a_cut_that_leaves_a_shorter_build_number_does_not_file_a_wrong_build():
    page = (FIXTURES / "kb" / "broadcom-316595-esxi.html").read_bytes()
    cut = page[: page.index(b"19193900") + 7]  # "1919390": seven digits, a valid-looking build number
    assert parse(cut, url=BROADCOM_ESXI, product=ESXI).records == ()


def test_the_old_kb_pages_without_an_article_element_are_complete():
    assert read("vmware-2143832-esxi.html").problem is None
    assert read("vmware-2143838-vcenter.html", VCENTER).problem is None


def test_a_page_that_lost_half_its_rows_parses_what_is_left():
    full, half = read("broadcom-316595-esxi.html"), read("broadcom-316595-half.html")
    assert (len(full.records), len(half.records)) == (91, 46)
    assert {r.build for r in half.records} < {r.build for r in full.records}
    assert half.tables == full.tables and half.problem is None


def test_malformed_markup_still_yields_every_row():
    result = read("guard-malformed-tables-closed.html", url="https://kb.example.com/article/316595")
    assert result.tables == ("ESXi 7.0", "ESXi 6.7")
    assert [r.build for r in result.records] == [19193900, 18538813, 18426014, 17867351, 18828794]
    records = by_build(result)
    assert records[18538813].notes_url == "https://kb.example.com/notes/esxi-70u2d.html"  # an unclosed <a>
    assert (records[17867351].release, records[17867351].release_date) == (
        Release(ESXI, 7, 0, 2, "a"),
        date(2021, 4, 29),
    )
    assert records[17867351].notes_url is None


def test_a_build_table_left_open_is_not_counted_even_when_the_page_goes_on():
    # malformed.html is the same broken export with its </table>s missing: the tables cannot be told from a cut one
    result = read("malformed.html", url="https://kb.example.com/article/316595")
    assert result.records == ()
    assert result.problem == "page ends early: no </table> after row 4 of table 'ESXi 7.0'"


def test_invalid_utf8_bytes_do_not_stop_the_parse():
    result = read("broadcom-316595-invalid-bytes.html")
    assert (result.problem, result.tables, len(result.records)) == (None, ("ESXi 7.0",), 32)
    assert by_build(result)[19193900].release == Release(ESXI, 7, 0, 3, "c")


def test_a_latin1_page_is_read_with_its_declared_charset():
    result = read("vmware-2143832-esxi.latin1.html")
    assert result.tables == ("ESXi 7.0",)  # the heading's latin-1 NBSP byte became a space
    assert len(result.records) == 9 and result.problem is None
    assert by_build(result)[19193900].release_date == date(2022, 1, 27)


@pytest.mark.parametrize(
    "junk",
    [
        b"\xff\xfe\x00<",
        b"<table><tr><td>\x80\x81",
        bytes(range(256)) * 50,
        b"<?xml version='1.0' encoding='utf-8'?><html/>",
    ],
)
def test_binary_junk_never_crashes(junk: bytes):
    result = parse(junk, url=BROADCOM_ESXI, product=ESXI)
    assert result.records == () and result.problem is not None


def test_unknown_spellings_become_skipped_rows_beside_the_good_ones():
    result = read("broadcom-316595-unknown-spellings.html")
    assert [r.build for r in result.records] == [19193900, 19290878, 18538813, 19324898]
    assert [(s.where, s.reason) for s in result.skipped] == [
        (
            "table 'ESXi 7.0', row 2",
            "'ESXi 7.0 Update 3 Hot Patch' is not a release name we know (expected e.g. 'ESXi 7.0 Update 3c')",
        ),
        (
            "table 'ESXi 7.0', row 4",
            "'vSphere 7.0 U3 Rollup 2' is not a release name we know (expected e.g. 'ESXi 7.0 Update 3c')",
        ),
        ("table 'ESXi 7.0', row 6", "no build number in the build column"),
    ]
    assert result.skipped[2].text == "ESXi 7.0.3 P04 | ESXi 7.0 Update 3d | 2022/03/29 | TBD | ISO"
    assert result.problem is None


def test_a_row_of_the_other_product_is_skipped_not_misfiled():
    page = b"""<h2>ESXi 7.0</h2><table><tr><th>Version</th><th>Release Name</th><th>Build Number</th></tr>
    <tr><td>7.0.3</td><td>vCenter Server 7.0 Update 3c</td><td>19234570</td></tr></table></body></html>"""
    result = parse(page, url=BROADCOM_ESXI, product=ESXI)
    assert result.records == ()
    assert result.problem == "no readable rows (1 skipped)"
    assert result.skipped[0].reason == "'vCenter Server 7.0 Update 3c' names vCenter Server, expected ESXi"


def test_columns_are_found_by_header_text_in_any_order():
    page = """<h3>ESXi 8.0 🔝</h3><table><tr><td><strong>Build Number</strong></td>
    <td><strong>Release Date</strong></td><td><strong>Release Name</strong></td></tr>
    <tr><td>\u200b24022510\u00a0</td><td>June 25, 2024</td>
    <td><a href="/rn/80u3.html">ESXi\u00a08.0 Update 3</a></td></tr></table></body></html>""".encode()
    result = parse(page, url="https://knowledge.broadcom.com/external/article/316595", product=ESXI)
    assert result.tables == ("ESXi 8.0",)
    assert result.records == (
        BuildRecord(
            ESXI,
            24022510,
            Release(ESXI, 8, 0, 3, ""),
            "ESXi 8.0 Update 3",
            date(2024, 6, 25),
            notes_url="https://knowledge.broadcom.com/rn/80u3.html",
            excerpt="24022510 | June 25, 2024 | ESXi 8.0 Update 3",
        ),
    )


# --- the 7.0 U3 story stages ---------------------------------------------------------------------------------
STORY = Path(__file__).resolve().parents[2] / "tracker" / "demo" / "story"
U2D, U3, U3A, U3B, U3C = 18538813, 18644231, 18825058, 18905247, 19193900
VC_U2D, VC_U3, VC_U3A, VC_U3B, VC_U3C = 18455184, 18700403, 18778458, 18901211, 19234570


def story_builds(stage: str, page: str, product: Product) -> set[int]:
    result = parse((STORY / stage / "kb" / page).read_bytes(), url="http://127.0.0.1/kb/" + page, product=product)
    assert result.problem is None and result.skipped == ()
    return {r.build for r in result.records}


@pytest.mark.parametrize(
    ("stage", "esxi_70u3", "vcenter_70u3"),
    [
        ("01-2021-09-20", set(), set()),
        ("02-2021-10-06", {U3}, {VC_U3}),
        ("03-2021-10-29", {U3, U3A}, {VC_U3, VC_U3A}),
        ("04-2021-11-13", {U3, U3A, U3B}, {VC_U3, VC_U3A, VC_U3B}),
        ("05-2021-11-18", {U3, U3A}, {VC_U3, VC_U3A, VC_U3B}),
        ("06-2021-11-19", {U3, U3A}, {VC_U3, VC_U3A, VC_U3B}),
        ("07-2021-11-22", set(), {VC_U3, VC_U3A}),
        ("08-2021-11-23", set(), {VC_U3, VC_U3A}),
        ("08a-2021-12-22", set(), {VC_U3, VC_U3A}),
        ("09-2022-01-28", {U3C}, {VC_U3, VC_U3A, VC_U3C}),
    ],
)
def test_each_story_stage_lists_the_7_0_u3_builds_of_its_day(stage: str, esxi_70u3: set[int], vcenter_70u3: set[int]):
    u3_line = {U3, U3A, U3B, U3C}
    vc_u3_line = {VC_U3, VC_U3A, VC_U3B, VC_U3C}
    esxi_builds, vc_builds = story_builds(stage, "316595.html", ESXI), story_builds(stage, "326316.html", VCENTER)
    assert esxi_builds & u3_line == esxi_70u3
    assert vc_builds & vc_u3_line == vcenter_70u3
    assert U2D in esxi_builds and VC_U2D in vc_builds  # the baseline stays listed throughout


def test_every_story_kb_link_points_at_a_page_of_the_stage_or_of_common():
    for stage in sorted(p.name for p in STORY.iterdir() if p.name[:2].isdigit()):
        for page, product in (("316595.html", ESXI), ("326316.html", VCENTER)):
            result = parse(
                (STORY / stage / "kb" / page).read_bytes(), url="http://127.0.0.1:8000/kb/" + page, product=product
            )
            for record in result.records:
                path = record.notes_url.removeprefix("http://127.0.0.1:8000/") if record.notes_url else ""
                assert (STORY / stage / path).is_file() or (STORY / "common" / path).is_file(), (stage, path)


# --- issue 12: what the Version column states, US dates, 9.x tables -----------------------------------------
OLD_ESXI = "https://kb.vmware.com/s/article/2143832"


def old_kb_rows(*rows: str) -> bytes:
    """An old kb.vmware.com 2143832 table with these `<td>` rows under its plain-row header."""
    header = "<tr><td>Version</td><td>Release Name</td><td>Release Date</td><td>Build Number</td></tr>"
    body = "".join(f"<tr>{''.join(f'<td>{c}</td>' for c in row.split(' | '))}</tr>" for row in rows)
    return f"<html><body><h3>ESXi 6.5</h3><table>{header}{body}</table></body></html>".encode()


@pytest.mark.parametrize(
    ("row", "release"),
    [
        # KB 316595's 6.x table: the patch id sits in Release Name, what it is under Version; the release keeps
        # the Version's update and letter and the id's date code, which orders it among the line's patch ids
        (
            "ESXi 6.5 Update 2c | ESXi650-201808001 | 2018/08/14 | 9298722",
            Release(ESXI, 6, 5, 2, "c", patch="201808001"),
        ),
        ("ESXi 6.5 U1g | ESXi650-201803001 | 2018/03/20 | 7967591", Release(ESXI, 6, 5, 1, "g", patch="201803001")),
        ("ESXi 6.0 U3e | ESXi600-201803001 | 2018/03/20 | 7967664", Release(ESXI, 6, 0, 3, "e", patch="201803001")),
        ("ESXi 5.5 U3h | ESXi550-201803001 | 2018/03/20 | 7967571", Release(ESXI, 5, 5, 3, "h", patch="201803001")),
        (
            "ESXi 6.7 P01 (Update 3b) | ESXi670-201912001 | 2019/12/05 | 15160138",
            Release(ESXI, 6, 7, 3, "b", patch="201912001"),
        ),
        # the Version cell says no more than the patch id: the id stays
        ("ESXi 6.7 EP 02 | ESXi670-201806001 | 2018/06/28 | 8941472", parse_release("ESXi670-201806001", ESXI)),
    ],
)
def test_a_patch_id_row_keeps_the_update_and_letter_its_version_column_states(row: str, release: Release):
    (record,) = parse(old_kb_rows(row), url=OLD_ESXI, product=ESXI).records
    assert record.release == release
    assert record.release < parse_release("ESXi670-202111001", ESXI) or record.release.line != "6.7"
    assert record.release_name == row.split(" | ")[1]


def test_a_row_whose_columns_name_two_lines_is_skipped_not_filed_under_either():
    result = parse(old_kb_rows("ESXi 6.7 U1 | ESXi650-201808001 | 2018/08/14 | 9298722"), url=OLD_ESXI, product=ESXI)
    assert result.records == ()
    assert result.skipped[0].reason == "'ESXi650-201808001' is 6.5 but 'ESXi 6.7 U1' is 6.7"


@pytest.mark.parametrize(
    ("written", "released"),
    [
        ("10/17/2016", date(2016, 10, 17)),  # KB 2143832's ESXi 6.0 Express Patch 7 row
        ("4/2/2020", date(2020, 4, 2)),  # ESXi 7.0 GA on the old KB, no leading zeros
        ("17/10/2016", None),  # day first: not the vendor's convention, so no date rather than a guess
    ],
)
def test_the_old_kbs_us_dates_are_read_month_first(written: str, released: date | None):
    page = old_kb_rows(f"ESXi 6.5 Update 2c | ESXi650-201808001 | {written} | 9298722")
    (record,) = parse(page, url=OLD_ESXI, product=ESXI).records
    assert record.release_date == released


ESX_9X = {
    25370933: (parse_release("ESX 9.1.0.0", ESXI), date(2026, 5, 12)),
    25148076: (parse_release("ESX 9.0.2.0", ESXI), date(2026, 1, 20)),
    24957456: (parse_release("ESX 9.0.1.0", ESXI), date(2025, 9, 29)),
    24813472: (parse_release("ESX 9.0.0.0100", ESXI), date(2025, 7, 15)),
    24755229: (parse_release("ESX 9.0.0.0", ESXI), date(2025, 6, 17)),
}
VCENTER_9X = {
    25370922: (parse_release("vCenter 9.1.0.0", VCENTER), date(2026, 5, 12)),
    25148086: (parse_release("vCenter 9.0.2.0", VCENTER), date(2026, 1, 20)),
    24957454: (parse_release("vCenter 9.0.1.0", VCENTER), date(2025, 9, 29)),
    24755230: (parse_release("vCenter 9.0.0.0", VCENTER), date(2025, 6, 17)),
}


def test_a_real_shaped_esx_9x_table_reads_every_row_beside_the_older_tables():
    with_9x, without = read("broadcom-316595-esxi-9x.html"), read("broadcom-316595-esxi.html")
    assert (with_9x.problem, with_9x.skipped) == (None, ())
    assert with_9x.tables == ("ESX 9.x", *without.tables)
    records = by_build(with_9x)
    assert {b: (records[b].release, records[b].release_date) for b in ESX_9X} == ESX_9X
    assert set(records) - set(ESX_9X) == {r.build for r in without.records}  # the 8.0/7.0/6.7 rows are unchanged
    assert [records[b].release.name for b in ESX_9X] == [
        "ESX 9.1.0.0",
        "ESX 9.0.2.0",
        "ESX 9.0.1.0",
        "ESX 9.0.0.0100",
        "ESX 9.0.0.0",
    ]
    assert with_9x.lines == {"9.1", "9.0", "8.0", "7.0", "6.7"}


def test_a_real_shaped_vcenter_9x_table_reads_every_row_beside_the_older_tables():
    with_9x = read("broadcom-326316-vcenter-9x.html", VCENTER, BROADCOM_VC)
    assert (with_9x.problem, with_9x.skipped) == (None, ())
    records = by_build(with_9x)
    assert {b: (records[b].release, records[b].release_date) for b in VCENTER_9X} == VCENTER_9X
    assert all(records[b].alt_builds == () for b in VCENTER_9X)  # the MOB build is the same number from 7.0 U2
    assert len(with_9x.records) == 63 + len(VCENTER_9X)
