"""The config file's models: every key, its type, default and check (pydantic, frozen), and the cross-key checks;
reading the file is tracker/config/load.py."""

import importlib.util
import ipaddress
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from tracker import __version__
from tracker.config.masking import without_secrets
from tracker.config.messages import ConfigError, did_you_mean, unset_text
from tracker.domain.events import EventKind
from tracker.domain.fixes import Severity
from tracker.domain.versions import Product
from tracker.reference import product_info
from tracker.sources import REGISTRY


def parse_interval(text: str | int) -> int:
    """`90s`, `15m`, `1h`, `1d` or a number of seconds -> seconds."""
    if isinstance(text, int):
        return text
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", str(text))
    if not match:
        raise ValueError(f"expected a duration like 30m, 1h or 1d, got {text!r}")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    kind: str  # a source kind of the registry (tracker/sources/__init__.py)
    url: str = Field(pattern=r"^https?://")
    product: Product
    interval: int = 3600
    follow_links: bool = True  # follow release-notes links from a KB table's rows
    name: str = ""  # as people know it, in alerts ("KB 316595 (ESXi build numbers)"); default: from its URL, or the id
    allow_hosts: tuple[str, ...] = ()  # other hosts its pages (and those it follows) may redirect to

    @field_validator("allow_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        """Host names only, lower-cased: no scheme, port, path or wildcard (the message never repeats a value)."""
        if not isinstance(value, list | tuple):
            raise ValueError("expected a list of host names such as [techdocs.broadcom.com]")
        for index, host in enumerate(value):
            if not isinstance(host, str) or not _is_host(host.strip()):
                raise ValueError(
                    f"item {index + 1} is not a host name: expected a name such as techdocs.broadcom.com or an IP "
                    "address, without scheme, port, path or wildcard"
                )
        return tuple(dict.fromkeys(host.strip().lower() for host in value))

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in REGISTRY:
            raise ValueError(f"unknown source kind {value!r}{did_you_mean(value, list(REGISTRY))}")
        return value

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> int:
        return parse_interval(value)

    @model_validator(mode="after")
    def _covers(self) -> "SourceConfig":
        """The product table (tracker/data/products.csv) says which source kinds cover a product."""
        covering = product_info(self.product).sources
        if self.kind not in covering:
            raise ValueError(
                f"a {self.kind} source does not cover {self.product.label} (its kinds: {', '.join(covering)})"
            )
        return self


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def _is_host(text: str) -> bool:
    """A DNS name (ASCII; an IDN in its xn-- form) or an IP address."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    labels = text.removesuffix(".").split(".")
    return 0 < len(text) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels)


class PolicyConfig(_Strict):
    cooldown_days: int = Field(default=7, ge=0)
    pull_confirmations: int = Field(default=2, ge=1)
    max_drop_ratio: float = Field(default=0.2, gt=0, lt=1)
    failing_after: int = Field(default=3, ge=1)


class HttpConfig(_Strict):
    timeout: float = Field(default=20.0, gt=0)  # seconds per network operation: connect, one read, one write
    deadline: float = Field(default=60.0, gt=0, le=3600)  # seconds for a whole fetch: redirects and body included
    max_bytes: int = Field(default=10_000_000, gt=0)
    politeness_delay: float = Field(default=1.0, ge=0)  # seconds between two requests to one host
    follow_limit: int = Field(default=20, ge=0)  # release-notes pages fetched per KB source per poll
    user_agent: str | None = None


class ServiceConfig(_Strict):
    """`tracker run`: how often it looks for due sources; every poll cycle (`tracker poll` too): how long a dead
    cycle's lease keeps others out, and how long a cycle waits for its pages."""

    tick: int = Field(default=60, ge=1)  # seconds between two looks for due sources (and the outbox, the digests)
    # A holder on another host that died keeps others out this long; one on this host is found dead at once.
    lease_ttl_seconds: int = Field(default=60, ge=10, alias="lease_ttl")  # renewed every third of it while held
    # Pages not fetched by then are abandoned for this cycle, each recorded as an error; the rest is recorded.
    cycle_deadline_seconds: int = Field(default=600, ge=1, alias="cycle_deadline")

    @field_validator("tick", "lease_ttl_seconds", "cycle_deadline_seconds", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> int:
        return parse_interval(value)

    @property
    def lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.lease_ttl_seconds)


class OperatorsConfig(_Strict):
    """Who hears of the tracker's own health: a source turning failing and recovering, at once (`immediate`) or in
    the digest. Health first: the tracker quietly cut off from the vendor is worse than none."""

    immediate: tuple[str, ...] = ()
    digest: tuple[str, ...] = ()


