"""Fetching pages: the only place an httpx client is built.

Timeouts, a clear user agent, a response size cap, conditional GET (ETag / Last-Modified, so an unchanged page
costs a 304 and no parse) and per-host politeness (a minimum gap between two requests to one host).

Two bounds on time: `timeout` is per network operation (connect, one read, one write), and `deadline` is the whole
fetch: connect, TLS, headers, every redirect hop and the whole body. A server trickling a page one byte a second
never trips a per-read timeout, so every socket operation of a fetch is given at most what is left of its deadline
(`_DeadlineBackend`, under httpcore's connection pool) and fails once it has passed.

Redirects are followed by hand, each hop checked: on the same host (same scheme and port, or http upgraded to
https) they are followed; to another host only when the source lists that host in `allow_hosts`; a downgrade
from https to http never. A vendor page that sends us elsewhere is not the vendor's word.

Errors (every one says whether retrying can help)::

    FetchError                 base; .permanent
     ├── FetchTimeout          no answer in time, or the fetch's deadline passed   (transient)
     ├── FetchConnectError     DNS, refused connection, TLS                        (transient)
     ├── FetchStatusError      4xx (permanent, but 408/429) or 5xx; 310 for too many redirects (.status)
     ├── RedirectRefused       a redirect to a host the source does not allow      (permanent)
     └── ResponseTooLarge      the body passed the size cap                        (permanent)

"Not modified" is a return value (`NotModified`), not an exception.
"""

import functools
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from urllib.request import getproxies  # httpx imports it anyway

_ABSENT = object()


@contextmanager
def _unimportable(name: str) -> Iterator[None]:
    """Inside the block `import name` fails at once; afterwards sys.modules is as it was.

    A None in sys.modules is the import system's documented way to say "not importable" (the language
    reference, "The module cache"); it is set for this block only, so nothing else in the process changes."""
    saved = sys.modules.get(name, _ABSENT)
    sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if saved is _ABSENT:
            del sys.modules[name]
        else:
            sys.modules[name] = saved  # type: ignore[assignment]


# httpx/__init__.py runs `from ._main import main` (httpx's own command line) in a try/except ImportError, and
# that imports click, rich and pygments whenever they are installed (typer and apprise install them): ~100 ms of a
# 0.45 s `tracker poll` of unchanged pages, for a command line the tracker never runs. So httpx is imported here,
# the only module that imports it, with `httpx._main` unimportable for that one import: httpx then keeps its stub
# `main`. In a process that imported httpx before (a test's client), this import is a no-op and changes nothing.
with _unimportable("httpx._main"):
    import httpx


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


class RedirectRefused(FetchError):
    """A redirect we do not follow: to another host (not in the source's `allow_hosts`), or from https to http."""

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
    url: str  # where the content came from: the last URL after redirects
    status: int
    content: bytes
    validators: Validators
    elapsed_ms: int
    redirected: bool = False  # `url` is not the URL asked for


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
    deadline: float = 60.0  # seconds for a whole fetch, body and redirects included


MAX_REDIRECTS = 5
NO_HOSTS: frozenset[str] = frozenset()


