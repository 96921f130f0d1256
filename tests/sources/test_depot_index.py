"""The online depot over a fixture tree shaped like hostupdate.vmware.com / dl.broadcom.com, and hostile documents.

`fetch` is faked with a dict of URL -> fixture bytes: the network edge, the only thing faked here.
"""

import io
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tracker.domain.observations import BuildRecord, ParseResult
from tracker.domain.versions import Product, Release
from tracker.http import FetchStatusError
from tracker.sources.depot_index import collect, mask_url, parse

FIXTURES = Path(__file__).parents[1] / "fixtures" / "depot"
TOKEN = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"
BROADCOM = f"https://dl.broadcom.com/{TOKEN}/PROD/COMP/ESX_HOST/main/"
VMWARE = "https://hostupdate.vmware.com/software/VUM/PRODUCTION/main/"
ESXI = Product.ESXI
MB = 1024 * 1024


class FakeFetch:
    """Serves a fixture folder under `base`; records what was asked."""

    def __init__(self, root: Path, base: str, extra: dict[str, bytes] | None = None) -> None:
        self.files = {base + p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
        self.files.update(extra or {})
        self.asked: list[str] = []

    def get(self, url: str) -> bytes:
        self.asked.append(url)
        if url not in self.files:
            raise FetchStatusError(url, 404)
        return self.files[url]

    def post_json(self, url: str, body: dict[str, object]) -> bytes:
        raise AssertionError("the depot never posts")


def poll(state: str, base: str = VMWARE, **replace: bytes) -> ParseResult:
    fetch = FakeFetch(FIXTURES / state, base, {base + path: data for path, data in replace.items()})
    index = base + "vmw-depot-index.xml"
    return collect(fetch.files[index], url=index, product=ESXI, fetch=fetch)


def esxi(build: int, release: Release, *profiles: str) -> BuildRecord:
    return BuildRecord(ESXI, build, release, release.name, excerpt=", ".join(profiles))


def profiles(label: str, build: int) -> tuple[str, str]:
    return (f"ESXi-{label}-{build}-no-tools", f"ESXi-{label}-{build}-standard")


P01_67 = esxi(
    15160138, Release(ESXI, 6, 7, 0, None), "ESXi-6.7.0-20191204001-no-tools", "ESXi-6.7.0-20191204001-standard"
)
U2D = esxi(18538813, Release(ESXI, 7, 0, 2, "d"), *profiles("7.0U2d", 18538813))
U3 = esxi(18644231, Release(ESXI, 7, 0, 3, ""), *profiles("7.0U3", 18644231))
U3A = esxi(18825058, Release(ESXI, 7, 0, 3, "a"), *profiles("7.0U3a", 18825058))
U3B = esxi(18905247, Release(ESXI, 7, 0, 3, "b"), *profiles("7.0U3b", 18905247))
U3C = esxi(19193900, Release(ESXI, 7, 0, 3, "c"), *profiles("7.0U3c", 19193900))
ZIPS = ("vmw-ESXi-6.7.0-metadata.zip", "vmw-ESXi-7.0.0-metadata.zip")


# --- the depot over time --------------------------------------------------------------------------------------
def test_before_the_pull_the_depot_offers_u2d_u3_u3a_u3b_and_the_6_7_patch():
    assert poll("before") == ParseResult(records=(P01_67, U2D, U3, U3A, U3B), tables=ZIPS)


def test_after_the_pull_the_u3_profiles_are_gone():
    assert poll("after") == ParseResult(records=(P01_67, U2D), tables=ZIPS)


def test_the_reissue_is_read_from_profile_files_as_well_as_from_vmware_xml():
    assert poll("reissue") == ParseResult(records=(P01_67, U2D, U3C), tables=ZIPS)


def test_it_follows_the_index_to_the_vendor_index_and_each_metadata_zip_relative_to_the_depot_url():
    fetch = FakeFetch(FIXTURES / "before", VMWARE)
    collect(fetch.files[VMWARE + "vmw-depot-index.xml"], url=VMWARE + "vmw-depot-index.xml", product=ESXI, fetch=fetch)
    assert fetch.asked == [VMWARE + "esx/vmw/vmw-esx-index.xml", *(VMWARE + "esx/vmw/" + name for name in ZIPS)]


def test_a_single_vmware_xml_with_a_plain_doctype_reads_security_only_and_6_7_profiles_and_skips_the_odd_one():
    result = parse((FIXTURES / "vmware-7.0-u3d.xml").read_bytes(), url=VMWARE + "vmware.xml", product=ESXI)
    assert result.records == (
        P01_67,
        esxi(19482531, Release(ESXI, 7, 0, 3, "d", security_only=True), *profiles("7.0U3sd", 19482531)),
        esxi(19482537, Release(ESXI, 7, 0, 3, "d"), *profiles("7.0U3d", 19482537)),
    )
    assert [(s.where, s.text) for s in result.skipped] == [("vmware.xml", "ESXi-7.0U3-custom-standard")]
    assert "HPE-Custom-AddOn" not in repr(result)  # vendor add-on profiles are not ESXi builds


def test_a_metadata_zip_can_be_parsed_on_its_own():
    data = (FIXTURES / "reissue" / "esx" / "vmw" / "vmw-ESXi-7.0.0-metadata.zip").read_bytes()
    assert parse(data, url=VMWARE + "esx/vmw/vmw-ESXi-7.0.0-metadata.zip", product=ESXI).records == (U2D, U3C)


def test_the_depot_speaks_for_esxi_only():
    assert poll("before").problem is None
    fetch = FakeFetch(FIXTURES / "before", VMWARE)
    result = collect(b"<vendorList/>", url=VMWARE, product=Product.VCENTER, fetch=fetch)
    assert result.problem == "the online depot lists ESXi image profiles only" and fetch.asked == []


# --- the download token -----------------------------------------------------------------------------------------
def test_a_broadcom_depot_behind_a_download_token_reads_the_same_and_never_shows_the_token():
    result = poll("before", BROADCOM)
    assert result.records == (P01_67, U2D, U3, U3A, U3B)
    assert TOKEN not in repr(result)


def test_a_problem_deep_in_a_tokened_depot_names_the_file_but_not_the_token():
    bomb = (FIXTURES / "hostile" / "bomb.zip").read_bytes()
    result = poll("before", BROADCOM, **{"esx/vmw/vmw-ESXi-7.0.0-metadata.zip": bomb})
    assert result.problem is not None and "vmw-ESXi-7.0.0-metadata.zip/vmware.xml" in result.problem
    assert TOKEN not in repr(result) and "dl.broadcom.com" not in repr(result)


def test_mask_url_hides_token_segments_query_and_credentials_but_keeps_the_path_readable():
    assert mask_url(BROADCOM + "vmw-depot-index.xml?sig=secret") == (
        "https://dl.broadcom.com/<token>/PROD/COMP/ESX_HOST/main/vmw-depot-index.xml"
    )
    assert mask_url("https://user:pw@hostupdate.vmware.com/software/VUM/PRODUCTION/main/") == (
        "https://hostupdate.vmware.com/software/VUM/PRODUCTION/main/"
    )


def test_a_fetch_error_of_a_sub_document_propagates():
    fetch = FakeFetch(FIXTURES / "before", VMWARE)
    del fetch.files[VMWARE + "esx/vmw/vmw-ESXi-7.0.0-metadata.zip"]
    with pytest.raises(FetchStatusError):
        collect(
            fetch.files[VMWARE + "vmw-depot-index.xml"], url=VMWARE + "vmw-depot-index.xml", product=ESXI, fetch=fetch
        )


# --- hostile documents --------------------------------------------------------------------------------------------
def measured(run: Callable[[], ParseResult]) -> tuple[ParseResult, int]:
    """The result and the peak of memory allocated while it was made (time: see pytest --durations)."""
    tracemalloc.start()
    try:
        result = run()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, peak


def hostile(name: str) -> bytes:
    return (FIXTURES / "hostile" / name).read_bytes()


def many_members(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("vmware.xml", "<metadataResponse/>")
        for index in range(count):
            archive.writestr(f"vibs/v{index}.xml", "")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("billion-laughs.xml", "the depot index refused: it declares entities (<!ENTITY>)"),
        ("xxe-file.xml", "the depot index refused: it declares entities (<!ENTITY>)"),
        ("xxe-external-dtd.xml", "the depot index refused: it references an external DTD"),
    ],
)
def test_a_hostile_depot_index_is_refused_never_expanded(document: str, problem: str):
    fetch = FakeFetch(FIXTURES / "before", VMWARE)
    result, peak = measured(lambda: collect(hostile(document), url=VMWARE, product=ESXI, fetch=fetch))
    assert (result.records, result.problem) == ((), problem)
    assert fetch.asked == [] and peak < 5 * MB
    assert "root:" not in repr(result) and "lol" not in repr(result)


