"""Duplicates and delays after a crash of the sender (issue 10: at most one duplicate per crash, the message in
flight; a crash delays the rest by less than a minute).

Each trial (tests/support/crash.py) queues --messages alerts for one webhook channel in a fresh SQLite file,
starts `tracker run`, lets the receiver hold the first request, kills the service with SIGKILL while it waits,
restarts it, waits until every row is recorded sent and stops it. The table shows, per trial, the duplicates the
receiver got and how long after the restart the rest and the message in flight arrived; the in-flight one waits
for its dead sender's claim to go stale (--claim-timeout; the default config's is 60 s, which makes 20 trials
take 20 minutes: the claim's time is its own row). The restart's own start-up (`restarted service up`) is
part of every delay; on a loaded machine it is most of it.

    .venv/bin/python benchmarks/bench_crash.py [--trials 20] [--messages 5] [--claim-timeout 15]
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.crash import Trial, crash_trial  # noqa: E402  (the repository's root is on the path first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--claim-timeout", type=int, default=15)
    args = parser.parse_args()
    trials: list[Trial] = []
    print("| trial | messages | delivered | duplicates | restarted service up | the rest arrived | in flight arrived |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for number in range(1, args.trials + 1):
            trial = crash_trial(Path(folder) / f"trial-{number}", args.messages, args.claim_timeout)
            trials.append(trial)
            print(
                f"| {number} | {trial.messages} | {trial.delivered} | {trial.duplicates} | {trial.started:.1f} s"
                f" | {trial.rest_delay:.1f} s | {trial.in_flight_delay:.1f} s |",
                flush=True,
            )
    print()
    _summary(trials, args.claim_timeout)


def _summary(trials: list[Trial], claim_timeout: int) -> None:
    rows = [
        (
            f"duplicates in {len(trials)} crashes",
            f"{sum(t.duplicates for t in trials)} (max {max(t.duplicates for t in trials)} per crash)",
            "<= 1 per crash",
            all(t.duplicates <= 1 for t in trials),
        ),
        (
            "messages never delivered",
            str(sum(t.messages - t.delivered for t in trials)),
            "0",
            all(t.messages == t.delivered for t in trials),
        ),
        (
            "the rest: arrived after the restart, median / max",
            _median_max([t.rest_delay for t in trials]),
            "< 60 s",
            max(t.rest_delay for t in trials) < 60,
        ),
        (
            "the rest: arrived after the restarted service was up, max",
            f"{max(t.rest_delay - t.started for t in trials):.1f} s",
            "no claim to wait for (< 2 s)",
            max(t.rest_delay - t.started for t in trials) < 2,
        ),
        (
            "the message in flight: arrived after the restart, median / max",
            _median_max([t.in_flight_delay for t in trials]),
            f"its claim's timeout ({claim_timeout} s) or the restart, whichever is later, + 2 s",
            all(t.in_flight_delay <= max(t.started, claim_timeout) + 2 for t in trials),
        ),
    ]
    print("| measurement | value | target | met? |")
    print("|---|---|---|---|")
    for name, value, target, met in rows:
        print(f"| {name} | {value} | {target} | {'yes' if met else 'NO'} |")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n(load average at the end: {load}, on {os.cpu_count()} cores)")


def _median_max(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} / {max(values):.1f} s"


if __name__ == "__main__":
    main()
