"""Source kinds: one module per kind, one explicit registry.

Each kind module has `parse(content: bytes, *, url: str, product: Product) -> ParseResult` (pure: bytes in,
records out). A kind whose answer spans several documents (the online depot: index -> vendor index ->
metadata.zip; Broadcom's paged advisory listing) has `collect(content, *, url, product, fetch: Fetch)` instead,
which asks for the further documents through `fetch` and stays free of any HTTP client. Modules are imported
when a page must be parsed, so a poll of unchanged pages never loads a parser. Adding a kind: one module, one
entry below, one fixture folder.
"""

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Protocol

from tracker.domain.roles import SourceRole

if TYPE_CHECKING:  # the registry itself loads no value types: the poll cycle reads it on every poll
    from tracker.domain.observations import ParseResult
    from tracker.domain.versions import Product


class Fetch(Protocol):
    """What a multi-document kind may ask for; both raise tracker.http.FetchError on failure."""

    def get(self, url: str) -> bytes: ...

    def post_json(self, url: str, body: dict[str, object]) -> bytes: ...


@dataclass(frozen=True)
class SourceKind:
    name: str
    role: SourceRole
    module: str
    description: str
    multi_document: bool = False

    def parse(self, content: bytes, *, url: str, product: "Product") -> "ParseResult":
        parse = import_module(self.module).parse
        result: ParseResult = parse(content, url=url, product=product)
        return result

    def collect(self, content: bytes, *, url: str, product: "Product", fetch: Fetch) -> "ParseResult":
        collect = import_module(self.module).collect
        result: ParseResult = collect(content, url=url, product=product, fetch=fetch)
        return result


REGISTRY: dict[str, SourceKind] = {
    "kb_build_table": SourceKind(
        "kb_build_table",
        SourceRole.INDEX,
        "tracker.sources.kb_build_table",
        "a KB build-number table (Broadcom KB 316595 / 326316, kb.vmware.com 2143832 / 2143838)",
    ),
    "release_notes": SourceKind(
        "release_notes",
        SourceRole.NOTES,
        "tracker.sources.release_notes",
        "a release-notes page (header line, Build Details, withdrawal and replacement notices)",
    ),
    "download_listing": SourceKind(
        "download_listing",
        SourceRole.AVAILABILITY,
        "tracker.sources.download_listing",
        "a product's download page: builds from file names (VMware-VMvisor-Installer-7.0U3c-19193900.x86_64.iso)",
    ),
    "depot_index": SourceKind(
        "depot_index",
        SourceRole.AVAILABILITY,
        "tracker.sources.depot_index",
        "the online depot: vmw-depot-index.xml -> vendor index -> metadata.zip (image profiles)",
        multi_document=True,
    ),
    "advisory_feed": SourceKind(
        "advisory_feed",
        SourceRole.ADVISORY,
        "tracker.sources.advisory_feed",
        "security advisories: the VMSA RSS/Atom feed, an advisory page, or Broadcom's JSON listing",
        multi_document=True,
    ),
    "feed": SourceKind(
        "feed",
        SourceRole.NOTES,
        "tracker.sources.feed",
        "any RSS or Atom feed: entries naming releases or builds with pull or reissue wording become notices",
    ),
    "vcf_bom": SourceKind(
        "vcf_bom",
        SourceRole.NOTES,
        "tracker.sources.vcf_bom",
        "VMware Cloud Foundation release notes: the release and its Bill of Materials (ESX, vCenter, NSX builds)",
    ),
}