class DeliveryConfig(_Strict):
    """The outbox's sends (tracker/notify/outbox.py): how long one attempt to one target may take in all, and how
    long a sender that died keeps the message it was sending (its claim is renewed every third of that while it
    works)."""

    deadline_seconds: int = Field(default=30, ge=1, le=600, alias="deadline")
    claim_timeout_seconds: int = Field(default=60, ge=3, le=3600, alias="claim_timeout")

    @field_validator("deadline_seconds", "claim_timeout_seconds", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> int:
        return parse_interval(value)

    @property
    def deadline(self) -> float:
        return float(self.deadline_seconds)

    @property
    def claim_timeout(self) -> timedelta:
        return timedelta(seconds=self.claim_timeout_seconds)


class DigestConfig(_Strict):
    schedule: str = "0 8 * * *"  # cron, in the config's time zone
    send_when_empty: bool = True

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        # lazy: the digest's cron library (tracker/notify/digest.py), loaded only for a config that writes a schedule
        from cronsim import CronSim, CronSimError

        try:
            next(CronSim(value, datetime(2000, 1, 1, tzinfo=UTC)))
        except (CronSimError, StopIteration) as error:
            raise ValueError(f"expected a cron schedule such as '0 8 * * *' ({error or 'it never fires'})") from None
        return value


class ChannelConfig(_Strict):
    """A named list of apprise URLs (Slack webhooks, mailto://, json://, Teams ...)."""

    urls: tuple[str, ...] = Field(min_length=1, repr=False)


class WatchlistConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    owner: str = ""
    products: tuple[Product, ...] = ()
    lines: tuple[str, ...] = ()
    vcenters: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    events: tuple[EventKind, ...] = ()
    min_severity: Severity = Severity.NONE
    immediate: tuple[str, ...] = ()
    digest: tuple[str, ...] = ()

    @field_validator("events", mode="before")
    @classmethod
    def _kinds(cls, kinds: Any) -> Any:
        known = [k.value for k in EventKind]
        unknown = [str(k) for k in kinds if k not in known] if isinstance(kinds, (list, tuple)) else []
        if unknown:
            first = unknown[0]
            raise ValueError(f"unknown event kind {first!r}{did_you_mean(first, known)}")
        return kinds

    @field_validator("min_severity", mode="before")
    @classmethod
    def _severity(cls, value: Any) -> Any:
        known = [s.value for s in reversed(Severity)]
        if value not in known:
            raise ValueError(f"expected one of {', '.join(known)}")
        return value


class InventoryConfig(_Strict):
    files: tuple[str, ...] = ()  # what `tracker inventory import` reads when given no PATH


class VcenterConfig(_Strict):
    """A vCenter `tracker inventory sync-vcenter NAME` reads; the password comes from ${VAR} or VAR_FILE."""

    host: str
    user: str
    password: str = Field(repr=False)
    port: int = Field(default=443, gt=0, lt=65536)
    verify_tls: bool = True


class WebConfig(_Strict):
    """The web face (tracker/web/): where it listens, whether reads need a token, and the tokens (${VAR} / *_FILE
    values, never written in the file itself). Writes always need a write token."""

    listen: str = "127.0.0.1:8080"  # loopback by default: put a TLS proxy in front to share it
    read: Literal["open", "token"] = "open"
    read_tokens: tuple[str, ...] = Field(default=(), repr=False)
    write_tokens: tuple[str, ...] = Field(default=(), repr=False)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError("expected HOST:PORT such as 127.0.0.1:8080 (port 0: any free port)")
        return value

    @field_validator("read_tokens", "write_tokens")
    @classmethod
    def _tokens(cls, tokens: tuple[str, ...]) -> tuple[str, ...]:
        if any(len(t) < 16 for t in tokens if t):
            raise ValueError("each token must be at least 16 characters (generate one: openssl rand -hex 32)")
        return tokens

    @model_validator(mode="after")
    def _readable(self) -> "WebConfig":
        if self.read == "token" and not self.read_tokens and not self.write_tokens:
            raise ValueError("read: token needs read_tokens (or write_tokens): nobody could read the pages")
        return self

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


@dataclass(frozen=True)
class Origin:
    """Where a Config came from, given to its validation (`Config.model_validate(data, context=Origin(...))`): the
    file, the values its ${VAR}s expanded to (never shown), and the (key path, VAR) pairs left unset for the
    commands that need them (`Config.require`)."""

    file: str = ""
    secrets: tuple[str, ...] = ()
    unset: tuple[tuple[str, str], ...] = ()


class Config(_Strict):
    database: str = "sqlite:///data/tracker.db"  # relative to the config file's folder
    timezone: str = "UTC"
    _secrets: tuple[str, ...] = PrivateAttr(default=())
    _unset: tuple[tuple[str, str], ...] = PrivateAttr(default=())
    _file: str = PrivateAttr(default="")
    sources: tuple[SourceConfig, ...] = ()
    policy: PolicyConfig = PolicyConfig()
    http: HttpConfig = HttpConfig()
    service: ServiceConfig = ServiceConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    watchlists: tuple[WatchlistConfig, ...] = ()
    operators: OperatorsConfig = OperatorsConfig()
    digest: DigestConfig = DigestConfig()
    inventory: InventoryConfig = InventoryConfig()
    vcenters: dict[str, VcenterConfig] = Field(default_factory=dict)
    web: WebConfig | None = None  # `tracker run` serves the web face too when set; `tracker serve` serves it alone

    @field_validator("database")
    @classmethod
    def _supported_database(cls, url: str) -> str:
        return check_database_url(url)

    @field_validator("sources")
    @classmethod
    def _unique_ids(cls, sources: tuple[SourceConfig, ...]) -> tuple[SourceConfig, ...]:
        seen: set[str] = set()
        for source in sources:
            if source.id in seen:
                raise ValueError(f"source id {source.id!r} is used twice")
            seen.add(source.id)
        return sources

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Europe/Berlin or UTC") from None
        return value

    def model_post_init(self, context: Any) -> None:
        """The origin load_config validated the file with, kept for masking and `require`."""
        if isinstance(context, Origin):
            self._secrets = tuple(sorted(set(context.secrets), key=len, reverse=True))  # longest first: no half masks
            self._unset, self._file = context.unset, context.file

    def unset(self, *prefixes: str) -> list[tuple[str, str]]:
        """The (key path, VAR) pairs under these keys (`channels.team-mail`, `vcenters`) whose ${VAR} has no value."""
        return [(p, n) for p, n in self._unset if any(p == x or p.startswith((f"{x}.", f"{x}[")) for x in prefixes)]

    def require(self, *prefixes: str) -> None:
        """ConfigError naming every unset ${VAR} under these keys at once: what the command about to run needs."""
        missing = self.unset(*prefixes)
        if missing:
            raise ConfigError("\n".join(f"{self._file}: {path}: {unset_text(name)}" for path, name in missing))

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that came from ${VAR} or *_FILE: never shown, even where apprise's privacy form keeps them."""
        return self._secrets

    def mask(self, text: str) -> str:
        """`text` with every secret value replaced by ***: for source URLs carrying a download token, errors."""
        return without_secrets(text, self._secrets)

    @model_validator(mode="after")
    def _channels_exist(self) -> "Config":
        routes = [(f"watchlists[{i}] ({w.name})", w.immediate, w.digest) for i, w in enumerate(self.watchlists)]
        routes.append(("operators", self.operators.immediate, self.operators.digest))
        for where, immediate, digest in routes:
            for field_name, channels in (("immediate", immediate), ("digest", digest)):
                for channel in channels:
                    if channel not in self.channels:
                        known = ", ".join(sorted(self.channels)) or "none"
                        raise ValueError(
                            f"{where}.{field_name}: unknown channel {channel!r} (channels defined: {known})"
                        )
        return self

    def source(self, source_id: str) -> SourceConfig:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources) or "none"
        raise ConfigError(f"no source with id {source_id!r} in the config (known: {known})")


