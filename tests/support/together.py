"""Running work in threads that start at the same moment, as two processes sharing one database would."""

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def together(works: list[Callable[[], T]], timeout: float = 120.0) -> list[T]:
    """Run each callable in its own thread, released together by a barrier; their results, in no given order.
    Any exception in a thread is raised here (the first one), and a thread still running after `timeout` fails."""
    start = threading.Barrier(len(works), timeout=30)
    results: list[T] = []
    errors: list[BaseException] = []

    def run(work: Callable[[], T]) -> None:
        try:
            start.wait()
            results.append(work())
        except BaseException as error:  # raised in the test's thread below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(work,), daemon=True) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if errors:
        raise errors[0]
    assert not any(thread.is_alive() for thread in threads), f"a thread still runs after {timeout} s"
    return results
