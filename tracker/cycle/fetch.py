"""The fetch stage: the planned pages through the one HTTP seam (tracker/http.py). Single-document pages are
fetched a few at once when no politeness gap is configured (one at a time, spaced, otherwise); a multi-document
kind (the depot, paged advisory listings) reads its further documents now, so every answer is in hand before the
database is touched. A failure is an answer, not an exception.

The cycle has a deadline (`service.cycle_deadline`): a page whose answer is not in when it passes is abandoned for
this cycle, and its answer is a `MissedDeadline` error, recorded like any other. Pages are fetched on daemon threads
while the caller waits for their answers, so an abandoned fetch (a server trickling its page a byte at a time) holds
up neither the cycle nor the process's exit; its late answer is dropped, and it starts no further request.

`between`, when given, is called in the caller's thread as each answer comes in and at least every second while
it waits (a cycle renews its poll lease there: one slow page can outlast the lease); what it raises stops the fetch.
The stage's `watch`, when given, hears at the same moments how far the cycle's fetches are (`Fetching`: pages planned
and fetched so far, the host being fetched or waited on); it shows them (the CLI's progress line), the stage never
prints.
"""

import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tracker.cycle.plan import Planned
from tracker.domain.observations import ParseResult
from tracker.domain.versions import Product
from tracker.http import NO_HOSTS, Document, Fetcher, FetchError, NotModified
from tracker.sources import REGISTRY


@dataclass(frozen=True)
class Collected:
    """A multi-document kind's root document and what its parts, read with it, said."""

    root: Document
    result: ParseResult


class MissedDeadline(FetchError):
    """The page's answer was not in when the cycle's deadline passed (transient: the next cycle tries again)."""


@dataclass(frozen=True)
class Fetching:
    """How far a cycle's fetches are. The counts run over the whole cycle: the release notes followed from KB rows
    join `planned` as they are found."""

    planned: int
    fetched: int  # pages whose answer is in (an error is an answer)
    host: str | None = None  # the host a page is fetched from now; None when none is under way
    pausing: bool = False  # the fetch waits out the politeness delay of `host` before asking it


Answer = Document | NotModified | FetchError | Collected
Between = Callable[[], None]
Heard = Callable[[Answer], None]
Watch = Callable[[Fetching], None]
PARALLEL_REQUESTS = 4  # small listen backlogs drop more than this at once
WAKE_EVERY = 1.0  # seconds: how often the caller's `between` runs while it waits for a slow page


@dataclass
class Deadline:
    """When the cycle stops waiting for pages: `seconds` after it began (or began again, after waiting for another
    process's cycle). The monotonic clock: the deadline is about time spent, not about the catalog's time."""

    seconds: float
    at: float = field(init=False)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        self.at = time.monotonic() + self.seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    @property
    def passed(self) -> bool:
        return self.remaining() <= 0

    def missed(self, url: str) -> MissedDeadline:
        return MissedDeadline(url, f"missed the cycle's deadline of {self.seconds:g} s")


NO_DEADLINE = 365 * 86400.0


@dataclass
class _Tally:
    """The pages a stage was asked for and those answered, over every `fetch` call of its cycle."""

    planned: int = 0
    fetched: int = 0


@dataclass(frozen=True)
class FetchStage:
    fetcher: Fetcher
    parallel: bool  # no politeness gap asked for
    deadline: Deadline = field(default_factory=lambda: Deadline(NO_DEADLINE))
    allow_hosts: Mapping[str, frozenset[str]] = field(default_factory=dict)  # by source id; pages it follows too
    watch: Watch | None = None
    tally: _Tally = field(default_factory=_Tally, compare=False)

    def fetch(
        self, pages: Iterable[Planned], between: Between = lambda: None, heard: "Heard | None" = None
    ) -> dict[str, Answer]:
        """Every page's answer, in the plan's order; those not in by the deadline are `MissedDeadline`. `heard`,
        when given, is called with each answer as it comes in, in the caller's thread, while the other pages are
        still fetched (the engine readies the full path there as soon as a page has changed)."""
        planned = list(pages)
        answers: dict[str, Answer] = {}
        if planned and not self.deadline.passed:
            self.tally.planned += len(planned)
            batch = _Batch(self, planned, PARALLEL_REQUESTS if self.parallel else 1)
            try:
                batch.collect(answers, between, heard)
            finally:
                batch.abandon()
        return {p.id: answers[p.id] if p.id in answers else self.deadline.missed(p.url) for p in planned}

    def one(self, page: Planned) -> Answer:
        """One page, within the cycle's deadline."""
        return self.fetch([page])[page.id]

    def get(self, page: Planned) -> Answer:
        """One page now, in this thread; a multi-document kind's further documents too."""
        allowed = self.allow_hosts.get(page.parent_id or page.id, NO_HOSTS)
        try:
            answer = self.fetcher.get(page.url, page.validators, allowed)
        except FetchError as error:
            return error
        if not page.multi_document or not isinstance(answer, Document):
            return answer
        try:
            kind = REGISTRY[page.kind]
            fetch = _KindFetch(self, allowed)
            result = kind.collect(answer.content, url=answer.url, product=Product(page.product), fetch=fetch)
        except FetchError as error:
            return error
        return Collected(answer, result)


