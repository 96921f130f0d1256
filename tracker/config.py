"""The configuration: one YAML file, read once, typed, validated with messages that name the file and the key.

This is the only module that reads environment variables (`TRACKER_CONFIG`, `TRACKER_NOW`, `${VAR}` in the file,
`*_FILE` secrets).
"""

import ipaddress
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from tracker.domain.events import EventKind
from tracker.domain.fixes import Severity
from tracker.domain.versions import Product
from tracker.products import product_info
from tracker.sources import REGISTRY

DEFAULT_CONFIG = Path("config/tracker.yaml")


class ConfigError(Exception):
    """A configuration that cannot be used: the message names the file, the key and what was expected."""


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
        from cronsim import CronSim, CronSimError  # the digest's own cron library (tracker/notify/digest.py)

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
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA time zone such as Europe/Berlin or UTC") from None
        return value

    def unset(self, *prefixes: str) -> list[tuple[str, str]]:
        """The (key path, VAR) pairs under these keys (`channels.team-mail`, `vcenters`) whose ${VAR} has no value."""
        return [(p, n) for p, n in self._unset if any(p == x or p.startswith((f"{x}.", f"{x}[")) for x in prefixes)]

    def require(self, *prefixes: str) -> None:
        """ConfigError naming every unset ${VAR} under these keys at once: what the command about to run needs."""
        missing = self.unset(*prefixes)
        if missing:
            raise ConfigError("\n".join(f"{self._file}: {path}: {_unset_text(name)}" for path, name in missing))

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that came from ${VAR} or *_FILE: never shown, even where apprise's privacy form keeps them."""
        return self._secrets

    def mask(self, text: str) -> str:
        """`text` with every secret value replaced by ***: for source URLs carrying a download token, errors."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

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
    import importlib.util

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


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


DEFERRED = ("channels", "vcenters", "sources", "web")  # their ${VAR}s are needed only by the commands that use them


@dataclass
class _Expansion:
    file: Path
    values: list[str] = field(default_factory=list)  # what ${VAR}s expanded to: masked in every message
    unset: list[tuple[str, str]] = field(default_factory=list)  # (key path, VAR) left as written, for later


def _expand(value: Any, path: str, state: _Expansion) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, f"{path}.{k}" if path else str(k), state) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{path}[{i}]", state) for i, v in enumerate(value)]
    if isinstance(value, str):
        return _VAR.sub(lambda m: _substitute(m, path, state), value)
    return value


def _substitute(match: re.Match[str], path: str, state: _Expansion) -> str:
    name = match.group(1)
    value = _env(name, path, state.file)
    if value is None:
        if not path.startswith(DEFERRED):
            raise ConfigError(f"{state.file}: {path}: {_unset_text(name)}")
        state.unset.append((path, name))
        return match.group(0)  # kept as written: a command that uses it says so (Config.require)
    if len(value) >= 4:  # shorter values (a port, "yes") would mask ordinary words everywhere
        state.values.append(value)
    return value


def _env(name: str, path: str, file: Path) -> str | None:
    if name in os.environ:
        return os.environ[name]
    secret_file = os.environ.get(f"{name}_FILE")
    if not secret_file:
        return None
    try:  # a relative *_FILE is read from the config file's folder, like every path in the config
        return Path(_anchored_path(secret_file, file.parent)).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"{file}: {path}: {name}_FILE names a file that cannot be read ({error.strerror})") from None


def _unset_text(name: str) -> str:
    return f"environment variable {name} (or {name}_FILE) is not set"


def config_path(explicit: str | None) -> Path:
    return Path(explicit or os.environ.get("TRACKER_CONFIG") or DEFAULT_CONFIG)


def load_config(explicit: str | None = None) -> Config:
    """Read, expand and validate the config file; raise ConfigError with file, key and expectation. No message
    shows a value that came from ${VAR} or *_FILE, nor a URL's credentials and tokens."""
    path = config_path(explicit)
    raw = _read_yaml(path)
    state = _Expansion(path)
    try:
        config = Config.model_validate(_anchored(_expand(raw, "", state), path.parent))
    except ValidationError as error:
        raise ConfigError(_masked(_explain(path, raw, error), state.values)) from None
    config._secrets = tuple(sorted(set(state.values), key=len, reverse=True))
    config._unset, config._file = tuple(state.unset), str(path)
    _check_tokens_from_env(config, raw, path)
    return config


