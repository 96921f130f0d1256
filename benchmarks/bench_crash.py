"""Duplicates and delays after a crash of the sender (issue 10: at most one duplicate per crash, the message in
flight; a crash delays the rest by less than a minute).

Each trial (tests/support/crash.py) queues --messages alerts for one webhook channel in a fresh SQLite file,
starts `tracker run`, lets the receiver hold the first request, kills the service with SIGKILL while it waits,
restarts it, waits until every row is recorded sent and stops it. The table shows, per trial, the duplicates the
receiver got and how long after the restart the rest and the message in flight arrived; the in-flight one waits
for its dead sender's claim to go stale (--claim-timeout; the default config's is 60 s, which makes 20 trials
take 20 minutes: the claim's time is its own row).

    .venv/bin/python benchmarks/bench_crash.py [--trials 20] [--messages 5] [--claim-timeout 5]
"""

import argparse
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
    parser.add_argument("--claim-timeout", type=int, default=5)
    args = parser.parse_args()
    trials: list[Trial] = []
    print(
        "| trial | messages | delivered | duplicates | rest arrived after restart | in flight arrived after restart |"
    )
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for number in range(1, args.trials + 1):
            trial = crash_trial(Path(folder) / f"trial-{number}", args.messages, args.claim_timeout)
            trials.append(trial)
            print(
                f"| {number} | {trial.messages} | {trial.delivered} | {trial.duplicates} | {trial.rest_delay:.1f} s"
                f" | {trial.in_flight_delay:.1f} s |",
                flush=True,
            )
    crashes = len(trials)
    duplicates = sum(t.duplicates for t in trials)
    lost = sum(t.messages - t.delivered for t in trials)
    rest = [t.rest_delay for t in trials]
    flight = [t.in_flight_delay for t in trials]
    print()
    print("| measurement | value | target | met? |")
    print("|---|---|---|---|")
    print(
        f"| duplicates in {crashes} crashes | {duplicates} (max {max(t.duplicates for t in trials)} per crash) |"
        f" <= 1 per crash | {'yes' if all(t.duplicates <= 1 for t in trials) else 'NO'} |"
    )
    print(f"| messages never delivered | {lost} | 0 | {'yes' if lost == 0 else 'NO'} |")
    print(
        f"| the rest: delay after the restart, median / max | {statistics.median(rest):.1f} / {max(rest):.1f} s |"
        f" < 60 s | {'yes' if max(rest) < 60 else 'NO'} |"
    )
    print(
        f"| the message in flight: delay after the restart, median / max | {statistics.median(flight):.1f} /"
        f" {max(flight):.1f} s | <= claim timeout ({args.claim_timeout} s) + a tick | "
        f"{'yes' if max(flight) <= args.claim_timeout + 2 else 'NO'} |"
    )


if __name__ == "__main__":
    main()
