"""Every way a spec can be wrong: one line on stderr naming the file, the field and what is expected.

Each row of the table is one mistake a lecturer could make. Through `derive.cli.main` it must give
exit status 2, exactly one line `derive: error: <file>: <field>: <problem>` on stderr, no traceback,
and leave the output folder as it was (not even created).
"""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from derive.cli import main
from derive.engine.spec import MAX_FILE_BYTES, MAX_PARAMETERS, MAX_WIDTH, NAME_PATTERN, load_spec, parse_spec
from derive.errors import SpecError

GOOD = """\
name = "t"
title = "A test network"
[network]
layers = [2, 2, 2]
activation = "sigmoid"
bias = true
loss = "half_sse"
[values]
x = [[0.05, 0.10]]
y = [[0.01, 0.99]]
W1 = [[0.15, 0.20], [0.25, 0.30]]
b1 = [0.35, 0.35]
W2 = [[0.40, 0.45], [0.50, 0.55]]
b2 = [0.60, 0.60]
learning_rate = 0.5
"""

SOFTMAX = """\
name = "s"
[network]
layers = [2, 3]
activation = "softmax"
loss = "cross_entropy"
[values]
x = [[1, 2], [3, 4]]
y = [[0, 1, 0], [1, 0, 0]]
seed = 1
"""

BCE = """\
name = "b"
[network]
layers = [2, 1]
activation = "sigmoid"
loss = "bce"
[values]
x = [[1, 2], [3, 4]]
y = [1, 0]
seed = 1
"""

