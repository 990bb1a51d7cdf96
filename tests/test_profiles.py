"""Notation profiles are data: the built-in TOML files, a lecturer's own copy, and bad profiles refused in one line."""
from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import pytest
from conftest import EXAMPLES, examples, spec_text

from derive.cli import main
from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import NOTATIONS, parse_spec
from derive.notation.names import PROFILES, Names
from derive.notation.profile import BUILTIN, Profile, builtin, parse_profile
from derive.sheets.render import render_worksheets

PROFILE_DIR = Path(__file__).resolve().parent.parent / "derive" / "notation" / "profiles"

# What the renderers were written against before profiles became files (derive/notation/names.py's table),
# plus the fields the files added; qbus is the QBUS6850 lecture (seed 004).
EXPECTED = {
    "ng": dict(cost="J", cost_full=r"J(\theta)", activation="g", hadamard=r"\odot", columns=True, parens=True,
               weight_letter=r"\theta", matrix_letter=r"\Theta", bias_unit=True, output="", minus_y_first=False,
               target_first=True, examples="m", target="y", input_matrix="x", learning_rate=r"\eta",
               weight_by_target=False, first_layer=1, index_letters="ij", activation_by_letter=False),
    "nielsen": dict(cost="e", cost_full="e", activation="g", hadamard=r"\circ", columns=True, parens=False,
                    weight_letter="w", matrix_letter="w", bias_unit=False, bias_letter="b", output=r"\hat{y}",
                    minus_y_first=False, target_first=True, examples="m", target="y", learning_rate=r"\eta",
                    weight_by_target=True, first_layer=1, index_letters="jk", activation_by_letter=True),
    "welch": dict(cost="J", cost_full="J", activation="f", hadamard=r"\odot", columns=False, parens=True,
                  weight_letter="W", matrix_letter="W", bias_unit=False, bias_letter="b", output=r"\hat{y}",
                  output_matrix=r"\hat{y}", minus_y_first=True, target_first=True, examples="m", target="y",
                  input_matrix="X", learning_rate=r"\eta", weight_by_target=False, first_layer=1, index_letters="ki",
                  activation_by_letter=True),
    "qbus": dict(cost="L", cost_full=r"L(\mathbf{W})", target="t", target_matrix=r"\mathbf{t}", examples="N",
                 output=r"f(\mathbf{x}, \mathbf{W})", output_matrix=r"f(\mathbf{X}, \mathbf{W})",
                 hadamard=r"\mathbin{.*}", columns=False, parens=True, input_matrix=r"\mathbf{X}",
                 preactivation_matrix=r"\mathbf{Z}", activation_matrix=r"\mathbf{a}", matrix_letter=r"\mathbf{W}",
                 weight_letter="w", bias_unit=False, bias_matrix=r"\mathbf{b}", learning_rate=r"\alpha",
                 target_first=False, minus_y_first=False, weight_by_target=False, first_layer=1, index_letters="ij",
                 activation=r"\sigma", activation_by_letter=False),
}


# ---------------------------------------------------------------------------------------------
# The built-in profiles


def test_every_builtin_is_a_file_named_after_it_and_a_spec_choice():
    assert sorted(p.stem for p in PROFILE_DIR.glob("*.toml")) == sorted(BUILTIN) == sorted(NOTATIONS) == sorted(PROFILES)
    for name in BUILTIN:
        # read as package data, exactly as an installed derive reads it
        assert resources.files("derive.notation").joinpath("profiles", f"{name}.toml").is_file()
        assert PROFILES[name].name == name and PROFILES[name].source == f"derive/notation/profiles/{name}.toml"


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_profile_holds_what_the_renderers_expect(name):
    profile = PROFILES[name]
    for field, value in EXPECTED[name].items():
        assert getattr(profile, field) == value, field
    # the file on disk is the profile: parsing it again gives the same value
    assert parse_profile((PROFILE_DIR / f"{name}.toml").read_bytes(), profile.source) == profile


def test_pyproject_ships_the_profiles_as_package_data():
    import tomllib

    pyproject = tomllib.loads((PROFILE_DIR.parents[2] / "pyproject.toml").read_text())
    assert "profiles/*.toml" in pyproject["tool"]["setuptools"]["package-data"]["derive.notation"]


