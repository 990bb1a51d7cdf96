"""The fuzz `derive build` gets, for the other writers (issue 22): any manifest in a folder that a
class set prunes or `derive train` shares never makes derive remove a person's file or anything
outside its folder; any argument through the API is accepted or a SpecError."""
from __future__ import annotations

import hashlib
import json
import os

import pytest
from conftest import EXAMPLES, examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fuzz_keys_manifest import manifests

import derive
from derive.errors import OutputError
from derive.outputs import MANIFEST, check_outputs, read_manifest, remove_outputs, write_outputs

MINE = b"a person's file"


def person_recorded(read: dict, name: str) -> bool:
    """Whether the (fuzzed) manifest claims `name` with the person's exact bytes: only then is it derive's."""
    digest = hashlib.sha256(MINE).hexdigest()
    return read["files"].get(name) == digest or digest in read["pending"].get(name, ())


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifest=manifests, prune=st.booleans(), remove=st.booleans())
def test_a_pruning_write_or_a_removal_under_any_manifest_removes_only_derives_files(tmp_path_factory, manifest, prune, remove):
    root = tmp_path_factory.mktemp("p")
    folder = root / "class"
    folder.mkdir()
    (root / "outside.txt").write_bytes(MINE)
    for name in ("user.txt", "notes.tex", "answers.pdf"):
        (folder / name).write_bytes(MINE)
    (folder / MANIFEST).write_text(json.dumps(manifest))
    read = read_manifest(folder)
    files = {"variants.json": b"{}\n"}
    try:
        if remove:
            remove_outputs(folder)
        else:
            check_outputs(folder, files, prune=prune)
            write_outputs(folder, files, "k", prune=prune)
    except OutputError as exc:
        assert "\n" not in str(exc)  # refused (a file it would remove looks edited): nothing is removed
        assert all((folder / n).read_bytes() == MINE for n in ("user.txt", "notes.tex", "answers.pdf"))
        return
    assert (root / "outside.txt").read_bytes() == MINE
    for name in ("user.txt", "notes.tex", "answers.pdf"):
        assert (folder / name).exists() or person_recorded(read, name), name
    if not remove:
        assert (folder / "variants.json").read_bytes() == b"{}\n"
        if prune:  # a pruned folder holds this run's files and files derive never recorded
            assert set(read_manifest(folder)["files"]) == set(files)


TOY = str(EXAMPLES / "toy-111.toml")
anything = (st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True) | st.text(max_size=12)
            | st.binary(max_size=6) | st.lists(st.text(max_size=4), max_size=2) | st.just(TOY) | st.just("x\x00y")
            | st.just("\ud800.toml") | st.just(os.devnull))


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=anything, notation=st.none() | anything)
def test_any_argument_to_load_is_a_derivation_or_a_spec_error(spec, notation):
    try:
        d = derive.load(spec, notation=notation)
    except derive.SpecError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(d, derive.Derivation)


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=anything, jobs=st.none() | anything, templates=st.none() | anything, module_name=st.none() | anything,
       notation=st.none() | anything)
def test_any_argument_to_build_is_refused_as_a_spec_error_before_any_work(tmp_path_factory, specs, jobs, templates,
                                                                       module_name, notation):
    out = tmp_path_factory.mktemp("b") / "out"
    try:
        results = derive.build(specs, out, pdf=False, jobs=jobs, templates=templates, module_name=module_name,
                               notation=notation)
    except derive.SpecError as exc:
        assert "\n" not in str(exc)
        assert not out.exists()
        return
    for r in results:  # a spec's own problem is its result's error, never an internal one
        assert r.error is None or isinstance(r.error, derive.SpecError), r.error
