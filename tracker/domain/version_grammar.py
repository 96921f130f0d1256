"""The grammar: every spelling the vendor and the hosts use for a release or a build (PRODUCT.md 2.1), read into
the values of tracker/domain/versions.py. `parse_release` and `parse_build` are the one way to read a text
into a Release or a Build; they raise `VersionError` for anything else: a spelling that cannot be placed is
refused, never read as a nearby value (a 9.x image profile once came out as "ESXi 0.0.100").
Imports go one way: versions.py (values) <- tools.py (Tools' spellings) <- this module.

Where the spellings come from: KB 316595 / 326316 and the old KB 2143832 / 2143838 build tables (6.x patch ids,
"Express Patch 3", vCenter 6.7 appliance versions), KB 395110 (ESX 9 versions, the 8.0 "U2b / P03" and
"U2b Hot Patch 1" aliases, the hyphenated component form 9.0.1-0101.12345678), KB 410435 (VCF 9 version fields).
VMware Tools (KB 304809, vCenter's toolsVersion numbers) has its own small grammar in tracker/domain/tools.py.
"""

import re

from tracker.domain.tools import parse_tools_build, parse_tools_release
from tracker.domain.versions import (
    FIRST_VCF_MAJOR,
    Build,
    Product,
    Release,
    VersionError,
    implied_update,
    product_from_text,
)

__all__ = ["parse_build", "parse_release"]


# 6.x update boundaries by patch date code (YYYYMM), for naming a 6.x patch's update level. 6.7 U1 shipped on
# 2018-10-16, after ESXi670-201810001 (EP 04, 2018-10-02): that month's patch still sits on 6.7 GA.
_6X_UPDATES = {
    (6, 5): ((201707, 1), (201805, 2), (201907, 3)),
    (6, 7): ((201811, 1), (201904, 2), (201908, 3)),
}
_PRODUCT = r"(?P<prod>vmware\s+)?(?P<pname>esxi?|vcenter(?:\s+server)?(?:\s+appliance)?|vcsa|vc)?"
_SECURITY = re.compile(r"\(?\s*security[\s-]*only\s*\)?", re.I)
_APPLIANCE = re.compile(r"\(?\s*(?P<ver>\d\.\d\.\d)\.(?P<app>\d{5})\s*\)?$")
_BUILD_WORD = re.compile(r"\bbuild[\s-]*(?P<digits>\d+)", re.I)

