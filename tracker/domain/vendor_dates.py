"""The dates the vendor's pages write, read without guessing.

Broadcom's KB build tables write `2026/07/29`, `2026-07-29` or `May 27, 2026`; release notes write
`27 JAN 2022`. The old kb.vmware.com tables (KB 2143832, KB 2143838) wrote month first, US style, without
leading zeros: `4/2/2020` is ESXi 7.0 GA (build 15843807, released 2020-04-02), `6/23/2020` is ESXi 7.0b
(16324942, 2020-06-23), `10/6/2020` is ESXi 7.0 Update 1 (16850804, 2020-10-06). So a slashed date with the
year last is read month first. What does not fit that convention is not read: `17/10/2016` (a day-first date
from some other page), a two-digit year (`10/17/16`), an impossible day. Those give None, never a guess.
"""

import re
from datetime import date, datetime

__all__ = ["read_vendor_date"]

_MONTH_NAMES = ("%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y")
_SHAPES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"(?<!\d)\d{4}[/-]\d{1,2}[/-]\d{1,2}(?!\d)"), ("%Y/%m/%d", "%Y-%m-%d")),
    (re.compile(r"(?<![\d/])\d{1,2}/\d{1,2}/\d{4}(?![\d/])"), ("%m/%d/%Y",)),  # KB 2143832: 10/17/2016
    (re.compile(r"[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}"), _MONTH_NAMES),
    (re.compile(r"\d{1,2}\s+[A-Za-z]{3,9}\.?,?\s+\d{4}"), ("%d %b %Y", "%d %B %Y")),
)


def read_vendor_date(text: str) -> date | None:
    """The first date the text writes in one of the vendor's shapes, or None (no date, or not one we can
    read without guessing)."""
    for shape, formats in _SHAPES:
        if (found := shape.search(text)) and (read := _reading(found.group(), formats)):
            return read
    return None


def _reading(found: str, formats: tuple[str, ...]) -> date | None:
    candidate = " ".join(found.replace(".", "").split())
    for fmt in formats:
        try:
            return datetime.strptime(candidate, fmt).date()
        except ValueError:
            continue
    return None