DEEP = """\
name = "d"
[network]
layers = [2, 3, 3, 1]
activation = ["tanh", "relu", "identity"]
loss = "mse"
skip = [[0, 2]]
"""


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# (id, file content, the field the message must name, a fragment of what it must say)
CASES = [
    # Keys: missing, unknown (with the closest valid key suggested), and in the wrong place.
    ("missing-name", edit(GOOD, 'name = "t"\n', ""), "name", "is missing; e.g. name ="),
    ("missing-network", GOOD.split("[network]")[0], "network", "is missing; add a [network] table"),
    ("missing-layers", edit(GOOD, "layers = [2, 2, 2]\n", ""), "network.layers", "is missing"),
    ("missing-activation", edit(GOOD, 'activation = "sigmoid"\n', ""), "network.activation", "is missing; one of sigmoid"),
    ("missing-loss", edit(GOOD, 'loss = "half_sse"\n', ""), "network.loss", "is missing; one of half_sse"),
    ("missing-x", edit(GOOD, "x = [[0.05, 0.10]]\n", ""), "values.x", "is missing"),
    ("missing-parameter", edit(GOOD, "b2 = [0.60, 0.60]\n", ""), "values.b2", "is missing; give every parameter"),
    ("unknown-top-key", edit(GOOD, 'name = "t"', 'name = "t"\ntitel = "x"'), "titel", "did you mean 'title'?"),
    ("unknown-network-key", edit(GOOD, "layers =", "layer_sizes = [2]\nlayers ="), "network.layer_sizes", "unknown key"),
    ("misspelt-activation-key", edit(GOOD, "activation =", "activations ="), "network.activations", "did you mean 'activation'?"),
    ("unknown-values-key", edit(GOOD, "learning_rate", "learnig_rate"), "values.learnig_rate", "did you mean 'learning_rate'?"),
    ("lowercase-weight", edit(GOOD, "W2 =", "w2 ="), "values.w2", "did you mean 'W2'?"),
    ("quoted-key-with-newline", edit(GOOD, "bias = true", 'bias = true\n"a\\nb" = 1'), 'network."a\\nb"', "unknown key"),
    # Types.
    ("name-not-string", edit(GOOD, 'name = "t"', "name = 3"), "name", "expected a string, got a whole number"),
    ("network-not-table", 'name = "t"\nnetwork = [2, 1]\n', "network", "expected a table"),
    ("layers-not-list", edit(GOOD, "layers = [2, 2, 2]", 'layers = "2-2-2"'), "network.layers", "expected a list of layer widths"),
    ("width-float", edit(GOOD, "layers = [2, 2, 2]", "layers = [2, 2.5, 2]"), "network.layers[1]", "expected a whole number of units, got a number"),
    ("width-bool", edit(GOOD, "layers = [2, 2, 2]", "layers = [2, true, 2]"), "network.layers[1]", "got true/false"),
    ("bias-string", edit(GOOD, "bias = true", 'bias = "yes"'), "network.bias", "expected true/false"),
    ("activation-list-item", edit(GOOD, 'activation = "sigmoid"', 'activation = ["sigmoid", 1]'), "network.activation[1]", "expected a string"),
    ("learning-rate-string", edit(GOOD, "learning_rate = 0.5", 'learning_rate = "fast"'), "values.learning_rate", "expected a number, got a string"),
    ("x-entry-bool", edit(GOOD, "x = [[0.05, 0.10]]", "x = [[0.05, true]]"), "values.x[0][1]", "expected a number, got true/false"),
    ("x-entry-date", edit(GOOD, "x = [[0.05, 0.10]]", "x = [[0.05, 1979-05-27]]"), "values.x[0][1]", "expected a number, got date"),
    ("notation-not-table", edit(GOOD, 'title = "A test network"', 'title = "A test network"\nnotation = "ng"'), "notation", "expected a table ([notation]), got a string"),
    ("notation-style-type", edit(GOOD, "[values]", "[notation]\nstyle = 3\n[values]"), "notation.style", "expected a string, got a whole number"),
    ("notation-style-unknown", edit(GOOD, "[values]", '[notation]\nstyle = "nielson"\n[values]'), "notation.style", "did you mean 'nielsen'?"),
    # Choices.
    ("unknown-activation", edit(GOOD, '"sigmoid"', '"sigmod"'), "network.activation", "did you mean 'sigmoid'?"),
    ("unknown-loss", edit(GOOD, '"half_sse"', '"mse_loss"'), "network.loss", "is not one of half_sse"),
    ("softmax-hidden", edit(GOOD, 'activation = "sigmoid"', 'activation = ["softmax", "sigmoid"]'), "network.activation[0]", "only allowed in the output layer"),
    ("bce-needs-sigmoid", edit(edit(GOOD, 'activation = "sigmoid"', 'activation = "tanh"'), '"half_sse"', '"bce"'), "network.loss", "bce needs a sigmoid output layer"),
    ("xent-needs-probabilities", edit(DEEP, '"mse"', '"cross_entropy"'), "network.loss", "needs a softmax or sigmoid output layer"),
    ("bad-layout", edit(GOOD, "learning_rate = 0.5", 'learning_rate = 0.5\nlayout = "rows"'), "values.layout", "is not one of out_in, in_out"),
    # Layers: empty, zero-width, too wide, too deep, too many parameters.
    ("no-layers", edit(GOOD, "layers = [2, 2, 2]", "layers = []"), "network.layers", "needs at least an input and an output layer"),
    ("one-layer", edit(GOOD, "layers = [2, 2, 2]", "layers = [2]"), "network.layers", "needs at least an input and an output layer"),
    ("zero-width", edit(GOOD, "layers = [2, 2, 2]", "layers = [2, 0, 2]"), "network.layers[1]", "width must be at least 1, got 0"),
    ("negative-width", edit(GOOD, "layers = [2, 2, 2]", "layers = [-2, 2, 2]"), "network.layers[0]", "width must be at least 1, got -2"),
    ("too-wide", edit(GOOD, "layers = [2, 2, 2]", f"layers = [2, {MAX_WIDTH + 1}, 2]"), "network.layers[1]", f"width {MAX_WIDTH + 1} is over the limit of {MAX_WIDTH} units a layer"),
    ("astronomically-wide", edit(GOOD, "layers = [2, 2, 2]", "layers = [2, " + "9" * 4000 + ", 2]"), "network.layers[1]", "width 1e3999 is over the limit"),
    ("too-deep", edit(GOOD, "layers = [2, 2, 2]", f"layers = {[2] * 12}"), "network.layers", "at most 10 fit a worksheet"),
    ("too-many-parameters", edit(DEEP, "layers = [2, 3, 3, 1]\nactivation = [\"tanh\", \"relu\", \"identity\"]",
                                 f"layers = {[32] * 11}\nactivation = \"tanh\"").replace("skip = [[0, 2]]", "skip = " + str([[i, j] for i in range(11) for j in range(i + 2, 11)])),
     "network.layers", f"at most {MAX_PARAMETERS}: derive writes one formula per parameter"),
    ("softmax-one-unit", edit(SOFTMAX, "layers = [2, 3]", "layers = [2, 1]").split("[values]")[0], "network.layers", "needs at least 2 units"),
    ("activation-count", edit(GOOD, 'activation = "sigmoid"', 'activation = ["sigmoid"]'), "network.activation", "has 1 entries but the network has 2 computing layers"),
    ("bias-count", edit(GOOD, "bias = true", "bias = [true, false, true]"), "network.bias", "has 3 entries"),
    # Skips.
    ("skip-backwards", edit(DEEP, "skip = [[0, 2]]", "skip = [[2, 0]]"), "network.skip[0]", "goes backwards or to itself"),
    ("skip-to-itself", edit(DEEP, "skip = [[0, 2]]", "skip = [[1, 1]]"), "network.skip[0]", "goes backwards or to itself"),
    ("skip-duplicates-dense-edge", edit(DEEP, "skip = [[0, 2]]", "skip = [[1, 2]]"), "network.skip[0]", "duplicates the dense connection from layer 1 to layer 2"),
    ("skip-listed-twice", edit(DEEP, "skip = [[0, 2]]", "skip = [[0, 2], [0, 2]]"), "network.skip[1]", "is listed twice"),
    ("skip-out-of-range", edit(DEEP, "skip = [[0, 2]]", "skip = [[0, 7]]"), "network.skip[0]", "layers must be between 0 (input) and 3 (output)"),
    ("skip-not-pair", edit(DEEP, "skip = [[0, 2]]", "skip = [[0, 2, 3]]"), "network.skip[0]", "expected a pair of layer numbers"),
    ("skip-not-list", edit(DEEP, "skip = [[0, 2]]", 'skip = "0->2"'), "network.skip", "expected a list of [from, to] layer pairs"),
    # Values: shapes, numbers, targets.
    ("x-empty", edit(GOOD, "x = [[0.05, 0.10]]", "x = []"), "values.x", "got an empty list"),
    ("x-row-width", edit(GOOD, "x = [[0.05, 0.10]]", "x = [[0.05, 0.10, 0.2]]"), "values.x[0]", "has 3 numbers but the input layer has 2 units"),
    ("y-row-count", edit(GOOD, "y = [[0.01, 0.99]]", "y = [[0.01, 0.99], [0.5, 0.5]]"), "values.y", "has 2 rows but values.x has 1"),
    ("weight-shape", edit(GOOD, "W2 = [[0.40, 0.45], [0.50, 0.55]]", "W2 = [[0.40, 0.45, 0.1], [0.50, 0.55, 0.1]]"), "values.W2", "expected shape (2, 2)"),
    ("bias-shape", edit(GOOD, "b1 = [0.35, 0.35]", "b1 = [0.35]"), "values.b1", "expected a list of 2 numbers"),
    ("weight-ragged", edit(GOOD, "W1 = [[0.15, 0.20], [0.25, 0.30]]", "W1 = [[0.15, 0.20], [0.25]]"), "values.W1", "got 2 rows of 1/2 numbers"),
    ("nan", edit(GOOD, "x = [[0.05, 0.10]]", "x = [[nan, 0.10]]"), "values.x[0][0]", "must be a finite number, got nan"),
    ("inf", edit(GOOD, "W1 = [[0.15, 0.20]", "W1 = [[0.15, -inf]"), "values.W1[0][1]", "must be a finite number, got -inf"),
    ("float-overflow-literal", edit(GOOD, "x = [[0.05, 0.10]]", "x = [[1e400, 0.10]]"), "values.x[0][0]", "must be a finite number, got inf"),
    ("float-underflow-literal", edit(GOOD, "x = [[0.05, 0.10]]", "x = [[0.05, 1e-400]]"), "values.x[0][1]",
     "1e-400 is too small to compute with (it would become 0); a nonzero magnitude is at least 2.225e-308: write 0 for zero"),
    ("float-subnormal-literal", edit(GOOD, "W1 = [[0.15, 0.20]", "W1 = [[-3e-320, 0.20]"), "values.W1[0][0]",
     "a float keeps only some of its digits"),
    ("huge-number", edit(GOOD, "b2 = [0.60, 0.60]", "b2 = [0.60, 1e7]"), "values.b2[1]", "keep magnitudes at most 1e6"),
    ("huge-whole-number", edit(GOOD, "b2 = [0.60, 0.60]", "b2 = [0.60, " + "1" * 400 + "]"), "values.b2[1]", "keep magnitudes at most 1e6"),
    ("rate-zero", edit(GOOD, "learning_rate = 0.5", "learning_rate = 0"), "values.learning_rate", "must be positive"),
    ("not-one-hot", edit(SOFTMAX, "y = [[0, 1, 0], [1, 0, 0]]", "y = [[0, 1, 0], [0.5, 0.5, 0]]"), "values.y[1]", "must be one-hot for a softmax output"),
    ("two-hot", edit(SOFTMAX, "y = [[0, 1, 0], [1, 0, 0]]", "y = [[0, 1, 1], [1, 0, 0]]"), "values.y[0]", "must be one-hot"),
    ("bce-target-above-1", edit(BCE, "y = [1, 0]", "y = [1, 2]"), "values.y[1][0]", "2.0 is outside [0, 1], required by bce"),
    ("bce-target-negative", edit(BCE, "y = [1, 0]", "y = [-0.5, 0]"), "values.y[0][0]", "outside [0, 1]"),
    ("seed-and-weights", edit(GOOD, "learning_rate = 0.5", "learning_rate = 0.5\nseed = 3"), "values.seed", "cannot be combined with explicit parameters"),
    ("seed-negative", edit(BCE, "seed = 1", "seed = -1"), "values.seed", "expected a whole number from 0 to 2**32 - 1, got -1"),
    ("parameter-without-bias", edit(GOOD, "bias = true", "bias = false"), "values.b1", "the network has no b1: network.bias is false for layer 1"),
    ("parameter-of-no-layer", edit(GOOD, "learning_rate = 0.5", "learning_rate = 0.5\nW3 = [[1, 2]]"), "values.W3", "the network has no W3: its layers are 1 to 2"),
    ("weights-of-no-skip", edit(DEEP, "[network]", "[values]\nx = [[1, 2]]\ny = [1]\nseed = 1\nW3_0 = [[1, 2]]\n[network]"), "values.W3_0", "the network has no W3_0: network.skip has no [0, 3]"),
    # Names and titles: strict pattern, one line.
    ("name-path-traversal", edit(GOOD, 'name = "t"', 'name = "../../etc"'), "name", "'../../etc' is not allowed; use 1-64 lowercase letters"),
    ("name-absolute-path", edit(GOOD, 'name = "t"', 'name = "/etc/passwd"'), "name", "is not allowed"),
    ("name-latex", edit(GOOD, 'name = "t"', 'name = "a\\\\input{x}"'), "name", "is not allowed"),
    ("name-python", edit(GOOD, 'name = "t"', "name = \"__import__('os')\""), "name", "is not allowed"),
    ("name-trailing-newline", edit(GOOD, 'name = "t"', 'name = "t\\n"'), "name", "'t\\n' is not allowed"),
    ("name-uppercase", edit(GOOD, 'name = "t"', 'name = "Net"'), "name", "is not allowed"),
    ("name-empty", edit(GOOD, 'name = "t"', 'name = ""'), "name", "is not allowed"),
    ("name-too-long", edit(GOOD, 'name = "t"', 'name = "' + "a" * 65 + '"'), "name", "is not allowed"),
    ("title-newline", edit(GOOD, 'title = "A test network"', 'title = "line one\\nline two"'), "title", "contains a control character or line break"),
    ("title-line-separator", edit(GOOD, 'title = "A test network"', 'title = "one\\u2028two"'), "title", "line break"),
    ("title-too-long", edit(GOOD, 'title = "A test network"', 'title = "' + "x" * 201 + '"'), "title", "at most 200 fit a worksheet heading"),
    # Files that are not specs at all.
    ("not-toml", "this is not = = toml\n", "file", "is not valid TOML (Expected '=' after a key in a key/value pair (at line 1, column 6))"),
    ("duplicate-key", GOOD + "[values]\nx = 1\n", "file", "is not valid TOML (Cannot declare ('values',) twice"),
    ("unterminated-string", 'name = "t\n', "file", "is not valid TOML"),
    ("deep-nesting", "x = " + "[" * 5000 + "]" * 5000 + "\n", "file", "nested too deeply"),
    ("giant-integer-literal", "x = " + "1" * 5000 + "\n", "file", "is not valid TOML for derive (Exceeds the limit (4300 digits)"),
    ("not-utf8", b'name = "caf\xe9"\n', "file", "is not UTF-8 text (bad byte at offset 11)"),
    ("binary", bytes(range(256)), "file", "is not UTF-8 text"),
    ("empty-file", "", "name", "is missing"),
]