@dataclass(frozen=True)
class _Raised:
    """What a fetch thread raised (not a FetchError: a bug, or a parser's error in a multi-document kind), raised
    again in the caller's thread, as it was before fetches ran on threads."""

    error: BaseException


class _Batch:
    """One `fetch` call's pages, taken in the plan's order by `workers` daemon threads; their answers queue up
    for the caller. Once abandoned, no thread starts another page, and what they still answer is dropped."""

    def __init__(self, stage: FetchStage, pages: list[Planned], workers: int) -> None:
        self.stage = stage
        self.todo: queue.SimpleQueue[Planned] = queue.SimpleQueue()
        self.done: queue.SimpleQueue[tuple[str, Answer | _Raised]] = queue.SimpleQueue()
        self.abandoned = threading.Event()
        self.current: str | None = None  # the URL of the page a thread took last (what the watcher is told)
        for page in pages:
            self.todo.put(page)
        self.expected = len(pages)
        for _ in range(min(workers, len(pages))):
            threading.Thread(target=self._work, name="tracker-fetch", daemon=True).start()

    def _work(self) -> None:
        while not self.abandoned.is_set() and not self.stage.deadline.passed:
            try:
                page = self.todo.get_nowait()
            except queue.Empty:
                return
            self.current = page.url
            try:
                answer: Answer | _Raised = self.stage.get(page)
            except BaseException as error:  # handed to the caller, not lost in a thread
                answer = _Raised(error)
            self.done.put((page.id, answer))

    def collect(self, answers: dict[str, Answer], between: Between, heard: "Heard | None" = None) -> None:
        """Wait for the answers until all are in or the deadline passes, calling `between` as they come."""
        while len(answers) < self.expected:
            wait = min(WAKE_EVERY, self.stage.deadline.remaining())
            if wait <= 0:
                return
            try:
                page_id, answer = self.done.get(timeout=wait)
            except queue.Empty:
                self._tell(under_way=True)
                between()
                continue
            if isinstance(answer, _Raised):
                raise answer.error
            answers[page_id] = answer
            if heard is not None:
                heard(answer)
            self.stage.tally.fetched += 1
            self._tell(under_way=len(answers) < self.expected)
            between()

    def abandon(self) -> None:
        self.abandoned.set()

    def _tell(self, under_way: bool) -> None:
        """The stage's watcher hears how far the fetches are (in the caller's thread, like `between`)."""
        stage = self.stage
        if stage.watch is None:
            return
        pausing = stage.fetcher.pausing if under_way else None  # a multi-document kind's further document, too
        url = pausing or (self.current if under_way else None)
        host = urlsplit(url).hostname if url else None  # never the credentials a URL may carry
        stage.watch(Fetching(stage.tally.planned, stage.tally.fetched, host, pausing is not None))


@dataclass(frozen=True)
class _KindFetch:
    """The further documents a multi-document kind asks for (tracker.sources.Fetch), through the cycle's polite,
    size-capped fetcher; none once the cycle's deadline has passed."""

    stage: FetchStage
    allow_hosts: frozenset[str]

    def get(self, url: str) -> bytes:
        self._in_time(url)
        return self.stage.fetcher.content(url, self.allow_hosts)

    def post_json(self, url: str, body: dict[str, object]) -> bytes:
        self._in_time(url)
        return self.stage.fetcher.post_json(url, body, self.allow_hosts)

    def _in_time(self, url: str) -> None:
        if self.stage.deadline.passed:
            raise self.stage.deadline.missed(url)
