"""What the page completeness and growth guards cost (issue 10).

- the completeness scan (tracker/sources/html.py: the markup as written, read beside lxml's tree) on the real-shaped
  300 KB KB page, against the whole KB parse it is part of;
- the growth guard on a page flooded with 10,000 rows: the diff refuses it instead of filing 10,000 builds.

Each figure is the median and the worst of 5 runs after a warm-up, printed in a table.

    .venv/bin/python benchmarks/bench_page_guards.py
"""

import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_page_guards import flooded  # noqa: E402  (the flood the tests serve)
from tracker.domain.catalog import Catalog, Policy, SourceState  # noqa: E402
from tracker.domain.diff import observe  # noqa: E402
from tracker.domain.roles import SourceRole  # noqa: E402
from tracker.domain.versions import Product  # noqa: E402
from tracker.sources import kb_build_table  # noqa: E402
from tracker.sources.html import load_page  # noqa: E402

KB = (ROOT / "tests" / "fixtures" / "kb" / "broadcom-316595-esxi.html").read_bytes()
URL = "https://knowledge.broadcom.com/external/article/316595"
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def timed(work: Callable[[], object], runs: int = 5) -> tuple[float, float]:
    work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def lxml_tree_only() -> object:
    return lxml.html.document_fromstring(KB)


def flood_refused() -> object:
    catalog = Catalog()
    catalog.sources["kb"] = SourceState("kb", "kb_build_table", URL, Product.ESXI, SourceRole.INDEX, created_at=T0)
    good = kb_build_table.parse(KB, url=URL, product=Product.ESXI)
    observe(catalog, "kb", good, Policy(), T0)
    page = kb_build_table.parse(flooded(KB, 10_000), url=URL, product=Product.ESXI)
    started = time.perf_counter()
    changes = observe(catalog, "kb", page, Policy(), T0.replace(day=2))
    assert [c.kind.value for c in changes] == ["source_anomaly"], changes  # type: ignore[union-attr]
    return time.perf_counter() - started


def main() -> None:
    flood_bytes = len(flooded(KB, 10_000))
    rows = [
        (f"lxml tree alone of the {len(KB) // 1000} KB KB page (no decoding)", timed(lxml_tree_only)),
        ("load_page: the tree + the completeness scan", timed(lambda: load_page(KB))),
        (
            "kb_build_table.parse (91 rows, complete)",
            timed(lambda: kb_build_table.parse(KB, url=URL, product=Product.ESXI)),
        ),
        (
            "kb_build_table.parse, cut at 80%",
            timed(lambda: kb_build_table.parse(KB[: len(KB) * 8 // 10], url=URL, product=Product.ESXI)),
        ),
        (
            f"kb_build_table.parse, flooded ({flood_bytes // 1000} KB, 10,091 rows)",
            timed(lambda: kb_build_table.parse(flooded(KB, 10_000), url=URL, product=Product.ESXI), runs=3),
        ),
    ]
    guard = [flood_refused() for _ in range(3)]
    print(f"{'step':<62} {'median ms':>10} {'worst ms':>10}")
    for name, (median, worst) in rows:
        print(f"{name:<62} {median:>10.1f} {worst:>10.1f}")
    print(
        f"{'observe: the flooded page refused by the growth guard':<62} "
        f"{statistics.median(guard) * 1000:>10.1f} {max(guard) * 1000:>10.1f}"
    )


if __name__ == "__main__":
    main()
