"""The replayed story, once per test session, and a `tracker serve` over a copy of it per test module."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.web import WebServer, story_database, web_config, web_server


@pytest.fixture(scope="session")
def story(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return story_database(tmp_path_factory.mktemp("story"))


@pytest.fixture(scope="module")
def web(story: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """Reads open, writes with WRITE_TOKEN; writes of one test are seen by the next of the module."""
    with web_server(web_config(story, tmp_path_factory.mktemp("web"))) as server:
        yield server
