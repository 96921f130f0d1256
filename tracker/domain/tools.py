"""VMware Tools versions: the spellings of Broadcom KB 304809 and of the guests, and vCenter's toolsVersion number.

Tools are numbered major.minor.patch (`12.5.0`) with a 7-8 digit build (`24276846`), whatever ESX's numbering.
KB 304809 writes `VMware Tools 12.5.0`; a Windows guest's program version is `12.5.0.24276846`.

vCenter (`guest.toolsVersion`, RVTools' vTools `Tools Version`) reports a number, not the version: open-vm-tools'
lib/include/vm_tools_version.h packs it as `TOOLS_VERSION_UINT(MJR, MNR, BASE) = (MJR << 10) + (MNR << 5) + BASE`
and unpacks 5 bits each, so 12448 is 12.5.0 and 12389 is 12.3.5 (KB 304809 lists both beside their builds).
Two values are not versions (same header): 0x7fffffff is Tools the platform does not manage (open-vm-tools
packaged by the guest OS) and 0xffffffff (-1) is "not available"; 0 means not installed. Those, and any number
the packing cannot have made, are refused: `VersionError`, never a guessed release.
"""

import re

from tracker.domain.versions import Build, Product, Release, VersionError

TOOLS_UNMANAGED = 0x7FFFFFFF  # vm_tools_version.h TOOLS_VERSION_UNMANAGED
TOOLS_INVALID = 0xFFFFFFFF  # vm_tools_version.h TOOLS_VERSION_INVALID (also read back as -1)
_FIELD = 0x1F  # five bits per field
_FIRST_DOTTED = 1 << 10  # vm_tools_version.h: below 1.0.0 sit the legacy pre-dotted constants (WS30 = 4 ...)
_HIGHEST_PACKED = (1 << 15) - 1  # three 5-bit fields

_VERSION = re.compile(
    r"^(?:vmware\s+tools\s*|vmtools\s*)?(?:version\s+)?"
    r"(?P<major>\d{1,2})\.(?P<minor>\d{1,2})\.(?P<patch>\d{1,2})"
    # Broadcom's advisories write a fourth field that is always 0 (VMSA-2025-0013: Tools fixed in 13.0.1.0)
    r"(?:\.0)?"
    r"(?:(?:\.|\s+build[\s-]*|\s*\(\s*|\s*-\s*)(?P<build>\d{7,8})\)?)?$",
    re.I,
)
_PACKED = re.compile(r"^-?\d{1,10}$")


def tools_release(major: int, minor: int, patch: int) -> Release:
    return Release(Product.TOOLS, major, minor, patch)


def decode_tools_version(number: int) -> Release:
    """The Tools release vCenter's toolsVersion number packs (12448 -> 12.5.0); raises VersionError for the
    numbers that are no version (0, unmanaged, invalid) and for any the packing cannot have made."""
    if number == 0:
        raise VersionError("toolsVersion 0: VMware Tools is not installed")
    if number == TOOLS_UNMANAGED:
        raise VersionError(
            f"toolsVersion {number}: Tools not managed by the platform (open-vm-tools from the guest OS's "
            "packages): the guest's package manager knows its version"
        )
    if number in (TOOLS_INVALID, -1):
        raise VersionError(f"toolsVersion {number}: the guest reports no Tools version")
    if not 0 < number <= _HIGHEST_PACKED:
        raise VersionError(f"toolsVersion {number} is not a packed Tools version (5 bits per field, e.g. 12448)")
    if number < _FIRST_DOTTED:
        raise VersionError(f"toolsVersion {number} is a legacy pre-dotted Tools number, no version")
    return tools_release(number >> 10 & _FIELD, number >> 5 & _FIELD, number & _FIELD)


def parse_tools_build(text: str) -> Build:
    """`VMware Tools 12.5.0`, `12.5.0`, `12.5.0.24276846`, `12.5.0 build 24276846`, a toolsVersion number
    (`12448`, up to 5 digits) or a bare build (`24276846`, 7-8 digits); raises VersionError."""
    cleaned = " ".join(text.replace("\u00a0", " ").split())
    if match := _VERSION.match(cleaned):
        release = tools_release(int(match["major"]), int(match["minor"]), int(match["patch"]))
        return Build(Product.TOOLS, int(match["build"]) if match["build"] else None, release)
    if _PACKED.match(cleaned):
        if cleaned.isdigit() and 7 <= len(cleaned) <= 8:
            return Build(Product.TOOLS, int(cleaned))
        return Build(Product.TOOLS, None, decode_tools_version(int(cleaned)))
    raise VersionError(
        f"{text!r} is no VMware Tools version (expected e.g. 'VMware Tools 12.5.0', '12.5.0.24276846', "
        "a toolsVersion such as 12448 or a build such as 24276846)"
    )


def parse_tools_release(text: str) -> Release:
    build = parse_tools_build(text)
    if build.release is None:
        raise VersionError(f"{text!r} is a Tools build number, not a version")
    return build.release
