"""The online depot: `vmw-depot-index.xml` -> vendor index -> `metadata.zip` -> image profiles.

    vmw-depot-index.xml   <vendorList><vendor><indexfile>esx/vmw/vmw-esx-index.xml</indexfile>
                          <relativePath>esx/vmw/</relativePath>...</vendor></vendorList>
    vendor index          <metaList><metadata><productId>embeddedEsx</productId><version>7.0.0</version>
                          <url>vmw-ESXi-7.0.0-metadata.zip</url></metadata>...</metaList>
    metadata zip          vmware.xml (<metadataResponse> with <bulletin>s and <imageProfile>s), profiles/*,
                          bulletins/*, vibs/*, vendor-index.xml

Each ESXi image profile (`ESXi-7.0U3c-19193900-standard`, `-no-tools`, security-only `ESXi-7.0U3sd-...`)
names a build; a build is offered while one of its profiles is listed, so a pulled release shows as its
profiles vanishing. 6.x patch profiles (`ESXi-6.7.0-20191204001-standard`) carry no build in their name: their
`esx-base` VIB version says it.

Broadcom's depot URL carries a per-customer download token (https://dl.broadcom.com/<token>/PROD/COMP/...),
a secret: no URL is ever written into a result; messages name files only, through `mask_url`. Every document
is hostile until read: XML goes through tracker/sources/xmlsafe.py, zips are opened with capped member counts
and sizes and a bounded read, nested archives are refused. A fetch error of a sub-document propagates
(tracker.http.FetchError): the poll turns it into a source anomaly.
"""

import io
import re
import zipfile
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree

from tracker.domain.observations import BuildRecord, ParseResult, Skipped
from tracker.domain.version_grammar import parse_build
from tracker.domain.versions import Build, Product, VersionError
from tracker.sources import Fetch
from tracker.sources.xmlsafe import XmlProblem, children_text, load_xml, local_name

__all__ = ["collect", "mask_url", "parse"]

MAX_VENDORS = 20
MAX_METADATA = 100
MAX_MEMBERS = 5_000  # a real per-line metadata zip holds a few thousand vibs/ and bulletins/ entries
MAX_PROFILE_FILES = 2_000
MAX_MEMBER_BYTES = 50 * 1024 * 1024
MAX_READ_BYTES = 200 * 1024 * 1024  # all members read from one zip
MAX_DECLARED_BYTES = 1024 * 1024 * 1024  # all members of one zip, as the central directory declares them
_CHUNK = 64 * 1024

# 9.x profiles may say ESX as well as ESXi (KB 395110 renames the product): ESX-9.0.0.0100-24813472-standard.
_ESXI_PROFILE = re.compile(r"^ESXi?-\d", re.I)
_ESX_BASE = re.compile(r"_esx-base_(?P<version>\d+\.\d+\.\d+-\S+)$")
_TOKEN = re.compile(r"^[A-Za-z0-9_=-]{16,}$")
_NESTED_SUFFIXES = (".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".jar", ".vib", ".iso")
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c")
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError)


class _Refused(ValueError):
    """A depot document we will not read (a bomb, a nested archive, a missing vmware.xml ...)."""


@dataclass(frozen=True)
class _Profile:
    name: str
    vibs: tuple[str, ...]
    where: str  # "vmw-ESXi-7.0.0-metadata.zip/vmware.xml"


# --- entry points ---------------------------------------------------------------------------------------------
def collect(content: bytes, *, url: str, product: Product, fetch: Fetch) -> ParseResult:
    """Every ESXi build the depot offers: `content` is `vmw-depot-index.xml`, the rest comes through `fetch`."""
    if product is not Product.ESXI:
        return ParseResult(problem="the online depot lists ESXi image profiles only")
    try:
        zips = _metadata_urls(content, url, fetch)
        profiles = [p for zip_url in zips for p in _zip_profiles(fetch.get(zip_url), _file_name(zip_url))]
    except (XmlProblem, _Refused) as problem:
        return ParseResult(problem=str(problem))
    return _result(profiles, tuple(_file_name(z) for z in zips))


def parse(content: bytes, *, url: str, product: Product) -> ParseResult:
    """The image profiles of one metadata zip or one `vmware.xml` (the last step of `collect`)."""
    if product is not Product.ESXI:
        return ParseResult(problem="the online depot lists ESXi image profiles only")
    name = _file_name(url)
    try:
        if content.startswith(b"PK"):
            profiles = _zip_profiles(content, name)
        else:
            profiles = _profiles_in(_vmware_xml(content, name), name)
    except (XmlProblem, _Refused) as problem:
        return ParseResult(problem=str(problem))
    return _result(profiles, (name,))


