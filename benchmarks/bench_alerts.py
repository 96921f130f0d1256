"""Alert fan-out and outbox drain (targets: one event touching 10,000 assets across 50 watchlists and 100
channels rendered and queued in under 1 s; the outbox drains at least 50 messages a second to a local receiver).

Builds a SQLite catalog from the real builds (tests/data/vmware-builds.csv) with ESXi 7.0 U3 pulled, 10,000 hosts
on 7.0 U3 over 200 clusters, 100 json:// channels pointing at a webhook receiver on 127.0.0.1 and 50 watchlists
(two channels each, a quarter of the clusters each). Then times: queueing the pulled event's alerts (the whole
pipeline: load catalog and inventory, exposure, concerned watchlists, one outbox row per channel), rendering
every queued message once, and draining the outbox through apprise.

    .venv/bin/python benchmarks/bench_alerts.py [--assets N] [--events N]
"""

import argparse
import csv
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NOW = datetime(2021, 11, 19, 8, tzinfo=UTC)
PULLED = (18644231, 18825058, 18905247)


class Receiver(BaseHTTPRequestHandler):
    count = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with Receiver.lock:
            Receiver.count += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


def config_text(folder: Path, port: int) -> str:
    channels = "\n".join(f"  ch{n:03d}: {{urls: ['json://127.0.0.1:{port}/c{n}']}}" for n in range(100))
    watchlists = "\n".join(
        f"  - {{name: w{n:02d}, products: [esxi], lines: ['7.0'], clusters: ['c{n % 4}*'], events: [pulled],"
        f" immediate: [ch{2 * n:03d}, ch{2 * n + 1:03d}]}}"
        for n in range(50)
    )
    return f"database: sqlite:///{folder / 'tracker.db'}\nchannels:\n{channels}\nwatchlists:\n{watchlists}\n"


def fill(folder: Path, assets: int, events: int, port: int):  # type: ignore[no-untyped-def]
    from tracker.config import load_config
    from tracker.domain.catalog import BuildStatus, Catalog, Entry
    from tracker.domain.events import Confidence, Event, EventKind, Evidence
    from tracker.domain.inventory import Asset, AssetKind, ImportResult
    from tracker.domain.version_grammar import parse_release
    from tracker.domain.versions import Product
    from tracker.jobs.inventory import import_inventory
    from tracker.store import repo
    from tracker.store.db import make_engine, migrate, session_scope

    (folder / "tracker.yaml").write_text(config_text(folder, port), encoding="utf-8")
    config = load_config(str(folder / "tracker.yaml"))
    engine = make_engine(config.database)
    migrate(engine)
    catalog = Catalog()
    with (ROOT / "tests" / "data" / "vmware-builds.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            product = Product.ESXI if row["product"] == "ESXi" else Product.VCENTER
            release = parse_release(row["release_name"], product)
            entry = Entry(product, int(row["build"]), release, release.name, NOW, release_date=row["release_date"])
            if entry.build in PULLED:
                entry.status, entry.pull_confidence = BuildStatus.PULLED, Confidence.HIGH
            catalog.add_entry(entry)
            catalog.mark(entry=entry)
    hosts = [
        Asset(
            f"esx{n:05d}.example.net",
            AssetKind.ESXI,
            PULLED[n % len(PULLED[:events])],
            f"VMware ESXi 7.0.3 build-{PULLED[n % len(PULLED[:events])]}",
            vcenter="vc01",
            cluster=f"c{n % 200:03d}",
        )
        for n in range(assets)
    ]
    import_inventory(engine, ImportResult(tuple(hosts)), "bench", NOW)
    evidence = (Evidence("esxi-kb", "http://127.0.0.1/kb", "no longer listed", NOW),)
    with session_scope(engine) as session:
        repo.save_catalog(session, catalog)
        rows = repo.record_changes(
            session,
            [
                Event(
                    EventKind.PULLED,
                    NOW,
                    Confidence.HIGH,
                    evidence,
                    Product.ESXI,
                    build,
                    f"ESXi 7.0 U3 ({build})",
                    detail=f"build {build} was pulled",
                )
                for build in PULLED[:events]
            ],
        )
        ids = [r.id for r in rows]
    return config, engine, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1, choices=(1, 2, 3))
    options = parser.parse_args()
    from tracker.notify.outbox import render, work_outbox
    from tracker.notify.pipeline import queue_alerts
    from tracker.store.db import session_scope
    from tracker.store.digests import events_between
    from tracker.store.outbox import deliveries

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp:
        config, engine, ids = fill(Path(tmp), options.assets, options.events, server.server_address[1])
        started = time.perf_counter()
        with session_scope(engine) as session:
            events = [e for e in events_between(session, NOW - timedelta(seconds=1), NOW) if e.id in ids]
            queued = queue_alerts(config, session, events, NOW)
        queue_seconds = time.perf_counter() - started
        with session_scope(engine) as session:
            rows = [message for message, _ in deliveries(session)]
        started = time.perf_counter()
        for row in rows:
            render(row, "slack")
            render(row, "email")
        render_seconds = time.perf_counter() - started
        started = time.perf_counter()
        report = work_outbox(config, engine, NOW)
        drain_seconds = time.perf_counter() - started
    server.shutdown()
    rate = report.sent / drain_seconds if drain_seconds else 0.0
    table = [
        ("measurement", "result", "target", "met?"),
        (
            f"queue {options.events} event(s) x {options.assets:,} assets, 50 watchlists, 100 channels",
            f"{queue_seconds:.2f} s, {queued} rows",
            "< 1 s",
            "yes" if queue_seconds < 1 else "NO",
        ),
        (f"render {len(rows)} messages as Slack and e-mail", f"{render_seconds:.2f} s", "(part of the above)", "-"),
        (
            f"drain the outbox to a local receiver ({report.sent} sent, {Receiver.count} received)",
            f"{rate:.0f} msg/s",
            ">= 50 msg/s",
            "yes" if rate >= 50 else "NO",
        ),
    ]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    for n, row in enumerate(table):
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("-+-".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