def _doc(spec: str, profile, doc: str = "handout.tex", numbers=None) -> str:
    d = derive(build_network(parse_spec(spec)))
    return render_worksheets(d, numbers, profile)[doc]


def test_qbus_writes_the_lectures_matrix_equations():
    from derive.numbers.answers import compute_answers

    d = derive(build_network(parse_spec((EXAMPLES / "regression-231.toml").read_text())))
    docs = render_worksheets(d, compute_answers(d), "qbus")
    tex = docs["handout.tex"]
    # seed 004: Z(2) = X W(1); δ(3) = (f(X, W) − t) .* σ'(Z(3)); ∂L/∂W(2) = (a(2))ᵀ δ(3); δ(2) = (δ(3) W(2)ᵀ) .* σ'(Z(2))
    assert r"\mathbf{Z}^{(2)} &= \mathbf{X} \mathbf{W}^{(1)} && 4\times 3" in tex  # the spec's N = 4 examples
    assert (r"\delta^{(3)} &= \left(f(\mathbf{X}, \mathbf{W}) - \mathbf{t}\right) \mathbin{.*} "
            r"\sigma'\left(\mathbf{Z}^{(3)}\right) && 4\times 1") in tex
    assert (r"\delta^{(2)} &= \left(\delta^{(3)} \left(\mathbf{W}^{(2)}\right)^T\right) \mathbin{.*} "
            r"\sigma'\left(\mathbf{Z}^{(2)}\right) && 4\times 3") in tex
    assert r"\frac{\partial L}{\partial \mathbf{W}^{(2)}} &= \left(\mathbf{a}^{(2)}\right)^T \delta^{(3)} && 3\times 1" in tex
    assert r"L(\mathbf{W}) = \frac{1}{2}\sum (f(\mathbf{x}, \mathbf{W}) - t)^2" in tex
    # one example's loss and the line-by-line derivation keep the lecture's order (f − t), not (t − f)
    assert r"L_{n} = \frac{1}{2} \left(f(\mathbf{x}, \mathbf{W}) - t\right)^{2}" in tex
    steps = tex[tex.index("One gradient, one rule per line"):]
    assert r"\left(f(\mathbf{x}, \mathbf{W}) - t\right)" in steps and r"\left(t - " not in tex
    # the gradient step uses α, the batch sums run to N
    assert r"w^{(1)}_{11} &\leftarrow w^{(1)}_{11} - \alpha\, " in docs["answers.tex"]
    assert r"\sum_{n=1}^{N}" in docs["answers.tex"] and r"^{m}" not in docs["answers.tex"]
    assert r"learning rate $\alpha = " in docs["exercises.tex"]
    # a bias is added to every example as 1_N b, as on the lecture's "Forward Propagation with Bias" slide
    biased = _doc(spec_text([2, 3, 1], bias=True, name="b"), "qbus")
    assert r"\mathbf{Z}^{(2)} &= \mathbf{X} \mathbf{W}^{(1)} + \mathbf{1}_N \mathbf{b}^{(1)} && N\times 3" in biased
    assert r"\frac{\partial L}{\partial \mathbf{b}^{(1)}} &= \mathbf{1}_N^T \delta^{(2)} && 1\times 3" in biased


# ---------------------------------------------------------------------------------------------
# One symbol, one way, within a document


@pytest.mark.parametrize("name", BUILTIN)
def test_one_activation_name_in_every_section(name):
    """The activation is written one way in the forward pass, the δ section, the matrix form, the
    one-rule-per-line derivation and the worked numbers: σ(z), σ'(z) (ng, qbus), or the course's
    letter g(z), g'(z) (nielsen), f(z), f'(z) (welch), never σ in one section and g' in another."""
    from derive.numbers.answers import compute_answers

    d = derive(build_network(parse_spec((EXAMPLES / "mazur-222.toml").read_text())))
    docs = render_worksheets(d, compute_answers(d), name)
    profile = PROFILES[name]
    used, unused = (profile.activation, r"\sigma") if profile.activation_by_letter else (r"\sigma", "g")
    for doc, tex in docs.items():
        assert used + r"\left(" in tex or doc == "exercises.tex", doc
        assert unused + r"\left(" not in tex and unused + r"'\left(" not in tex, doc
        assert "f'\\left" not in tex or used == "f", doc
    assert used + r"'\left(" in docs["handout.tex"]
    if profile.activation_by_letter:  # the sheet says what the letter stands for
        assert rf"activation ${used} = \sigma$ (sigmoid)" in docs["handout.tex"]
    # layers with different functions: each by its own name, in every profile (one letter cannot mean both)
    mixed = _doc(spec_text([2, 3, 1], activation=["tanh", "sigmoid"], name="mixed"), name)
    assert r"\tanh'\left(" in mixed and r"\sigma'\left(" in mixed
    assert rf"{profile.activation}'\left(" not in mixed or profile.activation == r"\sigma"