_PATCH_ID = re.compile(r"^(?:esxi)?\s*(?P<mm>[5-6][0-9]0)-(?P<date>\d{6})(?P<seq>\d{3})(?:-(?P<kind>sg|bg|ug))?$", re.I)
# The level in compact spellings: U3c, U3 (update GA), b (a GA-line patch). A security-only image puts an "s"
# before its letter (7.0U2sc, 8.0sb) or, on the GA line, after it (7.0bs). A lone "s" is the letter s itself:
# ESXi70U3s-24585291 is 7.0 U3s, not a security-only 7.0 U3.
_LEVEL = (
    r"(?:u(?P<upd>\d)(?:(?P<sec>s)(?=[a-z]))?(?P<letter>[a-z])?"
    r"|(?:(?P<gsec>s)(?=[a-z]))?(?P<gaL>[a-z])(?P<gsec2>s)?)"
)
_COMPACT = re.compile(  # VMSA fixed versions: ESXi70U3c-19193900, ESXi80U3-24022510, ESXi70U2sc-18295176
    r"^esxi(?P<maj>[5-8])(?P<min>\d)" + _LEVEL + r"?(?:-(?P<build>\d{7,8}))?$", re.I
)
_HOST = re.compile(  # VMware ESXi 7.0.3 build-18644231 / VMware vCenter Server 7.0.3 build-19234570
    r"(?P<ver>\d+\.\d+(?:\.\d+)*)\s*(?:\(?\s*build[\s-]*|,\s*build\s+|-)(?P<build>\d{7,8})\)?\b", re.I
)
_FILE = re.compile(  # ESXi-7.0U3c-19193900-standard, VMware-VMvisor-Installer-7.0U3c-19193900.x86_64.iso,
    # VMware-VMvisor-Installer-6.7.0.update03-14320388.x86_64.iso, VMware-VCSA-all-7.0.3-19234570.iso.
    # Never inside a longer version: ESXi-9.0.0.0100-24813472 once read as "0.0100", line 0.0.
    r"(?<![\d.])(?P<maj>[3-8])\.(?P<min>\d+)(?:\.(?P<maint>\d+))?(?:\.update(?P<upd6>\d{2})|" + _LEVEL + r")?"
    r"-(?P<build>\d{7,8})(?!\d)",
    re.I,
)
_COMPONENT_PREFIX = re.compile(r"^esxi?_(?=\d)", re.I)
_COMPONENT = re.compile(r"^(?P<maj>[3-8])\.(?P<min>\d+)\.(?P<upd>\d+)-\d+\.\d+\.(?P<build>\d{7,8})$")
# 9.x full versions (KB 395110): 9.0.0.0.12345678, 9.2.1.0101.56789012; VIB and component metadata may keep a
# hyphen after the maintenance field: 9.0.1-0101.12345678.
_COMPONENT_9X = re.compile(
    r"^(?P<maj>9|[1-9]\d)\.(?P<min>\d{1,2})\.(?P<upd>\d{1,2})[.-](?P<eehh>\d{1,4})\.(?P<build>\d{7,8})$"
)
# 9.x image profiles and files: ESXi-9.0.0.0100-24813472-standard, VMware-ESX-9.0.0.0100-24813472-depot.zip,
# VMware-VMvisor-Installer-9.0.0.0100.x86_64-24813472.iso, VMware-VMvisor-Installer-9.0.0.0.24755229.x86_64.iso,
# VMware-VCSA-all-9.0.2.0-25148086.iso. Without the EEHH field (ESXi-9.0.0-24755229) the patch level is unknown.
_FILE_9X = re.compile(
    r"(?<![\d.])(?P<maj>9|[1-9]\d)\.(?P<min>\d{1,2})\.(?P<maint>\d{1,2})(?:\.(?P<eehh>\d{1,4}))?"
    r"(?:\.x86_64)?[.-](?P<build>\d{7,8})(?!\d)",
    re.I,
)
# "EP 17", "P03", "Express Patch 3", "Patch 02", "Hot Patch 1"; "/ P03" and "/ EP2" are KB 395110's aliases.
_PATCH_KINDS = {"expresspatch": "EP", "hotpatch": "HP", "patch": "P", "ep": "EP", "p": "P"}
_NAME = re.compile(
    # "vCenter 6.5 0e Express Patch 3" is KB 2143838's own spelling of 6.5.0e
    r"^(?P<maj>\d+)\.(?P<min>\d+)(?:\.(?P<maint>\d+)|\s(?P<spmaint>0)(?=[a-z]))?(?:\.(?P<fourth>\d+))?"
    r"(?P<gaL>[a-z])?"  # 8.0f, 7.0.0a
    r"(?:\s*(?:update|u)\s*(?P<upd>\d)(?P<letter>[a-z])?)?"
    r"(?:\s*/\s*(?:update|u)\s*(?P<aupd>\d)(?P<aletter>[a-z])?)?"  # KB 395110: "8.0 U2 / Update 2"
    r"(?:\s*(?P<ga>ga))?"
    r"(?:\s*(?:/\s*)?(?P<ep>express\s*patch|hot\s*patch|patch|ep|p)\s*(?P<epn>\d{1,2})(?P<epl>[a-z])?)?"
    r"(?:\s*\(\s*(?:update|u)\s*(?P<pupd>\d)(?P<pletter>[a-z])?\s*\))?$",
    re.I,
)