# The databases the tracker is tested on, by URL scheme, with the driver module each needs (None: built in).
DATABASE_DRIVERS = {
    "sqlite": None,
    "sqlite+pysqlite": None,
    "postgresql+psycopg": "psycopg",
    "postgresql": "psycopg2",  # SQLAlchemy's default PostgreSQL driver
    "postgresql+psycopg2": "psycopg2",
}
_POSTGRES_EXTRA = "pip install 'release-tracker[postgres]'; the Docker image has it"


def check_database_url(url: str) -> str:
    """A database the tracker supports, whose driver is installed; checked without importing SQLAlchemy."""
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in DATABASE_DRIVERS:
        raise ValueError(
            f"{scheme + ':// is not' if scheme else 'not a database URL:'} supported; expected sqlite:///PATH or"
            f" postgresql+psycopg://USER:PASSWORD@HOST/DB (for PostgreSQL, {_POSTGRES_EXTRA})"
        )
    driver = DATABASE_DRIVERS[scheme]
    if driver is not None and importlib.util.find_spec(driver) is None:
        hint = "write postgresql+psycopg:// and " if driver == "psycopg2" else ""
        raise ValueError(f"{scheme}:// needs the driver {driver}, which is not installed: {hint}{_POSTGRES_EXTRA}")
    return url


def user_agent(config: Config) -> str:
    return config.http.user_agent or f"release-tracker/{__version__} (vSphere release watcher; polls politely)"