def test_a_vendor_index_pulling_a_remote_parameter_entity_is_refused():
    result = poll("before", **{"esx/vmw/vmw-esx-index.xml": hostile("xxe-parameter-entity.xml")})
    assert result.problem == "vendor index vmw-esx-index.xml refused: it declares entities (<!ENTITY>)"


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        ("bomb.zip", "x.zip/vmware.xml declares 62,914,597 bytes, more than 52,428,800"),
        ("bomb-lying-header.zip", "x.zip/vmware.xml cannot be read (BadZipFile)"),
        ("no-vmware-xml.zip", "x.zip has no vmware.xml"),
        (
            "nested-archive.zip",
            "x.zip holds a nested archive (extra/notifications.zip); nested archives are not opened",
        ),
        ("disguised-nested-archive.zip", "x.zip/vmware.xml is itself an archive; nested archives are not opened"),
        ("not-a-zip.zip", "x.zip is not depot metadata (its root is <html>)"),
    ],
)
def test_a_hostile_metadata_zip_is_a_problem_in_bounded_memory(member: str, problem: str):
    result, peak = measured(lambda: parse(hostile(member), url=VMWARE + "x.zip", product=ESXI))
    assert (result.records, result.problem) == ((), problem)
    assert peak < 50 * MB


def test_a_zip_bomb_inside_the_depot_makes_the_whole_poll_a_problem():
    bomb = {"esx/vmw/vmw-ESXi-7.0.0-metadata.zip": hostile("bomb-lying-header.zip")}
    result, peak = measured(lambda: poll("reissue", **bomb))
    assert (
        result.records == () and result.problem == "vmw-ESXi-7.0.0-metadata.zip/vmware.xml cannot be read (BadZipFile)"
    )
    assert peak < 50 * MB


def test_a_zip_with_ten_thousand_members_is_refused_before_any_is_read():
    data = many_members(10_000)
    result, peak = measured(lambda: parse(data, url=VMWARE + "x.zip", product=ESXI))
    assert result.problem == "x.zip has 10,001 members, more than 5,000"
    assert peak < 50 * MB


def test_a_depot_index_that_is_not_one_is_a_problem():
    fetch = FakeFetch(FIXTURES / "before", VMWARE)
    result = collect(b"<html><body>Maintenance</body></html>", url=VMWARE, product=ESXI, fetch=fetch)
    assert result.problem == "not a depot index (its root is <html>, expected <vendorList>)"


def test_a_metadata_url_outside_http_is_not_followed():
    vendor = b"<metaList><metadata><url>file:///etc/passwd</url></metadata></metaList>"
    result = poll("before", **{"esx/vmw/vmw-esx-index.xml": vendor})
    assert result.problem == "vendor index vmw-esx-index.xml points outside http(s): file"
