"""Pull and replacement sentences, in the vendor's real 7.0 U3 wording and its variants."""

import pytest

from tracker.domain.observations import Notice, NoticeKind
from tracker.domain.versions import Build, Product, Release
from tracker.sources.notices import find_notices

ESXI, VCENTER = Product.ESXI, Product.VCENTER
PULLED, REPLACED = NoticeKind.PULLED, NoticeKind.REPLACED


def esxi(update: int, letter: str, number: int | None = None) -> Build:
    return Build(ESXI, number, Release(ESXI, 7, 0, update, letter))


U3_PAGE = esxi(3, "", 18644231)
REMOVAL = (
    "IMPORTANT: VMware has removed ESXi 7.0 Update 3, 7.0 Update 3a and 7.0 Update 3b from all sites on "
    "November 19, 2021 due to an upgrade-impacting issue."
)
REPLACEMENT = (
    "Build 19193900 for ESXi 7.0 Update 3c ISO replaces build 18644231, 18825058, and 18905247 for ESXi 7.0 "
    "Update 3, 7.0 Update 3a, and 7.0 Update 3b respectively."
)


def kinds_and_builds(text: str, page_build: Build | None = None, product: Product = ESXI) -> list[tuple[object, ...]]:
    return [(n.kind, n.subjects, n.replacement) for n in find_notices(text, product=product, page_build=page_build)]


def test_it_reads_the_real_removal_notice_of_november_2021():
    assert find_notices(REMOVAL, product=ESXI, page_build=None) == (
        Notice(PULLED, (esxi(3, ""), esxi(3, "a"), esxi(3, "b")), REMOVAL),
    )


def test_on_its_own_page_the_removed_release_gets_the_page_build_number():
    assert kinds_and_builds(REMOVAL, U3_PAGE) == [(PULLED, (U3_PAGE, esxi(3, "a"), esxi(3, "b")), None)]


def test_it_pairs_the_replaced_builds_with_their_releases_respectively():
    assert kinds_and_builds(REPLACEMENT) == [
        (REPLACED, (esxi(3, "", 18644231), esxi(3, "a", 18825058), esxi(3, "b", 18905247)), esxi(3, "c", 19193900))
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "VMware has removed ESXi 7.0 Update 3, 3a and 3b from all sites.",
            (PULLED, (esxi(3, ""), esxi(3, "a"), esxi(3, "b")), None),
        ),
        (
            "ESXi 7.0 U3, U3a and U3b are no longer available for download.",
            (PULLED, (esxi(3, ""), esxi(3, "a"), esxi(3, "b")), None),
        ),
        ("ESXi 7.0 Update 3b (build 18905247) has been pulled.", (PULLED, (esxi(3, "b", 18905247),), None)),
        ("VMware withdrew vSphere 7.0 Update 3b on November 18, 2021.", (PULLED, (esxi(3, "b"),), None)),
        ("Builds 18644231 and 18825058 were recalled.", (PULLED, (Build(ESXI, 18644231), Build(ESXI, 18825058)), None)),
        ("ESXi 7.0 Update 3c replaces ESXi 7.0 Update 3, which was removed.", (REPLACED, (esxi(3, ""),), esxi(3, "c"))),
        (
            "ESXi 7.0 Update 3c is replaced by ESXi 7.0 Update 3d and is no longer available for download.",
            (REPLACED, (esxi(3, "c"),), esxi(3, "d")),
        ),
        (
            "ESXi 7.0 Update 3, 3a and 3b are replaced by ESXi 7.0 Update 3c.",
            (REPLACED, (esxi(3, ""), esxi(3, "a"), esxi(3, "b")), esxi(3, "c")),
        ),
    ],
)
def test_it_reads_every_wording_of_a_pull_or_a_replacement(text: str, expected: tuple[object, ...]):
    assert kinds_and_builds(text) == [expected]


def test_in_x_replaces_y_which_was_removed_x_is_never_a_pulled_subject():
    [notice] = find_notices(
        "ESXi 7.0 Update 3c replaces ESXi 7.0 Update 3, which was removed.", product=ESXI, page_build=None
    )
    assert notice.kind is REPLACED and esxi(3, "c") not in notice.subjects


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This release is no longer available for download.", [(PULLED, (U3_PAGE,), None)]),
        ("This release has been removed from the download site.", [(PULLED, (U3_PAGE,), None)]),
        ("ESXi 7.0 Update 3c replaces this release.", [(REPLACED, (U3_PAGE,), esxi(3, "c"))]),
    ],
)
def test_this_release_means_the_page_build(text: str, expected: list[tuple[object, ...]]):
    assert kinds_and_builds(text, U3_PAGE) == expected


@pytest.mark.parametrize(
    "text",
    [
        "After upgrading to ESXi 7.0 Update 3, the i40enu VIB is removed and the host fails with esxupdate code -1.",
        "The i40enu VIB is replaced by i40en in this release.",
        "If a datastore is removed from a cluster while HA runs, VMs might not power on in ESXi 7.0 Update 2d.",
        "A vmk interface pulled from the vDS stays disconnected.",
        "Log files are no longer available after the scratch partition moves.",
        "vSphere 7.0 is removed from the compatibility list of this adapter.",
        "ESXi 7.0 Update 3c delivers fixes for ESXi 7.0 Update 3b hosts.",
        "",
    ],
)
def test_sentences_that_only_mention_a_release_near_a_pull_word_are_not_notices(text: str):
    assert find_notices(text, product=ESXI, page_build=U3_PAGE) == ()


def test_each_sentence_of_a_paragraph_is_read_and_duplicates_are_dropped():
    text = f"ESXi 7.0 Update 3 | 05 OCT 2021 | ISO Build 18644231\n\n{REMOVAL} {REPLACEMENT} {REMOVAL}"
    assert [n.kind for n in find_notices(text, product=ESXI, page_build=U3_PAGE)] == [PULLED, REPLACED]


def test_vcenter_notices_name_vcenter_builds_and_appliance_versions():
    text = (
        "vCenter Server 7.0 Update 3b (7.0.3.00200) is replaced by vCenter Server 7.0 Update 3c "
        "and is no longer available."
    )
    [notice] = find_notices(text, product=VCENTER, page_build=None)
    assert notice.subjects == (Build(VCENTER, None, Release(VCENTER, 7, 0, 3, "b", appliance=200)),)
    assert notice.replacement == Build(VCENTER, None, Release(VCENTER, 7, 0, 3, "c"))


def test_long_sentences_are_cut_in_the_excerpt():
    text = "VMware has removed ESXi 7.0 Update 3b from all sites " + "because of a long story " * 40 + "."
    [notice] = find_notices(text, product=ESXI, page_build=None)
    assert len(notice.excerpt) == 400 and notice.excerpt.endswith("…")
