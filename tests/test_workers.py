"""A worker of `tracker run` outlives any error: said once, backed off with a cap; an outage is said once."""

from sqlalchemy.exc import OperationalError

from tracker.workers import MAX_BACKOFF, Guard, Outage


def fail(error: Exception):
    def work() -> None:
        raise error

    return work


def test_a_failing_worker_says_its_error_once_backs_off_doubling_up_to_the_cap_and_says_when_it_works_again():
    said: list[str] = []
    guard = Guard("digest", 1.0, Outage(said.append), said.append)
    delays = [guard.run(fail(ValueError("no such channel"))) for _ in range(8)]
    assert delays == [2.0, 4.0, 8.0, 16.0, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]
    assert said == ["digest failed: ValueError: no such channel; retrying, backing off"]
    assert guard.run(lambda: None) == 1.0
    assert said[-1] == "digest: working again after 8 failed tries"


def test_a_database_outage_is_one_line_for_every_worker_when_it_starts_and_one_when_it_ends():
    said: list[str] = []
    clock = iter([100.0, 170.0])
    outage = Outage(said.append, clock=lambda: next(clock))
    workers = [Guard(name, 1.0, outage, said.append) for name in ("poll", "digest", "sender ops")]
    down = OperationalError("SELECT 1", {}, Exception('connection to server at "db", port 5432 failed'))
    for _ in range(3):
        for worker in workers:
            worker.run(fail(down))
    for worker in workers:
        worker.run(lambda: None)
    assert said == [
        'database unreachable: connection to server at "db", port 5432 failed; the workers retry, backing off',
        "database back after 70 s",
    ]