def _clean(text: str) -> str:
    # KB cells carry non-breaking spaces ("ESXI 6.7\xa0EP18"), zero-width spaces and stray emoji anchors.
    text = text.replace("\xa0", " ").replace("\u200b", "").replace("\u2011", "-").replace("\u2013", "-")
    return re.sub(r"\s+", " ", text).strip()


def _update_from_datecode(major: int, minor: int, yyyymm: int) -> int:
    update = 0
    for start, number in _6X_UPDATES.get((major, minor), ()):
        if yyyymm >= start:
            update = number
    return update


def _split_product(cleaned: str, product: Product | None, text: str) -> tuple[Product | None, str]:
    match = re.match(_PRODUCT, cleaned, re.I)
    rest = cleaned
    if match and match.group("pname"):
        named = product_from_text(match.group("pname"))
        if product is not None and named is not None and named is not product:
            raise VersionError(f"{text!r} names {named.label}, expected {product.label}")
        product = named
        rest = cleaned[match.end() :].strip()
    return product, rest


def _require(product: Product | None, text: str) -> Product:
    if product is None:
        raise VersionError(f"{text!r} does not say which product (ESXi or vCenter Server) it is")
    return product


def _is_tools(cleaned: str, product: Product | None) -> bool:
    """VMware Tools has its own grammar (tracker/domain/tools.py): asked for, or named by a text for no product."""
    return product is Product.TOOLS or (product is None and product_from_text(cleaned) is Product.TOOLS)


def parse_release(text: str, product: Product | None = None) -> Release:
    """A release name or version label: `ESXi 7.0 Update 3c`, `7.0 U3c`, `ESXi670-202111001` ... `product` is
    the product the text must name (or the one it is about when it names none)."""
    cleaned = _clean(text)
    if not cleaned:
        raise VersionError(f"{text!r} is empty, expected a release name such as 'ESXi 7.0 Update 3c'")
    if _is_tools(cleaned, product):
        return parse_tools_release(cleaned)
    if patched := _parse_patch_id(cleaned, product, text):
        return patched
    if compact := _COMPACT.match(cleaned):
        return _release_from_compact(compact, product, text)
    product, rest = _split_product(cleaned, product, text)
    security = bool(_SECURITY.search(rest))
    rest = _SECURITY.sub("", rest).strip()
    if app := _APPLIANCE.search(rest):
        return _release_with_appliance(app, rest, product, security, text)
    return _release_from_name(rest, product, security, None, text)


def _release_with_appliance(
    app: re.Match[str], rest: str, product: Product | None, security: bool, text: str
) -> Release:
    # Only vCenter has appliance versions: 7.0.3.00300 is vCenter Server 7.0 U3c.
    if product is Product.ESXI:
        raise VersionError(f"{text!r} is a vCenter Server appliance version, expected ESXi")
    major, minor, third = (int(x) for x in app.group("ver").split("."))
    appliance = int(app.group("app"))
    update = _appliance_update(major, minor, third, appliance, text)
    head = rest[: app.start()].strip()
    if not head:
        return Release(Product.VCENTER, major, minor, update, None, security, appliance=appliance)
    release = _release_from_name(head, Product.VCENTER, security, appliance, text)
    if (release.major, release.minor, release.update) != (major, minor, update):
        raise VersionError(
            f"{text!r} names {release.line} U{release.update} but appliance {app.group('ver')}.{appliance:05d}"
            f" is {major}.{minor} U{update}"
        )
    return release


