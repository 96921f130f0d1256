"""Sending through apprise: the only module that imports it, lazily (loading its plugins takes ~0.4 s).

`deliver()` (and `send()`, for a list of URLs) builds one `apprise.Apprise` per URL, so each target's outcome is
known, and never raises:

    ok                  apprise reports SUCCESS
    permanent failure   apprise cannot load the URL, or nothing matched (NOMATCH): a configuration error
    transient failure   anything else (FAILURE, TIMEOUT, PARTIAL, an exception): the outbox tries again later

Each send has a deadline in all: apprise's own timeouts are per read, so a receiver that trickles its answer would
hold a plain call for ever. `start()` runs the send on a thread of its own (a daemon: a process that exits never
waits for it); `Sending.wait(deadline)` stops waiting at the deadline, and the late send's result is dropped.
Webhook targets that accept custom headers (json://, form://, xml://) get an `Idempotency-Key` header, the same on
every re-send of a message, so a receiver can drop a duplicate.

Secrets are the values that came from ${VAR} or a *_FILE. They are masked as `***` in `privacy()`, in every
`TargetOutcome`, and in every record the `apprise` and `urllib3` loggers emit while a call here runs: apprise logs
whole URLs and payloads at DEBUG, and its privacy form keeps `:key=value`, `+Header=value` and path tokens.
"""

import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from apprise.plugins.base import NotifyBase

MASK = "***"
SLACK_HOOKS = ("https://hooks.slack.com/", "https://hooks.slack-gov.com/")
_MASKED_LOGGERS = ("apprise", "urllib3.connectionpool")  # urllib3 logs request paths (Slack tokens) at DEBUG
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]{0,31})://")
_PROBLEMS = frozenset({"WARNING", "ERROR", "CRITICAL"})
DEADLINE = 30.0  # seconds one send may take in all, unless the caller says (config `delivery.deadline`)
IDEMPOTENCY_HEADER = "Idempotency-Key"
_HEADER_SCHEMES = frozenset({"json", "jsons", "form", "forms", "xml", "xmls"})  # apprise's `+Header=value`


@dataclass(frozen=True)
class TargetOutcome:
    target: str  # apprise's privacy form of the URL, secrets masked
    ok: bool
    permanent: bool
    error: str | None
    late: bool = False  # no answer within the deadline (the send may still be going on)


@dataclass(frozen=True)
class Outgoing:
    """One message as rendered for a target, and the key a receiver may drop a re-send by."""

    title: str
    body: str
    body_format: str  # "text", "markdown" or "html"
    idempotency_key: str | None = None


class Sending:
    """One send in flight on its own thread. `done` is set when it has an outcome (or by whoever wants the waiter
    woken early, e.g. a worker told to stop)."""

    def __init__(self, url: str, message: Outgoing, secrets: Sequence[str]) -> None:
        self.target = _shown(url, secrets)
        self.done = threading.Event()
        self.outcome: TargetOutcome | None = None
        self._thread = threading.Thread(
            target=self._run, args=(url, message, secrets), name=f"send {self.target}", daemon=True
        )
        self._thread.start()

    def _run(self, url: str, message: Outgoing, secrets: Sequence[str]) -> None:
        self.outcome = _send_one(url, message, secrets)
        self.done.set()

    def wait(self, deadline: float) -> TargetOutcome | None:
        """The outcome, or None when there is none after `deadline` seconds (or `done` was set early)."""
        self.done.wait(deadline)
        return self.outcome


def start(url: str, message: Outgoing, secrets: Sequence[str] = ()) -> Sending:
    """Begin sending `message` to one URL, on a thread of its own."""
    return Sending(url, message, secrets)


def too_late(target: str, deadline: float) -> TargetOutcome:
    """The outcome of a send that missed its deadline: a transient failure, tried again later."""
    error = f"no answer within the delivery deadline ({deadline:g} s): cut off"
    return TargetOutcome(target, False, False, error, late=True)


