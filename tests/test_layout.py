"""The package reads as the pipeline: rooms by stage, each importing only the rooms before it, no circle.

    engine → code → numbers;  engine → notation;  (engine, numbers, notation) → sheets
    → classset, training;  and on top the command line, the API and the builder.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "derive"
FOUNDATION = {"errors", "files", "version", "resources", "progress", "outputs"}
TOP = {"__init__", "__main__", "cli", "api", "builder"}
# What each room may import besides itself and the foundation: its __init__ says the same in words.
MAY_IMPORT = {
    "engine": set(),
    "code": {"engine"},
    "numbers": {"engine", "code"},
    "notation": {"engine"},
    "sheets": {"engine", "numbers", "notation"},
    "classset": {"engine", "code", "numbers", "notation", "sheets"},
    "training": {"engine", "code", "numbers", "sheets"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """The derive modules (or packages) a file imports, at module level or inside functions."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("derive"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").exists()
                          or (PACKAGE.parent / sub.replace(".", "/")).is_dir() else target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("derive")}
    return found - {me}


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "derive"


GRAPH = {module_name(p): imported(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_lives_in_a_room_or_is_foundation_or_top():
    loose = [m for m in GRAPH if m.count(".") == 1 and room(m) not in MAY_IMPORT
             and m.split(".")[1] not in FOUNDATION | TOP]
    assert loose == [], f"modules beside the rooms: {loose}; put each in the room of its stage"


def test_a_room_imports_only_the_rooms_before_it():
    upward = []
    for module, targets in GRAPH.items():
        here = room(module)
        if here not in MAY_IMPORT:  # foundation and top modules are checked below
            continue
        for target in targets:
            there = room(target)
            top_name = target.split(".")[1] if target.count(".") >= 1 else "__init__"
            if target == "derive" or (there not in MAY_IMPORT and top_name in TOP):
                upward.append(f"{module} imports {target} (the command line, API or builder)")
            elif there in MAY_IMPORT and there != here and there not in MAY_IMPORT[here]:
                upward.append(f"{module} imports {target} ({there} is not before {here})")
    assert upward == []


def test_the_foundation_imports_no_room():
    for module, targets in GRAPH.items():
        if module.count(".") == 1 and module.split(".")[1] in FOUNDATION:
            assert all(t.count(".") == 1 and t.split(".")[1] in FOUNDATION for t in targets), (module, targets)


def test_no_module_imports_itself_round_a_circle():
    def known(target: str) -> str | None:
        return target if target in GRAPH else None

    state: dict[str, int] = {}
    circles = []

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for t in sorted(filter(None, map(known, GRAPH[m]))):
            if state.get(t) == 1:
                circles.append(trail[trail.index(t):] + [t] if t in trail else [m, t])
            elif t not in state:
                visit(t, trail + [t])
        state[m] = 2

    for m in GRAPH:
        if m not in state:
            visit(m, [m])
    # A package's __init__ that names its modules lazily imports nothing, so a circle is a real one.
    assert circles == []


def test_every_room_says_what_it_offers_and_may_import():
    for name in MAY_IMPORT:
        doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text(encoding="utf-8"))) or ""
        assert re.search(r"May import", doc), f"derive/{name}/__init__.py does not say what it may import"
        for module in sorted((PACKAGE / name).glob("*.py")):
            if module.stem != "__init__":
                assert module.stem in doc, f"derive/{name}/__init__.py does not name {module.stem}"
