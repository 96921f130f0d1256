"""Source kinds: one module per kind, one explicit registry.

Each kind module has `parse(content: bytes, *, url: str, product: Product) -> ParseResult` (pure: bytes in,
records out). Modules are imported when a page must be parsed, so a poll of unchanged pages never loads a parser.
Adding a kind: one module, one entry below, one fixture folder.
"""

from dataclasses import dataclass
from importlib import import_module

from tracker.domain.observations import ParseResult, SourceRole
from tracker.domain.versions import Product


@dataclass(frozen=True)
class SourceKind:
    name: str
    role: SourceRole
    module: str
    description: str

    def parse(self, content: bytes, *, url: str, product: Product) -> ParseResult:
        parse = import_module(self.module).parse
        result: ParseResult = parse(content, url=url, product=product)
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
}
