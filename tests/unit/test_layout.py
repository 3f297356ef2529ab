"""The house rules of the product code, checked on every run: modules under 300 lines, functions under 60,
and no import hidden inside a function unless it says why (`# lazy: …`, e.g. an Airflow task body or an
optional heavy import such as GX)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("dags", "govlake", "jobs", "quality", "catalog", "lineage", "schemas", "infra")
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 60


def product_modules() -> list[Path]:
    return sorted(p for package in PRODUCT for p in (ROOT / package).rglob("*.py"))


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def _explained(lines: list[str], lineno: int) -> bool:
    return "# lazy:" in lines[lineno - 1] or "# lazy:" in lines[lineno - 2]


def test_the_rules_see_the_product():
    assert len(product_modules()) > 60


@pytest.mark.parametrize("path", product_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_small_and_imports_at_the_top(path: Path):
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    problems = []
    if len(lines) > MAX_MODULE_LINES:
        problems.append(f"{len(lines)} lines (at most {MAX_MODULE_LINES})")
    for fn in _functions(tree):
        length = (fn.end_lineno or fn.lineno) - fn.lineno + 1
        if length > MAX_FUNCTION_LINES:
            problems.append(f"{fn.name} (line {fn.lineno}) has {length} lines (at most {MAX_FUNCTION_LINES})")
        for node in ast.walk(fn):
            if isinstance(node, ast.Import | ast.ImportFrom) and not _explained(lines, node.lineno):
                problems.append(f"line {node.lineno}: import inside {fn.name} without a '# lazy:' reason")
    assert not problems, f"{path.relative_to(ROOT)}: " + "; ".join(problems)
