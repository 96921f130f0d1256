"""What a cycle is run with, besides the request: the caller's hooks, and the settings it reads from the config (the
diff's policy, the HTTP client's settings, the hosts each source may redirect to). Its own module, so the cycle's
stages depend on it and never on each other's entry points (no import circle in tracker/cycle)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tracker.config import Config, user_agent
from tracker.cycle.fetch import Watch
from tracker.domain.catalog import Policy
from tracker.http import HttpSettings

if TYPE_CHECKING:
    from tracker.store import leases


@dataclass(frozen=True)
class Hooks:
    """What a caller hears while the cycle runs: how far its fetches are (tracker/cycle/fetch.py `Fetching`, as
    answers come in and every second while it waits), and a wait for another cycle."""

    progress: Watch | None = None
    on_wait: "Callable[[leases.Held], None] | None" = None
    wait: float = 0.0  # seconds to wait for another process's cycle; then give up (`blocked_by`)


def policy_of(config: Config) -> Policy:
    p = config.policy
    return Policy(p.pull_confirmations, p.max_drop_ratio, p.failing_after, p.cooldown_days)


def http_settings(config: Config) -> HttpSettings:
    http = config.http
    return HttpSettings(user_agent(config), http.timeout, http.max_bytes, http.politeness_delay, http.deadline)


def allowed_hosts(config: Config) -> dict[str, frozenset[str]]:
    """The hosts each source's pages may redirect to (its `allow_hosts`), by source id."""
    return {s.id: frozenset(s.allow_hosts) for s in config.sources if s.allow_hosts}
