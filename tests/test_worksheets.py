"""Worksheets: content of the handout, exercises and answers in each notation profile, and golden files.

Regenerate the golden files after an intended change with:

    DERIVE_REGENERATE_GOLDEN=1 python -m pytest tests/test_worksheets.py -k golden
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import parse_spec
from derive.notation.names import PROFILES, get_profile, symbol_names
from derive.numbers.answers import compute_answers
from derive.sheets.render import escape_latex, render_worksheets

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

GOLDEN = Path(__file__).parent / "golden"

NET_222 = """
name = "lab-222"
title = "Lab 8: the 2-2-2 network"
[network]
layers = [2, 2, 2]
activation = "sigmoid"
bias = false
loss = "half_sse"
"""

VALUES_222 = """
[values]
x = [[0.05, 0.10]]
y = [[0.01, 0.99]]
W1 = [[0.15, 0.20], [0.25, 0.30]]
W2 = [[0.40, 0.45], [0.50, 0.55]]
learning_rate = 0.5
"""

NET_231 = """
name = "welch-231"
title = "Welch 2-3-1"
[network]
layers = [2, 3, 1]
activation = "sigmoid"
bias = false
loss = "half_sse"
[values]
layout = "in_out"
x = [[0.3, 1.0]]
y = [[0.75]]
W1 = [[1, 1, 1], [1, 1, 1]]
W2 = [[1], [1], [1]]
"""

NET_TINY = """
name = "tiny"
title = "Tiny 1-1-1"
[network]
layers = [1, 1, 1]
activation = "sigmoid"
loss = "half_sse"
[values]
x = [[0.5]]
y = [[1.0]]
W1 = [[0.3]]
b1 = [0.1]
W2 = [[-0.4]]
b2 = [0.2]
learning_rate = 0.1
"""


def build(text: str):
    d = derive(build_network(parse_spec(text)))
    numbers = compute_answers(d) if d.network.spec.values is not None else None
    return d, numbers


@pytest.fixture(scope="module")
def net222():
    return build(NET_222)


@pytest.fixture(scope="module")
def net231():
    return build(NET_231)


def test_ng_names_follow_the_lab_sheet(net222):
    d, _ = net222
    names = symbol_names(d.network, "ng")
    by_name = {s.name: v for s, v in names.items()}
    assert by_name["W1_0_1"] == r"\theta^{(1)}_{12}"
    assert by_name["W2_1_0"] == r"\theta^{(2)}_{21}"
    assert by_name["a1_0"] == r"a^{(2)}_{1}"
    assert by_name["delta2_1"] == r"\delta^{(3)}_{2}"


def test_nielsen_and_welch_names(net231):
    d, _ = net231
    nielsen = {s.name: v for s, v in symbol_names(d.network, "nielsen").items()}
    welch = {s.name: v for s, v in symbol_names(d.network, "welch").items()}
    assert nielsen["W1_2_0"] == r"w^{2}_{31}"
    assert nielsen["z1_0"] == r"z^{2}_{1}"
    # welch shows W1 transposed: canonical [j=2, k=0] is entry (k+1, j+1) = (1, 3)
    assert welch["W1_2_0"] == r"W^{(1)}_{13}"
    assert welch["a2_0"] == r"\hat{y}"
    assert welch["z2_0"] == r"z^{(3)}"


def test_skip_matrix_has_a_display_name():
    d, _ = build(NET_222.replace('loss = "half_sse"', 'loss = "half_sse"\nskip = [[0, 2]]').replace("[2, 2, 2]", "[2, 2, 2]"))
    from derive.notation.names import Names
    names = Names(d.network.spec, get_profile("ng"))
    assert names.matrix("W2_0") == r"\Theta^{(1\to 3)}"
    docs = render_worksheets(d, None, "ng")
    assert r"\Theta^{(1\to 3)}" in docs["handout.tex"]


def test_222_handout_has_every_path_sum_and_the_counts(net222):
    d, numbers = net222
    tex = render_worksheets(d, numbers, "ng")["handout.tex"]
    # the four layer-1 path sums, each with both paths (one through each output unit); the spec gives
    # no examples, so m is general and the path sums are example n's term J_n
    for i in (1, 2):
        for j in (1, 2):
            theta = rf"\theta^{{(1)}}_{{{i}{j}}}"
            block = re.search(rf"\\frac{{\\partial J_{{n}}}}{{\\partial {re.escape(theta)}}} &= (.*?)\\end{{align\*}}", tex, re.S)
            assert block, theta
            for out in (1, 2):
                assert rf"\partial a^{{(3)}}_{{{out}}}" in block.group(1)
    # δ factoring
    assert r"\underbrace" in tex and r"_{\delta^{(2)}_{1}}" in tex
    assert r"\delta^{(2)}_{1} = " in tex
    # 52 factors in total, 8 parameters, 12 paths
    assert d.total_factors == 52
    assert re.search(r"total & 8 & & & 12 & 52", tex)
    assert "the 8 gradients need 12 paths and\n52 factors" in tex or "8 gradients need 12 paths" in tex


def test_ng_output_delta_has_a_minus_y_sign(net222):
    d, numbers = net222
    tex = render_worksheets(d, numbers, "ng")["handout.tex"]
    line = next(l for l in tex.splitlines() if l.startswith(r"\delta^{(3)}_{1} &="))
    assert r"a^{(3)}_{1} - y_{1}" in line
    assert r"y_{1} - a^{(3)}_{1}" not in line


def test_welch_231_answers(net231):
    d, numbers = net231
    tex = render_worksheets(d, numbers, "welch")["answers.tex"]
    assert re.search(r"\\hat\{y\} &= .*= 0\.913529", tex)
    grads = [l for l in tex.splitlines() if l.startswith(r"\frac{\partial J}{\partial W^{(2)}_{") and r"\cdot" in l]  # worked, not the finite-difference check's
    # 0.785835 · 0.0129178 = 0.010151…: the printed operands give the printed result (not 0.0102)
    assert len(grads) == 3 and all(l.rstrip(" \\").endswith(r"0.785835 \cdot 0.0129178 = 0.01015") for l in grads)
    assert r"\frac{\partial J}{\partial W^{(2)}} = \left(a^{(2)}\right)^T \delta^{(3)} =  \begin{bmatrix} 0.01015 \\ 0.01015 \\ 0.01015 \end{bmatrix}" in tex
    assert "4 significant figures" in tex


def test_welch_231_handout_shapes_and_sign(net231):
    d, numbers = net231
    tex = render_worksheets(d, numbers, "welch")["handout.tex"]
    assert r"\delta^{(3)} &= -\left(y - \hat{y}\right) \odot f'\left(z^{(3)}\right) && 1\times 1" in tex  # the spec's one example: m = 1
    assert r"\frac{\partial J}{\partial W^{(2)}} &= \left(a^{(2)}\right)^T \delta^{(3)} && 3\times 1" in tex
    assert r"z^{(2)} &= X W^{(1)}" in tex


def test_nielsen_recursion(net231):
    d, numbers = net231
    tex = render_worksheets(d, numbers, "nielsen")["handout.tex"]
    assert r"\delta^{2} &= \left(\left(w^{3}\right)^T \delta^{3}\right) \circ g'\left(z^{2}\right)" in tex


HOSTILE = r"#$%&~_^\{} \input{/etc/passwd} \write18{rm -rf /}"


def test_hostile_title_is_literal():
    spec_text = NET_222.replace('title = "Lab 8: the 2-2-2 network"', "title = '" + HOSTILE + "'")
    d, numbers = build(spec_text)
    for name, tex in render_worksheets(d, numbers, "ng").items():
        assert r"\input{/etc/passwd}" not in tex, name
        assert r"\write18{" not in tex, name
        assert escape_latex(HOSTILE) in tex
    assert escape_latex("a_b") == r"a\_b"
    assert escape_latex("\\input{x}") == r"\textbackslash{}input\{x\}"


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_deterministic(profile, net222):
    d, numbers = net222
    assert render_worksheets(d, numbers, profile) == render_worksheets(d, numbers, profile)
    d2, numbers2 = build(NET_222 + VALUES_222)
    assert render_worksheets(d2, numbers2, profile) == render_worksheets(*build(NET_222 + VALUES_222), profile)


def test_without_numbers_says_so(net222):
    d, _ = net222
    docs = render_worksheets(d, None, "ng")
    assert "gives no numbers" in docs["exercises.tex"]
    assert "gives no numbers" in docs["answers.tex"]


def test_updated_weights_with_learning_rate():
    d, numbers = build(NET_222 + VALUES_222)
    tex = render_worksheets(d, numbers, "ng")["answers.tex"]
    new = numbers["updated"]["W1"][0][0]
    assert r"\leftarrow" in tex and f"{new:.4f}" in tex


def test_template_dir_override(tmp_path, net222):
    import shutil

    from derive.sheets.render import default_template_dir

    d, numbers = net222
    folder = tmp_path / "mine"
    shutil.copytree(default_template_dir(), folder)
    (folder / "exercises.tex.j2").write_text((folder / "exercises.tex.j2").read_text().replace("Exercises", "Homework 3"))
    docs = render_worksheets(d, numbers, "ng", template_dir=folder)
    assert "Homework 3" in docs["exercises.tex"]


def test_large_network_writes_representatives_only():
    text = NET_222.replace("[2, 2, 2]", "[6, 6, 6, 3]")
    d, _ = build(text)
    tex = render_worksheets(d, None, "ng")["handout.tex"]
    assert d.total_paths > 64
    assert "only the representative parameters" in tex
    assert tex.count(r"\frac{\partial J}{\partial \theta^{(1)}_{11}} &=") <= 3
    assert len(tex) < 200_000


GOLDEN_CASES = {"ng": NET_222 + VALUES_222, "nielsen": NET_TINY, "welch": NET_231}


@pytest.mark.parametrize("profile", sorted(GOLDEN_CASES))
def test_golden_handout(profile):
    d, numbers = build(GOLDEN_CASES[profile])
    tex = render_worksheets(d, numbers, profile)["handout.tex"]
    path = GOLDEN / f"handout-{profile}.tex"
    if os.environ.get("DERIVE_REGENERATE_GOLDEN"):
        path.write_text(tex)
    assert path.exists(), f"missing {path}; regenerate with DERIVE_REGENERATE_GOLDEN=1"
    assert tex == path.read_text()


SHEET_CASES = {**GOLDEN_CASES, "qbus": NET_231}


@pytest.mark.parametrize("doc", ["exercises", "answers"])
@pytest.mark.parametrize("profile", sorted(SHEET_CASES))
def test_golden_exercise_and_answer_sheets(profile, doc):
    """The questions (derive/sheets/questions.py) and their answers, as printed, in every profile."""
    d, numbers = build(SHEET_CASES[profile])
    tex = render_worksheets(d, numbers, profile)[f"{doc}.tex"]
    path = GOLDEN / f"{doc}-{profile}.tex"
    if os.environ.get("DERIVE_REGENERATE_GOLDEN"):
        path.write_text(tex)
    assert path.exists(), f"missing {path}; regenerate with DERIVE_REGENERATE_GOLDEN=1"
    assert tex == path.read_text()


# ---------------------------------------------------------------------------------------------
# The course's order and signs, in every profile

OUTPUT = {"ng": "a^{(3)}", "nielsen": r"\hat{y}", "welch": r"\hat{y}", "qbus": r"f(\mathbf{x}, \mathbf{W})"}


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_loss_is_written_y_minus_y_hat(profile, net231):
    d, numbers = net231
    docs = render_worksheets(d, numbers, profile)
    p = PROFILES[profile]
    cost, out, y = p.cost, OUTPUT[profile], p.target
    error = rf"\left({y} - {out}\right)" if p.target_first else rf"\left({out} - {y}\right)"
    assert rf"{cost} = \frac{{1}}{{2}} {error}^{{2}}" in docs["handout.tex"]
    for name, tex in docs.items():
        # SymPy's canonical order would print (-ŷ + y); nothing anywhere may start a sum with -a … + y
        assert not re.search(r"\\left\(- [^()]*\+ " + re.escape(y), tex), name


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_output_delta_is_dJ_dz_in_every_profile(profile, net231):
    """δ = ∂J/∂z: (ŷ − y) σ'(z), written −(y − ŷ) by Welch, never the lab sheet's sign-flipped (y − a)."""
    d, numbers = net231
    docs = render_worksheets(d, numbers, profile)
    out, delta = OUTPUT[profile], ("\\delta^{3}" if profile == "nielsen" else "\\delta^{(3)}")
    y = PROFILES[profile].target
    error = rf"-\left({y} - {out}\right)" if PROFILES[profile].minus_y_first else rf"\left({out} - {y}\right)"
    line = next(l for l in docs["handout.tex"].splitlines() if l.startswith(rf"{delta} &="))
    assert line.endswith(rf"= {error}\, {out} \left(1 - {out}\right)"), line
    # ŷ = 0.9135 > y = 0.75, so ∂J/∂z of the output is positive in every profile
    # the numeric line (the symbolic question on the output error comes first on the sheet)
    worked = [l for l in docs["answers.tex"].splitlines() if l.startswith(rf"{delta} &=")][-1]
    assert re.search(r"= 0\.0\d+$", worked.rstrip(" \\")), worked


def test_sse_output_delta_carries_the_factor_two():
    d, numbers = build((EXAMPLES / "nielsen-121.toml").read_text())
    tex = render_worksheets(d, numbers, "nielsen")["handout.tex"]
    # the notes (seed 002) write ŷ, g'(z^3) and e = (y − ŷ)², not a^3 (which reads as a cubed)
    assert r"= 2 \left(\hat{y} - y\right)\, \hat{y} \left(1 - \hat{y}\right)" in tex
    assert r"\delta^{3} &= 2 \left(\hat{y} - y\right) \circ g'\left(z^{3}\right)" in tex
    assert r"e = \left(y - \hat{y}\right)^{2}" in tex


def test_hidden_delta_is_weighted_sum_then_slope(net222):
    d, numbers = net222
    tex = render_worksheets(d, numbers, "ng")["handout.tex"]
    assert (r"= \left(\theta^{(2)}_{11}\, \delta^{(3)}_{1} + \theta^{(2)}_{21}\, \delta^{(3)}_{2}\right)\, "
            r"a^{(2)}_{1} \left(1 - a^{(2)}_{1}\right)") in tex


def test_relu_slope_is_not_printed_as_theta():
    d, _ = build(NET_222.replace('"sigmoid"', '"relu"'))
    tex = render_worksheets(d, None, "ng")["handout.tex"]
    assert r"\operatorname{ReLU}'\left(z^{(2)}_{1}\right)" in tex
    assert r"\theta\left(" not in tex


# ---------------------------------------------------------------------------------------------
# The proof sentence

def test_proof_sentence_only_when_proofs_are_given(net222):
    from derive.engine.proof import prove

    d, numbers = net222
    plain = render_worksheets(d, numbers, "ng")
    proved = render_worksheets(d, numbers, "ng", proofs=prove(d))
    assert "was proved" not in plain["handout.tex"]
    assert ("For every one of the 8 parameters, the sum over its paths equals its $\\delta$ form; "
            "this was proved without listing the paths") in proved["handout.tex"]
    assert proved["exercises.tex"] == plain["exercises.tex"] and proved["answers.tex"] == plain["answers.tex"]
    assert proved == render_worksheets(d, numbers, "ng", proofs=prove(d))


# ---------------------------------------------------------------------------------------------
# Review of the printed sheets: every number follows from the line that produces it

def _example(name: str):
    return build((EXAMPLES / f"{name}.toml").read_text())


def test_batch_answers_sum_every_example_in_the_loss_and_gradient_lines():
    # welch-231-batch (3 examples, welch): J = 0.0153 and dJ/dW(2)_11 = 0.0137 are batch totals, so
    # the substituted lines must add the three examples, not show example 1 alone (0.0134, 0.0101).
    d, numbers = _example("welch-231-batch")
    tex = render_worksheets(d, numbers, "welch")["answers.tex"]
    # J is the sum of the examples' losses, each printed; example 1's loss is worked in full
    assert r"J_{1} &= \frac{1}{2} \left(y(1) - \hat{y}(1)\right)^{2} = \frac{1}{2} \left(0.75 - 0.913529\right)^{2} = 0.013371" in tex
    assert r"J &= \sum_{n=1}^{m} J_{n} = 0.013371 + 0.0018773 + 8.0321\times 10^{-5} = 0.01533" in tex
    # the gradient's summands carry their example index, and every example's numbers are in it
    assert (r"\frac{\partial J}{\partial W^{(2)}_{11}} &= \sum_{n=1}^{m} a^{(2)}_{1}(n) \delta^{(3)}(n) \\ "
            r"&= 0.785835 \cdot 0.0129178 + 0.668188 \cdot 0.0064112") in tex
    # δ(3) of every example, m × 1, with its values
    assert r"$\delta^{(3)}$, one row per example ($m \times 1$)" in tex


def test_batch_answers_classification_gradient_sign_follows_from_its_line():
    # classification-231 (4 examples, bce, welch) printed "0.7125 · (−0.3927) = 0.1575".
    d, numbers = _example("classification-231")
    tex = render_worksheets(d, numbers, "welch")["answers.tex"]
    line = next(l for l in tex.splitlines() if l.startswith(r"\frac{\partial J}{\partial W^{(2)}_{11}}"))
    assert line.count(r"\cdot") == 4 and line.rstrip(" \\").endswith("= 0.1575"), line
    # the batch's J: the four examples' losses, summed
    assert r"J &= \sum_{n=1}^{m} J_{n} = 0.49870 + 0.93705 + 0.90992 + 0.52116 = 2.867" in tex


def test_batch_loss_substitutes_m_in_the_ng_profile():
    # iris-423 (ng, half_mse, 3 examples): the substituted constant is 1/(2·3), not 1/(2·m).
    d, numbers = _example("iris-423")
    tex = render_worksheets(d, numbers, "ng")["answers.tex"]
    assert r"\frac{1}{2 \cdot 3} \left[\left(1 - 0.497859\right)^{2}" in tex
    assert r"\frac{1}{2 \cdot m} \Big[" not in tex


def test_batch_exercises_give_every_example():
    # The exercises ask for J and gradients totalled over the batch, so they must print every example.
    d, numbers = _example("iris-423")
    tex = render_worksheets(d, numbers, "ng")["exercises.tex"]
    assert "Given the 3 examples: inputs $x$ and targets $y$, one row per example $n$" in tex
    assert "\n2 & 7 & 3.2 & 4.7 & 1.4 & 0 & 1 & 0" in tex and "\n3 & 6.3 & 3.3 & 6 & 2.5 & 0 & 0 & 1" in tex


def test_negative_argument_is_bracketed_once():
    # nielsen-121: a^2_2 = σ(−0.1), not σ((−0.1)).
    d, numbers = _example("nielsen-121")
    tex = render_worksheets(d, numbers, "nielsen")["answers.tex"]
    assert r"g\left(-0.1\right) = 0.47502" in tex  # nielsen writes its activation g (g = σ)
    assert r"\left(\left(-" not in tex


def test_bias_gradient_is_not_written_twice():
    # nielsen-121: ∂e/∂b^2_1 = δ^2_1 = 0.002316, not "= 0.002316 = 0.002316".
    d, numbers = _example("nielsen-121")
    tex = render_worksheets(d, numbers, "nielsen")["answers.tex"]
    assert r"\frac{\partial e}{\partial b^{2}_{1}} &= \delta^{2}_{1} = 0.002316 \\" in tex
    assert "0.002316 = 0.002316" not in tex


def test_sentences_read_as_english():
    d, numbers = _example("toy-111")
    sheets = render_worksheets(d, numbers, "ng")
    # the loss is named in words, not by its spec key
    assert "loss half the sum of squared errors: $J(\\theta)" in sheets["answers.tex"]
    assert "loss half sse" not in sheets["answers.tex"]
    # one path: "the missing factor is", "1 path of 5 factors" (not "factors each")
    assert "The missing factor is $" in sheets["answers.tex"]
    assert "along 1 path of 5 factors." in sheets["handout.tex"] and "1 path of 5 factors each" not in sheets["handout.tex"]
    d, numbers = _example("mazur-222")
    handout = render_worksheets(d, numbers, "nielsen")["handout.tex"]
    # "So ... = δ x_1," continues into "with δ = ...": a comma, not a full stop before "with"
    assert r"= \delta^{2}_{1}\, x_{1}, \]" in handout


def test_a_small_value_keeps_its_significant_figures():
    """iris-423: δ of hidden unit 1 is about −2.6e−5 for example 2; 4 decimals would print a false 0.0000."""
    from derive.engine.spec import load_spec

    d = derive(build_network(load_spec(Path(__file__).parent.parent / "examples" / "iris-423.toml")))
    tex = render_worksheets(d, compute_answers(d), "ng")["answers.tex"]
    assert r"\left(-2.63726\times 10^{-5}\right) \cdot 7" in tex
    assert "significant figures" in tex


@pytest.mark.parametrize("profile", ["ng", "nielsen", "welch"])
def test_no_control_characters_reach_the_tex(profile):
    """A stray tab (a "\\t" from a Python string) would make TeX print "imes" for \\times."""
    d, numbers = build(NET_231)
    for name, tex in render_worksheets(d, numbers, profile).items():
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", tex), name