def deliver(url: str, message: Outgoing, secrets: Sequence[str] = (), deadline: float = DEADLINE) -> TargetOutcome:
    """Send one message to one URL, waiting at most `deadline` seconds. Never raises."""
    sending = start(url, message, secrets)
    return sending.wait(deadline) or too_late(sending.target, deadline)


def send(
    urls: Sequence[str], title: str, body: str, body_format: str, secrets: Sequence[str] = ()
) -> list[TargetOutcome]:
    """Send one message to each URL in turn, each within DEADLINE; one outcome per URL, in order. Never raises."""
    return [deliver(url, Outgoing(title, body, body_format), secrets) for url in urls]


def with_idempotency_key(url: str, key: str | None) -> str:
    """The URL with an `Idempotency-Key: key` header where the target takes custom headers; else the URL as is."""
    if not key or _scheme(url) not in _HEADER_SCHEMES:
        return url
    base, hash_, fragment = url.partition("#")
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}+{IDEMPOTENCY_HEADER}={quote(key, safe='')}{hash_}{fragment}"


def privacy(url: str, secrets: Sequence[str] = ()) -> str:
    """How a URL may be shown: apprise's privacy form with every secret masked; `<scheme>://***` if unloadable."""
    with _masking(secrets):
        plugin = _load(url)
        # apprise ships py.typed, but NotifyBase.url() has no annotations.
        shown = plugin.url(privacy=True) if plugin is not None else None  # type: ignore[no-untyped-call]
    return mask(str(shown or f"{_scheme(url)}://{MASK}"), secrets)


def validate(url: str, secrets: Sequence[str] = ()) -> str | None:
    """None when apprise can load the URL, else a short reason (secrets and the URL itself masked)."""
    with _masking(secrets), _captured() as messages:
        plugin = _load(url)
    if plugin is not None:
        return None
    return _clean("; ".join(messages) or "apprise cannot load this URL", url, secrets)


def body_kind(url: str) -> str:
    """Which template fits a URL: "slack", "email", or "text" for everything else (json://, form://, teams ...)."""
    lowered = url.strip().lower()
    scheme = lowered.partition("://")[0]
    if scheme == "slack" or lowered.startswith(SLACK_HOOKS):
        return "slack"
    return "email" if scheme in ("mailto", "mailtos") else "text"


