"""The configuration: one YAML file, read once, typed, validated with messages that name the file and the key.

This is the only module that reads environment variables (`TRACKER_CONFIG`, `TRACKER_NOW`, `${VAR}` in the file,
`*_FILE` secrets).
"""

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_CONFIG = Path("config/tracker.yaml")
SOURCE_KINDS = ("kb_build_table", "release_notes")


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
    kind: Literal["kb_build_table", "release_notes"]
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


class DigestConfig(_Strict):
    schedule: str = "0 8 * * *"
    send_when_empty: bool = True


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
    sources: tuple[SourceConfig, ...] = ()
    policy: PolicyConfig = PolicyConfig()
    http: HttpConfig = HttpConfig()
    # Alerts, watchlists and inventory arrive with later issues; their keys are accepted and kept.
    channels: dict[str, Any] = Field(default_factory=dict)
    watchlists: tuple[dict[str, Any], ...] = ()
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

    def source(self, source_id: str) -> SourceConfig:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources) or "none"
        raise ConfigError(f"no source with id {source_id!r} in the config (known: {known})")


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(value: Any, path: str, file: Path) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, f"{path}.{k}" if path else str(k), file) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, f"{path}[{i}]", file) for i, v in enumerate(value)]
    if isinstance(value, str):
        return _VAR.sub(lambda m: _env(m.group(1), path, file), value)
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
    try:
        return Config.model_validate(_expand(raw, "", path))
    except ValidationError as error:
        raise ConfigError(_explain(path, raw, error)) from None


def _explain(path: Path, raw: dict[str, Any], error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        key = _key_path(raw, item["loc"])
        problems.append(f"{path}: {key}: {item['msg']}{_shown_input(key, item.get('input'))}")
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
