"""kill -9 of a `tracker run` in the middle of a send, then a restart: what the receiver got, and when.

Each trial queues `messages` alerts for one webhook channel in a fresh SQLite file, starts `command` (`run`,
`poll` or `run --once`), lets the receiver hold the first request (the message in flight), kills the process with
SIGKILL while it waits, restarts the same command at once and waits until every row is recorded sent (then stops a
`tracker run` with SIGTERM; `poll` and `run --once` exit by themselves). Used by tests/test_delivery_crash.py and
benchmarks/bench_crash.py (20, with a table).
"""

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tests.support.holding import HoldingReceiver
from tests.support.queued import opened, outbox_config, queue
from tests.support.running import Tracker
from tests.support.waiting import wait_until
from tracker.notify.channels import IDEMPOTENCY_HEADER
from tracker.store.db import session_scope
from tracker.store.outbox import deliveries

NOW = "2021-11-19T08:00:00Z"


@dataclass(frozen=True)
class Trial:
    messages: int
    delivered: int  # distinct messages the receiver got
    duplicates: int  # requests beyond one per message
    started: float  # seconds from the restart until the restarted service said it runs
    rest_delay: float  # seconds from the restart until the last message that was not in flight arrived
    in_flight_delay: float  # seconds from the restart until the message in flight at the kill arrived again


def crash_trial(folder: Path, messages: int, claim_timeout: int, command: tuple[str, ...] = ("run",)) -> Trial:
    folder.mkdir(parents=True, exist_ok=True)
    with HoldingReceiver() as receiver:
        config_file = outbox_config(
            folder, {"ops": f"json://127.0.0.1:{receiver.port}/ops"}, delivery=f"{{claim_timeout: {claim_timeout}s}}"
        )
        _config, engine = opened(config_file)
        queue(engine, "ops", messages, datetime.fromisoformat(NOW))
        receiver.hold(1)
        with Tracker(config_file, *command, now=NOW) as first:
            receiver.wait_for(1, timeout=60)  # the first message is in flight
            first.kill()
        restarted = time.monotonic()
        with Tracker(config_file, *command, now=NOW) as second:
            if command == ("run",):
                second.wait_for_line(lambda line: "channel sender" in line, timeout=60)
            started = time.monotonic() - restarted
            _wait_all_sent(engine, messages, timeout=claim_timeout + 60, tracker=second)
            if command == ("run",):
                second.terminate()
            second.wait(30)
        arrivals = receiver.arrivals
    keys = [post.headers.get(IDEMPOTENCY_HEADER) for _, post in arrivals]
    in_flight = keys[0]
    later = [(at - restarted, key) for (at, _), key in zip(arrivals[1:], keys[1:], strict=True)]
    return Trial(
        messages=messages,
        delivered=len(set(keys)),
        duplicates=sum(n - 1 for n in Counter(keys).values()),
        started=started,
        rest_delay=max((delay for delay, key in later if key != in_flight), default=0.0),
        in_flight_delay=max((delay for delay, key in later if key == in_flight), default=float("nan")),
    )


def _wait_all_sent(engine: object, messages: int, timeout: float, tracker: Tracker) -> None:
    def statuses() -> list[str]:
        with session_scope(engine) as session:  # type: ignore[arg-type]
            return [row.status for row, _ in deliveries(session)]

    try:
        wait_until(lambda: statuses().count("sent") == messages, timeout, "all sent")
    except AssertionError:
        raise AssertionError(f"not all sent within {timeout} s: {statuses()}\n{tracker.text}") from None