def write(path: Path, content) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def run_and_expect_refusal(argv, capsys, field: str, fragment: str, file_shown: str):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.endswith("\n") and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    line = captured.err.rstrip("\n")
    prefix = f"derive: error: {file_shown}: {field}: "
    assert line.startswith(prefix), line
    assert fragment in line[len(prefix):], line
    return line


@pytest.mark.parametrize("case_id, content, field, fragment", CASES, ids=[c[0] for c in CASES])
def test_a_malformed_spec_is_refused_in_one_line_and_nothing_is_written(tmp_path, capsys, case_id, content, field, fragment):
    spec = write(tmp_path / "bad.toml", content)
    out = tmp_path / "out"
    run_and_expect_refusal(["paths", str(spec)], capsys, field, fragment, str(spec))
    run_and_expect_refusal(["build", str(spec), "--no-pdf", "--out", str(out)], capsys, field, fragment, str(spec))
    assert not out.exists()


@pytest.mark.parametrize("case_id, content, field, fragment", CASES, ids=[c[0] for c in CASES])
def test_the_library_raises_the_same_spec_error(tmp_path, case_id, content, field, fragment):
    spec = write(tmp_path / "bad.toml", content)
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert info.value.field == field
    assert fragment in info.value.problem
    assert "\n" not in str(info.value)


