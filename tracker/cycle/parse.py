"""The parse stage: every fetch answer becomes one `PageResult` (the page, what was seen on it, what its fetch
cost), the one shape the decide and record stages take. `parsing()` owns the whole stage: the worker processes, the
multi-document kinds' results (read by their `collect` as the fetch stage got their further documents) and the
inline parse. Pages are parsed inline, or, when a cycle fetched many changed pages, in worker processes while the
main process gets its database ready.

Parsing is CPU work in Python row loops (the GIL is held), so threads cannot share it; processes can. When a cycle
fetched many changed pages at once (a first poll of a big config: 50 KB-shaped pages take ~1 s to parse on one
core), the cycle hands them to `start()` before it even imports SQLAlchemy. The workers parse on the other
cores while the main process opens and migrates the database, then diffs and stores each page as its result
arrives, in the cycle's order. The results are the very `ParseResult`s the inline parse gives (pickled back).

Small cycles, and machines with one core, parse inline: starting a process costs more than it saves there.
Anything wrong with the pool (a worker killed, a process that cannot start) falls back to the inline parse; an
exception raised by a parser is raised again, exactly as inline.
"""

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.cycle.fetch import Answer, Collected
from tracker.cycle.plan import Planned
from tracker.domain.observations import ParseResult
from tracker.domain.outcomes import Failed, Observation, Unchanged
from tracker.domain.versions import Product
from tracker.http import Document, FetchError, NotModified, Validators, without_credentials
from tracker.sources import REGISTRY

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger(__name__)

MIN_BYTES = 2_000_000  # below this much content the inline parse is cheaper than starting a worker
MAX_WORKERS = 4


@dataclass(frozen=True)
class Fetched:
    """What the record stage keeps of a page's fetch."""

    status: int | None = None  # None: no answer (an error)
    elapsed_ms: int = 0
    bytes: int = 0
    validators: Validators | None = None  # the document's: the reference for the next conditional GET, if trusted


@dataclass(frozen=True)
class PageResult:
    """One page of the cycle, fetched and read: an error, an unchanged page (304), or what its page listed."""

    page: Planned
    seen: Observation
    fetched: Fetched = Fetched()

    @property
    def parsed(self) -> ParseResult | None:
        return self.seen if isinstance(self.seen, ParseResult) else None


Mask = Callable[[str], str]


@dataclass
class Reader:
    """Reads each fetch answer into a `PageResult`: a worker's parse when one was started for the page, the
    multi-document kind's collected result, or the inline parse. Errors and redirected URLs are masked (`mask`):
    evidence names where a page was read, without credentials or secrets."""

    pool: "Preparsed"
    mask: Mask

    def read(self, page: Planned, answer: Answer) -> PageResult:
        if isinstance(answer, FetchError):
            return PageResult(page, Failed(self.mask(str(answer))))
        if isinstance(answer, NotModified):
            return PageResult(page, Unchanged(), Fetched(304, answer.elapsed_ms))
        document, result = (answer.root, answer.result) if isinstance(answer, Collected) else (answer, None)
        if result is None:
            result = self.pool.take(page.id) or _parse(page.kind, document.content, document.url, page.product)
        if document.redirected:
            result = replace(result, url=self.mask(without_credentials(document.url)))
        fetched = Fetched(document.status, document.elapsed_ms, len(document.content), document.validators)
        return PageResult(page, result, fetched)

    def discard(self, page_id: str) -> None:
        """Forget the parse started for this page (it is fetched again, from another URL)."""
        self.pool.discard(page_id)

    def forget(self) -> None:
        """Drop every parse under way: the pages are fetched again (another cycle ran meanwhile)."""
        self.pool.close()
        self.pool = Preparsed()


@contextmanager
def parsing(pages: Iterable[Planned], answers: Mapping[str, Answer], mask: Mask) -> Iterator[Reader]:
    """The parse stage of one cycle: worker processes start now for many changed pages (`start`), and are gone
    when the block ends, whatever happens in it."""
    reader = Reader(start(pages, answers), mask)
    try:
        yield reader
    finally:
        reader.pool.close()


