"""Products, releases and builds: one value for every spelling the vendor and the hosts use.

A build is identified by (product, build number). Its *release* says where it sits: line (7.0), update (U3),
patch letter (c), security-only variant, 6.x patch id or express patch, vCenter appliance version. The same build
is written in many ways (PRODUCT.md 2.1); `parse_release` and `parse_build` (tracker/domain/version_grammar.py)
accept all of them and raise `VersionError` (a `ValueError`) for anything else. This module holds the values
only and imports no grammar: the grammar builds these values, so parsing lives above them, never inside them.
Releases order by one key tuple: line, update, patch letter, then the finer grain; never by date or build number
across updates (7.0 U3c beats 7.0 U2e). Product and spelling details only break ties, so the order is total and
agrees with ==.

vSphere 9 (KB 395110, KB 410435) renames ESXi to ESX (one product, `Product.ESXI`, named per line by
`Product.label_for`) and numbers releases major.minor.maintenance.EEHH: the maintenance release sits in
`update`, the EEHH field in `patch`, so 9.x orders after 8.0 and, within 9.x, by maintenance release, then
express patch (EE), then hot patch (HH): 9.2.1.0 < 9.2.1.0100 < 9.2.1.0101 < 9.2.1.0200 < 9.2.2.0.
"""

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import total_ordering

__all__ = ["FIRST_VCF_MAJOR", "Build", "Product", "Release", "VersionError", "product_from_text"]


class VersionError(ValueError):
    """A text that names no release or build we understand."""


class Product(StrEnum):
    """The products the tracker knows: the closed vocabulary config, storage and events use. What each product
    is (its names per line, the assets that run it, their noun, the source kinds that cover it) is data:
    tracker/data/products.csv, read by tracker/reference.py, which checks that its rows and these members agree.
    Adding a product is one member here and one row there."""

    ESXI = "esxi"
    VCENTER = "vcenter"
    TOOLS = "tools"
    VCF = "vcf"  # a VMware Cloud Foundation release: a bill of materials of component builds (tracker/domain/bom.py)

    @property
    def label(self) -> str:
        return _PRODUCT_LABELS[self]

    def label_for(self, major: int) -> str:
        """The name the vendor gives the product in a line: ESXi up to 8.x, ESX from 9.0 (KB 395110)."""
        return "ESX" if self is Product.ESXI and major >= FIRST_VCF_MAJOR else self.label

    @property
    def vcf_numbered(self) -> bool:
        """Whether the product's 9.x releases follow VCF's major.minor.maintenance.EEHH (KB 395110): ESX and
        vCenter do; VMware Tools keeps its own major.minor.patch (12.5.0) whatever its major. A VCF release is no
        build of its own: its version stays text beside its bill of materials (tracker/domain/bom.py)."""
        return self in (Product.ESXI, Product.VCENTER)


_PRODUCT_LABELS = {
    Product.ESXI: "ESXi",
    Product.VCENTER: "vCenter Server",
    Product.TOOLS: "VMware Tools",
    Product.VCF: "VMware Cloud Foundation",
}
# From vSphere 9.0 versions follow VCF's major.minor.maintenance.EEHH.build (KB 395110, KB 410435).
FIRST_VCF_MAJOR = 9
# No ESXi or vCenter Server release has a smaller major (ESXi 3.5, 2007): a smaller one is a misread.
_LOWEST_MAJOR = 3
# 9.x EEHH: two digits of express patch, two of hot patch ("0101" = hot patch 1 on express patch 1).
_EEHH = re.compile(r"\d{4}")
# A hot patch on a 7.0/8.0 release ("8.0 U2b Hot Patch 1") orders after the release and its aliases (P03).
_HOT_PATCH_RANK = 10_000

