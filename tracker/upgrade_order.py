"""The upgrade-order rules shipped with the project (tracker/data/vcenter_first.csv), read once."""

import csv
import io
from functools import cache
from importlib.resources import files

from tracker.domain.upgrade_order import VcenterFirst
from tracker.domain.version_grammar import parse_release
from tracker.domain.versions import Product


@cache
def vcenter_first() -> tuple[VcenterFirst, ...]:
    text = files("tracker").joinpath("data/vcenter_first.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("".join(line for line in text.splitlines(True) if not line.startswith("#"))))
    return tuple(
        VcenterFirst(
            parse_release(f"{row['host_product']} {row['host_release']}", Product.ESXI),
            parse_release(f"vCenter Server {row['vcenter_min']}", Product.VCENTER),
            row["citation"].strip(),
            row["url"].strip(),
        )
        for row in rows
    )