def mask_url(url: str) -> str:
    """`url` without query, fragment, credentials and any path segment that looks like a download token."""
    parts = urlsplit(url)
    path = "/".join("<token>" if _looks_like_token(segment) else segment for segment in parts.path.split("/"))
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], path, "", ""))


def _looks_like_token(segment: str) -> bool:
    # Long, no dot (file names have one), and not a plain word: `ESX_HOST` and `PRODUCTION` stay readable.
    return bool(_TOKEN.match(segment)) and any(c.isdigit() for c in segment)


def _file_name(url: str) -> str:
    return mask_url(url).rstrip("/").rsplit("/", 1)[-1] or "depot"


# --- index -> vendor index -> metadata zips -------------------------------------------------------------------
def _metadata_urls(content: bytes, url: str, fetch: Fetch) -> list[str]:
    vendors = _vendor_index_urls(load_xml(content, "the depot index"), url)
    zips: list[str] = []
    for vendor_url in vendors:
        name = f"vendor index {_file_name(vendor_url)}"
        for zip_url in _zip_urls(load_xml(fetch.get(vendor_url), name), vendor_url, name):
            if zip_url not in zips:
                zips.append(zip_url)
    if len(zips) > MAX_METADATA:
        raise _Refused(f"the depot lists {len(zips)} metadata zips, more than {MAX_METADATA}")
    return zips


def _vendor_index_urls(root: etree._Element, base: str) -> list[str]:
    if local_name(root) != "vendorlist":
        raise _Refused(f"not a depot index (its root is <{local_name(root) or '?'}>, expected <vendorList>)")
    urls: list[str] = []
    for vendor in (el for el in root.iter() if local_name(el) == "vendor"):
        indexfile = next(iter(children_text(vendor, "indexfile")), "")
        relative = next(iter(children_text(vendor, "relativepath")), "")
        if indexfile:
            urls.append(_follow(base, _vendor_path(indexfile, relative), "the depot index"))
    if not urls:
        raise _Refused("the depot index names no vendor index")
    if len(urls) > MAX_VENDORS:
        raise _Refused(f"the depot index names {len(urls)} vendor indexes, more than {MAX_VENDORS}")
    return urls


def _vendor_path(indexfile: str, relative: str) -> str:
    # An offline bundle writes `<indexfile>vendor-index.xml</indexfile>` beside an empty relativePath; the
    # online depot writes the path in full. A bare file name under a relativePath lives in that folder.
    if relative and "/" not in indexfile and not indexfile.startswith(relative):
        return relative.rstrip("/") + "/" + indexfile
    return indexfile


def _zip_urls(root: etree._Element, base: str, name: str) -> list[str]:
    entries = [el for el in root.iter() if local_name(el) == "metadata"]
    urls = [_follow(base, text, name) for entry in entries for text in children_text(entry, "url")]
    if not urls:
        raise _Refused(f"{name} lists no metadata zip")
    return urls


def _follow(base: str, reference: str, name: str) -> str:
    url = urljoin(base, reference)
    if urlsplit(url).scheme not in ("http", "https"):
        raise _Refused(f"{name} points outside http(s): {urlsplit(url).scheme or 'no scheme'}")
    return url


# --- metadata zips --------------------------------------------------------------------------------------------
def _zip_profiles(content: bytes, name: str) -> list[_Profile]:
    profiles: list[_Profile] = []
    for member, data in _members(content, name):
        where = f"{name}/{member}"
        root = _vmware_xml(data, where) if member.rsplit("/", 1)[-1].lower() == "vmware.xml" else load_xml(data, where)
        profiles.extend(_profiles_in(root, where))
    return profiles


def _vmware_xml(content: bytes, where: str) -> etree._Element:
    root = load_xml(content, where)
    if local_name(root) not in ("metadataresponse", "imageprofile"):
        raise _Refused(f"{where} is not depot metadata (its root is <{local_name(root) or '?'}>)")
    return root