_PRODUCT_WORDS: tuple[tuple[re.Pattern[str], Product], ...] = (
    (re.compile(r"\b(?:vcenter|vcsa|vc)\b", re.I), Product.VCENTER),
    (re.compile(r"\b(?:esxi?|vmvisor)", re.I), Product.ESXI),
    # after ESXi: an image profile ESXi-7.0U3c-19193900-no-tools is an ESXi build, not Tools
    (re.compile(r"\b(?:vmware\s+tools|vmtools)\b", re.I), Product.TOOLS),
)


def product_from_text(text: str) -> Product | None:
    """The product a text names (`vCenter Server`, `VCSA`, `ESXi`, `ESX`, `VMvisor`, `VMware Tools`), or None."""
    for pattern, product in _PRODUCT_WORDS:
        if pattern.search(text):
            return product
    return None


# 6.7 express patches numbered before each update (EP 05 was the first on U1, EP 08 on U2, EP 13 on U3).
_67_EP_UPDATES = ((5, 1), (8, 2), (11, 3))
# 6.7 patch releases (P01 = 6.7 U3b, December 2019) all came after 6.7 U3.
_67_P_UPDATE = 3


def implied_update(major: int, minor: int, patch: str) -> int | None:
    """The update a bare 6.7 patch label sits on (`6.7 EP 17` -> 3, `6.7 P02` -> 3), else None."""
    label = re.fullmatch(r"(EP|P)(\d+)[a-z]?", patch)
    if (major, minor) != (6, 7) or label is None:
        return None
    if label.group(1) == "P":
        return _67_P_UPDATE
    update = 0
    for start, number in _67_EP_UPDATES:
        if int(label.group(2)) >= start:
            update = number
    return update