def test_welch_writes_the_output_error_one_way():
    """welch writes ∂J/∂ŷ as −(y − ŷ) in the δ section; the path sums once wrote (ŷ − y)."""
    spec = (EXAMPLES / "welch-231.toml").read_text()
    d = derive(build_network(parse_spec(spec)))
    from derive.numbers.answers import compute_answers

    for doc, tex in render_worksheets(d, compute_answers(d), "welch").items():
        assert r"\left(\hat{y} - y\right)" not in tex, doc
    assert r"\textcolor{pathblue}{-\left(y - \hat{y}\right) \hat{y}" in render_worksheets(d, None, "welch")["handout.tex"]


def test_ng_writes_bias_entries_and_the_general_rule_with_lowercase_theta():
    tex = _doc(spec_text([2, 3, 1], bias=True, name="b"), "ng")
    # J sums over the m examples, so the rule sums δ and a of each example n
    assert r"\frac{\partial J}{\partial \theta^{(1)}_{ij}} = \sum_{n} \delta^{(2)}_{in}\, x_{jn}" in tex
    assert r"\frac{\partial J}{\partial \theta^{(1)}_{i0}} = \sum_{n} \delta^{(2)}_{in}" in tex
    assert r"\Theta^{(1)}_{ij}" not in tex and r"\theta^{(1)}_{0}" not in tex
    # the whole bias vector is column 0 of Θ, not a scalar-looking θ_0
    assert r"z^{(2)} &= \Theta^{(1)} x + \Theta^{(1)}_{\cdot 0} && 3\times 1" in tex


def test_nielsen_general_rule_uses_the_jk_of_its_notation_line():
    tex = _doc(spec_text([1, 2, 1], bias=True, name="b"), "nielsen")
    assert r"w^{l}_{jk}" in tex
    assert r"\frac{\partial e}{\partial w^{2}_{jk}} = \sum_{n} \delta^{2}_{jn}\, x_{kn}" in tex
    assert r"\frac{\partial e}{\partial b^{3}_{j}} = \sum_{n} \delta^{3}_{jn}" in tex
    assert r"_{ij}" not in tex


# ---------------------------------------------------------------------------------------------
# A lecturer's own profile


def _copy(tmp_path: Path, base: str, *edits: tuple[str, str], name: str = "mine.toml") -> Path:
    text = (PROFILE_DIR / f"{base}.toml").read_text()
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_copied_and_edited_profile_builds(tmp_path, capsys):
    mine = _copy(tmp_path, "qbus", ("count = 'N'", "count = 'n'"), ("learning_rate = '\\alpha'", "learning_rate = '\\gamma'"),
                 ("input = 1  ", "input = 0  "), ('name = "qbus"', 'name = "my-course"'))
    spec = EXAMPLES / "regression-231.toml"
    assert main(["build", str(spec), "--out", str(tmp_path / "out"), "--no-pdf", "--notation", str(mine)]) == 0
    folder = tmp_path / "out" / "regression-231"
    handout, answers = (folder / "handout.tex").read_text(), (folder / "answers.tex").read_text()
    # counted from 0: the first hidden layer is z^(1), the first weight matrix W^(0)
    assert r"\mathbf{Z}^{(1)} &= \mathbf{X} \mathbf{W}^{(0)} && 4\times 3" in handout  # the spec's n = 4 examples
    assert r"one per row ($n = 4$)" in handout
    assert r"\sum_{n=1}^{n}" in answers and r"- \gamma\, " in answers
    # the same profile named in the spec, relative to the spec's folder
    (tmp_path / "profiles").mkdir()
    mine.rename(tmp_path / "profiles" / "mine.toml")
    local = tmp_path / "local.toml"
    local.write_text(spec.read_text().replace('style = "qbus"', 'style = "profiles/mine.toml"'))
    assert main(["build", str(local), "--out", str(tmp_path / "out2"), "--no-pdf"]) == 0
    assert (tmp_path / "out2" / "regression-231" / "handout.tex").read_text() == handout
    # editing the profile rebuilds (the build key holds the whole profile)
    capsys.readouterr()
    assert main(["build", str(local), "--out", str(tmp_path / "out2"), "--no-pdf"]) == 0
    assert "up to date" in capsys.readouterr().out
    edited = (tmp_path / "profiles" / "mine.toml").read_text().replace("count = 'n'", "count = 'k'")
    (tmp_path / "profiles" / "mine.toml").write_text(edited)
    assert main(["build", str(local), "--out", str(tmp_path / "out2"), "--no-pdf"]) == 0
    assert r"one per row ($k = 4$)" in (tmp_path / "out2" / "regression-231" / "handout.tex").read_text()


