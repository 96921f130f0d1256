"""How the tracker reads each kind of source. Its own module: the source registry (tracker/sources) needs it, and
the quick path of `tracker poll` imports that registry without loading the parsers' value types."""

from enum import StrEnum


class SourceRole(StrEnum):
    """How a source's silence is read.

    INDEX: a build table (KB 316595): a vanished row is a pull signal where no availability source covers the
    product. NOTES: a release-notes page: speaks through notices only. AVAILABILITY: downloads and depots
    (a later issue): a vanished file or image profile is the main pull signal.
    """

    INDEX = "index"
    NOTES = "notes"
    AVAILABILITY = "availability"
    ADVISORY = "advisory"  # security advisories: speak of fixes, never of a build's availability
