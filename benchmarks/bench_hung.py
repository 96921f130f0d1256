"""A hung receiver beside a healthy one (issue 10: a slow channel delays only itself; `tracker poll` does not wait
on a slow target beyond its deadline; SIGTERM ends the service within seconds).

Queues 3 alerts for a `stuck` channel, whose receiver holds every request and trickles its answer a byte at a time
(no per-read timeout ever fires), then 3 for a healthy `ops` channel, in a fresh SQLite file, and runs each entry
point as a separate process: how long the healthy channel's messages took to arrive, how long the process took to
end by itself (`tracker poll`, `run --once`), and how long `tracker run` took to end after SIGTERM. Anything past
--cap seconds is shown as "> cap" and the process is killed. The config uses no key of its own, so the same script
measures an older checkout too (the "before" figures).

    .venv/bin/python benchmarks/bench_hung.py [--cap 120]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.holding import HoldingReceiver  # noqa: E402  (the repository's root is on the path first)
from tests.support.queued import opened, outbox_config, queue  # noqa: E402
from tests.support.receivers import WebhookReceiver  # noqa: E402
from tests.support.running import Tracker  # noqa: E402

NOW = "2021-11-19T08:00:00Z"
MESSAGES = 3
COMMANDS = (("poll",), ("run", "--once"), ("run",))


def measure(folder: Path, command: tuple[str, ...], cap: float) -> tuple[str, str, str]:
    """(healthy messages arrived, process ended by itself, process ended after SIGTERM), as text."""
    folder.mkdir(parents=True)
    with HoldingReceiver() as stuck, WebhookReceiver() as ops:
        stuck.hold()
        urls = {"stuck": f"json://127.0.0.1:{stuck.port}/stuck", "ops": f"json://127.0.0.1:{ops.port}/ops"}
        config = outbox_config(folder, urls, service="{tick: 1s}")
        engine = opened(config)[1]
        queue(engine, "stuck", MESSAGES, datetime.fromisoformat(NOW))  # the stuck channel's rows come first
        queue(engine, "ops", MESSAGES, datetime.fromisoformat(NOW))
        started = time.monotonic()
        with Tracker(config, *command, now=NOW) as tracker:
            healthy = _timed(lambda: ops.wait_for(MESSAGES, timeout=cap), started)
            if command == ("run",):
                stopping = time.monotonic()
                tracker.terminate()
                return healthy, "(a service)", _timed(lambda: tracker.wait(cap), stopping)
            return healthy, _timed(lambda: tracker.wait(max(0.0, cap - (time.monotonic() - started))), started), "-"


def _timed(work: Callable[[], object], since: float) -> str:
    try:
        work()
    except (AssertionError, subprocess.TimeoutExpired):
        return "> cap"
    return f"{time.monotonic() - since:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=120.0)
    args = parser.parse_args()
    print(f"(cap: {args.cap:g} s)")
    print("| entry point | healthy channel's messages arrived after | ended by itself after | ended after SIGTERM |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for number, command in enumerate(COMMANDS):
            healthy, ended, stopped = measure(Path(folder) / str(number), command, args.cap)
            print(f"| tracker {' '.join(command)} | {healthy} | {ended} | {stopped} |", flush=True)


if __name__ == "__main__":
    main()