def _appliance_update(major: int, minor: int, third: int, appliance: int, text: str) -> int:
    """The update an appliance version sits on: its third field, except on 6.7 (below)."""
    if major >= FIRST_VCF_MAJOR:
        raise VersionError(f"{text!r}: a 9.x version has a four-digit EEHH field, not an appliance tail")
    if (major, minor) != (6, 7):
        return third
    # vCenter 6.7 says 6.7.0 on every update and counts updates in the tail, one up (KB 2143838):
    # 6.7.0.10000 GA, 6.7.0.14000 6.7d, 6.7.0.20000 U1, 6.7.0.31000 U2a, 6.7.0.42000 U3b, 6.7.0.47000 U3m.
    if third != 0 or not 10000 <= appliance < 50000:
        raise VersionError(f"{text!r} is no vCenter 6.7 appliance version (6.7.0.10000 to 6.7.0.4xxxx)")
    return appliance // 10000 - 1


def _parse_patch_id(cleaned: str, product: Product | None, text: str) -> Release | None:
    match = _PATCH_ID.match(cleaned.replace("ESXi ", "ESXi").replace("esxi ", "esxi"))
    if not match:
        return None
    if product is Product.VCENTER:
        raise VersionError(f"{text!r} is an ESXi patch id, expected a vCenter Server release")
    mm = match.group("mm")
    major, minor = int(mm[0]), int(mm[1])
    date = match.group("date")
    return Release(
        Product.ESXI,
        major,
        minor,
        update=_update_from_datecode(major, minor, int(date)),
        letter=None,  # ESXi670-201912001 is 6.7 U3b, but the patch id does not say so
        security_only=(match.group("kind") or "").lower() == "sg",
        patch=f"{date}{match.group('seq')}",
    )


def _level(match: re.Match[str]) -> tuple[int | None, str, bool]:
    """(update named with U, patch letter, security-only) from a `_LEVEL` match."""
    upd = match.group("upd")
    letter = (match.group("letter") or match.group("gaL") or "").lower()
    security = any(match.group(group) for group in ("sec", "gsec", "gsec2"))
    return (int(upd) if upd else None), letter, security


def _release_from_compact(match: re.Match[str], product: Product | None, text: str) -> Release:
    if product is Product.VCENTER:
        raise VersionError(f"{text!r} is an ESXi fixed version, expected a vCenter Server release")
    update, letter, security = _level(match)
    return Release(Product.ESXI, int(match.group("maj")), int(match.group("min")), update or 0, letter, security)


def _release_from_name(rest: str, product: Product | None, security: bool, appliance: int | None, text: str) -> Release:
    match = _NAME.match(rest)
    if not match:
        raise VersionError(f"{text!r} is not a release name we know (expected e.g. 'ESXi 7.0 Update 3c')")
    product = _require(product, text)
    major, minor = int(match.group("maj")), int(match.group("min"))
    if major >= FIRST_VCF_MAJOR:
        return _vcf_from_name(match, product, security, text)
    if match.group("fourth") is not None:
        raise VersionError(f"{text!r} has a fourth field, which only 9.x versions and vCenter appliances have")
    maint = match.group("maint") or match.group("spmaint")
    update = _name_update(match, maint, text)
    patch = ""
    if match.group("ep"):
        kind = _PATCH_KINDS[re.sub(r"\s+", "", match.group("ep").lower())]
        patch = f"{kind}{int(match.group('epn')):02d}" + (match.group("epl") or "").lower()
        if update is None:
            update = implied_update(major, minor, patch)
        if update is None:  # "ESXi 6.5 Patch 02" sits on 6.5 U1, "ESXi 6.0 Express Patch 7c" on 6.0 U2: unsaid
            raise VersionError(f"{text!r} names a patch but not the update it sits on (e.g. '6.5 U1 Patch 02')")
    letter = _name_letter(match, text)
    return Release(product, major, minor, update or 0, letter, security, patch, appliance)