def _members(content: bytes, name: str) -> list[tuple[str, bytes]]:
    """vmware.xml and the profiles/ files of a metadata zip, read within the caps."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except _ZIP_ERRORS as error:
        raise _Refused(f"{name} is not a readable zip ({type(error).__name__})") from None
    with archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        _check_listing(infos, name)
        wanted = _wanted(infos, name)
        return [(info.filename, _read_member(archive, info, name)) for info in wanted]


def _check_listing(infos: list[zipfile.ZipInfo], name: str) -> None:
    if len(infos) > MAX_MEMBERS:
        raise _Refused(f"{name} has {len(infos):,} members, more than {MAX_MEMBERS:,}")
    nested = next((i.filename for i in infos if i.filename.lower().endswith(_NESTED_SUFFIXES)), None)
    if nested is not None:
        raise _Refused(f"{name} holds a nested archive ({nested}); nested archives are not opened")
    declared = sum(info.file_size for info in infos)
    if declared > MAX_DECLARED_BYTES:
        raise _Refused(f"{name} declares {declared:,} bytes uncompressed, more than {MAX_DECLARED_BYTES:,}")


def _wanted(infos: list[zipfile.ZipInfo], name: str) -> list[zipfile.ZipInfo]:
    main = [i for i in infos if i.filename.rsplit("/", 1)[-1].lower() == "vmware.xml"]
    if not main:
        raise _Refused(f"{name} has no vmware.xml")
    profiles = [i for i in infos if "/profiles/" in "/" + i.filename.lower()]
    if len(profiles) > MAX_PROFILE_FILES:
        raise _Refused(f"{name} has {len(profiles):,} profile files, more than {MAX_PROFILE_FILES:,}")
    wanted = main[:1] + profiles
    big = next((i for i in wanted if i.file_size > MAX_MEMBER_BYTES), None)
    if big is not None:
        raise _Refused(f"{name}/{big.filename} declares {big.file_size:,} bytes, more than {MAX_MEMBER_BYTES:,}")
    if sum(i.file_size for i in wanted) > MAX_READ_BYTES:
        raise _Refused(f"{name}: the members to read pass {MAX_READ_BYTES:,} bytes")
    return wanted


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    # Never trust the header alone: read at most one byte past the cap (zipfile also stops at the declared size
    # and fails the CRC of a member that inflates past it).
    # Small reads keep zlib's output bounded too: one large read() would inflate up to its size at once. The
    # chunks go into one BytesIO, whose getvalue() hands its buffer over: the member is held once, not twice.
    inflated = io.BytesIO()
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                if inflated.tell() + len(chunk) > MAX_MEMBER_BYTES:
                    raise _Refused(f"{name}/{info.filename} inflates past {MAX_MEMBER_BYTES:,} bytes")
                inflated.write(chunk)
    except _Refused:
        raise
    except _ZIP_ERRORS as error:
        raise _Refused(f"{name}/{info.filename} cannot be read ({type(error).__name__})") from None
    data = inflated.getvalue()
    if data.startswith(_ARCHIVE_MAGIC):
        raise _Refused(f"{name}/{info.filename} is itself an archive; nested archives are not opened")
    return data


# --- image profiles -------------------------------------------------------------------------------------------
def _profiles_in(root: etree._Element, where: str) -> list[_Profile]:
    profiles: list[_Profile] = []
    for element in root.iter():
        if local_name(element) != "imageprofile":
            continue
        vibs = tuple((el.text or "").strip() for el in element.iter() if local_name(el) in ("vibid", "vib-id"))
        profiles.extend(_Profile(name, vibs, where) for name in children_text(element, "name")[:1])
    return profiles


def _result(profiles: list[_Profile], tables: tuple[str, ...]) -> ParseResult:
    found: dict[int, tuple[Build, list[str]]] = {}
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for profile in profiles:
        if not _ESXI_PROFILE.match(profile.name) or profile.name in seen:
            continue  # vendor add-on profiles are not ours; a profile listed twice counts once
        seen.add(profile.name)
        try:
            build = _profile_build(profile)
        except VersionError as error:
            skipped.append(Skipped(profile.where, profile.name, str(error)))
            continue
        assert build.number is not None
        found.setdefault(build.number, (build, []))[1].append(profile.name)
    records = tuple(_record(build, names) for _, (build, names) in sorted(found.items()))
    return ParseResult(records=records, skipped=tuple(skipped), problem=_why_empty(records, skipped), tables=tables)


def _profile_build(profile: _Profile) -> Build:
    try:
        build = parse_build(profile.name, Product.ESXI)
    except VersionError as error:
        build, failure = None, error
    else:
        failure = VersionError(f"{profile.name!r} names no build number")
    if build is not None and build.number is not None:
        return build
    for vib in profile.vibs:  # ESXi-6.7.0-20191204001-standard: VMware_bootbank_esx-base_6.7.0-3.95.15160138
        if base := _ESX_BASE.search(vib):
            return parse_build(base.group("version"), Product.ESXI)
    raise failure


def _record(build: Build, names: list[str]) -> BuildRecord:
    assert build.number is not None and build.release is not None
    return BuildRecord(
        product=Product.ESXI,
        build=build.number,
        release=build.release,
        release_name=build.release.name,
        excerpt=", ".join(sorted(names)),
    )


def _why_empty(records: tuple[BuildRecord, ...], skipped: list[Skipped]) -> str | None:
    if records:
        return None
    if skipped:
        return f"no readable ESXi image profile ({len(skipped)} skipped)"
    return "no ESXi image profile in the depot"
