"""Exposure for 100,000 assets against the full catalog (targets: under 2 s and under 500 MB peak memory).

Builds the catalog from the 166 real builds in tests/data/vmware-builds.csv (the 7.0 U3 builds pulled and replaced
by U3c, as the tracker would record them), 100,000 hosts spread over those builds plus 1% unknown builds, a few
with the i40en/i40enu VIBs, and one advisory (VMSA-2022-0004). Measures, each in a fresh process so peak memory is
the process's own: (1) the pure assessment in memory; (2) the whole `tracker exposure --json` command on a SQLite
database holding those assets and that catalog. Prints a table.

    .venv/bin/python benchmarks/bench_exposure.py [--assets N]
"""

import argparse
import csv
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "vmware-builds.csv"
NOW = datetime(2022, 3, 1, 8, tzinfo=UTC)
ASSET_KEY = '"asset":'
PULLED = {18644231: 19193900, 18825058: 19193900, 18905247: 19193900}


def catalog():  # type: ignore[no-untyped-def]
    from tracker.domain.catalog import BuildStatus, Catalog, Entry
    from tracker.domain.events import Confidence
    from tracker.domain.version_grammar import parse_release
    from tracker.domain.versions import Product

    result = Catalog()
    with DATA.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            product = Product.ESXI if row["product"] == "ESXi" else Product.VCENTER
            release = parse_release(row["release_name"], product)
            entry = Entry(product, int(row["build"]), release, release.name, NOW, release_date=row["release_date"])
            if entry.build in PULLED:
                entry.status, entry.pull_confidence = BuildStatus.PULLED, Confidence.HIGH
                entry.replaced_by = PULLED[entry.build]
            result.add_entry(entry)
    return result


def assets(count: int, builds: list[tuple[str, int]]):  # type: ignore[no-untyped-def]
    from tracker.domain.inventory import Asset, AssetKind, Vib

    rng = random.Random(42)
    vibs = (Vib("i40en", "1.10.6"), Vib("i40enu", "1.8.1.136"))
    result = []
    for n in range(count):
        product, build = rng.choice(builds)
        if n % 100 == 0:
            build = 90000000 + n  # unknown to the catalog
        kind = AssetKind.ESXI if product == "esxi" else AssetKind.VCENTER
        text = (
            f"VMware ESXi 7.0.3 build-{build}"
            if kind is AssetKind.ESXI
            else f"VMware vCenter Server 7.0.3 build-{build}"
        )
        result.append(
            Asset(
                f"host-{n:06d}.example.com",
                kind,
                build,
                text,
                vcenter=f"vc-{n % 20:02d}",
                cluster=f"prod-{n % 300:03d}",
                vibs=vibs if n % 7 == 0 else (),
            )
        )
    return result


def advisory():  # type: ignore[no-untyped-def]
    from tracker.domain.fixes import Advisory, FixedIn, Severity
    from tracker.domain.version_grammar import parse_release

    fixes = (("ESXi 7.0 Update 3c", 19193900), ("ESXi 7.0 Update 2e", 19290878), ("ESXi 7.0 Update 1e", 19324898))
    return Advisory("VMSA-2022-0004", Severity.CRITICAL, tuple(FixedIn(parse_release(n), b) for n, b in fixes))


def measure_in_memory(count: int) -> None:
    """Child process: print seconds and peak RSS of the pure assessment."""
    from tracker.domain.exposure import Assessor
    from tracker.reference import lifecycles

    known = catalog()
    population = assets(count, [(e.product.value, e.build) for e in known.entries.values()])
    started = time.perf_counter()
    results = Assessor(known, NOW, advisories=[advisory()], lifecycles=lifecycles()).assess_all(population)
    elapsed = time.perf_counter() - started
    worst = results[0].severity.value
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{elapsed:.3f} {peak:.1f} {len(results)} {worst}")


def fill_database(folder: Path, count: int) -> Path:
    from tracker.domain.inventory import ImportResult
    from tracker.jobs.inventory import import_inventory
    from tracker.store import repo
    from tracker.store.db import make_engine, migrate, session_scope

    config = folder / "tracker.yaml"
    config.write_text(f"database: sqlite:///{folder / 'tracker.db'}\n", encoding="utf-8")
    engine = make_engine(f"sqlite:///{folder / 'tracker.db'}")
    migrate(engine)
    known = catalog()
    for entry in known.entries.values():
        known.mark(entry=entry)
    with session_scope(engine) as session:
        repo.save_catalog(session, known)
    population = assets(count, [(e.product.value, e.build) for e in known.entries.values()])
    import_inventory(engine, ImportResult(tuple(population)), "bench", NOW)
    return config


def child(args: list[str]) -> tuple[float, float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True, timeout=600)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return elapsed, peak, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if options.child:
        measure_in_memory(options.assets)
        return
    _, _, out = child([__file__, "--child", "--assets", str(options.assets)])
    seconds, peak, assessed, worst = out.split()
    with tempfile.TemporaryDirectory(prefix="bench-exposure-") as tmp:
        config = fill_database(Path(tmp), options.assets)
        command, command_peak, output = child(
            ["-m", "tracker.cli", "--config", str(config), "--now", NOW.isoformat(), "exposure", "--json"]
        )
    rows = [
        ("measurement", "seconds", "peak RSS MiB", "target", "met?"),
        (
            f"assess {assessed} assets in memory (worst: {worst})",
            f"{float(seconds):.2f}",
            peak,
            "< 2 s, < 500 MiB",
            _met(float(seconds) < 2 and float(peak) < 500),
        ),
        (
            "`tracker exposure --json`, whole process, SQLite",
            f"{command:.2f}",
            f"{command_peak:.1f}",
            "(reference)",
            f"{output.count(ASSET_KEY):,} rows printed",
        ),
    ]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("-+-".join("-" * w for w in widths))


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


if __name__ == "__main__":
    main()
