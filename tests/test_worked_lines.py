"""Every worked line of every sheet re-evaluates, from its printed operands, to its printed result.

The lines are data (`derive.sheets.settle.WorkedLine`); here each one is evaluated independently with SymPy
(rationals from the printed decimals, `evalf` for σ, tanh, exp and ln), rounded to the printed
precision of its result and compared. Over the bundled examples in all three profiles and a seeded
set of generated specs (1–12 examples, depth 1–4, widths up to 32, every activation and loss, skips,
mixed biases). Also: every parameter, gradient and update is on the page; numbers given in the spec
are printed as written; a pre-activation that is 0 in the spec's decimals is exactly 0.
"""
from __future__ import annotations

import json
import random
import re
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pytest
import sympy as sp
from conftest import EXAMPLES

from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import ACTIVATIONS, LOSSES, load_spec, parse_spec
from derive.notation.names import get_profile
from derive.numbers.answers import compute_answers
from derive.sheets.render import DOCUMENTS, _context, make_env
from derive.sheets.typeset import Typesetter, tex_number

PROFILES = ("ng", "nielsen", "welch")


def sympy_value(line) -> Decimal:
    """The line's expression at its printed operands, evaluated by SymPy to 40 digits."""
    subs = {s: sp.Rational(text) for s, text in line.operands.items()}
    value = line.expr.xreplace(subs)
    value = sp.N(value, 40) if not value.is_Rational else value
    if value.is_Rational:
        return Decimal(int(value.p)) / Decimal(int(value.q))
    return Decimal(str(sp.Float(value, 40)))


def check_lines(lines, limit: int | None = None) -> list[str]:
    """The lines that do not reproduce (their description, printed operands and result)."""
    bad = []
    complete = [ln for ln in lines if ln.complete]
    if limit is not None and len(complete) > limit:
        shown = [ln for ln in complete if ln.shown]
        rest = [ln for ln in complete if not ln.shown]
        complete = shown + random.Random(len(rest)).sample(rest, max(0, limit - len(shown)))
    for ln in complete:
        want = Decimal(ln.result)
        got = sympy_value(ln).quantize(Decimal(1).scaleb(want.as_tuple().exponent), rounding=ROUND_HALF_EVEN)
        if got != want:
            bad.append(f"{ln.what}: {dict((s.name, t) for s, t in ln.operands.items())} gives {got}, printed {ln.result}")
    return bad


def sheets_of(derivation, profile):
    """The answers, the worked data and the three sheets' TeX, from one evaluation of the worked lines."""
    numbers = compute_answers(derivation)
    context = _context(Typesetter(derivation, get_profile(profile), 4), numbers)
    context["proof"] = ""
    env = make_env(None)
    docs = {f"{doc}.tex": env.get_template(f"{doc}.tex.j2").render(**context) for doc in DOCUMENTS}
    return numbers, context["worked"], docs


def matrix_cells(tex: str) -> int:
    """How many entries the bmatrix displays of a sheet hold."""
    cells = 0
    for body in re.findall(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}", tex, flags=re.S):
        cells += sum(len(row.split("&")) for row in body.split(r"\\"))
    return cells


BUNDLED = [p for p in sorted(EXAMPLES.glob("*.toml")) if load_spec(p).values is not None]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_line_of_every_bundled_sheet_reproduces(path, profile):
    d = derive(build_network(load_spec(path)))
    numbers, w, docs = sheets_of(d, profile)
    assert w["lines"], "no worked lines"
    assert check_lines(w["lines"]) == []
    answers = docs["answers.tex"]
    # every operand and result of a shown line is printed as the line data says
    for ln in w["lines"]:
        if ln.shown:
            assert tex_number(ln.result) in answers, ln.what
            for text in ln.operands.values():
                assert tex_number(text) in answers, (ln.what, text)
    assert "significant figures" in answers and "as written" in answers


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_parameter_gradient_and_update_is_on_the_page(path):
    spec = load_spec(path)
    d = derive(build_network(spec))
    for profile in PROFILES:
        numbers, w, docs = sheets_of(d, profile)
        n = len(d.parameters)
        assert matrix_cells(docs["exercises.tex"]) == n
        assert matrix_cells(docs["answers.tex"]) == n * (3 if spec.values.learning_rate is not None else 2)
        m = len(spec.values.x)
        # every example's data, labelled by n
        for k in range(1, m + 1):
            assert re.search(rf"\n{k} & ", docs["exercises.tex"]), k