BAD = [
    ("missing-field", [("count = 'N'", "")], "examples.count", "is missing"),
    ("renamed-table", [("[operators]", "[ops]")], "ops", "unknown key; expected one of name, description, layers"),
    ("misspelt-table", [("[symbols]", "[symbol]")], "symbol", "unknown key; did you mean 'symbols'?"),
    ("wrong-type", [("parentheses = true", "parentheses = 'yes'")], "layers.parentheses", "expected true or false, got a string"),
    ("wrong-type-number", [("count = 'N'", "count = 4")], "examples.count", "expected a string, got a whole number"),
    ("unknown-key", [("count = 'N'", "cuont = 'N'")], "examples.cuont", "unknown key; did you mean 'count'?"),
    ("bad-choice", [('orientation = "rows"', 'orientation = "row"')], "examples.orientation", "did you mean 'rows'?"),
    ("layer-number", [("input = 1  ", "input = 2  ")], "layers.input", "expected 0 or 1"),
    ("index-letters", [('index_letters = "ij"', 'index_letters = "ii"')], "symbols.index_letters", "two different letters"),
    ("empty-symbol", [("delta = '\\delta'", "delta = ''")], "symbols.delta", "is empty"),
    ("unbalanced", [("delta = '\\delta'", "delta = '\\delta{'")], "symbols.delta", "unbalanced braces"),
    ("file-macro", [("delta = '\\delta'", "delta = '\\input{/etc/passwd}'")], "symbols.delta", r"uses \input"),
    ("redefinition", [("cost = 'L'", "cost = '\\def\\x{1}L'")], "loss.cost", r"uses \def"),
    ("math-shift", [("cost = 'L'", "cost = '$L$'")], "loss.cost", "contains '$'"),
    ("comment", [("cost = 'L'", "cost = 'L%'")], "loss.cost", "contains '%'"),
    ("hex-escape", [("cost = 'L'", "cost = '^^5cinput'")], "loss.cost", "^^"),
    ("output-pair", [("output = 'f(\\mathbf{X}, \\mathbf{W})'", "output = ''")], "matrices.output", "exactly when"),
    # the profile: moodle.xml was not well-formed and half the QTI items malformed
    ("non-character", [("delta = '\\delta'", 'delta = "\\\\delta\\uFFFF"')], "symbols.delta",
     "contains U+FFFF, which no XML export can carry"),
    ("c1-control", [("cost = 'L'", 'cost = "L\\u0085"')], "loss.cost", "contains U+0085"),
    ("plane-non-character", [("cost = 'L'", 'cost = "L\\U0001FFFE"')], "loss.cost", "contains U+1FFFE"),
]


