"""Property tests of spec validation: whatever bytes a spec file holds, derive derives it or refuses it.

Generated specs come from three sources: valid networks built from scratch, the bundled examples
mutated one way or several (keys dropped or added, types changed, shapes broken, NaN, huge widths),
and raw bytes (random TOML-ish text and arbitrary bytes, including non-UTF-8). The properties:

* a spec `load_spec` accepts derives (`derive(build_network(spec))`), and with [values] its
  worked answers compute and are finite;
* a spec it refuses raises `SpecError` whose message is one line naming the file, and
  `derive paths FILE` exits 2 with exactly one line on stderr;
* mutations that are always mistakes (a required key dropped, an unknown key, NaN, a width over
  the limit) are always refused;
* nothing ever raises any other exception.

The examples are the same on every run (tests/conftest.py's "ci" profile: derandomized, no database);
`--hypothesis-profile=explore` draws new ones, five times as many. The CI counts keep the whole file
to a few minutes.
"""
from __future__ import annotations

import copy
import json
import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import examples
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from derive.cli import main
from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import ACTIVATIONS, LOSSES, MAX_WIDTH, load_spec
from derive.errors import SpecError
from derive.numbers.answers import compute_answers

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.toml"))
EXAMPLE_DATA = [tomllib.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES]

# derandomize, database and print_blob come from the loaded profile (tests/conftest.py)
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------------------------------------
# A small TOML writer (the standard library only reads TOML)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string once DEL (which JSON leaves raw) is escaped too.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def toml_key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else toml_value(key)


