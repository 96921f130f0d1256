"""Reading a large RVTools vHost export (target: 50,000 hosts as CSV in well under 10 s).

Writes a vHost CSV tab with the 63 columns of RVTools 4.x (the header of tests/fixtures/inventory/
RVTools_tabvHost.csv, its rows repeated under new host names over eight 7.0/8.0 builds) to a temporary folder,
then times `count_rows` and `read_inventory` on it, and the whole `tracker inventory import` command as a process
into a fresh SQLite database (all new), then again (all unchanged) and with every build changed (all updated).

    .venv/bin/python benchmarks/bench_inventory_import.py [--hosts N]
"""

import argparse
import csv
import io
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tracker.inventory.files import count_rows, read_inventory

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "inventory" / "RVTools_tabvHost.csv"
VERSIONS = [
    f"VMware ESXi {version} build-{build}"
    for version, build in [
        ("7.0.2", 18426014), ("7.0.2", 18538813), ("7.0.3", 18644231), ("7.0.3", 18825058),
        ("7.0.3", 18905247), ("7.0.3", 19193900), ("7.0.3", 19482537), ("8.0.0", 20513097),
    ]
]  # fmt: skip


def write_export(path: Path, hosts: int) -> None:
    with FIXTURE.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    host, version = header.index("Host"), header.index("ESX Version")
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for i in range(hosts):
        row = list(rows[i % len(rows)])
        row[host], row[version] = f"esx{i:06d}.example.net", VERSIONS[i % len(VERSIONS)]
        writer.writerow(row)
    path.write_text(out.getvalue(), encoding="utf-8")


def cli_import(folder: Path, path: Path) -> tuple[float, str]:
    config = folder / "tracker.yaml"
    config.write_text(f"database: sqlite:///{folder / 'tracker.db'}\n", encoding="utf-8")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tracker.cli", "--config", str(config), "inventory", "import", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return time.perf_counter() - started, done.stdout.splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50_000)
    hosts = parser.parse_args().hosts
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "RVTools_tabvHost.csv"
        write_export(path, hosts)
        started = time.perf_counter()
        total = count_rows(path)
        counted = time.perf_counter()
        calls: list[int] = []
        imported = read_inventory(path, progress=calls.append)
        read = time.perf_counter()
        first = cli_import(folder, path)
        again = cli_import(folder, path)
        VERSIONS.reverse()
        write_export(path, hosts)
        changed = cli_import(folder, path)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"{'step':<34}{'seconds':>10}  result (target: the whole import of {hosts:,} rows under 10 s)")
    print(f"{'count_rows (progress bar total)':<34}{counted - started:>10.3f}  {total} rows")
    print(
        f"{'read_inventory, in process':<34}{read - counted:>10.3f}  {len(imported.assets)} assets, "
        f"{len(imported.problems)} problems, {len(calls)} progress calls"
    )
    for label, (seconds, summary) in (
        ("tracker inventory import (new)", first),
        ("... again (unchanged)", again),
        ("... every build changed", changed),
    ):
        print(f"{label:<34}{seconds:>10.3f}  {summary[summary.find(':') + 2 :]}")
    print(f"peak RSS of the import processes: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
