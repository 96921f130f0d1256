"""At most one duplicate per crash, none lost, and no wait: a `tracker run`, `tracker poll` or `tracker run --once`
killed with SIGKILL while a receiver holds its request, then restarted at once on the same host, re-sends the
message that was in flight at once (its claim names a process that is gone, so it is free) and every other once.
benchmarks/bench_crash.py runs 20 such trials and prints the delays."""

from pathlib import Path

import pytest

from tests.support.crash import crash_trial

MESSAGES = 4
CLAIM_TIMEOUT = 60  # seconds a claim holds: a restart must not wait for it


@pytest.mark.parametrize("command", [("run",), ("poll",), ("run", "--once")], ids=["run", "poll", "run-once"])
def test_a_process_killed_mid_send_and_restarted_delivers_everything_at_once_with_at_most_one_duplicate(
    tmp_path: Path, command: tuple[str, ...]
):
    trial = crash_trial(tmp_path, MESSAGES, CLAIM_TIMEOUT, command)
    assert trial.delivered == MESSAGES, trial  # every message arrived
    assert trial.duplicates <= 1, trial  # at most the one in flight, twice
    assert trial.in_flight_delay < CLAIM_TIMEOUT / 2, trial  # freed at once, not when its claim went stale
