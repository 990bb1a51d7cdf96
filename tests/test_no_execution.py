"""Nothing a user writes is executed: derive's source never evaluates strings as code or SymPy input.

User text reaches derive only as a spec. Its numbers become floats, its choices are looked up in
fixed tables, and its name must match spec.NAME_PATTERN before it becomes a symbol, a folder name
or LaTeX. The one `exec` in the package is `derive/code/codegen.py:load_module`, which runs the module
text derive's own printer produced (gradients.py) so that answers and checks use exactly the code
that is shipped; no user string is ever part of that text except through the validated name.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "derive"
SOURCES = sorted(PACKAGE.rglob("*.py"))  # every room, not only the top folder

# Calls that turn a string into code or into a SymPy expression (sympify parses strings with eval).
# The builtin compile() counts; re.compile() (an attribute call) does not.
FORBIDDEN = {"eval", "exec", "compile", "sympify", "parse_expr", "S", "__import__", "execfile", "run_path",
             "parse_latex", "lambdify", "import_module"}
NOT_AS_ATTRIBUTE = {"compile"}
ALLOWED = {("codegen.py", "load_module", "exec"), ("codegen.py", "load_module", "compile")}


def called_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and func.attr not in NOT_AS_ATTRIBUTE:
        return func.attr
    return None


def dangerous_calls(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for function in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))] + [tree]:
        owner = getattr(function, "name", "<module>")
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and called_name(node) in FORBIDDEN:
                yield owner, called_name(node), node.lineno


def test_the_package_has_sources():
    assert {p.name for p in SOURCES} >= {"spec.py", "codegen.py", "cli.py", "outputs.py"}


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_no_string_is_evaluated_as_code(path):
    found = {(path.name, owner, name, line) for owner, name, line in dangerous_calls(path)}
    # A call inside a function is also seen from the module level; keep the innermost owner.
    innermost = {(f, n, l): o for f, o, n, l in sorted(found, key=lambda t: t[1] == "<module>", reverse=True)}
    bad = [f"{f}:{l} {o}() calls {n}" for (f, n, l), o in innermost.items() if (f, o, n) not in ALLOWED]
    assert not bad, bad


def test_the_one_exec_is_in_load_module_and_runs_derives_own_printer_output():
    calls = [(owner, name) for owner, name, _ in dangerous_calls(PACKAGE / "code" / "codegen.py") if owner != "<module>"]
    assert ("load_module", "exec") in calls
    text = (PACKAGE / "code" / "codegen.py").read_text()
    assert "never user text" in text  # load_module's docstring states the contract


def test_textual_scan_agrees(tmp_path):
    """A plain text search as well, so that aliasing (`from sympy import sympify as s`) is caught too."""
    import re

    hits = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0]
            for needle in ("eval(", "sympify", "parse_expr", "exec(", "__import__", "import_module", "sp.S(", "sympy.S("):
                # `def eval(cls, z)` (SymPy's hook for automatic simplification) is a definition, not a call.
                if re.search(r"(?<!\w)" + re.escape(needle), code) and not re.match(r"\s*(def |[\"'])", code):
                    hits.append((path.name, number, needle))
    assert [h for h in hits if h[:1] != ("codegen.py",) or h[2] != "exec("] == [], hits
    assert len([h for h in hits if h[0] == "codegen.py" and h[2] == "exec("]) == 1


def test_templates_are_rendered_only_in_jinja2s_sandbox():
    """A template folder may come from someone else: no plain jinja2.Environment renders it."""
    import jinja2.sandbox

    from derive.sheets.texenv import make_env

    assert isinstance(make_env(), jinja2.sandbox.SandboxedEnvironment)
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("Environment", "Template"):
                pytest.fail(f"{path.name}:{node.lineno}: builds a Jinja2 {node.func.attr} outside the sandbox")