def to_toml(data: dict) -> str:
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append(f"[{toml_key(k)}]")
            lines += [f"{toml_key(kk)} = {toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


def test_the_writer_round_trips_every_example():
    for data in EXAMPLE_DATA:
        assert tomllib.loads(to_toml(data)) == data


# ---------------------------------------------------------------------------------------------
# The property


def derive_or_refuse(path: Path, capsys) -> bool:
    """True if the spec at `path` was accepted (and derived), False if refused properly."""
    try:
        spec = load_spec(path)
    except SpecError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message
        assert message.startswith(f"{path}: {exc.field}: ")
        assert main(["paths", str(path)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err == f"derive: error: {message}\n"
        return False
    derivation = derive(build_network(spec))
    assert derivation.total_paths >= 1
    if spec.values is not None:
        numbers = compute_answers(derivation)
        assert math.isfinite(numbers["loss"])
        for table in ("forward", "delta", "gradients"):
            for value in numbers[table].values():
                assert np.all(np.isfinite(value))
    return True


def write(tmp_path_factory, content: bytes) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "spec.toml"
    path.write_bytes(content)
    return path


# ---------------------------------------------------------------------------------------------
# Valid networks built from scratch


@st.composite
def valid_specs(draw):
    depth = draw(st.integers(1, 3))
    layers = draw(st.lists(st.integers(1, 4), min_size=depth + 1, max_size=depth + 1))
    hidden = draw(st.lists(st.sampled_from(("sigmoid", "tanh", "relu", "identity")), min_size=depth - 1, max_size=depth - 1))
    out = draw(st.sampled_from(ACTIVATIONS))
    if out == "softmax":
        layers[-1] = max(2, layers[-1])
    loss_options = [l for l in LOSSES if not l.startswith(("bce", "cross_entropy"))]
    if out == "sigmoid":
        loss_options = list(LOSSES)
    elif out == "softmax":
        loss_options += ["cross_entropy", "cross_entropy_mean"]
    loss = draw(st.sampled_from(loss_options))
    acts = hidden + [out]
    network = {"layers": layers, "activation": acts if draw(st.booleans()) or len(set(acts)) > 1 else out,
               "loss": loss, "bias": draw(st.booleans())}
    skips = [[s, d] for s in range(depth + 1) for d in range(s + 2, depth + 1)]
    if skips:
        network["skip"] = draw(st.lists(st.sampled_from(skips), unique_by=tuple, max_size=len(skips)))
    data = {"name": draw(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)), "network": network}
    if draw(st.booleans()):
        # A valid title holds what the worksheets can typeset: printable Latin-1, dashes and curly quotes.
        latin = st.characters(min_codepoint=32, max_codepoint=255, blacklist_categories=("Cc",))
        data["title"] = draw(st.text(latin | st.sampled_from("\u2013\u2014\u2018\u2019\u201c\u201d"), max_size=40))
    if draw(st.booleans()):
        m = draw(st.integers(1, 3))
        number = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)  # a subnormal is refused (underflow)
        x = [[draw(number) for _ in range(layers[0])] for _ in range(m)]
        n_out = layers[-1]
        if out == "softmax":
            hot = [draw(st.integers(0, n_out - 1)) for _ in range(m)]
            y = [[1.0 if k == h else 0.0 for k in range(n_out)] for h in hot]
        elif loss.startswith(("bce", "cross_entropy")):
            y = [[draw(st.floats(0, 1, allow_subnormal=False)) for _ in range(n_out)] for _ in range(m)]
        else:
            y = [[draw(number) for _ in range(n_out)] for _ in range(m)]
        data["values"] = {"x": x, "y": y, "seed": draw(st.integers(0, 2**32 - 1))}
        if draw(st.booleans()):
            data["values"]["learning_rate"] = draw(st.floats(1e-6, 10))
    return data


@settings(FUZZ, max_examples=examples(150))
@given(data=valid_specs())
def test_valid_specs_derive_and_give_finite_answers(tmp_path_factory, capsys, data):
    path = write(tmp_path_factory, to_toml(data).encode())
    assert derive_or_refuse(path, capsys), load_spec_error(path)


@settings(FUZZ, max_examples=examples(40))
@given(data=valid_specs())
def test_valid_specs_build_end_to_end(tmp_path_factory, capsys, data):
    """derive build (check against backprop and finite differences, answers, worksheets) succeeds."""
    path = write(tmp_path_factory, to_toml(data).encode())
    out = tmp_path_factory.mktemp("out")
    code = main(["build", str(path), "--out", str(out), "--no-pdf"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err
    assert {p.name for p in (out / data["name"]).iterdir()} >= {"gradients.py", "handout.tex", "exercises.tex", "answers.tex"}


def load_spec_error(path):
    try:
        load_spec(path)
    except SpecError as exc:
        return str(exc)


# ---------------------------------------------------------------------------------------------
# Mutated examples


def paths_in(data, prefix=()):
    """Every (path, value) in a nested structure of dicts and lists."""
    yield prefix, data
    if isinstance(data, dict):
        for k, v in data.items():
            yield from paths_in(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from paths_in(v, prefix + (i,))


def parent_and_key(data, path):
    node = data
    for step in path[:-1]:
        node = node[step]
    return node, path[-1]


# Every draw is a new object: a mutation changes its spec in place (a NaN into values.x[0], a key into
# a table), and a shared st.just([[1, 2], [3]]) would carry that change into later examples, so that
# replaying one drew differently (FlakyStrategyDefinition).
SCALARS = (
    st.booleans(), st.integers(-10**6, 10**6), st.integers(), st.floats(), st.text(max_size=12),
    st.builds(list), st.builds(dict), st.lists(st.integers(-3, 40), max_size=4), st.builds(lambda: [[1, 2], [3]]),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
toml_scalars = st.one_of(*SCALARS)


@settings(FUZZ, max_examples=examples(20))
@given(st.data())
def test_a_value_a_mutation_puts_in_a_spec_is_never_shared_with_a_later_draw(data):
    for strategy in SCALARS:
        first, second = data.draw(strategy), data.draw(strategy)
        assert not (isinstance(first, (list, dict)) and first is second), strategy


REQUIRED = [("name",), ("network",), ("network", "layers"), ("network", "activation"), ("network", "loss")]


@st.composite
def mutation(draw, data):
    """Change `data` in place one way; returns True when the change must make the spec invalid."""
    kind = draw(st.sampled_from(["drop", "drop-required", "unknown-key", "retype", "reshape", "nan", "huge-width", "zero-width"]))
    nodes = [p for p, _ in paths_in(data) if p]
    if kind == "drop":
        path = draw(st.sampled_from(nodes))
        parent, key = parent_and_key(data, path)
        del parent[key]
        return False
    if kind == "drop-required":
        present = [p for p in REQUIRED if p in nodes]
        assume(present)
        path = draw(st.sampled_from(present))
        parent, key = parent_and_key(data, path)
        del parent[key]
        return True
    if kind == "unknown-key":
        tables = [p for p, v in paths_in(data) if isinstance(v, dict) and p in ((), ("network",), ("values",), ("notation",))]
        parent, _ = parent_and_key(data, draw(st.sampled_from(tables)) + (None,))
        key = draw(st.text(min_size=1, max_size=8))
        assume(key not in ("name", "title", "network", "values", "notation", "layers", "activation", "bias", "loss",
                           "skip", "style", "x", "y", "learning_rate", "layout", "seed") and not key.startswith(("W", "b")))
        parent[key] = draw(toml_scalars)
        return True
    if kind == "retype":
        path = draw(st.sampled_from(nodes))
        parent, key = parent_and_key(data, path)
        parent[key] = draw(toml_scalars)
        return False
    if kind == "reshape":
        lists = [p for p, v in paths_in(data) if isinstance(v, list) and v and p]
        assume(lists)
        parent, key = parent_and_key(data, draw(st.sampled_from(lists)))
        if draw(st.booleans()):
            parent[key] = parent[key][:-1]
        else:
            parent[key] = parent[key] + [copy.deepcopy(parent[key][-1])]
        return False
    if kind == "nan":
        numbers = [p for p, v in paths_in(data.get("values") if isinstance(data.get("values"), dict) else {}, ("values",))
                   if isinstance(v, (int, float)) and not isinstance(v, bool) and len(p) > 2
                   and (p[1] in ("x", "y") or str(p[1])[:1] in ("W", "b"))]
        assume(numbers)
        parent, key = parent_and_key(data, draw(st.sampled_from(numbers)))
        parent[key] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        return True
    network = data.get("network")
    layers = network.get("layers") if isinstance(network, dict) else None
    assume(isinstance(layers, list) and layers)
    i = draw(st.integers(0, len(layers) - 1))
    layers[i] = draw(st.integers(MAX_WIDTH + 1, 10**9)) if kind == "huge-width" else draw(st.integers(-5, 0))
    return True


@settings(FUZZ, max_examples=examples(1500))
@given(st.data())
def test_mutated_examples_derive_or_are_refused_in_one_line(tmp_path_factory, capsys, data):
    spec = copy.deepcopy(data.draw(st.sampled_from(EXAMPLE_DATA)))
    must_fail = False
    for _ in range(data.draw(st.integers(1, 3))):
        must_fail = data.draw(mutation(spec))
        if must_fail:
            break  # a later change (dropping [values], say) could remove the mistake again
    path = write(tmp_path_factory, to_toml(spec).encode())
    accepted = derive_or_refuse(path, capsys)
    assert not (must_fail and accepted), to_toml(spec)


# ---------------------------------------------------------------------------------------------
# Raw text and bytes


def example_lines():
    return [line for p in EXAMPLES for line in p.read_text(encoding="utf-8").splitlines()]


@settings(FUZZ, max_examples=examples(600))
@given(lines=st.lists(st.one_of(st.sampled_from(example_lines()), st.text(max_size=30)), max_size=25))
def test_shuffled_and_random_toml_lines_derive_or_are_refused(tmp_path_factory, capsys, lines):
    path = write(tmp_path_factory, "\n".join(lines).encode("utf-8", "surrogatepass"))
    derive_or_refuse(path, capsys)


@settings(FUZZ, max_examples=examples(600))
@given(content=st.one_of(
    st.binary(max_size=400),
    st.builds(lambda prefix, junk: prefix + junk, st.sampled_from([p.read_bytes() for p in EXAMPLES]), st.binary(max_size=40)),
    st.builds(lambda text, cut: text[:cut], st.sampled_from([p.read_bytes() for p in EXAMPLES]), st.integers(0, 700)),
))
def test_random_bytes_are_refused_or_derived(tmp_path_factory, capsys, content):
    path = write(tmp_path_factory, content)
    derive_or_refuse(path, capsys)


@pytest.mark.parametrize("blob", [b"\xff\xfe" + "name".encode("utf-16-le"), b"\x80abc", b"name = \"\xed\xa0\x80\"\n",
                                  b"\x00" * 10, "name = \"t\"\n".encode("utf-16")])
def test_non_utf8_encodings_are_refused(tmp_path, capsys, blob):
    path = tmp_path / "spec.toml"
    path.write_bytes(blob)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.field == "file"
    assert main(["paths", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