def build_client(settings: HttpSettings) -> httpx.Client:
    """The one HTTP client: timeouts, user agent, the deadline's transport; certificates verified against httpx's
    default CAs. Redirects are not followed by the client: `Fetcher` checks each hop. A proxy from the environment
    (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY; NO_PROXY's hosts go direct) carries the same deadline."""
    return httpx.Client(
        transport=_transport(),
        mounts=_proxy_mounts(),
        timeout=httpx.Timeout(settings.timeout),
        follow_redirects=False,
        headers={"User-Agent": settings.user_agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )


def _transport(proxy: str | None = None) -> httpx.HTTPTransport:
    """httpx's own transport (through `proxy` if given) whose sockets keep the fetch's deadline."""
    import httpcore  # lazy: httpx itself imports httpcore (~70 ms) only once a client is built; keep it so

    transport = httpx.HTTPTransport(verify=_tls_context(), proxy=proxy)
    # httpx has no option for httpcore's network backend; its transport's pool (a direct or a proxy one) opens
    # every connection through `_network_backend`: ours gives each socket operation what is left of the deadline.
    transport._pool._network_backend = _DeadlineBackend(httpcore.SyncBackend())
    return transport


def _proxy_mounts() -> dict[str, httpx.BaseTransport | None]:
    """What httpx would mount for the environment's proxies, on deadline transports: a client given its own
    transport no longer reads them itself."""
    found = getproxies()  # the same variables httpx reads, upper or lower case
    mounts: dict[str, httpx.BaseTransport | None] = {}
    for scheme in ("http", "https"):
        proxy = found.get(scheme) or found.get("all")
        if proxy:
            mounts[f"{scheme}://"] = _transport(proxy if "://" in proxy else f"http://{proxy}")
    if mounts:
        for host in filter(None, (h.strip() for h in found.get("no", "").split(","))):
            mounts["all://*" + host if host.startswith(".") else f"all://{host}"] = None  # reached directly
    return mounts


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
        self.pausing: str | None = None  # the URL whose host's politeness gap a request waits out now, if any

    def get(
        self, url: str, validators: Validators = Validators(), allow_hosts: frozenset[str] = NO_HOSTS
    ) -> Document | NotModified:
        """A conditional GET within the deadline; redirects to other hosts only to `allow_hosts`."""
        self._be_polite(url)
        started = self._monotonic()
        request = self._request(url, "GET", headers=validators.headers())
        with self._errors(url), self._final(request, allow_hosts) as response:
            elapsed = int((self._monotonic() - started) * 1000)
            if response.status_code == 304:
                return NotModified(url, _validators(response, validators), elapsed)
            if response.status_code >= 400:
                raise FetchStatusError(url, response.status_code)
            content = self._read_capped(url, response)
            elapsed = int((self._monotonic() - started) * 1000)
            redirected = response.url != request.url
            validators = _validators(response)
            return Document(str(response.url), response.status_code, content, validators, elapsed, redirected)

    def post_json(self, url: str, body: dict[str, object], allow_hosts: frozenset[str] = NO_HOSTS) -> bytes:
        """A JSON POST (Broadcom's advisory listing pages this way), size-capped like a GET; no caching."""
        self._be_polite(url)
        request = self._request(url, "POST", json=body, headers={"Accept": "application/json"})
        with self._errors(url), self._final(request, allow_hosts) as response:
            if response.status_code >= 400:
                raise FetchStatusError(url, response.status_code)
            return self._read_capped(url, response)

    def content(self, url: str, allow_hosts: frozenset[str] = NO_HOSTS) -> bytes:
        """A plain GET's body (the documents a depot index points to); errors raise FetchError."""
        answer = self.get(url, allow_hosts=allow_hosts)
        assert isinstance(answer, Document)  # no validators were sent, so never a 304
        return answer.content

    def _request(self, url: str, method: str, **options: Any) -> httpx.Request:
        try:
            return self._client.build_request(method, url, **options)
        except httpx.InvalidURL as error:
            raise FetchConnectError(url, f"cannot connect ({type(error).__name__}: {error})") from None

    @contextmanager
    def _final(self, request: httpx.Request, allow_hosts: frozenset[str]) -> Iterator[httpx.Response]:
        """The response at the end of the redirects, open for reading, all within one deadline."""
        with _deadline(self._settings.deadline):
            for _ in range(MAX_REDIRECTS + 1):
                response = self._client.send(request, stream=True)
                following = response.next_request  # set by httpx for a 3xx with a Location
                if following is None:
                    break
                response.close()
                _check_redirect(request.url, following.url, allow_hosts)
                request = following
            else:
                raise FetchStatusError(_bare(request.url), 310)  # too many redirects
            try:
                yield response
            finally:
                response.close()

    @contextmanager
    def _errors(self, url: str) -> Iterator[None]:
        """httpx's errors (and a passed deadline) as FetchErrors naming `url`."""
        try:
            yield
        except (DeadlinePassed, httpx.TimeoutException):
            if _DEADLINE.passed:
                raise FetchTimeout(url, f"not fetched within its {self._settings.deadline:g} s deadline") from None
            raise FetchTimeout(url, f"no answer within {self._settings.timeout:g} s") from None
        except (httpx.TransportError, httpx.InvalidURL) as error:
            raise FetchConnectError(url, f"cannot connect ({type(error).__name__}: {error})") from None
        finally:
            _DEADLINE.passed = False

    def _be_polite(self, url: str) -> None:
        host = urlsplit(url).netloc
        last = self._last_request.get(host)
        if last is not None:
            wait = self._settings.politeness_delay - (self._monotonic() - last)
            if wait > 0:
                self.pausing = url  # read by the fetch stage for its progress (a hint: no lock)
                try:
                    self._sleep(wait)
                finally:
                    self.pausing = None
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


# --- redirects ------------------------------------------------------------------------------------------------
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _check_redirect(current: httpx.URL, target: httpx.URL, allow_hosts: frozenset[str]) -> None:
    """Raise RedirectRefused unless the hop from `current` to `target` may be followed (module docstring)."""
    here, there = _origin(current), _origin(target)
    if current.scheme == "https" and target.scheme != "https":
        raise RedirectRefused(_bare(current), f"redirected from https to {target.scheme} ({there}); refused")
    upgraded = current.scheme == "http" and target.scheme == "https" and _host(current) == _host(target)
    if here == there or upgraded:
        return  # the same origin, or http upgraded to https on the same host
    if _host(target) in allow_hosts:
        return
    raise RedirectRefused(
        _bare(current),
        f"redirected from {here} to {there}, another host; not followed "
        f"(list {_host(target)!r} in the source's allow_hosts to follow it)",
    )


def _host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii").lower()


def _origin(url: httpx.URL) -> str:
    """`host` or `host:port` (when not the scheme's default): what a message may name, never credentials."""
    port = url.port or _DEFAULT_PORTS.get(url.scheme)
    host = _host(url)
    shown = f"[{host}]" if ":" in host else host
    return shown if port == _DEFAULT_PORTS.get(url.scheme) else f"{shown}:{port}"


def without_credentials(url: str) -> str:
    """`url` as evidence may show it: no user name, password or fragment (the query stays: it names the page)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=host, fragment="").geturl()


def _bare(url: httpx.URL) -> str:
    """The URL without credentials, query and fragment."""
    return f"{url.scheme}://{_origin(url)}{url.path}"


# --- the deadline ---------------------------------------------------------------------------------------------
class DeadlinePassed(Exception):
    """Raised inside httpcore by a socket operation started after its fetch's deadline (caught by `Fetcher`)."""


class _Deadline(threading.local):
    """The running fetch's deadline (a `time.monotonic()` instant), per thread: fetches run a few at once."""

    at: float | None = None
    passed: bool = False

    def left(self, timeout: float | None) -> float | None:
        """`timeout` shortened to what is left of the deadline; raise DeadlinePassed when nothing is."""
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            self.passed = True
            raise DeadlinePassed("the fetch's deadline passed")
        if timeout is None or left < timeout:
            self.passed = True  # if this operation times out, the deadline is why
            return left
        return timeout


_DEADLINE = _Deadline()


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    _DEADLINE.at, _DEADLINE.passed = time.monotonic() + seconds, False
    try:
        yield
    finally:
        _DEADLINE.at = None


if TYPE_CHECKING:
    from httpcore import NetworkBackend as _Backend
    from httpcore import NetworkStream as _Stream
else:  # httpcore loads with the first client (build_client); these only need its duck types until then
    _Backend = _Stream = object


class _DeadlineBackend(_Backend):
    """httpcore's sync backend whose connects and streams keep the calling thread's deadline."""

    def __init__(self, inner: "_Backend") -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> "_Stream":
        left = _DEADLINE.left(timeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, left, local_address, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineStream(_Stream):
    def __init__(self, inner: "_Stream") -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _DEADLINE.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _DEADLINE.left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> "_Stream":
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _DEADLINE.left(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)