@pytest.mark.parametrize("case,edits,field,problem", BAD, ids=[b[0] for b in BAD])
def test_a_bad_profile_is_refused_in_one_line(tmp_path, capsys, case, edits, field, problem):
    bad = _copy(tmp_path, "qbus", *edits)
    out = tmp_path / "out"
    assert main(["build", str(EXAMPLES / "regression-231.toml"), "--out", str(out), "--no-pdf", "--notation", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"derive: error: {bad}: {field}: "), err
    assert problem in err, err
    assert not out.exists()  # refused before any work


@pytest.mark.parametrize("content,problem", [
    (b'name = "x"\n\xff\xfe\n', "file: is not UTF-8 text"),
    (b"this is [not toml\n", "file: is not valid TOML"),
    (b"", "name: is missing"),
])
def test_a_profile_that_is_not_a_utf8_toml_file_is_refused(tmp_path, capsys, content, problem):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(content)
    assert main(["build", str(EXAMPLES / "toy-111.toml"), "--out", str(tmp_path / "out"), "--no-pdf", "--notation", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"derive: error: {bad}: {problem}"), err


def test_a_spec_naming_a_missing_profile_writes_nothing_and_costs_the_others_nothing(tmp_path, capsys):
    good = EXAMPLES / "toy-111.toml"
    spec = tmp_path / "s.toml"
    spec.write_text(good.read_text().replace('name = "toy-111"', 'name = "other"').replace('style = "ng"', 'style = "none.toml"'))
    assert main(["build", str(good), str(spec), "--out", str(tmp_path / "out"), "--no-pdf"]) == 2
    err = capsys.readouterr().err
    assert err == f"derive: error: {tmp_path / 'none.toml'}: file: no such file (a notation is ng, nielsen, welch, qbus or the path of a .toml profile)\n"
    assert not (tmp_path / "out" / "other").exists()  # the refused spec writes nothing…
    assert (tmp_path / "out" / "toy-111" / "gradients.py").is_file()  # …and the good one is still built


def test_an_unknown_notation_name_is_refused_with_a_suggestion(tmp_path, capsys):
    assert main(["build", str(EXAMPLES / "toy-111.toml"), "--out", str(tmp_path), "--notation", "nielson"]) == 2
    assert capsys.readouterr().err == ("derive: error: --notation: 'nielson' is not one of ng, nielsen, welch, qbus "
                                       "(did you mean 'nielsen'?) nor a .toml profile file\n")


def test_profile_strings_are_never_evaluated(tmp_path):
    """A profile's strings reach the .tex verbatim: Python code in one is printed, never run."""
    payload = r"\mathrm{__import__(\"os\").system(\"touch pwned\")}"
    mine = _copy(tmp_path, "ng", ("cost = 'J'", f"cost = '{payload}'"))
    profile = parse_profile(mine.read_bytes(), str(mine))
    assert profile.cost == payload
    tex = _doc(spec_text([1, 1, 1], name="t"), profile)
    assert payload in tex and not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_names_follow_the_profile_fields():
    spec = parse_spec(spec_text([2, 2, 1], bias=True, name="n"))
    base = builtin("welch")
    names = Names(spec, dataclasses.replace(base, first_layer=0, parens=False, weight_by_target=True))
    assert names.matrix("W1") == "W^{1}" and names.vector("z", 1) == "z^{1}" and names.unit("a", 2, 0) == r"\hat{y}"
    names = Names(spec, dataclasses.replace(base, bias_unit=True))
    # a bias unit with examples as rows: row 0 of the displayed (transposed) matrix
    assert names.bias(1, 1) == "W^{(1)}_{02}" and names.matrix("b1") == r"W^{(1)}_{0\cdot}" and names.entry("b1") == "W^{(1)}_{0i}"
    assert isinstance(base, Profile) and names.ones() == r"\mathbf{1}_m"


def _leaves(data: dict, prefix=()):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _leaves(value, prefix + (key,))
        else:
            yield prefix + (key,)


def test_any_value_in_any_field_is_a_profile_or_one_profile_error():
    """Every field, given any TOML value, gives a Profile or a ProfileError naming that field: never a traceback."""
    import copy
    import tomllib

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from derive.errors import ProfileError
    from derive.notation.profile import validate_profile

    data = tomllib.loads((PROFILE_DIR / "qbus.toml").read_text())
    paths = list(_leaves(data))
    values = st.one_of(st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=90),
                       st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))

    @settings(max_examples=examples(300), deadline=None)
    @given(st.sampled_from(paths), values)
    def check(path, value):
        changed = copy.deepcopy(data)
        table = changed
        for key in path[:-1]:
            table = table[key]
        table[path[-1]] = value
        try:
            profile = validate_profile(changed, "p.toml")
        except ProfileError as exc:
            # symbols.output and matrices.output must agree: a mismatch is reported at matrices.output
            fields = {".".join(path)} | ({"matrices.output"} if path == ("symbols", "output") else set())
            assert str(exc).split(": ")[1] in fields and str(exc).startswith("p.toml: ") and "\n" not in str(exc), str(exc)
        else:
            assert isinstance(profile, Profile)

    check()


