"""What a source saw on one poll: the records a parser returns, and the notices found in the vendor's words.

Parsers (tracker/sources) take bytes and return a `ParseResult`; they never decide a build's state. The diff
(tracker/domain/diff.py) turns a `ParseResult` plus the previous catalog into events.
"""

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from tracker.domain.bom import VcfRelease
from tracker.domain.versions import Build, Product, Release


class NoticeKind(StrEnum):
    PULLED = "pulled"  # "removed", "pulled", "recalled", "withdrawn", "no longer available for download"
    REPLACED = "replaced"  # "X replaces Y" / "Y is replaced by X": X is the reissue, Y is pulled


@dataclass(frozen=True)
class BuildRecord:
    """One build a source lists: a KB row, a release-notes header, a file name."""

    product: Product
    build: int
    release: Release | None
    release_name: str  # as the page wrote it
    release_date: date | None = None
    alt_builds: tuple[int, ...] = ()  # vCenter up to 7.0 U1d: the Client/MOB build beside the ISO build
    notes_url: str | None = None  # the release-notes link on a KB row, absolute
    recalled: bool = False  # a "(Recalled)" label on the row: an explicit pull notice while it stays
    excerpt: str = ""  # the row's text, for evidence

    @property
    def line(self) -> str | None:
        return self.release.line if self.release else None


@dataclass(frozen=True)
class Notice:
    """A sentence on a page that says builds were pulled, or that one build replaces others.

    `subjects` are the builds or releases said to be removed (a `Build` with `number=None` names a release
    only; the catalog resolves it). `replacement` is the reissue, for REPLACED notices.
    """

    kind: NoticeKind
    subjects: tuple[Build, ...]
    excerpt: str
    replacement: Build | None = None


@dataclass(frozen=True)
class AdvisoryFix:
    """One row of an advisory's Response Matrix: on this product line, fixed in this version."""

    product: Product
    line: str  # "7.0"
    fixed_text: str  # as written: "ESXi70U3c-19193900", "ESXi670-202111101-SG", "8.0 U2d"
    fixed: Build | None  # parsed, when the text could be read (the catalog resolves a missing build number)
    pending: bool = False  # "Patch Pending": no fix is out yet, every host of the line is vulnerable


@dataclass(frozen=True)
class AdvisoryRecord:
    """A security advisory as a source states it (VMSA-2022-0004, revisions as .1, .2)."""

    id: str  # VMSA-2022-0004 (without the revision)
    revision: int  # 0 for the first publication, 1 for "VMSA-2022-0004.1" ...
    title: str
    severity: str  # critical | important | moderate | low, as the vendor states it (CVSS ranges only name them)
    url: str
    published: date | None = None
    updated: date | None = None
    cves: tuple[str, ...] = ()
    fixes: tuple[AdvisoryFix, ...] = ()
    withdrawn: bool = False
    excerpt: str = ""
    unread: str = ""  # why no fix could be read from the page's Response Matrix ("fixes unknown"); "" when read


@dataclass(frozen=True)
class Skipped:
    """Something on the page the parser could not read, kept so the user can see what was left out."""

    where: str  # "table 'ESXi 7.0', row 12"
    text: str
    reason: str


@dataclass(frozen=True)
class ParseResult:
    """All a parser found on one page. `problem` is set when the page is not what it should be
    (a login page, an error page, no build table): the poll then infers nothing from it."""

    records: tuple[BuildRecord, ...] = ()
    notices: tuple[Notice, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    problem: str | None = None
    tables: tuple[str, ...] = field(default=())  # headings of the tables read ("ESXi 7.0"), for the line guard
    advisories: tuple[AdvisoryRecord, ...] = ()
    url: str | None = None  # where the page was read when a redirect took it elsewhere: evidence names it
    vcf_releases: tuple[VcfRelease, ...] = ()  # a VCF release-notes page: the release and its bill of materials

    @property
    def lines(self) -> frozenset[str]:
        return frozenset(r.line for r in self.records if r.line)
