"""Pages parsed in worker processes (tracker/cycle/parse.py) give exactly the catalog and events the inline parse gives;
a pool that breaks costs nothing but time."""

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support.configs import kb_config, replay
from tests.support.site import FixtureSite
from tracker.config import load_config
from tracker.cycle import parse as parse_stage
from tracker.cycle.plan import Planned
from tracker.http import Document, Validators

STAGES = [
    ("01-2021-09-20", "2021-09-20T08:00:00Z"),
    ("03-2021-10-29", "2021-10-29T08:00:00Z"),
    ("05-2021-11-18", "2021-11-18T08:00:00Z"),
    ("06-2021-11-19", "2021-11-19T08:00:00Z"),
    ("08-2021-11-23", "2021-11-23T08:00:00Z"),
]


def _replay(site: FixtureSite, folder: Path) -> tuple[Any, Any]:
    cli = replay(site, folder, STAGES)
    last = STAGES[-1][1]
    return cli.json("builds", now=last), cli.json("events", now=last)


def test_the_story_parsed_in_worker_processes_equals_the_story_parsed_inline(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse_stage, "workers", lambda: 0)
    inline = _replay(site, tmp_path / "inline")

    submitted: list[int] = []
    start = parse_stage.start

    def recording_start(pages: Any, answers: Any) -> parse_stage.Preparsed:
        result = start(pages, answers)
        submitted.append(len(result.futures))
        return result

    from_workers: list[str] = []
    take = parse_stage.Preparsed.take

    def recording_take(self: parse_stage.Preparsed, source_id: str) -> Any:
        result = take(self, source_id)
        if result is not None:
            from_workers.append(source_id)
        return result

    monkeypatch.setattr(parse_stage, "workers", lambda: 1)
    monkeypatch.setattr(parse_stage, "MIN_BYTES", 0)  # the story's pages are small: send them to the pool all the same
    monkeypatch.setattr(parse_stage, "start", recording_start)
    monkeypatch.setattr(parse_stage.Preparsed, "take", recording_take)
    pooled = _replay(site, tmp_path / "pooled")

    assert submitted[0] == 2  # the first cycle sent both KB pages to the pool
    assert len(from_workers) == sum(submitted) >= len(STAGES)  # and every page sent was parsed by a worker
    assert pooled == inline
    builds, events = pooled
    assert any(b["status"] == "pulled" for b in builds)
    assert [e["kind"] for e in events].count("pulled") >= 2  # the replay reached the pulls of U3b and U3/U3a


def test_a_broken_pool_falls_back_to_the_inline_parse() -> None:
    executor = ProcessPoolExecutor(max_workers=1)
    try:
        doomed = executor.submit(os._exit, 1)  # the worker dies: the pool is broken
        assert parse_stage.Preparsed(executor, {"esxi-kb": doomed}).take("esxi-kb") is None
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def test_a_source_without_a_submitted_page_is_parsed_inline() -> None:
    assert parse_stage.Preparsed().take("esxi-kb") is None


def test_a_small_cycle_parses_inline(site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_stage, "workers", lambda: 4)
    config = load_config(str(kb_config(site, tmp_path)))
    page = Document(site.url("/kb/316595.html"), 200, b"<html>" + b"x" * 100_000, Validators(), 1)
    pages = [Planned(s.id, s.kind, s.url, s.product) for s in config.sources]
    small = parse_stage.start(pages, {"esxi-kb": page, "vcenter-kb": page})
    assert small.executor is None and not small.futures


@pytest.mark.parametrize(
    ("files", "cpus"),
    [
        ({"cpu.max": "max 100000\n"}, None),  # cgroup v2, no limit
        ({"cpu.max": "150000 100000\n"}, 1.5),  # docker run --cpus 1.5
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # cgroup v1, no limit
        ({"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1.0),
        ({}, None),  # no cgroup files: unknown
    ],
)
def test_a_containers_cpu_quota_is_read_from_its_cgroup(
    tmp_path: Path, files: dict[str, str], cpus: float | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert parse_stage._cpu_quota(tmp_path) == cpus


def test_a_one_cpu_container_parses_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parse_stage, "_cpu_quota", lambda: 1.0)
    assert parse_stage.workers() == 0


def _children() -> list[str]:
    """The command lines of this process's live child processes."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (OSError, ValueError):
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads child processes from Linux's /proc")
def test_a_cycle_parsed_in_worker_processes_leaves_no_process_behind(
    site: FixtureSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-running service idles between cycles: neither the pool's workers nor the resource tracker that
    watched its semaphores (a whole interpreter's memory) outlive the cycle."""
    monkeypatch.setattr(parse_stage, "workers", lambda: 1)
    monkeypatch.setattr(parse_stage, "MIN_BYTES", 0)
    started = parse_stage.start
    pools: list[bool] = []
    monkeypatch.setattr(parse_stage, "start", lambda *a: pools.append(True) or started(*a))
    before = _children()
    replay(site, tmp_path, STAGES[:1])
    assert pools  # the cycle did use a pool
    assert _children() == before
