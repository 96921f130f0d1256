"""The reference data shipped with the project, read once: the product table (tracker/data/products.csv) and the
vendor's lifecycle dates (tracker/data/lifecycle.csv). Both are files a release changes, not code.

Products: `Product` (tracker/domain/versions.py) is the closed vocabulary: its values are what config, storage and
events say, and mypy checks every use. Everything else about a product is a row of the table: its name, the names
the vendor gave it from some line on (`9=ESX`: ESXi is "ESX" from 9.0, KB 395110), the asset kinds that run it
(`esxi`, `vcenter`, `vm`), the noun messages use for those assets ("hosts", "VMs"), and the source kinds that cover
it (config refuses a source of another kind for it). Adding a product (NSX, vSAN Witness) is one `Product` member
and one row; the table and the enum are checked against each other on first read, so neither can gain a product
alone.

Lifecycle: each line's end of general support and of technical guidance (the assessment's `Lifecycle` values).
"""

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files

from tracker.domain.exposure import Lifecycle
from tracker.domain.inventory import AssetKind
from tracker.domain.versions import Product
from tracker.domain.words import noun
from tracker.sources import REGISTRY

PRODUCTS_CSV = "data/products.csv"
_MAJORS = 100  # the names per line are compared for every major up to this one


class ProductTableError(ValueError):
    """The shipped product table disagrees with the code: a packaging or editing mistake, said at first use."""


@dataclass(frozen=True)
class ProductInfo:
    product: Product
    label: str  # "ESXi"
    labels_by_line: Mapping[int, str]  # {9: "ESX"}: the vendor's name from that major on
    assets: tuple[AssetKind, ...]  # what runs it
    noun: str  # "hosts", "vCenters", "VMs"
    sources: tuple[str, ...]  # source kinds (tracker/sources REGISTRY) that cover it

    def label_for(self, major: int) -> str:
        named = [label for start, label in sorted(self.labels_by_line.items()) if major >= start]
        return named[-1] if named else self.label


@cache
def product_table() -> Mapping[Product, ProductInfo]:
    """Every product's row, checked against `Product` and `AssetKind`; raises ProductTableError."""
    text = files("tracker").joinpath(PRODUCTS_CSV).read_text(encoding="utf-8")
    return read_table(text)


def product_info(product: Product) -> ProductInfo:
    return product_table()[product]


def read_table(text: str) -> dict[Product, ProductInfo]:
    """The rows of a product table's text (pure: the shipped file or a test's)."""
    table: dict[Product, ProductInfo] = {}
    for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        info = _row(row, number)
        if info.product in table:
            raise ProductTableError(f"{PRODUCTS_CSV}, row {number}: product {info.product.value!r} listed twice")
        table[info.product] = info
    missing = [p.value for p in Product if p not in table]
    if missing:
        raise ProductTableError(f"{PRODUCTS_CSV}: no row for {noun(len(missing), 'product')} {', '.join(missing)}")
    return table


def _row(row: dict[str, str], number: int) -> ProductInfo:
    where = f"{PRODUCTS_CSV}, row {number}"
    try:
        product = Product(row["id"].strip())
        assets = tuple(AssetKind(kind.strip()) for kind in _items(row["assets"]))
        by_line = {
            int(major): label.strip() for major, label in (i.split("=", 1) for i in _items(row["labels_by_line"]))
        }
    except (KeyError, ValueError) as error:
        raise ProductTableError(f"{where}: {error}") from None
    info = ProductInfo(product, row["label"].strip(), by_line, assets, row["noun"].strip(), _items(row["sources"]))
    _check(info, where)
    return info


def _items(cell: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (cell or "").split(";") if item.strip())


def _check(info: ProductInfo, where: str) -> None:
    """The row says what the code does: its names per line and the asset kinds whose product it is."""
    for major in range(_MAJORS):
        if info.label_for(major) != info.product.label_for(major):
            raise ProductTableError(
                f"{where}: names {info.product.value} {info.label_for(major)!r} from {major}, the code "
                f"{info.product.label_for(major)!r}"
            )
    runs = tuple(kind for kind in AssetKind if kind.product is info.product)
    if set(runs) != set(info.assets):
        raise ProductTableError(f"{where}: assets {', '.join(info.assets)} but the code runs it on {', '.join(runs)}")
    if not info.noun or not info.sources:
        raise ProductTableError(f"{where}: a product needs a noun and at least one source kind")
    unknown = [kind for kind in info.sources if kind not in REGISTRY]
    if unknown:
        raise ProductTableError(f"{where}: unknown source {noun(len(unknown), 'kind')} {', '.join(unknown)}")


LIFECYCLE_CSV = "data/lifecycle.csv"
_LIFECYCLE_PRODUCTS = {"esxi": Product.ESXI, "vcenter server": Product.VCENTER, "vcenter": Product.VCENTER}


@cache
def lifecycles() -> tuple[Lifecycle, ...]:
    """Every line's lifecycle dates, as the vendor publishes them."""
    text = files("tracker").joinpath(LIFECYCLE_CSV).read_text(encoding="utf-8")
    return tuple(
        Lifecycle(
            _LIFECYCLE_PRODUCTS[row["product"].strip().casefold()],
            row["line"].strip(),
            date.fromisoformat(row["end_of_general_support"]),
            date.fromisoformat(row["end_of_technical_guidance"]),
        )
        for row in csv.DictReader(io.StringIO(text))
    )
