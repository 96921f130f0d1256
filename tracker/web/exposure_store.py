"""The last assessment's listing, kept in a file beside the SQLite database, so that a server started again lists
100,000 assets at once (from what it showed before it stopped, saying when that was assessed) while it assesses
them again on a thread of its own: stale while revalidating, across a restart.

What is kept is what the listing and its filters and sorts read: each asset's own fields, its severity and
statuses, and its row's JSON as the parts `ExposureRows` shares (its release, and its findings, each stored once
however many rows carry it). Pages that need every finding (the overview, an asset's page, `/api/v1/assets`) wait
for the new assessment. Plain JSON (nothing in the file can run), written whole to a temporary file and renamed, and
ignored when it is of another format or tracker version, or unreadable. Only for SQLite: a server on PostgreSQL has
no folder of its database, and assesses at start as before."""

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tracker import __version__
from tracker.domain.exposure import Exposure, Status
from tracker.domain.fixes import Severity
from tracker.domain.inventory import Asset, AssetKind
from tracker.listings import ExposureRows

FORMAT = 1
log = logging.getLogger(__name__)
_KINDS = {k.value: k for k in AssetKind}
_SEVERITIES = {s.value: s for s in Severity}
_STATUSES = {s.value: s for s in Status}


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One row of a stored listing: what the filters and sorts read, and its JSON's shared parts."""

    asset: Asset  # without its VIBs (not listed, not filtered on)
    severity: Severity
    statuses: tuple[Status, ...]
    release: str
    tail: str

    def json(self) -> str:
        return ExposureRows.join(self.asset, self.release, self.tail)

    def parts(self) -> tuple[str, str]:
        """As `ExposureRows.parts` gives them for an assessed row: its release and its findings, encoded."""
        return self.release, self.tail


@dataclass(frozen=True)
class StoredListing:
    version: str  # repr() of the data version it was assessed from
    at: datetime
    rows: list[StoredRow]


def path_of(engine: Engine) -> Path | None:
    """Where the listing of this database is kept: beside its SQLite file (`tracker.db-exposure.json`), or None."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).with_name(Path(url.database).name + "-exposure.json")


def save(path: Path, version: object, at: datetime, rows: list[Exposure]) -> None:
    """Keep this assessment's listing (replacing the last one whole), written a row at a time: a service idles
    for most of its life, and a whole document made in memory first would stay in its footprint."""
    encoder, releases, tails = ExposureRows(), _Index(), _Index()
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # a server and a service may share the database
    with temporary.open("w", encoding="utf-8") as out:
        out.write('{"rows":[')
        for n, e in enumerate(rows):
            a, (release, tail) = e.asset, encoder.parts(e)
            row = [a.name, a.kind.value, a.build, a.version_text, a.vcenter, a.datacenter, a.cluster, list(a.tags),
                   a.owner, a.origin, e.severity.value, [s.value for s in e.statuses], releases.of(release),
                   tails.of(tail)]  # fmt: skip
            out.write(("," if n else "") + json.dumps(row, separators=(",", ":")))
        about = {"format": FORMAT, "tracker": __version__, "version": repr(version), "at": at.isoformat()}
        out.write("]," + json.dumps({**about, "releases": releases.values, "tails": tails.values})[1:])
    os.replace(temporary, path)


def load(path: Path) -> StoredListing | None:
    """The listing kept by the last run, or None (none kept, another format or version, unreadable)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != FORMAT or document.get("tracker") != __version__:
            return None
        releases, tails = document["releases"], document["tails"]
        rows = [_row(r, releases, tails) for r in document["rows"]]
        return StoredListing(document["version"], datetime.fromisoformat(document["at"]), rows)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
        log.warning("the exposure listing kept in %s is not read: %s", path, error)
        return None


def _row(r: list[Any], releases: list[str], tails: list[str]) -> StoredRow:
    name, kind, build, version_text, vcenter, datacenter, cluster, tags, owner, origin = r[:10]
    asset = Asset(name, _KINDS[kind], build, version_text, vcenter, datacenter, cluster, tuple(tags), owner, (), origin)
    severity, statuses, shared, tail = r[10:]
    return StoredRow(asset, _SEVERITIES[severity], tuple(_STATUSES[s] for s in statuses), releases[shared], tails[tail])


class _Index:
    """Distinct texts in the order first seen, each with its position."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self._at: dict[str, int] = {}

    def of(self, text: str) -> int:
        found = self._at.get(text)
        if found is None:
            found = self._at[text] = len(self.values)
            self.values.append(text)
        return found
