"""Pull and reissue sentences in the vendor's own words, found in plain text.

VMware rarely marks a pulled build in a table; it writes a sentence, usually at the top of the release notes:

    IMPORTANT: VMware has removed ESXi 7.0 Update 3, 7.0 Update 3a and 7.0 Update 3b from all sites on
    November 19, 2021 due to an upgrade-impacting issue.
    Build 19193900 for ESXi 7.0 Update 3c ISO replaces build 18644231, 18825058, and 18905247 for ESXi 7.0
    Update 3, 7.0 Update 3a, and 7.0 Update 3b respectively.

`find_notices` reads such sentences without knowing where the text came from (release notes, a feed entry).
It is deliberately strict: release notes are full of "the VIB is removed" and "after upgrading to ESXi 7.0
Update 3 ..." in their resolved issues, so a release or build counts only when it stands right next to the
pull or replace verb (its object or its subject), separated by nothing but filler words such as "build" or "ISO".
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from tracker.domain.observations import Notice, NoticeKind
from tracker.domain.version_grammar import parse_build
from tracker.domain.versions import Build, Product, Release, VersionError, product_from_text

__all__ = ["find_notices"]

_EXCERPT_LIMIT = 400

# Sentences end at . ! ? followed by a capital, or at a blank line (a <br> or paragraph in the source).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])|\n\s*\n|\u2029")

_PRODUCT_PREFIX = (
    r"(?:VMware\s+)?(?:vSphere\s+|ESXi\s+|ESX\s+|vCenter\s+Server\s+(?:Appliance\s+)?|vCenter\s+|VCSA\s+)?"
)
_RELEASE_SUFFIX = (
    r"(?:[a-z]\b|\s*(?:Update|U)\s*\d[a-z]?\b|\s+GA\b|\s+EP\s?\d{1,2}[a-z]?\b|\s+P\d{2}\b)?"
    r"(?:\s*\(\s*security[\s-]*only\s*\))?"
    r"(?:\s*\(\s*\d\.\d\.\d\.\d{5}\s*\))?"  # vCenter's appliance version: "7.0 Update 3b (7.0.3.00200)"
)
_MENTION = re.compile(
    r"(?P<patchid>\bESXi\s?[5-8]\d0-\d{9}(?:-(?:SG|BG))?\b)"  # ESXi670-202111001
    r"|(?P<compact>\bESXi[6-9]\dU\d[a-z]{0,2}-\d{7,8}\b)"  # ESXi70U3c-19193900 (VMSA fixed versions)
    r"|(?P<release>" + _PRODUCT_PREFIX + r"(?<![\d.])\d{1,2}\.\d(?:\.\d)?(?:\.\d{5})?" + _RELEASE_SUFFIX + ")"
    r"|(?P<build>(?<![\d.])\d{7,8}(?![\d.]))"
    # "7.0 Update 3, 3a and 3b": a bare update/letter continues the release before it in the same list.
    r"|(?P<short>\b(?:(?:Update\s*|U)\d[a-z]?|\d[a-z])\b)",
    re.I,
)
_LINE_ONLY = re.compile(r"\d{1,2}\.\d\s*$")  # "vSphere 7.0" names a line, not a release
_VSPHERE = re.compile(r"^(?:VMware\s+)?vSphere\s+", re.I)
_SHORT = re.compile(r"(?:Update\s*|U)?(\d)([a-z]?)", re.I)

# Between two mentions of one list ("build 18644231, 18825058, and 18905247 for ESXi 7.0 Update 3").
_JOINER = re.compile(r"^(?:[\s,()&/]|\b(?:and|or|as\s+well\s+as|builds?|for|the|isos?|respectively)\b)*$", re.I)
# Between a verb and the list it governs ("removed the following builds: ...", "3c ISO replaces").
_FILLER = re.compile(
    r"^(?:[\s,:()\-]|\b(?:the|following|all|builds?|releases?|versions?|isos?|images?|patch(?:es)?|of|which|that)\b)*$",
    re.I,
)
_PRONOUN_BEFORE = re.compile(r"\bthis\s+(?:release|build|patch|update|iso|image|version)\s*$", re.I)
_PRONOUN_AFTER = re.compile(r"^\s*this\s+(?:release|build|patch|update|iso|image|version)\b", re.I)

_REPLACES = re.compile(r"\b(?:replaces|supersedes)\b", re.I)
_REPLACED_BY = re.compile(
    r"\b(?:is|are|has\s+been|have\s+been|was|were|will\s+be)\s+(?:replaced|superseded)\s+by\b", re.I
)
_PULLED_ACTIVE = re.compile(r"\b(?:removed|pulled|recalled|withdrawn|withdrew)\b", re.I)
_PULLED_PASSIVE = re.compile(
    r"\b(?:is|are|has\s+been|have\s+been|was|were|had\s+been)\s+(?:now\s+)?"
    r"(?:removed|pulled|recalled|withdrawn|no\s+longer\s+available)\b",
    re.I,
)
_VERBS = (_REPLACES, _REPLACED_BY, _PULLED_ACTIVE, _PULLED_PASSIVE)


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    number: int | None = None
    release: Release | None = None
    build: Build | None = None  # a spelling that carried both (ESXi70U3c-19193900)


@dataclass(frozen=True)
class _Group:
    """A list of mentions read as one: "ESXi 7.0 Update 3, 7.0 Update 3a and 7.0 Update 3b"."""

    start: int
    end: int
    builds: tuple[Build, ...]


def find_notices(text: str, *, product: Product, page_build: Build | None) -> tuple[Notice, ...]:
    """The pull and replacement notices in `text`. `page_build` is what "this release" refers to."""
    found: list[Notice] = []
    for sentence in _sentences(text):
        notice = _read_sentence(sentence, product, page_build)
        if notice is not None and notice not in found:
            found.append(notice)
    return tuple(found)


def _sentences(text: str) -> Iterator[str]:
    for part in _SENTENCE_END.split(text):
        sentence = " ".join(part.replace("\xa0", " ").replace("\u200b", "").split())
        if sentence:
            yield sentence


def _read_sentence(sentence: str, product: Product, page_build: Build | None) -> Notice | None:
    if not any(verb.search(sentence) for verb in _VERBS):
        return None  # the common case: most sentences say nothing about pulls
    groups = _groups(sentence, product)
    # "X replaces Y, which was removed": a replacement sentence is one REPLACED notice, never also a pull of X.
    replaced = _replacement(sentence, groups, page_build)
    if replaced is not None:
        return replaced
    return _pull(sentence, groups, page_build)


# --- mentions and lists ---------------------------------------------------------------------------------------
def _groups(sentence: str, product: Product) -> list[_Group]:
    groups: list[_Group] = []
    current: list[_Mention] = []
    for mention in _mentions(sentence, product):
        if current and not _JOINER.match(sentence[current[-1].end : mention.start]):
            groups.append(_close(current, product))
            current = []
        current.append(mention)
    if current:
        groups.append(_close(current, product))
    return groups


def _mentions(sentence: str, product: Product) -> Iterator[_Mention]:
    previous: Release | None = None
    previous_end = -1
    for match in _MENTION.finditer(sentence):
        if match.lastgroup == "short":
            joined = previous is not None and _JOINER.match(sentence[previous_end : match.start()])
            mention = _short(match, previous) if joined else None
        else:
            mention = _mention(match, product)
        if mention is None:
            continue
        previous = mention.release or (mention.build.release if mention.build else None) or previous
        previous_end = mention.end
        yield mention


def _mention(match: re.Match[str], product: Product) -> _Mention | None:
    text, kind = match.group(), match.lastgroup
    if kind == "build":
        return _Mention(match.start(), match.end(), number=int(text))
    if kind == "release" and _LINE_ONLY.search(text) and not text[-1:].isalpha():
        return None
    text = _VSPHERE.sub("", text)
    named = product_from_text(text) or product
    try:
        build = parse_build(text, named)
    except VersionError:
        return None
    if build.number is not None:
        return _Mention(match.start(), match.end(), build=build)
    return _Mention(match.start(), match.end(), release=build.release)


def _short(match: re.Match[str], previous: Release | None) -> _Mention | None:
    parts = _SHORT.fullmatch(match.group())
    if previous is None or parts is None:
        return None
    release = Release(previous.product, previous.major, previous.minor, int(parts[1]), parts[2].lower())
    return _Mention(match.start(), match.end(), release=release)


def _close(mentions: list[_Mention], product: Product) -> _Group:
    return _Group(mentions[0].start, mentions[-1].end, _pair(mentions, product))


def _pair(mentions: list[_Mention], product: Product) -> tuple[Build, ...]:
    """Builds and releases of one list: paired in order when the counts match ("... respectively")."""
    whole = [m.build for m in mentions if m.build is not None]
    numbers = [m.number for m in mentions if m.number is not None]
    releases = [m.release for m in mentions if m.release is not None]
    if numbers and len(numbers) == len(releases):
        paired = [Build(r.product, n, r) for n, r in zip(numbers, releases, strict=True)]
    else:
        paired = [Build(r.product, None, r) for r in releases] + [Build(product, n, None) for n in numbers]
    return tuple(dict.fromkeys([*whole, *paired]))


# --- verbs ----------------------------------------------------------------------------------------------------
def _group_before(sentence: str, groups: list[_Group], at: int, page_build: Build | None) -> tuple[Build, ...]:
    for group in reversed(groups):
        if group.end <= at and _FILLER.match(sentence[group.end : at]):
            return group.builds
    if page_build is not None and _PRONOUN_BEFORE.search(sentence[:at]):
        return (page_build,)
    return ()


def _group_after(sentence: str, groups: list[_Group], at: int, page_build: Build | None) -> tuple[Build, ...]:
    for group in groups:
        if group.start >= at and _FILLER.match(sentence[at : group.start]):
            return group.builds
    if page_build is not None and _PRONOUN_AFTER.match(sentence[at:]):
        return (page_build,)
    return ()


def _replacement(sentence: str, groups: list[_Group], page_build: Build | None) -> Notice | None:
    if match := _REPLACES.search(sentence):
        new = _group_before(sentence, groups, match.start(), page_build)
        old = _group_after(sentence, groups, match.end(), page_build)
    elif match := _REPLACED_BY.search(sentence):
        old = _group_before(sentence, groups, match.start(), page_build)
        new = _group_after(sentence, groups, match.end(), page_build)
    else:
        return None
    old = tuple(_with_page_number(b, page_build) for b in old if b not in new[:1])
    if not new or not old:
        return None
    return Notice(NoticeKind.REPLACED, old, _excerpt(sentence), replacement=_with_page_number(new[0], page_build))


def _pull(sentence: str, groups: list[_Group], page_build: Build | None) -> Notice | None:
    subjects: list[Build] = []
    for match in _PULLED_PASSIVE.finditer(sentence):
        subjects += _group_before(sentence, groups, match.start(), page_build)
    for match in _PULLED_ACTIVE.finditer(sentence):
        subjects += _group_after(sentence, groups, match.end(), page_build)
    unique = tuple(dict.fromkeys(_with_page_number(b, page_build) for b in subjects))
    return Notice(NoticeKind.PULLED, unique, _excerpt(sentence)) if unique else None


def _with_page_number(build: Build, page_build: Build | None) -> Build:
    """A release named on its own page ("removed ESXi 7.0 Update 3" in the 7.0 U3 notes) is the page's build."""
    if build.number is None and page_build is not None and page_build.release == build.release:
        return page_build
    return build


def _excerpt(sentence: str) -> str:
    return sentence if len(sentence) <= _EXCERPT_LIMIT else sentence[: _EXCERPT_LIMIT - 1] + "…"