@dataclass
class Preparsed:
    """Parse results on their way, by source id; `take` waits for one."""

    executor: "ProcessPoolExecutor | None" = None
    futures: dict[str, Future[ParseResult]] = field(default_factory=dict)

    def take(self, source_id: str) -> ParseResult | None:
        """The worker's result for the page prefetched for this source, or None: parse it inline (not submitted,
        or the pool broke)."""
        future = self.futures.pop(source_id, None)
        if future is None:
            return None
        from concurrent.futures.process import BrokenProcessPool  # lazy: loaded with the pool only (start-up time)

        try:
            return future.result()
        except (BrokenProcessPool, OSError) as error:
            log.warning("parsing in a worker process failed (%s); parsing inline", type(error).__name__)
            return None

    def discard(self, source_id: str) -> None:
        """Forget the page submitted for this source (it is fetched again from another URL)."""
        future = self.futures.pop(source_id, None)
        if future is not None:
            future.cancel()

    def close(self) -> None:
        self.futures.clear()
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
            _stop_resource_tracker()


def _orphan_guard(parent: int) -> None:
    """In each worker: exit as soon as the process that started it is gone (killed, or stopped without closing its
    pool), so no worker, nor the resource tracker waiting on them, outlives the tracker."""
    import threading  # lazy: in the worker only
    import time  # lazy: in the worker only

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="orphan guard", daemon=True).start()


def _stop_resource_tracker() -> None:
    """The spawned pool's semaphores went with it, so the resource tracker process that watched them (a whole
    interpreter, ~13 MiB of a long-running service's memory) need not outlive it; the next pool starts another.
    The semaphores are collected first: one finalized after the stop would start a new tracker to unregister it."""
    import gc  # lazy: only once a pool ran
    from multiprocessing import resource_tracker  # lazy: only once a pool ran

    gc.collect()
    stop = getattr(resource_tracker._resource_tracker, "_stop", None)  # CPython's, since 3.8; absent: keep it
    if stop is not None:
        stop()


def workers() -> int:
    """Worker processes to use: one core stays with the main process. Cores are those this process may run on,
    capped by a container's CPU quota (a `--cpus 1` container on a big host has one core to give, not 64)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = _cpu_quota()
    if quota is not None:
        cores = min(cores, max(1, int(quota)))
    return max(0, min(cores - 1, MAX_WORKERS))


def _cpu_quota(cgroup: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs the cgroup may use (cgroup v2 `cpu.max`, or v1's CFS quota), or None when unlimited or unknown."""
    try:
        if (cgroup / "cpu.max").exists():
            quota, period = (cgroup / "cpu.max").read_text().split()[:2]
        else:
            quota = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text().strip()
        if quota in ("max", "-1"):
            return None
        return int(quota) / int(period)
    except (OSError, ValueError):
        return None


def start(pages: Iterable[Planned], answers: Mapping[str, object]) -> Preparsed:
    """Submit the changed single-document pages, when there is enough to parse."""
    kinds = {p.id: p for p in pages if not p.multi_document}
    jobs = [(sid, doc) for sid, doc in answers.items() if sid in kinds and isinstance(doc, Document)]
    count = workers()
    if count == 0 or not jobs or sum(len(doc.content) for _, doc in jobs) < MIN_BYTES:
        return Preparsed()
    import multiprocessing  # lazy: these three load only when a pool is worth starting (start-up time)
    from concurrent.futures import ProcessPoolExecutor  # lazy: see above
    from concurrent.futures.process import BrokenProcessPool  # lazy: see above

    executor = None
    futures = {}
    try:
        # spawn: a fresh interpreter, safe whatever threads this process has; it boots while we import SQLAlchemy.
        context = multiprocessing.get_context("spawn")
        executor = ProcessPoolExecutor(
            max_workers=min(count, len(jobs)), mp_context=context, initializer=_orphan_guard, initargs=(os.getpid(),)
        )
        for sid, doc in jobs:
            page = kinds[sid]
            futures[sid] = executor.submit(_parse, page.kind, doc.content, doc.url, page.product)
    except (BrokenProcessPool, OSError, RuntimeError, ImportError) as error:  # no sem_open, no /dev/shm, ...
        log.warning("cannot start parser processes (%s); parsing inline", type(error).__name__)
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        return Preparsed()
    return Preparsed(executor, futures)


def _parse(kind: str, content: bytes, url: str, product: str) -> ParseResult:
    """The parse of one page: inline, and in the worker (the very same call)."""
    return REGISTRY[kind].parse(content, url=url, product=Product(product))