def _anchored(data: Any, base: Path) -> Any:
    """Relative paths in the file are read from the config file's folder, not from wherever the command runs: the
    SQLite file and the inventory files (`tracker --config /etc/tracker/tracker.yaml init` from any directory
    makes the same database)."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    database = data.get("database")
    if isinstance(database, str) and (anchored := _anchored_sqlite(database, base)):
        data["database"] = anchored
    inventory = data.get("inventory")
    if isinstance(inventory, dict) and isinstance(inventory.get("files"), list):
        files = [_anchored_path(f, base) if isinstance(f, str) else f for f in inventory["files"]]
        data["inventory"] = {**inventory, "files": files}
    return data


def _anchored_sqlite(url: str, base: Path) -> str | None:
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme not in ("sqlite", "sqlite+pysqlite") or not rest or rest.startswith(":memory:"):
        return None
    path, query = rest.partition("?")[::2]
    anchored = _anchored_path(path, base)
    return f"{scheme}:///{anchored}" + (f"?{query}" if query else "") if anchored != path else None


def _anchored_path(value: str, base: Path) -> str:
    path = Path(value).expanduser()
    return value if path.is_absolute() else str((base / path).resolve())


def _check_tokens_from_env(config: Config, raw: dict[str, Any], path: Path) -> None:
    """A web token written in the file itself would sit in backups and diffs: it must come from ${VAR} or *_FILE."""
    web = raw.get("web") if isinstance(raw.get("web"), dict) else None
    for key in ("read_tokens", "write_tokens"):
        written = (web or {}).get(key) or []
        for index, value in enumerate(written if isinstance(written, list) else []):
            if not (isinstance(value, str) and _VAR.fullmatch(value.strip())):
                raise ConfigError(
                    f"{path}: web.{key}[{index}]: expected a ${{VAR}} whose value (or VAR_FILE) holds the token;"
                    " a token written in the file is refused"
                )


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (pass --config PATH or set TRACKER_CONFIG)") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory; expected a YAML file such as config/tracker.yaml") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (at byte {error.start}); save the config as UTF-8") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror or type(error).__name__})") from None
    try:
        raw = yaml.load(text, Loader=_BudgetLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: not valid YAML ({getattr(error, 'problem', None) or error})") from None
    if raw is None:  # nothing but comments: taken as "no sources", it would retire every source stored
        raise ConfigError(f"{path}: the config is empty; expected at least `sources:` (see config/tracker.yaml)")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys (database, sources, ...) at the top")
    if _expanded_size(raw, {}) > MAX_CONFIG_VALUES:
        raise ConfigError(f"{path}: its aliases expand to more than {MAX_CONFIG_VALUES:,} values; refused")
    return raw


MAX_ALIASES = 100  # a config shares a few settings through anchors; a billion-laughs file nests hundreds
MAX_CONFIG_VALUES = 100_000  # values once aliases are expanded (the example config holds some 300)


class _BudgetLoader(yaml.SafeLoader):
    """PyYAML's safe loader refusing more than MAX_ALIASES aliases, so an alias bomb fails before it grows, and a key
    written twice in one mapping (PyYAML keeps the last one: a second `sources:` block would drop the first)."""

    aliases = 0

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key is None or key == "<<":
                    continue
                if key in seen:
                    first = seen[key].start_mark.line + 1
                    problem = f"duplicate key {key!r}: first written at line {first}, again here"
                    raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
                seen[key] = key_node
        return super().construct_mapping(node, deep)

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases (*name); refused")
        return super().compose_node(parent, index)


def _expanded_size(value: Any, seen: dict[int, int]) -> int:
    """How many values the tree holds with each shared (aliased) part counted at every use; each walked once."""
    if not isinstance(value, dict | list):
        return 1
    known = seen.get(id(value))
    if known is not None:
        return known
    children = value.values() if isinstance(value, dict) else value
    seen[id(value)] = size = 1 + sum(_expanded_size(child, seen) for child in children)
    return size


def _explain(path: Path, raw: dict[str, Any], error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        key = _key_path(raw, item["loc"])
        if item["type"] == "extra_forbidden":  # the value of an unknown key is never shown: it may be a secret
            problems.append(f"{path}: {key}: unknown key{_suggestion(item['loc'])}")
            continue
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "string_pattern_mismatch" and _URL_KEY.search(key):
            message = "expected an http:// or https:// URL"
        if item["type"] in ("enum", "literal_error") and isinstance(item.get("input"), str):
            choices = re.findall(r"'([^']*)'", str((item.get("ctx") or {}).get("expected", "")))
            noun = str(item["loc"][-1]).replace("_", " ") if isinstance(item["loc"][-1], str) else "value"
            message = f"unknown {noun} {item['input']!r}{did_you_mean(item['input'], choices)}"
        quoted = isinstance(item.get("input"), str) and repr(item["input"]) in message
        # ours quote it; a database URL may carry credentials, and its message names its scheme already
        shown = "" if " got " in message or quoted or key == "database" else _shown_input(key, item.get("input"))
        problems.append(f"{path}: {key}: {message}{shown}")
    return "\n".join(problems)


def did_you_mean(value: str, choices: list[str]) -> str:
    """` (did you mean 'kb_build_table'?)` for a near miss, else ` (expected one of a, b, c)`."""
    import difflib

    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (expected one of {', '.join(choices)})"


def _suggestion(loc: tuple[int | str, ...]) -> str:
    """` (did you mean 'password'?)` for a misspelt key, from the keys the model knows at that place."""
    import difflib

    model = _model_at(loc[:-1])
    if model is None:
        return ""
    names = [f.alias or name for name, f in model.model_fields.items()]
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else f" (expected one of {', '.join(names)})"


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The config model at a location such as ("vcenters", "lab"), or None when it cannot be told."""
    model: type[BaseModel] = Config
    parts = list(loc)
    while parts:
        part = str(parts.pop(0))
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        inner, in_collection = _held_model(field.annotation if field else None)
        if inner is None:
            return None
        if in_collection and parts:
            parts.pop(0)  # the index in a list, or the name in a mapping
        model = inner
    return model


