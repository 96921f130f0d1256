"""Fetching pages: the only place an httpx client is built.

Timeouts, a clear user agent, redirects followed, a response size cap, conditional GET (ETag / Last-Modified, so an
unchanged page costs a 304 and no parse) and per-host politeness (a minimum gap between two requests to one host).

Errors (every one says whether retrying can help)::

    FetchError                 base; .permanent
     ├── FetchTimeout          the server did not answer in time            (transient)
     ├── FetchConnectError     DNS, refused connection, TLS                 (transient)
     ├── FetchStatusError      4xx (permanent, but 408/429) or 5xx          (.status)
     └── ResponseTooLarge      the body passed the size cap                 (permanent)

"Not modified" is a return value (`NotModified`), not an exception.
"""

import functools
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

# `import httpx` also imports httpx's own command line (click, rich, pygments: ~90 ms, a seventh of a poll of
# unchanged pages) whenever those are installed, and apprise and typer install them. The tracker never runs that
# command line: a None in sys.modules makes its import fail at once, and httpx falls back to a stub `main`. This
# module is the only one that imports httpx, so it runs before httpx is first imported.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
import httpx  # noqa: E402


class FetchError(Exception):
    permanent = False

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url


class FetchTimeout(FetchError):
    pass


class FetchConnectError(FetchError):
    pass


class FetchStatusError(FetchError):
    def __init__(self, url: str, status: int) -> None:
        super().__init__(url, f"HTTP {status}")
        self.status = status
        self.permanent = 400 <= status < 500 and status not in (408, 429)


class ResponseTooLarge(FetchError):
    permanent = True


@dataclass(frozen=True)
class Validators:
    """What the server gave us to ask "has it changed?" next time."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class Document:
    url: str
    status: int
    content: bytes
    validators: Validators
    elapsed_ms: int


@dataclass(frozen=True)
class NotModified:
    url: str
    validators: Validators
    elapsed_ms: int


@dataclass(frozen=True)
class HttpSettings:
    user_agent: str
    timeout: float = 20.0
    max_bytes: int = 10_000_000
    politeness_delay: float = 1.0


def build_client(settings: HttpSettings) -> httpx.Client:
    """The one HTTP client: timeouts, user agent, redirects; certificates verified against httpx's default CAs."""
    return httpx.Client(
        verify=_tls_context(),
        timeout=httpx.Timeout(settings.timeout),
        follow_redirects=True,
        max_redirects=5,
        headers={"User-Agent": settings.user_agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, made once per process: loading the CA bundle costs ~50 ms, and a cycle
    builds more than one client (the quick path's, the full path's; one per cycle of `tracker run`)."""
    return httpx.create_ssl_context()


class Fetcher:
    """Conditional, size-capped, polite GETs through one client."""

    def __init__(
        self,
        client: httpx.Client,
        settings: HttpSettings,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client, self._settings = client, settings
        self._sleep, self._monotonic = sleep, monotonic
        self._last_request: dict[str, float] = {}

    def get(self, url: str, validators: Validators = Validators()) -> Document | NotModified:
        self._be_polite(url)
        started = self._monotonic()
        try:
            with self._client.stream("GET", url, headers=validators.headers()) as response:
                elapsed = int((self._monotonic() - started) * 1000)
                if response.status_code == 304:
                    return NotModified(url, _validators(response, validators), elapsed)
                if response.status_code >= 400:
                    raise FetchStatusError(url, response.status_code)
                content = self._read_capped(url, response)
                elapsed = int((self._monotonic() - started) * 1000)
                return Document(str(response.url), response.status_code, content, _validators(response), elapsed)
        except httpx.TimeoutException:
            raise FetchTimeout(url, f"no answer within {self._settings.timeout:g} s") from None
        except httpx.TooManyRedirects:
            raise FetchStatusError(url, 310) from None
        except (httpx.TransportError, httpx.InvalidURL) as error:
            raise FetchConnectError(url, f"cannot connect ({type(error).__name__}: {error})") from None

    def post_json(self, url: str, body: dict[str, object]) -> bytes:
        """A JSON POST (Broadcom's advisory listing pages this way), size-capped like a GET; no caching."""
        self._be_polite(url)
        try:
            with self._client.stream("POST", url, json=body, headers={"Accept": "application/json"}) as response:
                if response.status_code >= 400:
                    raise FetchStatusError(url, response.status_code)
                return self._read_capped(url, response)
        except httpx.TimeoutException:
            raise FetchTimeout(url, f"no answer within {self._settings.timeout:g} s") from None
        except (httpx.TransportError, httpx.InvalidURL) as error:
            raise FetchConnectError(url, f"cannot connect ({type(error).__name__}: {error})") from None

    def content(self, url: str) -> bytes:
        """A plain GET's body (the documents a depot index points to); errors raise FetchError."""
        answer = self.get(url)
        assert isinstance(answer, Document)  # no validators were sent, so never a 304
        return answer.content

    def _be_polite(self, url: str) -> None:
        host = urlsplit(url).netloc
        last = self._last_request.get(host)
        if last is not None:
            wait = self._settings.politeness_delay - (self._monotonic() - last)
            if wait > 0:
                self._sleep(wait)
        self._last_request[host] = self._monotonic()

    def _read_capped(self, url: str, response: httpx.Response) -> bytes:
        cap = self._settings.max_bytes
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise ResponseTooLarge(url, f"the response declares {int(declared):,} bytes, more than the {cap:,} cap")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise ResponseTooLarge(url, f"the response passed the {cap:,} byte cap")
            chunks.append(chunk)
        return b"".join(chunks)


def _validators(response: httpx.Response, previous: Validators = Validators()) -> Validators:
    return Validators(
        etag=response.headers.get("ETag") or previous.etag,
        last_modified=response.headers.get("Last-Modified") or previous.last_modified,
    )
