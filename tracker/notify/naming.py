"""Sources named as people know them, for what people read (alerts, digests): never an internal id such as
`esxi-kb:notes:18644231`.

- a configured source: its `name:`; else, for a KB article, "KB 316595 (build numbers and versions of VMware
  ESXi)" from its URL; else its id, which the admin chose;
- release notes followed from a KB row: "ESXi 7.0 U3 release notes", from the build the row names.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from urllib.parse import unquote, urlsplit

from tracker.config import SourceConfig
from tracker.domain.catalog import Catalog
from tracker.domain.versions import Product

_KB = re.compile(r"/(?:external/)?(?:article|kb)/(\d{4,7})(?:/([A-Za-z0-9-]+?))?(?:\.html?)?/?$", re.I)
_NOTES = re.compile(r"^(?P<parent>.+):notes:(?P<build>\d+)$")
_WORDS = {"vmware": "VMware", "esxi": "ESXi", "esx": "ESX", "vcenter": "vCenter", "vcf": "VCF", "vce": "vCenter"}


def source_namer(sources: Iterable[SourceConfig], catalog_of: Callable[[], Catalog]) -> Callable[[str], str]:
    """`source_name` for the faces that list many sources (the pages, `tracker events`): the catalog, which only the
    names of followed release notes need, is read through `catalog_of` on the first such id, and once."""
    configured = {s.id: s for s in sources}
    catalogs: list[Catalog] = []

    @cache
    def name(source_id: str) -> str:
        if _NOTES.match(source_id) and not catalogs:
            catalogs.append(catalog_of())
        return source_name(source_id, configured, catalogs[0] if catalogs else Catalog())

    return name


def source_names(ids: Iterable[str], configured: Mapping[str, SourceConfig], catalog: Catalog) -> tuple[str, ...]:
    return tuple(source_name(i, configured, catalog) for i in ids)


def source_name(source_id: str, configured: Mapping[str, SourceConfig], catalog: Catalog) -> str:
    notes = _NOTES.match(source_id)
    if notes:
        parent = configured.get(notes["parent"])
        build = int(notes["build"])
        entry = catalog.find(Product(parent.product), build) if parent else None
        return f"{entry.release_name} release notes" if entry else f"release notes of build {build}"
    source = configured.get(source_id)
    if source is None:
        return source_id
    if source.name:
        return source.name
    kb = _KB.search(urlsplit(source.url).path)
    if kb:
        topic = " ".join(_WORDS.get(w.lower(), w) for w in unquote(kb[2] or "").split("-") if w)
        return f"KB {kb[1]} ({topic})" if topic else f"KB {kb[1]}"
    return source_id