def test_there_are_at_least_thirty_distinct_mistakes():
    assert len({c[0] for c in CASES}) >= 30
    assert len({c[1] for c in CASES}) == len(CASES)  # no two rows test the same text


def test_the_good_spec_of_the_table_is_valid(tmp_path, capsys):
    for text in (GOOD, SOFTMAX, BCE, DEEP):
        assert main(["paths", str(write(tmp_path / "good.toml", text))]) == 0
    capsys.readouterr()


def test_a_bad_spec_among_good_ones_leaves_an_existing_output_folder_unchanged(tmp_path, capsys, examples_dir):
    out = tmp_path / "out"
    assert main(["build", str(examples_dir / "ng-222.toml"), "--no-pdf", "--out", str(out)]) == 0
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()}
    bad = write(tmp_path / "bad.toml", edit(GOOD, "layers = [2, 2, 2]", "layers = [2, 0, 2]"))
    capsys.readouterr()
    assert main(["build", str(examples_dir / "ng-222.toml"), str(bad), "--no-pdf", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"derive: error: {bad}: network.layers[1]: width must be at least 1, got 0\n"
    assert captured.out.startswith("ng-222: up to date")  # the good spec is built (here: already was)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(out.rglob("*")) if p.is_file()} == before


# ---------------------------------------------------------------------------------------------
# Files that cannot be read


def test_missing_file(tmp_path, capsys):
    missing = tmp_path / "nope.toml"
    run_and_expect_refusal(["paths", str(missing)], capsys, "file", "no such file", str(missing))


def test_a_folder_instead_of_a_file(tmp_path, capsys):
    run_and_expect_refusal(["paths", str(tmp_path)], capsys, "file", "is a folder, expected a .toml spec file", str(tmp_path))


def test_a_device_is_not_read_forever(capsys):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    run_and_expect_refusal(["paths", "/dev/zero"], capsys, "file", "is not a regular file", "/dev/zero")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs mkfifo")
def test_a_named_pipe_is_not_opened(tmp_path, capsys):
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)  # opening it for reading would block until a writer came
    run_and_expect_refusal(["paths", str(fifo)], capsys, "file", "is not a regular file", str(fifo))


def test_a_file_too_large_to_be_a_spec(tmp_path, capsys):
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    run_and_expect_refusal(["paths", str(big)], capsys, "file", f"a spec is at most {MAX_FILE_BYTES} bytes", str(big))


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(tmp_path, capsys):
    spec = write(tmp_path / "locked.toml", GOOD)
    spec.chmod(0)
    try:
        run_and_expect_refusal(["paths", str(spec)], capsys, "file", "cannot be read (Permission denied)", str(spec))
    finally:
        spec.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_a_file_name_with_a_newline_is_shown_on_one_line(tmp_path, capsys):
    spec = write(tmp_path / "two\nlines.toml", "not toml = =")
    run_and_expect_refusal(["paths", str(spec)], capsys, "file", "is not valid TOML", str(spec).replace("\n", "\\n"))


def test_a_byte_order_mark_is_accepted(tmp_path, capsys):
    spec = write(tmp_path / "bom.toml", b"\xef\xbb\xbf" + GOOD.encode())
    assert main(["paths", str(spec)]) == 0
    capsys.readouterr()


# ---------------------------------------------------------------------------------------------
# Mistakes on the command line around the specs


def test_two_specs_with_the_same_name(tmp_path, capsys, examples_dir):
    copy = write(tmp_path / "copy.toml", (examples_dir / "ng-222.toml").read_text())
    out = tmp_path / "out"
    assert main(["build", str(examples_dir / "ng-222.toml"), str(copy), "--no-pdf", "--out", str(out)]) == 2
    line = one_error_line(capsys)
    assert line.startswith(f"derive: error: {copy}: name: 'ng-222' is also the name of {examples_dir / 'ng-222.toml'}")
    assert (out / "ng-222" / "gradients.py").is_file()  # the first of the two is built


def test_the_same_spec_twice(tmp_path, capsys, examples_dir):
    spec = str(examples_dir / "ng-222.toml")
    out = tmp_path / "out"
    assert main(["build", spec, spec, "--no-pdf", "--out", str(out)]) == 2
    assert one_error_line(capsys).startswith(f"derive: error: {spec}: name: the file is given twice")
    assert (out / "ng-222" / "gradients.py").is_file()


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
    assert captured.err.startswith("derive: error: ")
    return captured.err


def test_templates_not_a_folder(tmp_path, capsys, examples_dir):
    out = tmp_path / "out"
    assert main(["build", str(examples_dir / "ng-222.toml"), "--templates", str(tmp_path / "nope"), "--no-pdf", "--out", str(out)]) == 2
    assert "--templates:" in one_error_line(capsys) and not out.exists()


def test_jobs_below_one(tmp_path, capsys, examples_dir):
    out = tmp_path / "out"
    assert main(["build", str(examples_dir / "ng-222.toml"), "--jobs", "0", "--out", str(out)]) == 2
    assert "--jobs: must be at least 1" in one_error_line(capsys) and not out.exists()


def test_out_is_a_file(tmp_path, capsys, examples_dir):
    out = write(tmp_path / "out", "keep me")
    assert main(["build", str(examples_dir / "ng-222.toml"), "--no-pdf", "--out", str(out)]) == 2
    assert "cannot create the output folder" in one_error_line(capsys)
    assert out.read_text() == "keep me"


def test_the_output_folder_of_a_spec_is_a_file(tmp_path, capsys, examples_dir):
    out = tmp_path / "out"
    out.mkdir()
    write(out / "ng-222", "keep me")
    assert main(["build", str(examples_dir / "ng-222.toml"), "--no-pdf", "--out", str(out)]) == 2
    assert "exists and is not a folder" in one_error_line(capsys)
    assert (out / "ng-222").read_text() == "keep me"


def test_answers_without_values(tmp_path, capsys):
    spec = write(tmp_path / "novalues.toml", GOOD.split("[values]")[0])
    assert main(["answers", str(spec)]) == 2
    assert "values: is missing" in one_error_line(capsys)


# ---------------------------------------------------------------------------------------------
# Names become symbols, folder names and LaTeX: only the strict pattern gets through


@pytest.mark.parametrize("name", ["../../etc", "..", ".", "a/b", "a\\b", "/abs", "~user", "a b", "a.b", "a_b", "-a", "1a",
                                  "A", "é", "a\x00b", "con\n", "$(rm -rf x)", "`id`", "a;b", "x" * 65, "\\input{x}", "{}", "%"])
def test_names_outside_the_pattern_are_refused(name):
    assert not NAME_PATTERN.fullmatch(name)
    text = edit(GOOD, 'name = "t"', "name = " + _toml_string(name))
    with pytest.raises(SpecError) as info:
        parse_spec(text, "x.toml")
    assert info.value.field == "name" and "is not allowed" in info.value.problem
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["a", "ng-222", "mazur-222", "a" * 64, "x1-y2"])
def test_names_inside_the_pattern_are_accepted(name):
    assert parse_spec(edit(GOOD, 'name = "t"', f'name = "{name}"')).name == name