def _name_update(match: re.Match[str], maint: str | None, text: str) -> int | None:
    """The update a name states (U3, Update 3, 7.0.3, "(Update 3b)"), None when it names none."""
    named = {int(n) for n in (match.group("upd"), match.group("aupd"), match.group("pupd")) if n is not None}
    if maint is not None and maint != "0":
        named.add(int(maint))
    if len(named) > 1:
        raise VersionError(f"{text!r} names two different updates ({', '.join(map(str, sorted(named)))})")
    if named:
        return named.pop()
    stated_ga = maint is not None or match.group("ga") or match.group("gaL")
    return 0 if stated_ga else None


def _vcf_from_name(match: re.Match[str], product: Product, security: bool, text: str) -> Release:
    # KB 395110: "User facing release aliases such as Update 2a or U3b ... are discontinued" from 9.0.
    words = ("spmaint", "gaL", "upd", "aupd", "ep", "pupd")
    if security or any(match.group(group) for group in words):
        raise VersionError(f"{text!r}: 9.x releases are numbers only (e.g. 'ESX 9.0.1.0', 'ESX 9.0.0.0100')")
    major, minor, maint = int(match.group("maj")), int(match.group("min")), match.group("maint")
    fourth = match.group("fourth")
    if maint is None and fourth is None:
        fourth = "0"  # "ESX 9.0" names the release itself: 9.0.0.0
    return _vcf_release(product, (major, minor, int(maint or 0)), fourth, text)


def _vcf_release(product: Product, numbers: tuple[int, int, int], eehh: str | None, text: str) -> Release:
    """A 9.x release: major.minor.maintenance and the EEHH field as written (None: the spelling has none)."""
    major, minor, maint = numbers
    if eehh is None:
        return Release(product, major, minor, maint, letter=None)
    if eehh.strip("0") == "":
        return Release(product, major, minor, maint)  # "0" (and "0000"): a major, minor or maintenance release
    if len(eehh) != 4:
        raise VersionError(f"{text!r}: the 9.x patch field is a single 0 or four digits EEHH (e.g. 0100)")
    return Release(product, major, minor, maint, patch=eehh)


def _name_letter(match: re.Match[str], text: str) -> str | None:
    """The patch letter a release name spells; "" for an update's GA; None when it does not say."""
    letters = {g.lower() for g in (match.group("letter"), match.group("aletter")) if g}
    if len(letters) > 1:
        raise VersionError(f"{text!r} names two different patch letters ({', '.join(sorted(letters))})")
    letter = match.group("letter") or match.group("aletter") or match.group("pletter") or match.group("gaL")
    if letter:
        return letter.lower()
    if match.group("ep") and not re.match(r"hot", match.group("ep"), re.I):
        return None  # `ESXi 7.0.1 EP1` is 7.0 U1a and `ESXi 7.0.0 P01` is 7.0b: the label does not say
    if match.group("maint") is not None and not (match.group("upd") or match.group("pupd") or match.group("ga")):
        return None  # `ESXi 7.0.3` as a host reports it: the update is known, the patch letter is not
    return ""


def parse_build(text: str, product: Product | None = None) -> Build:
    """Any spelling that carries a build or a release (host strings, VMSA fixed versions, image profiles, file
    names, component versions, vCenter appliance versions, release names)."""
    cleaned = _clean(text)
    if not cleaned:
        raise VersionError(f"{text!r} is empty, expected a build or a release name")
    named = product_from_text(cleaned)
    if product is not None and named is not None and named is not product and not cleaned[:1].isdigit():
        raise VersionError(f"{text!r} names {named.label}, expected {product.label}")
    product = product or named
    if product is Product.TOOLS:
        return parse_tools_build(cleaned)
    if cleaned.isdigit():
        return _bare_number(cleaned, product, text)
    if (word := _BUILD_WORD.search(cleaned)) and not 7 <= len(word.group("digits")) <= 8:
        raise VersionError(f"{text!r} carries build {word.group('digits')}, expected 7 or 8 digits")
    for parse in (_build_from_component, _build_from_compact, _build_from_host, _build_from_file):
        build = parse(cleaned, product, text)
        if build is not None:
            return build
    release = parse_release(text, product)
    return Build(release.product, None, release)