def test_welch_231_q7_and_ng_222_first_layer_reproduce():
    """The issue's two examples: 0.7858 · 0.0129 = 0.0102 and ∂J/∂Θ(1) = [[0.0002, 0.0004], …]."""
    d = derive(build_network(load_spec(EXAMPLES / "welch-231.toml")))
    _, w, docs = sheets_of(d, "welch")
    tex = docs["answers.tex"]
    assert "0.0102" not in tex and r"= 0.01015" in tex
    d = derive(build_network(load_spec(EXAMPLES / "ng-222.toml")))
    _, w, docs = sheets_of(d, "ng")
    tex = docs["answers.tex"]
    grads = {ln.what: ln.result for ln in w["lines"] if ln.what.startswith("gradient W1")}
    assert len(set(grads.values())) == 4, grads  # four different entries print as four different numbers
    assert r"1.883\times 10^{-4}" in tex and r"4.496\times 10^{-4}" in tex  # 1.88256e-4 and 4.49627e-4


def test_given_numbers_print_as_written():
    for name, profile in (("welch-231-batch", "welch"), ("iris-423", "ng"), ("ng-222", "ng")):
        d = derive(build_network(load_spec(EXAMPLES / f"{name}.toml")))
        _, _, docs = sheets_of(d, profile)
        for doc in ("exercises.tex", "answers.tex"):
            assert not re.search(r"\b[01]\.0000\b|0\.5000\b", docs[doc]), (name, doc)
    d = derive(build_network(load_spec(EXAMPLES / "ng-222.toml")))
    ex = sheets_of(d, "ng")[2]["exercises.tex"]
    assert "0.15 & 0.2" in ex and "0.05 & 0.1 & 0.01 & 0.99" in ex
    assert r"\eta = 0.5" in sheets_of(d, "ng")[2]["answers.tex"]


KINK = """
name = "kink"
[network]
layers = [3, 2, 1]
activation = ["relu", "sigmoid"]
bias = false
loss = "half_sse"
[values]
x = [[1, 1, 1]]
y = [[0.5]]
W1 = [[0.5, -0.6, 0.1], [0.2, 0.3, 0.1]]
W2 = [[0.7, -0.4]]
"""


def test_a_pre_activation_that_is_zero_in_decimals_is_zero():
    d = derive(build_network(parse_spec(KINK, "kink.toml")))
    numbers = compute_answers(d)
    assert numbers["forward"]["z1"][0][0] == 0.0  # binary floats give 2.8e-17 here
    assert numbers["delta"]["delta1"][0][0] == 0.0 and numbers["gradients"]["W1"][0] == [0.0, 0.0, 0.0]
    for profile in PROFILES:
        _, w, docs = sheets_of(d, profile)
        assert check_lines(w["lines"]) == []
        z = next(ln for ln in w["lines"] if ln.what.startswith("z z1_0 "))
        assert z.result == "0"
        assert r"\operatorname{ReLU}'(0) = 0" in docs["answers.tex"]


# -- generated specs ------------------------------------------------------------------------------