def mask(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret, raw or URL-encoded, replaced by `***`."""
    for form in sorted(_forms(secrets), key=len, reverse=True):
        text = text.replace(form, MASK)
    return text


# --- one target -----------------------------------------------------------------------------------------------


def _shown(url: str, secrets: Sequence[str]) -> str:
    try:
        return privacy(url, secrets)
    except Exception:  # a plugin bug while showing the URL: still never the caller's crash
        return f"{_scheme(url)}://{MASK}"


def _send_one(url: str, message: Outgoing, secrets: Sequence[str]) -> TargetOutcome:
    target = f"{_scheme(url)}://{MASK}"
    keyed = with_idempotency_key(url, message.idempotency_key)
    try:
        target = privacy(url, secrets)
        with _masking(secrets):
            return _notify(keyed, target, message, secrets)  # apprise only ever sees the keyed URL
    except Exception as error:  # a plugin bug is this target's transient failure, never the caller's crash
        return TargetOutcome(target, False, False, _clean(f"{type(error).__name__}: {error}", keyed, secrets))


def _notify(url: str, target: str, message: Outgoing, secrets: Sequence[str]) -> TargetOutcome:
    import apprise  # lazy: apprise takes 0.5 s to import; only a send loads it, never an idle `tracker run`

    # The send runs on this (daemon) thread: no async mode, no `service_timeout` (apprise 2.3 enforces that one by
    # sending on its shared pool, whose non-daemon workers the interpreter joins at exit: a hung receiver would
    # keep the process from ever ending). The deadline is the caller's, `Sending.wait`.
    sender = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False, service_timeout=0))
    with _captured() as messages:
        if not sender.add(url):
            reason = _reason(messages, "apprise cannot load this URL")
            return TargetOutcome(target, False, True, _clean(reason, url, secrets))
        # The plugins' timeouts are per read; the deadline around the whole send is the caller's (Sending.wait).
        result: object = sender.notify(body=message.body, title=message.title, body_format=message.body_format)
    status = _status(result)
    if status == "SUCCESS":
        return TargetOutcome(target, True, False, None)
    problems = _result_problems(result) or messages
    reason = _reason(problems, f"apprise: {status}")
    return TargetOutcome(target, False, status == "NOMATCH", _clean(reason, url, secrets))


def _status(result: object) -> str:
    """SUCCESS, FAILURE, NOMATCH, PARTIAL or TIMEOUT; older apprise returned a plain bool."""
    if isinstance(result, bool):
        return "SUCCESS" if result else "FAILURE"
    name = getattr(getattr(result, "status", None), "name", None)
    return name if isinstance(name, str) else ("SUCCESS" if result else "FAILURE")


def _result_problems(result: object) -> list[str]:
    """The warnings and errors apprise captured for this call (AppriseResult.logs()), oldest first."""
    logs = getattr(result, "logs", None)
    if not callable(logs):
        return []
    return [f"{entry.level}: {entry.message}" for entry in logs() if str(entry.level) in _PROBLEMS]


def _reason(messages: Sequence[str], fallback: str) -> str:
    return "; ".join(dict.fromkeys(messages)) or fallback


def _load(url: str) -> "NotifyBase | None":
    import apprise  # lazy: apprise takes 0.5 s to import; only reading a channel URL (check, mask) loads it

    try:
        plugin = apprise.Apprise.instantiate(url)
    except Exception:  # instantiate() already suppresses plugin errors; parsing may still trip
        return None
    return plugin if isinstance(plugin, apprise.NotifyBase) else None


def _scheme(url: str) -> str:
    match = _SCHEME.match(url.strip())
    return match.group(1).lower() if match else "invalid"


def _clean(text: str, url: str, secrets: Sequence[str]) -> str:
    """An error fit to store and show: the raw URL and every secret masked."""
    if url:
        text = text.replace(url, f"{_scheme(url)}://{MASK}")
    return mask(text, secrets)


def _forms(secrets: Sequence[str]) -> set[str]:
    """Each secret as it may appear: raw, URL-encoded, and apprise's CWE-312 log form (`s...t`, first and last
    character), which for a short secret is the secret. An empty value would "mask" every gap: skipped."""
    return {
        form
        for secret in secrets
        if secret
        for form in (secret, quote(secret, safe=""), quote_plus(secret), f"{secret[0]}...{secret[-1]}")
    }


# --- logging: mask secrets in apprise's records, and capture its warnings -------------------------------------


class _SecretFilter(logging.Filter):
    """Masks the secrets of every call in progress in each record the logger emits (all threads)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._active: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        with self._lock:
            secrets = list(self._active)
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the handler's to report (logging.Handler.handleError)
            return True
        masked = mask(message, secrets)
        if masked != message:
            record.msg, record.args = masked, None
        return True

    @contextmanager
    def masking(self, secrets: Sequence[str]) -> Iterator[None]:
        kept = [s for s in secrets if s]
        with self._lock:
            self._active.update(kept)
        try:
            yield
        finally:
            with self._lock:
                self._active.subtract(kept)
                self._active += Counter()  # drop the zero counts


_FILTER = _SecretFilter()


@contextmanager
def _masking(secrets: Sequence[str]) -> Iterator[None]:
    for name in _MASKED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    with _FILTER.masking(secrets):
        yield


class _Capture(logging.Handler):
    """Keeps the warnings and errors the calling thread logs (apprise loads URLs in the caller's thread)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(f"{record.levelname}: {record.getMessage()}")


@contextmanager
def _captured() -> Iterator[list[str]]:
    handler = _Capture()
    logger = logging.getLogger("apprise")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
