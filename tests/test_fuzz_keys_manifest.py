"""Fuzzing what a user or a damaged folder hands derive: any [values] key name, any manifest content.

A key is either a parameter (accepted) or refused in one line naming the file and the key, escaped;
a manifest of any shape never makes derive read, write or remove anything outside its own outputs.
"""
from __future__ import annotations

import json
import re

from conftest import examples
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from derive.engine.spec import parse_spec
from derive.errors import SpecError, escape_controls
from derive.outputs import MANIFEST, read_manifest, write_outputs

BASE = """name = "k"
[network]
layers = [1, 2, 1]
activation = "sigmoid"
loss = "half_sse"
{skip}
[values]
x = [[1.0]]
y = [[0.5]]
"""
UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")

def toml_key(key: str) -> str:
    """`key` as a TOML quoted key: quotes, backslashes and control characters escaped."""
    return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 32 or ord(c) == 127 or c in '"\\' else c for c in key) + '"'


parameter_like = st.from_regex(r"[Wb][0-9]{1,4}(_[0-9]{1,4})?", fullmatch=True)
any_key = st.text(min_size=1, max_size=12)


@settings(max_examples=examples(300), deadline=None)
@given(key=parameter_like | any_key, skip=st.booleans())
def test_any_values_key_is_a_parameter_or_one_clear_line(key, skip):
    assume(key not in ("x", "y", "learning_rate", "layout", "seed"))
    spec_skip = "skip = [[0, 2]]" if skip else ""
    params = {"W1": "[[0.1], [0.2]]", "b1": "[0.0, 0.0]", "W2": "[[0.3, 0.4]]", "b2": "[0.0]"}
    if skip:
        params["W2_0"] = "[[0.5]]"
    lines = [f"{name} = {value}" for name, value in params.items() if name != key]
    text = BASE.format(skip=spec_skip) + "\n".join(lines) + f"\n{toml_key(key)} = {params.get(key, '[[1.0]]')}\n"
    try:
        spec = parse_spec(text, "fuzz.toml")
    except SpecError as exc:
        message = escape_controls(str(exc))
        assert message.startswith("fuzz.toml: values")
        assert not UNSAFE.search(message), message
        assert "\n" not in message
        canonical = re.fullmatch(r"([Wb])0*([0-9]+)(?:_0*([0-9]+))?", key)
        if canonical and key not in params:
            name = canonical[1] + canonical[2] + (f"_{canonical[3]}" if canonical[3] else "")
            if name in params:
                assert f"did you mean {name!r}?" in message
        return
    assert key in params  # accepted only when the key is the network's own parameter
    assert set(spec.values.params) == set(params)


names = st.sampled_from(["gradients.py", "notes.tex", "../outside.txt", "/etc/hostname", "..", ".", "", "a/b", "x\x00y",
                         ".derive-tmp.notes.tex.0123abcd", ".derive-tmp.../outside.txt.0123abcd", MANIFEST, "user.txt",
                         ".derive-tmp.user.txt.0123abcd"]) | st.text(max_size=8)
digests = st.sampled_from(["0" * 64, "zz", "", None, 5]) | st.text(max_size=70)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5) | digests,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3), max_leaves=8)
manifests = st.fixed_dictionaries({}, optional={
    "key": json_values, "files": st.dictionaries(names, digests) | json_values,
    "pending": st.dictionaries(names, st.lists(digests, max_size=2) | digests) | json_values,
    "temporaries": st.lists(names, max_size=4) | json_values, "sources": st.dictionaries(names, digests) | json_values,
    "manifest_temporary": names | json_values})


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifest=manifests | st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
def test_any_manifest_is_validated_before_use(tmp_path_factory, manifest):
    root = tmp_path_factory.mktemp("m")
    folder = root / "out"
    folder.mkdir()
    (root / "outside.txt").write_text("outside")
    (folder / "user.txt").write_text("mine")
    (folder / ".derive-tmp.user.txt.0123abcd").write_text("mine too")
    (folder / MANIFEST).write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    read = read_manifest(folder)
    for name in [*read["files"], *read["pending"], *read["temporaries"], *read["sources"]]:
        assert "/" not in name and name not in ("", ".", "..") and "\x00" not in name
    files = {"gradients.py": b"g\n", "notes.tex": b"t\n"}
    assert sorted(write_outputs(folder, files, "k")) == sorted(files)
    assert (root / "outside.txt").read_text() == "outside"
    assert (folder / "user.txt").read_text() == "mine"
    # Only a temporary the manifest recorded may be removed; this one was "recorded" by the fuzz at most.
    recorded = ".derive-tmp.user.txt.0123abcd" in (*read["temporaries"], read["manifest_temporary"])
    assert (folder / ".derive-tmp.user.txt.0123abcd").exists() or recorded
    assert set(read_manifest(folder)["files"]) == set(files)
