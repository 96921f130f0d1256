"""The domain core stays pure: only the standard library and tracker.domain itself (STYLE.md rule 1)."""

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).parents[1] / "tracker" / "domain"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_domain_core_imports_only_the_standard_library_and_itself():
    offenders = {
        f"{path.name}: {name}"
        for path in DOMAIN.glob("*.py")
        for name in imported_modules(path)
        if not name.startswith("tracker.domain") and name.split(".")[0] not in sys.stdlib_module_names
    }
    assert offenders == set()
    assert len(list(DOMAIN.glob("*.py"))) >= 5  # the scan saw the modules
