"""What every advisory reading shares: the VMSA id and CVE spellings, the severity rule, and one record per id."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from tracker.domain.fixes import Severity
from tracker.domain.observations import AdvisoryRecord, ParseResult, Skipped
from tracker.sources.html import clean_text

DEFAULT_SEVERITY = "important"

ID = re.compile(r"\bVMSA-(\d{4}-\d{4})(?:\.(\d{1,3}))?\b", re.I)
WITHDRAWN = re.compile(r"\bwithdrawn\b", re.I)
_CVE = re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.I)
_LEVELS = {"critical": "critical", "important": "important", "high": "important", "moderate": "moderate"}
_LEVELS |= {"medium": "moderate", "low": "low"}
_STATED = re.compile(r"\bseverity\s*:?\s*(critical|important|moderate|low)\b", re.I)
_CVSS = re.compile(r"\bCVSS(?:v[23](?:\.\d)?)?[^0-9]{0,30}?(\d{1,2}\.\d)(?:\s*[-–]\s*(\d{1,2}\.\d))?", re.I)


@dataclass(frozen=True)
class Found:
    record: AdvisoryRecord
    stated: bool  # the severity was stated by the vendor (not derived from CVSS nor defaulted)


@dataclass
class Read:
    found: list[Found]
    skipped: list[Skipped]
    problem: str | None = None

    def result(self) -> ParseResult:
        if self.problem is not None:
            return ParseResult(skipped=tuple(self.skipped), problem=self.problem)
        return ParseResult(advisories=tuple(f.record for f in _one_per_id(self.found)), skipped=tuple(self.skipped))


def identity(text: str) -> tuple[str, int] | None:
    match = ID.search(text)
    return (f"VMSA-{match.group(1)}", int(match.group(2) or 0)) if match else None


def cves(*texts: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.group().upper() for text in texts for m in _CVE.finditer(text)))


def level(text: str) -> str | None:
    return _LEVELS.get(clean_text(text).lower())


def max_cvss(text: str) -> float | None:
    scores = [float(s) for m in _CVSS.finditer(text) for s in m.groups() if s and float(s) <= 10.0]
    return max(scores) if scores else None


def severity(stated: Iterable[str], text: str) -> tuple[str, bool]:
    """The first stated level, else the CVSS range's name, else DEFAULT_SEVERITY; and whether it was stated."""
    for candidate in stated:
        if found := level(candidate):
            return found, True
    if match := _STATED.search(text):
        return match.group(1).lower(), True
    score = max_cvss(text)
    return (Severity.from_cvss(score).value if score is not None else DEFAULT_SEVERITY), False


def excerpt(text: str) -> str:
    return text if len(text) <= 400 else text[:399] + "…"


def _one_per_id(found: list[Found]) -> list[Found]:
    """One record per advisory: its highest revision, first published date kept."""
    best: dict[str, Found] = {}
    for item in found:
        kept = best.get(item.record.id)
        if kept is None or item.record.revision > kept.record.revision:
            dates = [d for d in (item.record.published, kept.record.published if kept else None) if d]
            best[item.record.id] = replace(item, record=replace(item.record, published=min(dates, default=None)))
    return list(best.values())