@total_ordering
@dataclass(frozen=True)
class Release:
    """Where a build sits in its product's versions.

    `letter` is "" for an update's GA and None when the spelling does not say: a host's `7.0.3`, a KB label
    `ESXi 7.0.1 EP1` (that is U1a), a 6.x patch id, a vCenter appliance version, a `VCSA-all-7.0.3` file.
    `patch` is the finer grain: a 6.x patch id (`202111001`), an express patch (`EP17`), a 6.x/7.0 patch
    number (`P04`), an 8.0 hot patch (`HP01`) or a 9.x EEHH field (`0100` express patch 1, `0101` its first
    hot patch; "" for a 9.x major, minor or maintenance release, whose EEHH the vendor writes as a single 0).
    `appliance` is vCenter's appliance version tail (`7.0.3.00300` -> 300; `6.7.0.47000` -> 47000).

    9.x has no update letters: `update` is the maintenance release (9.0.1.0 -> 1) and `letter` is "" when the
    spelling states the EEHH field (`ESX 9.0.1.0`, `9.0.0.0100`) and None when it does not (a host's
    `VMware ESX 9.0.0 build-...`, which reads the same on 9.0.0.0 and on 9.0.0.0100).
    """

    product: Product
    major: int
    minor: int
    update: int = 0
    letter: str | None = ""
    security_only: bool = False
    patch: str = ""
    appliance: int | None = None

    def __post_init__(self) -> None:
        # The grammar never builds these; the check keeps a misread from ever becoming a value (line 0.0).
        if self.major < _LOWEST_MAJOR or self.minor < 0 or self.update < 0:
            raise VersionError(f"{self.major}.{self.minor}.{self.update} is no {self.product.label} release")
        if self.product is Product.TOOLS:
            _check_tools(self)
        elif self.product.vcf_numbered and self.major >= FIRST_VCF_MAJOR:
            _check_vcf(self)

    # --- derived -------------------------------------------------------------------------------------------
    @property
    def line(self) -> str:
        """`7.0`; VMware Tools' line is its major (`12`): one VMSA fix (12.5.1) covers every 12.x below it."""
        return str(self.major) if self.product is Product.TOOLS else f"{self.major}.{self.minor}"

    @property
    def product_label(self) -> str:
        """`ESXi` up to 8.x, `ESX` from 9.0, `vCenter Server`."""
        return self.product.label_for(self.major)

    @property
    def update_line(self) -> tuple[Product, int, int, int]:
        """The update a build belongs to (7.0 U3): a reissue stays in its update line."""
        return (self.product, self.major, self.minor, self.update)

    @property
    def sort_key(self) -> tuple[int, int, int, int, str, int, int, int]:
        # A 6.x patch release is ordered by its patch id's date code before its letter, with or without the letter
        # a KB row gives it: ESXi670-201912001 (6.7 U3b) < ESXi670-202111001, whose letter no page states, and
        # 5.5 U3g (no id) < ESXi550-201803001 (5.5 U3h). Releases of 7.0 and later have no date code (0).
        dated = int(self.patch) if self._is_6x_patch_id else 0
        return (
            self.major,
            self.minor,
            self.update,
            dated,
            self.letter or "",
            0 if self.security_only else 1,
            self.appliance or 0,
            _patch_rank(self.patch),
        )

    @property
    def _full_key(self) -> tuple[tuple[int, int, int, int, str, int, int, int], tuple[str, bool, bool, str]]:
        # sort_key leaves out what does not order releases (product, an unknown letter, the patch spelling);
        # they only break ties, so that the order is total and agrees with ==.
        tie = (self.product.value, self.letter is not None, self.appliance is not None, self.patch)
        return (self.sort_key, tie)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Release):
            return NotImplemented
        return self._full_key < other._full_key

    # --- formatting ----------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The canonical release name: `ESXi 7.0 Update 3c`, `vCenter Server 8.0a`, `ESXi670-202111001`."""
        if self._is_6x_patch_id and self.letter is None:
            return f"ESXi{self.short}"
        return f"{self.product_label} {self.short}"

    @property
    def short(self) -> str:
        """The short form admins write: `7.0 U3c`, `8.0 GA`, `8.0f`, `6.7 EP 17`, `9.1.0.0200`, `9.0.1.0`."""
        if self._is_6x_patch_id:
            patch_id = f"{self.major}{self.minor}0-{self.patch}" + ("-SG" if self.security_only else "")
            return patch_id if self.letter is None else f"{self._level} (ESXi{patch_id})"
        if self.product is Product.TOOLS:
            return f"{self.major}.{self.minor}.{self.update}"
        if self.major >= FIRST_VCF_MAJOR:
            # The vendor's own form: 9.0.1.0 for a maintenance release (never 9.0.1), 9.0.0.0100 for a patch;
            # three fields only when the spelling did not say (a host's 9.0.0).
            head = f"{self.major}.{self.minor}.{self.update}"
            return head if self.letter is None else f"{head}.{self.patch or '0'}"
        suffix = " (Security Only)" if self.security_only else ""
        appliance = self.appliance_version or ""
        if self.letter is None and appliance:
            return appliance + suffix
        return self._level + self._patch_label + suffix + (f" ({appliance})" if appliance else "")

    @property
    def appliance_version(self) -> str | None:
        """vCenter's appliance version as the VAMI shows it: `7.0.3.00300`; `6.7.0.47000` (6.7 always says 6.7.0)."""
        if self.appliance is None:
            return None
        third = 0 if (self.major, self.minor) == (6, 7) else self.update
        return f"{self.line}.{third}.{self.appliance:05d}"

    @property
    def _level(self) -> str:
        """`7.0 U3c`, `8.0f`, `8.0 GA`; `7.0.3` when the letter is unknown (`6.7` when a 6.7 patch implies it)."""
        if self.letter is None:
            implied = implied_update(self.major, self.minor, self.patch)
            return self.line if implied == self.update else f"{self.line}.{self.update}"
        if self.update:
            return f"{self.line} U{self.update}{self.letter}"
        if self.letter:
            return f"{self.line}{self.letter}"
        # "8.0 GA Hot Patch 1" sits on the GA; an express patch or patch label names the level itself
        return self.line if self.patch and not self.patch.startswith("HP") else f"{self.line} GA"

    @property
    def _patch_label(self) -> str:
        if self.patch.startswith("EP"):
            return f" EP {self.patch[2:]}"
        if self.patch.startswith("HP"):
            return f" Hot Patch {int(self.patch[2:])}"
        return f" {self.patch}" if self.patch else ""

    @property
    def precise(self) -> bool:
        """Whether the spelling places the release exactly in its line: it states its patch letter (`7.0 U3c`,
        `8.0 GA`), or it is a 6.x patch id (`ESXi670-202111001`), which names one release of a dated series."""
        return self.letter is not None or self._is_6x_patch_id

    @property
    def bulletin_month(self) -> str | None:
        """For a 6.x bulletin id (`ESXi670-202111101-SG`, `ESXi670-202111401-BG`), the month of the patch release
        it belongs to (`202111`); None for a patch release id (`ESXi670-202111001`) or anything else.

        VMware numbers a 6.x patch release `ESXi<version>-<YYYYMM><NNN>` and its bulletins with the same month:
        a sequence starting with 0 is the patch release (rollup), with 1 a security bulletin (`-SG`), with 4 a
        bug-fix bulletin (`-BG`) (docs/research/citations.md, section A, has the vendor's pages)."""
        if not self._is_6x_patch_id or self.patch[6] == "0":
            return None
        return self.patch[:6]

    @property
    def _is_6x_patch_id(self) -> bool:
        return self.patch.isdigit() and len(self.patch) == 9

    def __str__(self) -> str:
        return self.name


