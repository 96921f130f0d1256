"""Reading a large RVTools vHost export (target: 50,000 hosts as CSV in well under 10 s).

Writes a vHost CSV tab with the 63 columns of RVTools 4.x (the header of tests/fixtures/inventory/
RVTools_tabvHost.csv, its rows repeated under new host names over eight 7.0/8.0 builds) to a temporary folder,
then times `count_rows` and `read_inventory` on it and prints a table.

    .venv/bin/python benchmarks/bench_inventory_import.py [--hosts N]
"""

import argparse
import csv
import io
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50_000)
    hosts = parser.parse_args().hosts
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "RVTools_tabvHost.csv"
        write_export(path, hosts)
        started = time.perf_counter()
        total = count_rows(path)
        counted = time.perf_counter()
        calls: list[int] = []
        imported = read_inventory(path, progress=calls.append)
        read = time.perf_counter()
    print(f"{'step':<16}{'seconds':>10}  result")
    print(f"{'count_rows':<16}{counted - started:>10.3f}  {total} rows")
    print(
        f"{'read_inventory':<16}{read - counted:>10.3f}  {len(imported.assets)} assets, "
        f"{len(imported.problems)} problems, {len(calls)} progress calls"
    )


if __name__ == "__main__":
    main()