def _toml_string(text: str) -> str:
    import json

    return json.dumps(text)  # a JSON string literal is a valid TOML basic string for these names


# ---------------------------------------------------------------------------------------------
# [values] keys against canonical names, mixed rows, and messages that cannot rewrite a terminal line

VALUES_BASE = 'name = "t"\n[network]\nlayers = [1, 1, 1]\nactivation = "sigmoid"\nbias = {bias}\nloss = "half_sse"\n[values]\ny = [[1.0]]\n'


@pytest.mark.parametrize("line,field,message", [
    ("W01 = [[1.0]]", "values.W01", "unknown key; did you mean 'W1'? (parameters are written without leading zeros)"),
    ("W001 = [[1.0]]", "values.W001", "unknown key; did you mean 'W1'?"),
    ("b01 = [0.0]", "values.b01", "unknown key; did you mean 'b1'?"),
    ("W2_1 = [[1.0]]", "values.W2_1", "the network has no W2_1: the weights into layer 2 from layer 1 are W2, without a _<from> part"),
    ("W2_01 = [[1.0]]", "values.W2_01", "the network has no W2_1: the weights into layer 2 from layer 1 are W2"),
    ("W3 = [[1.0]]", "values.W3", "the network has no W3: its layers are 1 to 2"),
])
def test_values_keys_are_matched_against_canonical_names(tmp_path, capsys, line, field, message):
    spec = write(tmp_path / "v.toml", VALUES_BASE.format(bias="true") + "x = [[1.0]]\n" + line + "\n")
    run_and_expect_refusal(["check", str(spec)], capsys, field, message, str(spec))