def _held_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds, and whether inside a collection (a tuple of models, a mapping of names to them)."""
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    args = get_args(annotation)
    item = args[-1] if len(args) == 2 and args[-1] is not Ellipsis else (args[0] if args else None)
    if isinstance(item, type) and issubclass(item, BaseModel):
        return item, True
    return None, False


_SENSITIVE = re.compile(r"pass|secret|token|key|auth|cred", re.I)
_URL_KEY = re.compile(r"url", re.I)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+")


def _shown_input(key: str, value: Any) -> str:
    """What the user wrote, when it helps and cannot be a secret: scalars only, never under a sensitive key, and
    a URL only as its scheme and host."""
    if isinstance(value, dict | list | tuple) or _SENSITIVE.search(key):
        return ""
    if _URL_KEY.search(key) and not (isinstance(value, str) and _URL.fullmatch(value)):
        return ""  # a URL-like value without a scheme: its host cannot be told from a token
    return f" (got {_URL.sub(_url_outline, repr(value))})"


def _url_outline(match: re.Match[str]) -> str:
    """`https://user:pw@host/path?token=x` -> `https://host/***`: where it points, not what it carries."""
    scheme, _, rest = match.group(0).partition("://")
    host = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
    return f"{scheme}://{host}/***" if len(rest) > len(host) else f"{scheme}://{host}"


def _masked(text: str, secrets: list[str]) -> str:
    """The message with every expanded value, raw or URL-encoded, replaced by ***."""
    from urllib.parse import quote

    forms = {form for secret in secrets for form in (secret, quote(secret, safe=""), quote(secret))}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def _key_path(raw: dict[str, Any], loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    node: Any = raw
    for part in loc:
        if isinstance(part, int):
            ident = node[part].get("id") if isinstance(node, list) and isinstance(node[part], dict) else None
            parts.append(f"[{part}]" + (f" (id {ident})" if ident else ""))
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            parts.append(("." if parts else "") + part)
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"


def clock(explicit: str | None = None) -> datetime:
    """The time the command works at: `--now`, else `TRACKER_NOW`, else the real clock (UTC)."""
    text = explicit or os.environ.get("TRACKER_NOW")
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        given = "--now" if explicit else "TRACKER_NOW"
        raise ConfigError(f"{given}: expected an ISO-8601 time such as 2021-11-19T08:00:00Z, got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def user_agent(config: Config) -> str:
    from tracker import __version__

    return config.http.user_agent or f"release-tracker/{__version__} (vSphere release watcher; polls politely)"
