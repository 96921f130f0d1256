"""Laziness lives at package boundaries (../shared/STYLE.md): an import inside a function is the exception, and
says why on the spot (`# lazy: why`); a cycle of unchanged pages loads an explicit list of modules, no more. A
quiet cycle runs every few minutes for the life of the service, so what it loads is its whole cost."""

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.support.site import FixtureSite
from tests.test_startup import QUIET_NOW, quiet_config

TRACKER = Path(__file__).resolve().parents[1] / "tracker"


def function_imports(path: Path) -> list[tuple[int, int]]:
    """(first line, last line) of each import statement inside a function of `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [
                (inner.lineno, inner.end_lineno or inner.lineno)
                for inner in ast.walk(node)
                if isinstance(inner, ast.Import | ast.ImportFrom)
            ]
    return sorted(set(found))


def says_why(lines: list[str], first: int, last: int) -> bool:
    """`# lazy:` on the statement itself, or on a comment line just above the run of imports it belongs to (one
    reason may cover a group of imports written together)."""
    if any("# lazy:" in line for line in lines[first - 1 : last]):
        return True
    above = first - 2
    while above >= 0:
        text = lines[above].strip()
        if "# lazy:" in text:
            return True
        if text.startswith(("import ", "from ", "#")) or text in ("", ")") or text.endswith(","):
            above -= 1  # another import of the same run, its continuation lines, or a comment about it
            continue
        return False
    return False


def test_every_import_inside_a_function_says_why():
    missing = []
    for path in sorted(TRACKER.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        missing += [
            f"{path.relative_to(TRACKER.parent)}:{first}: {lines[first - 1].strip()}"
            for first, last in function_imports(path)
            if not says_why(lines, first, last)
        ]
    assert not missing, "imports inside a function without `# lazy: why`:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_reason(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def a():\n    # lazy: SQLAlchemy, which --help must not load\n    import json\n    import os\n\n"
        "def b():\n    x = 1\n    import json\n    return x\n",
        encoding="utf-8",
    )
    lines = sample.read_text(encoding="utf-8").splitlines()
    verdicts = [says_why(lines, first, last) for first, last in function_imports(sample)]
    assert verdicts == [True, True, False]


PROBE = """
import json, sys
from tracker.cli import main
sys.argv = ["tracker", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
ours = sorted(m for m in sys.modules if m == "tracker" or m.startswith("tracker."))
print("LOADED=" + json.dumps(ours), file=sys.stderr)
"""

# What a cycle of unchanged pages (every page answered 304) may load of the tracker: the CLI, the config, the plan,
# the conditional fetch and the standard-library fast path of the store. Not the ORM, a parser, the decide stage
# or notify: a module added here is a cost every quiet cycle of every service pays, so it is a decision, not a drift.
QUIET_CYCLE: tuple[str, ...] = (
    # the CLI: tracker.cli imports every command's module, each light (their heavy parts load inside the commands)
    "tracker",
    "tracker.cli",
    "tracker.cli.alerts",
    "tracker.cli.common",
    "tracker.cli.config_cmd",
    "tracker.cli.health",
    "tracker.cli.inventory",
    "tracker.cli.output",
    "tracker.cli.poll",
    "tracker.cli.progress",
    "tracker.cli.service",
    "tracker.cli.views",
    "tracker.escape",
    "tracker.listings",  # the poll summary's --json shapes (cli/views.py)
    # the config, and the reference data and source kinds it checks against
    "tracker.config",
    "tracker.config.load",
    "tracker.config.masking",
    "tracker.config.messages",
    "tracker.config.models",
    "tracker.reference",
    "tracker.sources",  # the registry of kinds only: no parser module
    # the poll use case, the plan, the conditional fetch, and the store's standard-library fast path
    "tracker.jobs",
    "tracker.jobs.poll",
    "tracker.cycle",
    "tracker.cycle.engine",
    "tracker.cycle.fetch",
    "tracker.cycle.options",
    "tracker.cycle.parse",  # the stage's module (its pool starts only when a page changed)
    "tracker.cycle.plan",
    "tracker.cycle.report",
    "tracker.http",
    "tracker.store",
    "tracker.store.fastpath",
    "tracker.store.holders",
    "tracker.store.snapshot",
    # the domain: values, the clock and words, and what the modules above import at their top. Not the decision
    # (decide, diff, corroboration, advisories): its outcomes live in domain/outcomes.py. The catalog module loads for
    # its enums (domain/health.py, the fast path), and the exposure module for `Lifecycle` (tracker/reference.py).
    "tracker.domain",
    "tracker.domain.bom",
    "tracker.domain.catalog",
    "tracker.domain.clock",
    "tracker.domain.events",
    "tracker.domain.exposure",
    "tracker.domain.fixes",
    "tracker.domain.health",
    "tracker.domain.inventory",
    "tracker.domain.observations",
    "tracker.domain.outcomes",  # what a fetch gave and became: the values the quiet path names, without decide
    "tracker.domain.roles",
    "tracker.domain.tiers",
    "tracker.domain.tools",
    "tracker.domain.upgrade_order",
    "tracker.domain.version_grammar",
    "tracker.domain.versions",
    "tracker.domain.words",
)


def test_a_quiet_cycle_loads_only_the_listed_modules(site: FixtureSite, tmp_path: Path):
    config = quiet_config(site, tmp_path)
    args = ["--config", str(config), "--now", QUIET_NOW, "poll"]
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True, timeout=60)
    line = next(line for line in done.stderr.splitlines() if line.startswith("LOADED="))
    loaded = json.loads(line.removeprefix("LOADED="))
    assert "tracker.cycle.fetch" in loaded  # the probe saw a cycle run
    assert sorted(set(loaded) - set(QUIET_CYCLE)) == [], "a quiet cycle loads modules not in QUIET_CYCLE"
    assert sorted(set(QUIET_CYCLE) - set(loaded)) == [], "QUIET_CYCLE lists modules a quiet cycle no longer loads"


def test_the_web_face_loads_no_importer_or_sender_library_until_used():
    """`tracker run` with `web:` idles at most 120 MiB: the web's modules load as a whole, but the RVTools reader's
    openpyxl (10 MiB), vCenter's pyVmomi and apprise load only when an import or a send needs them."""
    probe = "import sys, tracker.web.app, tracker.scheduler; print(sorted({m.split('.')[0] for m in sys.modules}))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    loaded = set(ast.literal_eval(done.stdout.strip()))
    assert "fastapi" in loaded  # the probe saw the web load
    assert loaded & {"openpyxl", "pyVmomi", "apprise"} == set()
