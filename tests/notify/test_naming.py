"""Sources as people know them (tracker/notify/naming.py): never an internal id in what people read."""

from datetime import UTC, datetime

from tracker.config import SourceConfig
from tracker.domain.catalog import Catalog, Entry
from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Product
from tracker.notify.naming import source_name

KB = "https://knowledge.broadcom.com/external/article/316595/build-numbers-and-versions-of-vmware-esxi.html"


def _configured(**extra: str) -> dict[str, SourceConfig]:
    sources = [
        SourceConfig(id="esxi-kb", kind="kb_build_table", url=KB, product=Product.ESXI),
        SourceConfig(id="blog", kind="feed", url="https://blogs.vmware.com/vsphere/feed", product=Product.ESXI),
        SourceConfig(id="vmsa", kind="advisory_feed", url="https://x.example/vmsa.xml", product=Product.ESXI, **extra),
    ]
    return {s.id: s for s in sources}


def test_a_kb_article_is_named_by_its_number_and_topic():
    assert source_name("esxi-kb", _configured(), Catalog()) == "KB 316595 (build numbers and versions of VMware ESXi)"


def test_a_configured_name_wins_and_other_sources_keep_the_id_the_admin_chose():
    configured = _configured(name="VMware security advisories")
    assert source_name("vmsa", configured, Catalog()) == "VMware security advisories"
    assert source_name("blog", configured, Catalog()) == "blog"


def test_followed_release_notes_are_named_by_their_build():
    catalog = Catalog()
    release = parse_release("ESXi 7.0 U3")
    catalog.add_entry(Entry(Product.ESXI, 18644231, release, "ESXi 7.0 U3", datetime(2021, 10, 6, tzinfo=UTC)))
    assert source_name("esxi-kb:notes:18644231", _configured(), catalog) == "ESXi 7.0 U3 release notes"
    assert source_name("esxi-kb:notes:99", _configured(), catalog) == "release notes of build 99"
