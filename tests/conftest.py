"""Shared fixtures: `site` is a real HTTP server on 127.0.0.1 serving tests/fixtures (see tests/support/site.py)."""

from collections.abc import Iterator

import pytest

from tests.support.site import FixtureSite


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    server = FixtureSite().start()
    try:
        yield server
    finally:
        server.stop()