def generated_spec(seed: int) -> str:
    """A valid spec with values: depth 1–4, widths up to 32, 1–12 examples, any activation and loss."""
    rng = random.Random(seed)
    depth = rng.randint(1, 4)
    big = seed % 6 == 0
    widths = [rng.randint(1, 32 if big else 5) for _ in range(depth + 1)]
    hidden = [rng.choice(("sigmoid", "tanh", "relu", "identity")) for _ in range(depth - 1)]
    out = rng.choice(ACTIVATIONS)
    loss = rng.choice(LOSSES)
    if out == "softmax":
        widths[-1] = max(2, widths[-1])
        loss = rng.choice(("cross_entropy", "cross_entropy_mean", "half_sse", "mse"))
    elif loss.startswith("cross_entropy"):
        out = "sigmoid"
    if loss.startswith("bce"):
        out = "sigmoid"
    m = rng.randint(1, 12) if not big else rng.randint(1, 3)
    skips = [[s, t] for s in range(depth - 1) for t in range(s + 2, depth + 1) if rng.random() < 0.3]
    bias = [rng.random() < 0.6 for _ in range(depth)]
    x = [[round(rng.uniform(-2, 2), rng.choice((1, 2))) for _ in range(widths[0])] for _ in range(m)]
    if out == "softmax":
        y = [[1 if j == rng.randrange(widths[-1]) else 0 for j in range(widths[-1])] for _ in range(m)]
        y = [row if sum(row) == 1 else [1] + [0] * (widths[-1] - 1) for row in y]
    elif loss.startswith(("bce", "cross")):
        y = [[rng.choice((0, 1, 0.2, 0.9)) for _ in range(widths[-1])] for _ in range(m)]
    else:
        y = [[round(rng.uniform(-1, 1), 2) for _ in range(widths[-1])] for _ in range(m)]
    acts = ", ".join(f'"{a}"' for a in hidden + [out])
    lines = [f'name = "gen-{seed}"', "[network]", f"layers = {widths}", f"activation = [{acts}]",
             f"bias = {json.dumps(bias)}", f'loss = "{loss}"']
    if skips:
        lines.append(f"skip = {skips}")
    lines += ["[notation]", f'style = "{PROFILES[seed % 3]}"', "[values]", f"x = {json.dumps(x)}", f"y = {json.dumps(y)}",
              f"seed = {seed}"]
    if rng.random() < 0.7:
        lines.append(f"learning_rate = {rng.choice((0.1, 0.5, 1, 0.05))}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(30))
def test_generated_specs_reproduce_every_line(seed):
    spec = parse_spec(generated_spec(seed), f"gen-{seed}.toml")
    d = derive(build_network(spec))
    numbers, w, docs = sheets_of(d, spec.notation)
    assert check_lines(w["lines"], limit=600) == []
    n = len(d.parameters)
    assert matrix_cells(docs["exercises.tex"]) == n
    assert matrix_cells(docs["answers.tex"]) == n * (3 if spec.values.learning_rate is not None else 2)
    grads = np.array([v for k in numbers["gradients"] for v in np.ravel(numbers["gradients"][k])])
    assert np.all(np.isfinite(grads))


def test_more_examples_than_the_sheet_works_says_which_it_shows():
    rng = random.Random(5)
    x = [[round(rng.uniform(-1, 1), 2), round(rng.uniform(-1, 1), 2)] for _ in range(20)]
    y = [[round(rng.uniform(0, 1), 2)] for _ in range(20)]
    text = (f'name = "twenty"\n[network]\nlayers = [2, 3, 1]\nactivation = "tanh"\nloss = "half_mse"\n'
            f'[values]\nx = {json.dumps(x)}\ny = {json.dumps(y)}\nseed = 3\nlearning_rate = 0.1\n')
    d = derive(build_network(parse_spec(text, "twenty.toml")))
    numbers, w, docs = sheets_of(d, "ng")
    assert w["shown_examples"] == 12 and "Examples 1 to 12 of 20 are worked" in docs["answers.tex"]
    assert check_lines(w["lines"]) == []  # every complete line (all but the sums over 20 examples)
    assert {ln.what.split()[0] for ln in w["lines"] if not ln.complete} == {"loss", "gradient"}
    for k in range(1, 21):  # the exercise sheet gives every example
        assert re.search(rf"\n{k} & ", docs["exercises.tex"]), k


@pytest.mark.parametrize("m", (1, 2))
def test_a_wide_softmax_works_its_denominator_once_and_every_output_from_it(m):
    """26 outputs: Σ_k e^{z_k} is a worked line of its own (every term, in unit order), and each output
    is e^{z_j} over that printed number; never a denominator of 26 exponentials in SymPy's name order."""
    rng = random.Random(26)
    x = [[round(rng.uniform(-1, 1), 2), round(rng.uniform(-1, 1), 2)] for _ in range(m)]
    y = [[1 if j == n else 0 for j in range(26)] for n in range(m)]
    text = (f'name = "wide-softmax"\n[network]\nlayers = [2, 26]\nactivation = "softmax"\nloss = "cross_entropy"\n'
            f'[values]\nx = {json.dumps(x)}\ny = {json.dumps(y)}\nseed = 4\n')
    d = derive(build_network(parse_spec(text, "wide.toml")))
    numbers, w, docs = sheets_of(d, "welch")
    assert check_lines(w["lines"]) == []
    sums = [ln for ln in w["lines"] if ln.what.startswith("softmax sum")]
    assert len(sums) == m and all(len(ln.operands) == 26 for ln in sums)
    answers = docs["answers.tex"]
    assert r"\sum_{k=1}^{26} e^{" in answers and tex_number(sums[0].result) in answers
    z = [ln for ln in w["lines"] if ln.what.startswith("z ") and ln.what.endswith("#0")]
    terms = [rf"e^{{{tex_number(ln.result)}}}" for ln in z]
    positions = [answers.index(t) for t in terms]
    assert positions == sorted(positions)  # in unit order: 1, 2, …, 26
    for ln in w["lines"]:
        if ln.what.startswith("a ") and ln.shown:
            assert len(ln.operands) == 2 and rf"{{{tex_number(ln.operands[next(iter(s for s in ln.operands if s.name.startswith('S')))])}}}" in answers


def test_a_worked_loss_keeps_the_profiles_order_in_its_numbers():
    """qbus writes (f − t)²: the line with numbers must subtract in the same order as its formula."""
    import derive

    tex = derive.load(EXAMPLES / "iris-423.toml", notation="qbus").worksheets()["answers.tex"]
    line = tex[tex.index("L_{1} &="):].split(r"\end{align*}")[0]
    assert r"\left(a^{(3)}_{1}(1) - t_{1}(1)\right)^{2}" in line and r"\left(0.497859 - 1\right)^{2}" in line
    welch = derive.load(EXAMPLES / "welch-231.toml").worksheets()["answers.tex"]  # welch writes (y − ŷ)²
    line = welch[welch.index("J_{1} &=") if "J_{1} &=" in welch else welch.index("J &="):].split(r"\end{align*}")[0]
    assert r"\left(y" in line and r"\left(0.75 - 0.913529\right)" in line
