"""The vendor's lifecycle dates, shipped with the project (tracker/data/lifecycle.csv)."""

import csv
import io
from datetime import date
from functools import cache
from importlib.resources import files

from tracker.domain.exposure import Lifecycle
from tracker.domain.versions import Product

_PRODUCTS = {"esxi": Product.ESXI, "vcenter server": Product.VCENTER, "vcenter": Product.VCENTER}


@cache
def lifecycles() -> tuple[Lifecycle, ...]:
    text = files("tracker").joinpath("data/lifecycle.csv").read_text(encoding="utf-8")
    return tuple(
        Lifecycle(
            _PRODUCTS[row["product"].strip().casefold()],
            row["line"].strip(),
            date.fromisoformat(row["end_of_general_support"]),
            date.fromisoformat(row["end_of_technical_guidance"]),
        )
        for row in csv.DictReader(io.StringIO(text))
    )
