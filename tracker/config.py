"""The configuration: one YAML file, read once, typed, validated with messages that name the file and the key.

This is the only module that reads environment variables (`TRACKER_CONFIG`, `TRACKER_NOW`, `${VAR}` in the file,
`*_FILE` secrets).
"""

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from tracker.domain.events import EventKind
from tracker.domain.exposure import Severity
from tracker.domain.versions import Product
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

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value not in REGISTRY:
            raise ValueError(f"unknown source kind {value!r} (expected one of {', '.join(REGISTRY)})")
        return value

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: Any) -> int:
        return parse_interval(value)


class PolicyConfig(_Strict):
    cooldown_days: int = Field(default=7, ge=0)
    pull_confirmations: int = Field(default=2, ge=1)
    max_drop_ratio: float = Field(default=0.2, gt=0, lt=1)
    failing_after: int = Field(default=3, ge=1)


class HttpConfig(_Strict):
    timeout: float = Field(default=20.0, gt=0)
    max_bytes: int = Field(default=10_000_000, gt=0)
    politeness_delay: float = Field(default=1.0, ge=0)  # seconds between two requests to one host
    follow_limit: int = Field(default=20, ge=0)  # release-notes pages fetched per KB source per poll
    user_agent: str | None = None


class ServiceConfig(_Strict):
    """`tracker run`: how often it looks for due sources, and how long a dead cycle's lease keeps others out."""

    tick: int = Field(default=60, ge=1)  # seconds between two looks for due sources (and the outbox, the digests)
    lease_ttl_seconds: int = Field(default=120, ge=10, alias="lease_ttl")  # renewed every third of it while held

    @field_validator("tick", "lease_ttl_seconds", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> int:
        return parse_interval(value)

    @property
    def lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.lease_ttl_seconds)


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
            raise ValueError(f"unknown event kind(s) {', '.join(unknown)} (expected some of {', '.join(known)})")
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


class Config(_Strict):
    database: str = "sqlite:///data/tracker.db"
    timezone: str = "UTC"
    _secrets: tuple[str, ...] = PrivateAttr(default=())
    sources: tuple[SourceConfig, ...] = ()
    policy: PolicyConfig = PolicyConfig()
    http: HttpConfig = HttpConfig()
    service: ServiceConfig = ServiceConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    watchlists: tuple[WatchlistConfig, ...] = ()
    digest: DigestConfig = DigestConfig()
    inventory: InventoryConfig = InventoryConfig()
    vcenters: dict[str, VcenterConfig] = Field(default_factory=dict)

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
        for index, watchlist in enumerate(self.watchlists):
            for field_name in ("immediate", "digest"):
                for channel in getattr(watchlist, field_name):
                    if channel not in self.channels:
                        known = ", ".join(sorted(self.channels)) or "none"
                        raise ValueError(
                            f"watchlists[{index}] ({watchlist.name}).{field_name}: unknown channel "
                            f"{channel!r} (channels defined: {known})"
                        )
        return self

    def source(self, source_id: str) -> SourceConfig:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources) or "none"
        raise ConfigError(f"no source with id {source_id!r} in the config (known: {known})")


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(value: Any, path: str, file: Path, expanded: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, f"{path}.{k}" if path else str(k), file, expanded) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{path}[{i}]", file, expanded) for i, v in enumerate(value)]
    if isinstance(value, str):
        return _VAR.sub(lambda m: _remember(_env(m.group(1), path, file), expanded), value)
    return value


def _remember(value: str, expanded: list[str]) -> str:
    if len(value) >= 4:  # shorter values (a port, "yes") would mask ordinary words everywhere
        expanded.append(value)
    return value


def _env(name: str, path: str, file: Path) -> str:
    if name in os.environ:
        return os.environ[name]
    secret_file = os.environ.get(f"{name}_FILE")
    if secret_file:
        return Path(secret_file).read_text(encoding="utf-8").strip()
    raise ConfigError(f"{file}: {path}: environment variable {name} (or {name}_FILE) is not set")


def config_path(explicit: str | None) -> Path:
    return Path(explicit or os.environ.get("TRACKER_CONFIG") or DEFAULT_CONFIG)


def load_config(explicit: str | None = None) -> Config:
    """Read, expand and validate the config file; raise ConfigError with file, key and expectation. No message
    shows a value that came from ${VAR} or *_FILE, nor a URL's credentials and tokens."""
    path = config_path(explicit)
    raw = _read_yaml(path)
    expanded: list[str] = []
    try:
        config = Config.model_validate(_expand(raw, "", path, expanded))
    except ValidationError as error:
        raise ConfigError(_masked(_explain(path, raw, error), expanded)) from None
    config._secrets = tuple(sorted(set(expanded), key=len, reverse=True))
    return config


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
        raw = yaml.load(text, Loader=_BudgetLoader) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: not valid YAML ({getattr(error, 'problem', None) or error})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys (database, sources, ...) at the top")
    if _expanded_size(raw, {}) > MAX_CONFIG_VALUES:
        raise ConfigError(f"{path}: its aliases expand to more than {MAX_CONFIG_VALUES:,} values; refused")
    return raw


MAX_ALIASES = 100  # a config shares a few settings through anchors; a billion-laughs file nests hundreds
MAX_CONFIG_VALUES = 100_000  # values once aliases are expanded (the example config holds some 300)


class _BudgetLoader(yaml.SafeLoader):
    """PyYAML's safe loader refusing more than MAX_ALIASES aliases, so an alias bomb fails before it grows."""

    aliases = 0

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
        problems.append(f"{path}: {key}: {message}{_shown_input(key, item.get('input'))}")
    return "\n".join(problems)


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
        raise ConfigError(f"--now: expected an ISO-8601 time such as 2021-11-19T08:00:00Z, got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def user_agent(config: Config) -> str:
    from tracker import __version__

    return config.http.user_agent or f"release-tracker/{__version__} (vSphere release watcher; polls politely)"
