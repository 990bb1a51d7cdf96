"""The API's docstrings: their Examples run as written, and every public name has the numpydoc sections.

docs/api.md's reference is generated from these docstrings (mkdocstrings), so what a reader sees there
is what these tests run. The examples use the bundled specs (mazur-222, ng-222, toy-111): a second or two.
"""
from __future__ import annotations

import doctest
import inspect

import pytest

import derive.api
import derive.errors

PUBLIC = {  # what docs/api.md's reference shows, each with the sections it must have
    derive.api.load: ("Parameters", "Returns", "Raises", "Examples"),
    derive.api.build: ("Parameters", "Returns", "Raises", "Examples"),
    derive.api.Derivation: ("Parameters", "Attributes", "Examples"),
    derive.api.Derivation.source: ("Returns", "Examples"),
    derive.api.Derivation.module: ("Returns", "Examples"),
    derive.api.Derivation.answers: ("Parameters", "Returns", "Raises", "Examples"),
    derive.api.Derivation.path_count: ("Parameters", "Returns", "Raises", "Examples"),
    derive.api.Derivation.paths: ("Parameters", "Returns", "Raises", "Examples"),
    derive.api.Derivation.paths_summary: ("Returns", "Examples"),
    derive.api.Derivation.worksheets: ("Parameters", "Returns", "Raises", "Examples"),
    derive.api.Derivation.explain: ("Parameters", "Returns", "Raises", "Examples"),
    derive.api.Explanation: ("Attributes", "Examples"),
    derive.api.NamedFactor: ("Attributes",),
    derive.errors.DeriveError: ("Examples",),
    derive.errors.SpecError: ("Parameters", "Attributes", "Examples"),
}


@pytest.mark.parametrize("module", [derive.api, derive.errors], ids=lambda m: m.__name__)
def test_the_docstring_examples_run_as_written(module):
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = [t for t in finder.find(module) if t.examples]
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {module.__name__} failed (printed above)"
    assert result.attempted >= (30 if module is derive.api else 4)


@pytest.mark.parametrize("obj", PUBLIC, ids=lambda o: getattr(o, "__qualname__", None) or o.func.__qualname__)
def test_every_public_name_has_its_numpydoc_sections(obj):
    doc = inspect.getdoc(obj.func if hasattr(obj, "func") else obj)
    for section in PUBLIC[obj]:
        assert f"\n{section}\n{'-' * len(section)}\n" in doc, f"no {section} section"
    if "Examples" in PUBLIC[obj]:
        assert ">>> " in doc.split("Examples\n--------\n")[1]