def _patch_rank(patch: str) -> int:
    # 9.x EEHH orders as a number: 0100 (EP1) < 0101 (its hot patch 1) < 0200 (EP2); "" (the release) first.
    digits = re.sub(r"\D", "", patch)
    rank = int(digits) if digits else 0
    return rank + _HOT_PATCH_RANK if patch.startswith("HP") else rank


def _check_tools(release: Release) -> None:
    """VMware Tools is major.minor.patch (12.5.0, `update` holds the patch): no letters, variants or tails."""
    if release.letter != "" or release.security_only or release.patch or release.appliance is not None:
        raise VersionError(f"VMware Tools {release.major}.{release.minor}.{release.update} has no letters or tails")


def _check_vcf(release: Release) -> None:
    """9.x carries no update letter, security-only variant or appliance tail; its EEHH is four digits."""
    if release.letter not in ("", None) or release.security_only or release.appliance is not None:
        raise VersionError(f"{release.major}.{release.minor}.{release.update} has no letters or appliance tails")
    if release.patch and (not _EEHH.fullmatch(release.patch) or release.patch == "0000"):
        raise VersionError(f"{release.patch!r} is no 9.x express/hot patch field (EEHH, e.g. 0100)")
    if release.letter is None and release.patch:
        raise VersionError(f"{release.patch!r} states the patch level, so the release is known")


@total_ordering
@dataclass(frozen=True)
class Build:
    """A build as some text spelled it: product, build number (None when only a release was named) and release.

    `release` is None when the text gave a bare build number; the catalog knows the rest.
    """

    product: Product
    number: int | None
    release: Release | None = None

    @property
    def line(self) -> str | None:
        return self.release.line if self.release else None

    @property
    def update(self) -> int | None:
        return self.release.update if self.release else None

    @property
    def letter(self) -> str | None:
        return self.release.letter if self.release else None

    @property
    def sort_key(self) -> tuple[tuple[int, int, int, int, str, int, int, int], int]:
        release_key = self.release.sort_key if self.release else (0, 0, 0, 0, "", 0, 0, 0)
        return (release_key, self.number or 0)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Build):
            return NotImplemented
        return self._full_key < other._full_key

    @property
    def _full_key(self) -> tuple[object, ...]:
        # Ties on sort_key (a bare number, another product) are broken by the rest, so the order is total.
        release_tie = self.release._full_key if self.release else ()
        return (self.sort_key, self.product.value, self.number is not None, self.release is not None, release_tie)

    def __str__(self) -> str:
        name = self.release.name if self.release else self.product.label
        return f"{name} ({self.number})" if self.number else name
