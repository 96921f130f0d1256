"""The configuration: one YAML file, read once, typed, validated with messages that name the file and the key.

This is the only module that reads environment variables (`TRACKER_CONFIG`, `TRACKER_NOW`, `${VAR}` in the file,
`*_FILE` secrets).
"""

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

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
    kind: Literal["kb_build_table", "release_notes", "download_listing", "depot_index", "advisory_feed", "feed"]
    url: str = Field(pattern=r"^https?://")
    product: Literal["esxi", "vcenter"]
    interval: int = 3600
    follow_links: bool = True  # follow release-notes links from a KB table's rows

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


_SEVERITIES = ("none", "low", "moderate", "important", "critical")
_EVENT_KINDS = (
    "new",
    "pulled",
    "reissued",
    "restored",
    "discrepancy",
    "advisory",
    "source_anomaly",
    "source_failing",
    "source_recovered",
)


class WatchlistConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    owner: str = ""
    products: tuple[Literal["esxi", "vcenter"], ...] = ()
    lines: tuple[str, ...] = ()
    vcenters: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    min_severity: str = "none"
    immediate: tuple[str, ...] = ()
    digest: tuple[str, ...] = ()

    @field_validator("events")
    @classmethod
    def _kinds(cls, kinds: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [k for k in kinds if k not in _EVENT_KINDS]
        if unknown:
            raise ValueError(f"unknown event kind(s) {', '.join(unknown)} (expected some of {', '.join(_EVENT_KINDS)})")
        return kinds

    @field_validator("min_severity")
    @classmethod
    def _severity(cls, value: str) -> str:
        if value not in _SEVERITIES:
            raise ValueError(f"expected one of {', '.join(_SEVERITIES)}")
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
    """Read, expand and validate the config file; raise ConfigError with file, key and expectation."""
    path = config_path(explicit)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (pass --config PATH or set TRACKER_CONFIG)") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}:{where}: not valid YAML ({getattr(error, 'problem', error)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys (database, sources, ...) at the top")
    expanded: list[str] = []
    try:
        config = Config.model_validate(_expand(raw, "", path, expanded))
    except ValidationError as error:
        raise ConfigError(_explain(path, raw, error)) from None
    config._secrets = tuple(sorted(set(expanded), key=len, reverse=True))
    return config


def _explain(path: Path, raw: dict[str, Any], error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        key = _key_path(raw, item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{path}: {key}: {message}{_shown_input(key, item.get('input'))}")
    return "\n".join(problems)


_SENSITIVE = re.compile(r"password|secret|token|urls|key", re.I)


def _shown_input(key: str, value: Any) -> str:
    """What the user wrote, when it helps and cannot be a secret: scalars only, never under a sensitive key."""
    if isinstance(value, dict | list | tuple) or _SENSITIVE.search(key):
        return ""
    return f" (got {value!r})"


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
