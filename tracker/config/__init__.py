"""The configuration: one YAML file, read once, typed, validated with messages that name the file and the key.

This is the only module that reads environment variables (`TRACKER_CONFIG`, `TRACKER_NOW`, `${VAR}` in the file,
`*_FILE` secrets).
"""

# The docstring above is the description of `tracker config schema` (config/tracker.schema.json): keep the two equal.
# The package, by concern: models.py (every key, its type, default and checks), load.py (reading the file, ${VAR}
# and *_FILE, the clock; the only reader of environment variables), messages.py (ConfigError and the wording of
# every problem), masking.py (what a message may show of a value). Callers import from here.

from tracker.config.load import (
    DEFAULT_CONFIG,
    DEFERRED,
    MAX_ALIASES,
    MAX_CONFIG_VALUES,
    clock,
    config_path,
    load_config,
)
from tracker.config.messages import ConfigError, did_you_mean
from tracker.config.models import (
    DATABASE_DRIVERS,
    ChannelConfig,
    Config,
    DeliveryConfig,
    DigestConfig,
    HttpConfig,
    InventoryConfig,
    OperatorsConfig,
    PolicyConfig,
    ServiceConfig,
    SourceConfig,
    VcenterConfig,
    WatchlistConfig,
    WebConfig,
    check_database_url,
    parse_interval,
    user_agent,
)

__all__ = [
    "DATABASE_DRIVERS",
    "DEFAULT_CONFIG",
    "DEFERRED",
    "MAX_ALIASES",
    "MAX_CONFIG_VALUES",
    "ChannelConfig",
    "Config",
    "ConfigError",
    "DeliveryConfig",
    "DigestConfig",
    "HttpConfig",
    "InventoryConfig",
    "OperatorsConfig",
    "PolicyConfig",
    "ServiceConfig",
    "SourceConfig",
    "VcenterConfig",
    "WatchlistConfig",
    "WebConfig",
    "check_database_url",
    "clock",
    "config_path",
    "did_you_mean",
    "load_config",
    "parse_interval",
    "user_agent",
]