def _bare_number(cleaned: str, product: Product | None, text: str) -> Build:
    if not 7 <= len(cleaned) <= 8:
        raise VersionError(f"{text!r} is not a build number (expected 7 or 8 digits)")
    return Build(_require(product, text), int(cleaned))


def _build_from_component(cleaned: str, product: Product | None, text: str) -> Build | None:
    # VMSA-2020-0018 names the 7.0b fix `ESXi_7.0.0-1.25.16324942`: the esx-base component version after "ESXi_"
    cleaned = _COMPONENT_PREFIX.sub("", cleaned)
    match = _COMPONENT.match(cleaned) or _COMPONENT_9X.match(cleaned)
    if not match:
        return None
    groups = match.groupdict()
    numbers = (int(groups["maj"]), int(groups["min"]), int(groups["upd"]))
    if "eehh" in groups:
        release = _vcf_release(product or Product.ESXI, numbers, groups["eehh"], text)
    else:  # 7.0.3-0.35.19482537 says the update, not the patch letter
        release = Release(product or Product.ESXI, *numbers, letter=None)
    return Build(release.product, int(groups["build"]), release)


def _build_from_compact(cleaned: str, product: Product | None, text: str) -> Build | None:
    match = _COMPACT.match(cleaned)
    if not match:
        return None
    release = _release_from_compact(match, product, text)
    number = match.group("build")
    return Build(Product.ESXI, int(number) if number else None, release)


def _build_from_host(cleaned: str, product: Product | None, text: str) -> Build | None:
    match = _HOST.search(cleaned)
    if not match or "build" not in cleaned.lower():
        return None
    fields = match.group("ver").split(".")
    parts = [int(p) for p in fields] + [0] * (3 - len(fields))
    product = _require(product, text)
    if parts[0] >= FIRST_VCF_MAJOR:
        # `VMware ESX 9.0.0 build-...` reads the same on 9.0.0.0 and 9.0.0.0100: the EEHH is unknown.
        eehh = fields[3] if len(fields) == 4 else None
        if len(fields) > 4:
            raise VersionError(f"{text!r} has more version fields than major.minor.maintenance.EEHH")
        release = _vcf_release(product, (parts[0], parts[1], parts[2]), eehh, text)
        return Build(product, int(match.group("build")), release)
    appliance = parts[3] if product is Product.VCENTER and len(parts) > 3 else None
    # A host names its update (7.0.3), never the patch letter. On 6.x it even says 6.7.0 on every update.
    release = Release(product, parts[0], parts[1], parts[2], None, appliance=appliance)
    return Build(product, int(match.group("build")), release)


def _build_from_file(cleaned: str, product: Product | None, text: str) -> Build | None:
    if vcf := _FILE_9X.search(cleaned):
        numbers = (int(vcf.group("maj")), int(vcf.group("min")), int(vcf.group("maint")))
        release = _vcf_release(_require(product, text), numbers, vcf.group("eehh"), text)
        return Build(release.product, int(vcf.group("build")), release)
    match = _FILE.search(cleaned)
    if not match:
        return None
    product = _require(product, text)
    named_update, letter, security = _level(match)
    maint, upd6 = match.group("maint"), match.group("upd6")
    update = named_update if named_update is not None else int(upd6 or maint or 0)
    known: str | None = letter
    if named_update is None and not letter and (upd6 or maint is not None):
        # ESXi files spell a GA as x.y.0 (ESXi-7.0.0-15843807-standard) and updates as 7.0U3c; but
        # VMware-VCSA-all-7.0.0-16189094.iso is 7.0.0a and ...-6.7.0.update03-... names no letter either.
        known = "" if product is Product.ESXI and update == 0 and not upd6 else None
    release = Release(product, int(match.group("maj")), int(match.group("min")), update, known, security)
    return Build(product, int(match.group("build")), release)
