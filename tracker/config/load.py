"""Reading the config file: YAML (aliases bounded, duplicate keys refused), `${VAR}` and `*_FILE` expansion, paths
anchored at the file's folder, validation into the models with messages that name file and key; and the time a
command works at (`--now`, `TRACKER_NOW`). The only module that reads environment variables."""

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tracker.config.masking import masked
from tracker.config.messages import ConfigError, explain, unset_text
from tracker.config.models import Config, Origin

DEFAULT_CONFIG = Path("config/tracker.yaml")

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
            raise ConfigError(f"{state.file}: {path}: {unset_text(name)}")
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


def config_path(explicit: str | None) -> Path:
    return Path(explicit or os.environ.get("TRACKER_CONFIG") or DEFAULT_CONFIG)


def load_config(explicit: str | None = None) -> Config:
    """Read, expand and validate the config file; raise ConfigError with file, key and expectation. No message
    shows a value that came from ${VAR} or *_FILE, nor a URL's credentials and tokens."""
    path = config_path(explicit)
    raw = _read_yaml(path)
    state = _Expansion(path)
    data = _anchored(_expand(raw, "", state), path.parent)
    origin = Origin(str(path), tuple(state.values), tuple(state.unset))
    try:
        config = Config.model_validate(data, context=origin)
    except ValidationError as error:
        raise ConfigError(masked(explain(path, raw, error, Config), state.values)) from None
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
