"""The grammar: every spelling the vendor and the hosts use for a release or a build (PRODUCT.md 2.1), read into
the values of tracker/domain/versions.py. `parse_release` and `parse_build` (behind `Release.parse` and
`Build.parse`) raise `VersionError` for anything else.
"""

import re

from tracker.domain.versions import Build, Product, Release, VersionError, implied_update, product_from_text

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

_PATCH_ID = re.compile(r"^(?:esxi)?\s*(?P<mm>[5-6][0-9]0)-(?P<date>\d{6})(?P<seq>\d{3})(?:-(?P<kind>sg|bg))?$", re.I)
# The level in compact spellings: U3c, U3 (update GA), b (a GA-line patch). A security-only image puts an "s"
# before its letter (7.0U2sc, 8.0sb) or, on the GA line, after it (7.0bs). A lone "s" is the letter s itself:
# ESXi70U3s-24585291 is 7.0 U3s, not a security-only 7.0 U3.
_LEVEL = (
    r"(?:u(?P<upd>\d)(?:(?P<sec>s)(?=[a-z]))?(?P<letter>[a-z])?"
    r"|(?:(?P<gsec>s)(?=[a-z]))?(?P<gaL>[a-z])(?P<gsec2>s)?)"
)
_COMPACT = re.compile(  # VMSA fixed versions: ESXi70U3c-19193900, ESXi80U3-24022510, ESXi70U2sc-18295176
    r"^esxi(?P<maj>[6-9])(?P<min>\d)" + _LEVEL + r"?(?:-(?P<build>\d{7,8}))?$", re.I
)
_HOST = re.compile(  # VMware ESXi 7.0.3 build-18644231 / VMware vCenter Server 7.0.3 build-19234570
    r"(?P<ver>\d+\.\d+(?:\.\d+)*)\s*(?:\(?\s*build[\s-]*|,\s*build\s+|-)(?P<build>\d{7,8})\)?\b", re.I
)
_FILE = re.compile(  # ESXi-7.0U3c-19193900-standard, VMware-VMvisor-Installer-7.0U3c-19193900.x86_64.iso,
    # VMware-VMvisor-Installer-6.7.0.update03-14320388.x86_64.iso, VMware-VCSA-all-7.0.3-19234570.iso
    r"(?P<maj>\d+)\.(?P<min>\d+)(?:\.(?P<maint>\d+))?(?:\.update(?P<upd6>\d{2})|" + _LEVEL + r")?"
    r"-(?P<build>\d{7,8})(?!\d)",
    re.I,
)
_COMPONENT = re.compile(r"^(?P<maj>\d+)\.(?P<min>\d+)\.(?P<upd>\d+)-\d+\.\d+\.(?P<build>\d{7,8})$")
_COMPONENT_9X = re.compile(r"^(?P<maj>9|1\d)\.(?P<min>\d+)\.(?P<upd>\d+)\.(?P<patch>\d{4})\.(?P<build>\d{7,8})$")
_NAME = re.compile(
    r"^(?P<maj>\d+)\.(?P<min>\d+)(?:\.(?P<maint>\d+))?(?:\.(?P<fourth>\d{4}))?"
    r"(?P<gaL>[a-z])?"  # 8.0f, 7.0.0a
    r"(?:\s*(?:update|u)\s*(?P<upd>\d)(?P<letter>[a-z])?)?"
    r"(?:\s*(?P<ga>ga))?"
    r"(?:\s*(?P<ep>ep|p)\s*(?P<epn>\d{1,2})(?P<epl>[a-z])?)?"
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


def parse_release(text: str, product: Product | None) -> Release:
    cleaned = _clean(text)
    if not cleaned:
        raise VersionError(f"{text!r} is empty, expected a release name such as 'ESXi 7.0 Update 3c'")
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
    major, minor, update = (int(x) for x in app.group("ver").split("."))
    appliance = int(app.group("app"))
    head = rest[: app.start()].strip()
    if not head:
        return Release(Product.VCENTER, major, minor, update, None, security, appliance=appliance)
    release = _release_from_name(head, Product.VCENTER, security, appliance, text)
    if (release.major, release.minor, release.update) != (major, minor, update):
        raise VersionError(f"{text!r} names {release.line} U{release.update} but appliance {app.group('ver')}")
    return release


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
    maint = match.group("maint")
    upd_text = match.group("upd") or match.group("pupd")
    if maint is not None and upd_text is not None and int(maint) != int(upd_text) and maint != "0":
        raise VersionError(f"{text!r} names two different updates ({maint} and U{upd_text})")
    update = int(upd_text) if upd_text is not None else int(maint or 0)
    patch = match.group("fourth") or ""
    if match.group("ep"):
        patch = f"{match.group('ep').upper()}{int(match.group('epn')):02d}" + (match.group("epl") or "").lower()
        if upd_text is None and maint is None:
            update = implied_update(major, minor, patch) or 0
    return Release(product, major, minor, update, _name_letter(match, major), security, patch, appliance)


def _name_letter(match: re.Match[str], major: int) -> str | None:
    """The patch letter a release name spells; "" for an update's GA; None when it does not say."""
    if major >= 9:
        return ""
    letter = match.group("letter") or match.group("pletter") or match.group("gaL")
    if letter:
        return letter.lower()
    if match.group("ep"):
        return None  # `ESXi 7.0.1 EP1` is 7.0 U1a and `ESXi 7.0.0 P01` is 7.0b: the label does not say
    if match.group("maint") is not None and not (match.group("upd") or match.group("pupd") or match.group("ga")):
        return None  # `ESXi 7.0.3` as a host reports it: the update is known, the patch letter is not
    return ""


def parse_build(text: str, product: Product | None) -> Build:
    cleaned = _clean(text)
    if not cleaned:
        raise VersionError(f"{text!r} is empty, expected a build or a release name")
    named = product_from_text(cleaned)
    if product is not None and named is not None and named is not product and not cleaned[:1].isdigit():
        raise VersionError(f"{text!r} names {named.label}, expected {product.label}")
    product = product or named
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
    match = _COMPONENT.match(cleaned) or _COMPONENT_9X.match(cleaned)
    if not match:
        return None
    groups = match.groupdict()
    major, minor, update = int(groups["maj"]), int(groups["min"]), int(groups["upd"])
    patch = groups.get("patch") or ""
    release = Release(product or Product.ESXI, major, minor, update, "" if major >= 9 else None, patch=patch)
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
    parts = [int(p) for p in match.group("ver").split(".")]
    parts += [0] * (3 - len(parts))
    product = _require(product, text)
    appliance = parts[3] if product is Product.VCENTER and len(parts) > 3 else None
    # A host names its update (7.0.3), never the patch letter. On 6.x it even says 6.7.0 on every update.
    letter = "" if parts[0] >= 9 else None
    release = Release(product, parts[0], parts[1], parts[2], letter, appliance=appliance)
    return Build(product, int(match.group("build")), release)


def _build_from_file(cleaned: str, product: Product | None, text: str) -> Build | None:
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