def test_the_docs_print_what_each_profile_prints():
    """docs/notation.md's LaTeX samples are lines of mazur-222's handout in that profile."""
    import re

    docs = (PROFILE_DIR.parents[2] / "docs" / "notation.md").read_text()
    d = derive(build_network(parse_spec((EXAMPLES / "mazur-222.toml").read_text())))
    for name in BUILTIN:
        lines = {line.rstrip(" \\").strip() for line in render_worksheets(d, None, name)["handout.tex"].splitlines()}
        block = re.search(r"```latex\n(.*?)```", docs[docs.index(f"### `{name}`"):], re.S).group(1)
        for line in block.splitlines():
            assert line.rstrip(" \\").strip() in lines, (name, line)


def test_the_summary_names_functions_bias_layers_and_renumbered_skips():
    spec = spec_text([2, 3, 3, 2], activation=["tanh", "relu", "softmax"], bias=[True, False, True], skip=[[0, 2]],
                     loss="cross_entropy", name="x")
    summary = next(l for l in _doc(spec, "welch").splitlines() if l.startswith(r"\noindent\textbf{Network.}"))
    assert r"activation $\tanh$, $\operatorname{ReLU}$, $\operatorname{softmax}$," in summary  # not "tanh (tanh)"
    assert "with biases into layers 2 and 4 only" in summary
    assert r"$W^{(1\to 3)}$ from layer 1 to layer 3 (the spec's [0, 2]: the spec counts the input as layer 0)" in summary
    summary = next(l for l in _doc(spec_text([2, 3, 1], activation=["identity", "sigmoid"], name="y"), "ng").splitlines()
                   if l.startswith(r"\noindent\textbf{Network.}"))
    assert r"activation $\operatorname{id}$ (identity), $\sigma$ (sigmoid), with biases;" in summary


def test_a_lecturers_copy_from_before_bias_units_and_the_summary_still_builds():
    """A profile copied before `[bias] drawn` and `[handout] summary` existed keeps its sheets as they were:
    no bias unit in the diagram, no four-equation summary."""
    text = (PROFILE_DIR / "nielsen.toml").read_text()
    older = "\n".join(line for line in text.splitlines()
                      if not line.startswith(("drawn", "summary", "[handout]")))
    assert "drawn" not in older and "[handout]" not in older
    profile = parse_profile(older.encode(), "old-nielsen.toml")
    assert profile.bias_drawn_as_unit is False and profile.four_equations is False
    current = parse_profile(text.encode(), "nielsen.toml")
    assert current.bias_drawn_as_unit is True and current.four_equations is True
    spec = parse_spec(spec_text([2, 2, 1], bias=True), "net.toml")
    d = derive(build_network(spec))
    handout = render_worksheets(d, None, profile)["handout.tex"]
    assert "bias units, always" not in handout and "BP1" not in handout
    assert "BP1" in render_worksheets(d, None, current)["handout.tex"]


@pytest.mark.parametrize("loss,activation", [("bce", "sigmoid"), ("cross_entropy_mean", ["tanh", "softmax"])])
def test_the_logarithm_is_written_the_courses_way_in_every_document(loss, activation):
    """The lecture (004) writes log, the other courses ln: one spelling per document, everywhere it appears."""
    layers = [2, 2, 1] if loss == "bce" else [2, 3, 3]
    spec = parse_spec(spec_text(layers, activation=activation, loss=loss), "net.toml")
    d = derive(build_network(spec))
    for name, own, other in (("qbus", r"\log", r"\ln"), ("ng", r"\ln", r"\log"), ("nielsen", r"\ln", r"\log")):
        docs = render_worksheets(d, None, name)
        assert own in docs["handout.tex"], name
        for doc, tex in docs.items():
            assert other not in tex.replace(r"\logo", ""), (name, doc)
