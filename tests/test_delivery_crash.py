"""At most one duplicate per crash, the message in flight: a `tracker run` killed with SIGKILL while a receiver
holds its request, then restarted, re-sends that one message and sends every other once, at once (they were never
claimed). benchmarks/bench_crash.py runs 20 such trials and prints the delays."""

from pathlib import Path

from tests.support.crash import crash_trial

TRIALS = 2
MESSAGES = 4
CLAIM_TIMEOUT = 15  # seconds the dead sender's claim holds the message in flight: longer than a restart takes


def test_a_sender_killed_mid_send_causes_at_most_one_duplicate_and_delays_only_the_message_in_flight(
    tmp_path: Path,
):
    trials = [crash_trial(tmp_path / f"trial-{n}", MESSAGES, CLAIM_TIMEOUT) for n in range(TRIALS)]

    for trial in trials:
        assert trial.delivered == MESSAGES, trial  # every message arrived
        assert trial.duplicates <= 1, trial  # at most the one in flight, twice
        assert trial.rest_delay < trial.in_flight_delay, trial  # the rest went out at once, before its claim went stale
