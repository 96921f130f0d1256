"""Fixtures for the inventory importers: `vcsim` starts a simulated vCenter (see tests/support/vcsim.py)."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.support.vcsim import Vcsim, VcsimUnavailable, build_vcsim, start_vcsim


@pytest.fixture(scope="session")
def vcsim_binary() -> Path:
    """The simulator, built once per session; fails (never skips) when Go or govmomi is missing."""
    try:
        return build_vcsim()
    except VcsimUnavailable as exc:
        missing = str(exc)
    pytest.fail(missing, pytrace=False)  # outside the except: no "during handling" chain in the report


@pytest.fixture
def vcsim(vcsim_binary: Path) -> Iterator[Callable[..., Vcsim]]:
    """`vcsim(hosts={"esx-01": "7.0.3:18644231"}, clusters=2, ...)` starts a simulator, stopped after the test."""
    with ExitStack() as running:

        def start(**options: Any) -> Vcsim:
            try:
                return running.enter_context(start_vcsim(vcsim_binary, **options))
            except VcsimUnavailable as exc:
                failure = str(exc)
            pytest.fail(failure, pytrace=False)

        yield start
