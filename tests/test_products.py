"""Products as data: tracker/data/products.csv is the one place a product's facts live, and it agrees with the
code's vocabulary (`Product`, `AssetKind`), so a product is one row (and one enum member), not a code fork."""

from pathlib import Path

import pytest

from tests.support.cli import Cli
from tracker.domain.alerts import AlertMessage
from tracker.domain.events import EventKind
from tracker.domain.inventory import AssetKind
from tracker.domain.versions import Product
from tracker.notify.render import affected
from tracker.reference import ProductTableError, product_info, product_table, read_table

HEADER = "id,label,labels_by_line,assets,noun,sources\n"
ESXI = "esxi,ESXi,9=ESX,esxi,hosts,kb_build_table\n"
VCENTER = "vcenter,vCenter Server,,vcenter,vCenters,kb_build_table\n"
TOOLS = "tools,VMware Tools,,vm,VMs,kb_build_table\n"


def test_the_shipped_table_has_a_row_for_every_product_with_its_assets_and_noun():
    table = product_table()
    assert set(table) == set(Product)
    assert [(table[p].assets, table[p].noun) for p in Product] == [
        ((AssetKind.ESXI,), "hosts"),
        ((AssetKind.VCENTER,), "vCenters"),
        ((AssetKind.VM,), "VMs"),
        ((), "releases"),  # VMware Cloud Foundation: no asset runs a release, its BOM names the builds they run
    ]
    assert product_info(Product.VCF).sources == ("vcf_bom",)
    assert product_info(Product.ESXI).label_for(8) == "ESXi" and product_info(Product.ESXI).label_for(9) == "ESX"
    assert "kb_build_table" in product_info(Product.TOOLS).sources
    assert "depot_index" not in product_info(Product.TOOLS).sources  # the ESXi depot carries no Tools releases


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (HEADER + ESXI + VCENTER, "no row for products tools, vcf"),
        (HEADER + ESXI + VCENTER + TOOLS + TOOLS, "listed twice"),
        (
            HEADER + "esxi,ESXi,,esxi,hosts,kb_build_table\n" + VCENTER + TOOLS,
            "names esxi 'ESXi' from 9, the code 'ESX'",
        ),
        (HEADER + ESXI + VCENTER + "tools,VMware Tools,,esxi,VMs,kb_build_table\n", "the code runs it on vm"),
        (HEADER + ESXI + VCENTER + "tools,VMware Tools,,vm,VMs,rss_magic\n", "unknown source kind rss_magic"),
        (HEADER + ESXI + VCENTER + "nsx,NSX,,vm,managers,kb_build_table\n", "'nsx' is not a valid Product"),
    ],
)
def test_a_table_that_disagrees_with_the_code_is_refused_naming_the_row(text: str, says: str):
    with pytest.raises(ProductTableError, match=f"products.csv.*{says.replace('(', '.').replace(')', '.')}"):
        read_table(text)


def test_messages_name_the_assets_by_the_products_noun():
    def message(product: str) -> AlertMessage:
        return AlertMessage(
            0, EventKind.ADVISORY, product, None, "", None, "", "", None, "", (), "", (), 3, None, None, ()
        )  # type: ignore[arg-type]

    assert affected(message("tools")) == "3 of your VMs affected"
    assert affected(message("esxi")) == "3 of your hosts affected"


def test_config_refuses_a_source_kind_that_does_not_cover_its_product(tmp_path: Path):
    config = tmp_path / "tracker.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path}/tracker.db\nsources:\n"
        "  - {id: tools-depot, kind: depot_index, url: 'https://example.com/depot.xml', product: tools}\n",
        encoding="utf-8",
    )
    cli = Cli(config)
    cli("sources", now="2025-03-01T00:00:00Z", code=2)
    assert "a depot_index source does not cover VMware Tools (its kinds: kb_build_table," in cli.outputs[-1]
