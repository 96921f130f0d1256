"""The fetch stage: the planned pages through the one HTTP seam (tracker/http.py). Single-document pages are
fetched a few at once when no politeness gap is configured (one at a time, spaced, otherwise); a multi-document
kind (the depot, paged advisory listings) reads its further documents now, so every answer is in hand before the
database is touched. A failure is an answer, not an exception.

`between`, when given, is called in the caller's thread between two requests (a cycle renews its poll lease
there: a batch of pages one second apart can outlast the lease); what it raises stops the fetch."""

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

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


Answer = Document | NotModified | FetchError | Collected
Between = Callable[[], None]
PARALLEL_REQUESTS = 4  # small listen backlogs drop more than this at once


@dataclass(frozen=True)
class FetchStage:
    fetcher: Fetcher
    parallel: bool  # no politeness gap asked for
    allow_hosts: Mapping[str, frozenset[str]] = field(default_factory=dict)  # by source id; pages it follows too

    def fetch(self, pages: Iterable[Planned], between: Between = lambda: None) -> dict[str, Answer]:
        planned = list(pages)
        answers: dict[str, Answer] = {}
        if not self.parallel or len(planned) < 2:
            for page in planned:
                answers[page.id] = self.one(page, between)
                between()
            return answers
        with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:
            for page, answer in zip(planned, pool.map(self.one, planned), strict=True):
                answers[page.id] = answer
                between()  # as each answer comes in, here in the caller's thread
        return answers

    def one(self, page: Planned, between: Between = lambda: None) -> Answer:
        """One page; a multi-document kind's further documents too, with `between` before each of them."""
        allowed = self.allow_hosts.get(page.parent_id or page.id, NO_HOSTS)
        try:
            answer = self.fetcher.get(page.url, page.validators, allowed)
        except FetchError as error:
            return error
        if not page.multi_document or not isinstance(answer, Document):
            return answer
        try:
            kind = REGISTRY[page.kind]
            fetch = _KindFetch(self, between, allowed)
            result = kind.collect(answer.content, url=answer.url, product=Product(page.product), fetch=fetch)
        except FetchError as error:
            return error
        return Collected(answer, result)


@dataclass(frozen=True)
class _KindFetch:
    """The further documents a multi-document kind asks for (tracker.sources.Fetch), through the cycle's polite,
    size-capped fetcher."""

    stage: FetchStage
    between: Between
    allow_hosts: frozenset[str]

    def get(self, url: str) -> bytes:
        self.between()
        return self.stage.fetcher.content(url, self.allow_hosts)

    def post_json(self, url: str, body: dict[str, object]) -> bytes:
        self.between()
        return self.stage.fetcher.post_json(url, body, self.allow_hosts)
