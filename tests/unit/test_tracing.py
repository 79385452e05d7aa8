"""Nothing a user wrote or Claude answered leaves in X-Ray traces.

Powertools' Tracer records a traced function's response (and exception) as trace
metadata unless told not to: the template turns that off for every function, and
each decorator says so itself, so neither a missing variable nor a new decorator
can bring it back.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
CAPTURING = {"capture_lambda_handler", "capture_method"}


def _tracer_decorators(path: Path) -> Iterator[tuple[str, ast.expr]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(target, ast.Attribute) and target.attr in CAPTURING:
                    yield f"{path.relative_to(ROOT)}:{node.name}", decorator


def _keyword_is_false(decorator: ast.expr, name: str) -> bool:
    if not isinstance(decorator, ast.Call):
        return False
    return any(
        k.arg == name and isinstance(k.value, ast.Constant) and k.value.value is False for k in decorator.keywords
    )


def test_every_function_is_told_not_to_capture_responses_or_errors() -> None:
    # Given: the template's environment for every function
    template, problems = decode(str(ROOT / "template.yaml"))
    assert not problems and template is not None
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    # Then: Tracer's capture of responses and errors is off
    assert variables.get("POWERTOOLS_TRACER_CAPTURE_RESPONSE") == "false"
    assert variables.get("POWERTOOLS_TRACER_CAPTURE_ERROR") == "false"


def test_no_traced_function_captures_its_response_or_error() -> None:
    # Given: every Tracer decorator in the functions and the service package
    sources = [*(ROOT / "functions").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]
    decorators = [found for path in sources for found in _tracer_decorators(path)]
    assert decorators, "expected the entry points to be traced"
    # Then: each turns off both captures explicitly
    capturing = [
        where
        for where, decorator in decorators
        if not (_keyword_is_false(decorator, "capture_response") and _keyword_is_false(decorator, "capture_error"))
    ]
    assert capturing == []