def test_a_bias_written_with_a_leading_zero_in_a_net_without_biases(tmp_path, capsys):
    spec = write(tmp_path / "v.toml", VALUES_BASE.format(bias="false") + "x = [[1.0]]\nb01 = [0.0]\n")
    run_and_expect_refusal(["check", str(spec)], capsys, "values.b01", "the network has no b1: network.bias is false for layer 1", str(spec))


def test_a_list_mixing_numbers_and_rows_is_explained(tmp_path, capsys):
    spec = write(tmp_path / "v.toml", VALUES_BASE.format(bias="true") + "x = [1, [2]]\n")
    run_and_expect_refusal(["check", str(spec)], capsys, "values.x", "mixes numbers and rows; write one row of 1 number per example", str(spec))


@pytest.mark.parametrize("key", ["W1\u202e", "x\u2066y", "a\x1b[2Jb", "\u200fW1"])
def test_bidirectional_and_control_characters_in_a_key_are_shown_escaped(tmp_path, capsys, key):

    quoted = '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 32 else c for c in key) + '"'
    spec = write(tmp_path / "v.toml", VALUES_BASE.format(bias="true") + f"x = [[1.0]]\n{quoted} = 1\n")
    assert main(["check", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"derive: error: {spec}: values.")
    assert not any(c in err[:-1] for c in key if not c.isalnum() and c not in "[") and "\\u" in err, ascii(err)


@pytest.mark.parametrize("written", ["0.0", "-0.0", "0e-400", "0.000E-999", "2.2250738585072014e-308", "1e-300"])
def test_a_written_zero_or_a_normal_float_is_no_underflow(written):
    from derive.engine.spec import checked_float

    assert float(checked_float(written)) == float(written) and type(checked_float(written)) is float
