"""The L2 term on the three sheets: every printed regularized number (Σw², the term, J, each weight's
gradient with its + 2c·w, each update) agrees with the independent reference backprop and with finite
differences, for every scale, with and without biases and skips, one example and several; every worked
line reproduces from its printed operands; the handout's path counts come from the derivation."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from conftest import spec_text
from test_worked_lines import check_lines, sheets_of

from derive.cli import main
from derive.engine.derivation import data_term, derive
from derive.engine.network import build_network
from derive.engine.spec import L2_SCALES, parse_spec
from derive.numbers import reference
from derive.numbers.answers import compute_answers

# c(λ, m) of each scale, written out here (not imported): J gains c·Σw², ∂J/∂w gains 2c·w.
C = {"1/(2m)": lambda lam, m: lam / (2 * m), "1/m": lambda lam, m: lam / m, "1/2": lambda lam, m: lam / 2, "1": lambda lam, m: lam}
PROFILES = ("ng", "nielsen", "welch", "qbus")

ONE = "x = [[0.5, -1.0]]\ny = [[0.2]]\n"
THREE = "x = [[0.5, -1.0], [1.0, 2.0], [-0.3, 0.8]]\ny = [[0.2], [0.9], [0.4]]\n"


def l2_spec(scale, bias=True, skip=None, examples=THREE, lam="0.7", layers=(2, 3, 2, 1), name="r"):
    values = f"[values]\n{examples}seed = 5\nlearning_rate = 0.5\n"
    text = spec_text(list(layers), ["tanh", "sigmoid", "sigmoid"][-(len(layers) - 1):], "half_mse", bias=bias, skip=skip,
                     name=name, extra=values)
    return parse_spec(text.replace("[network]\n", f'[network]\nl2 = {lam}\nl2_scale = "{scale}"\n'))


def within(printed: str, exact: float, slack: float = 0.0) -> bool:
    """`printed` (a decimal text) is `exact` rounded to its printed figures (half a unit of its last figure)."""
    d = Decimal(printed)
    half = Decimal(1).scaleb(d.as_tuple().exponent) / 2
    return abs(float(d) - exact) <= float(half) * (1 + 1e-9) + slack


@pytest.mark.parametrize("scale", L2_SCALES)
@pytest.mark.parametrize("bias", [True, False], ids=["biases", "no-biases"])
@pytest.mark.parametrize("skip", [None, [[0, 2], [1, 3]]], ids=["dense", "skips"])
@pytest.mark.parametrize("examples", [ONE, THREE], ids=["m1", "m3"])
def test_printed_regularized_numbers_match_the_reference(scale, bias, skip, examples):
    spec = l2_spec(scale, bias, skip, examples)
    d = derive(build_network(spec))
    P = {k: np.array(v, dtype=float) for k, v in spec.values.params.items()}
    X, Y = np.array(spec.values.x, dtype=float), np.array(spec.values.y, dtype=float)
    m, lam = len(X), 0.7
    J, grads, _ = reference.backprop(spec, P, X, Y)
    fd = reference.finite_differences(spec, P, X, Y)
    weights = [n for n in P if n.startswith("W")]
    numbers = compute_answers(d)
    assert numbers["arithmetic"].startswith("exact decimals")
    assert numbers["loss"] == pytest.approx(J, rel=1e-13)
    for name in P:
        np.testing.assert_allclose(numbers["gradients"][name], grads[name], rtol=1e-12, atol=1e-15)
    _, w, docs = sheets_of(d, PROFILES[(L2_SCALES.index(scale) + bias + 2 * bool(skip)) % len(PROFILES)])
    assert check_lines(w["lines"]) == []
    lines = {ln.what: ln for ln in w["lines"]}
    squares = sum(float(np.sum(P[n] ** 2)) for n in weights)
    c = C[scale](lam, m)
    assert within(lines["l2 squares"].result, squares)
    assert within(lines["l2 penalty"].result, c * squares)
    assert within(lines["l2 slope"].result, 2 * c)
    assert within(lines["l2 loss"].result, J)
    assert lines["l2 slope"].shown == (scale != "1/2") and lines["l2 loss"].shown  # λ/2·Σw² gains λ·w: no line for λ
    for p in d.parameters:
        want = float(np.asarray(grads[p.matrix])[p.index])
        got = lines[f"gradient {p.key}"]
        assert within(got.result, want), (p.key, got.result, want)
        assert within(got.result, float(np.asarray(fd[p.matrix])[p.index]), slack=1e-8), p.key
        # A weight's line adds 2c·w with the weight as the spec wrote it; a bias's line has no such term.
        assert ("l2slope" in {s.name for s in got.expr.free_symbols}) == (p.source is not None)
        update = lines[f"update {p.key}"]
        assert within(update.result, float(P[p.matrix][p.index]) - 0.5 * want, slack=1e-12), p.key
    answers = docs["answers.tex"]
    assert r"\textbf{L2 term.}" in answers and lines["l2 loss"].result in answers
    # the biases are named only where the net has them (a net without biases is not told to leave them out)
    assert ("the biases' are not regularized" in answers) == bias
    assert ("not the biases" in docs["exercises.tex"]) == bias


def test_every_profile_prints_the_term_in_its_letters_and_scale():
    for scale, coefficient, slope in (("1/(2m)", r"\frac{\lambda}{2 %s}", r"\frac{\lambda}{%s}"),
                                      ("1/m", r"\frac{\lambda}{%s}", r"\frac{2 \lambda}{%s}"),
                                      ("1/2", r"\frac{\lambda}{2}", r"\lambda"), ("1", r"\lambda", r"2 \lambda")):
        d = derive(build_network(l2_spec(scale)))
        for profile, m_letter, cost in (("ng", "m", "J"), ("nielsen", "m", "e"), ("welch", "m", "J"), ("qbus", "N", "L")):
            _, w, docs = sheets_of(d, profile)
            reg = w["regularization"]
            want_c = coefficient % m_letter if "%s" in coefficient else coefficient
            want_k = slope % m_letter if "%s" in slope else slope
            assert reg["coefficient"] == want_c and reg["slope"] == want_k, (scale, profile)
            handout = docs["handout.tex"]
            assert rf"{cost} = \sum_{{n}} {cost}_{{n}} + {want_c}" in handout, (scale, profile)
            assert r"\subsection*{The L2 term}" in handout and "biases are left out" in handout
            assert rf"+ {want_k}\, " in handout  # the matrix form's and the general rule's + λ/m W
            assert r"\textbf{L2 term.}" in docs["exercises.tex"]


def test_the_l2_section_speaks_the_courses_notation_not_the_specs_syntax():
    # Issue 23, item 14 and 4: "scale `1/(2m)`" in typewriter was the spec's syntax, and a generic W the
    # letter of no profile in ng (Θ) or qbus (bold W): the scale is its coefficient, the matrix the course's.
    letters = {"ng": r"\Theta", "nielsen": "w", "welch": "W", "qbus": r"\mathbf{W}"}
    for scale in L2_SCALES:
        d = derive(build_network(l2_spec(scale)))
        for profile, W in letters.items():
            _, w, docs = sheets_of(d, profile)
            for name, text in docs.items():
                assert "texttt{1" not in text and f"`{scale}`" not in text, (scale, profile, name)
            handout = docs["handout.tex"]
            c = w["regularization"]["coefficient"]
            assert rf"weighted by ${c}$" in handout, (scale, profile)
            assert rf"+ {w['regularization']['slope']}\, {W} \]" in handout and rf"for every weight matrix ${W}$" in handout, \
                (scale, profile)


def test_the_handout_counts_come_from_the_derivation():
    from derive.notation.names import get_profile
    from derive.sheets.render import _context
    from derive.sheets.typeset import Typesetter

    spec = l2_spec("1/(2m)", skip=[[0, 2]])
    d = derive(build_network(spec))
    ctx = _context(Typesetter(d, get_profile("ng"), 4), compute_answers(d))
    reg = ctx["regularization"]
    key = next(p.key for p in d.parameters if p.matrix == "W1")
    data = data_term(d)
    assert reg["example"]["paths"] == data.path_count[key].paths == d.path_count[key].paths - 1
    assert reg["example"]["factors"] == data.path_count[key].factors == d.path_count[key].factors - 1
    assert reg["example"]["paths_with"] == d.path_count[key].paths
    weights = sum(1 for p in d.parameters if p.source is not None)
    assert reg["direct_paths"] == weights
    assert ctx["counts"]["total_paths"] == d.total_paths == data.total_paths + weights
    assert f"{data.path_count[key].paths} + 1 = {d.path_count[key].paths} paths" in reg["handout"][1]
    # the path sections list the paths through the network: no path of one factor
    for section in ctx["shown"]:
        assert section["paths"] == data.path_count[section["key"]].paths


def test_lambda_is_the_decimal_the_spec_wrote():
    """0.1 is 1/10 in the exact numbers, not the float 0.1000000000000000055…"""
    d = derive(build_network(l2_spec("1", lam="0.1", examples=ONE)))
    _, w, _ = sheets_of(d, "ng")
    lines = {ln.what: ln for ln in w["lines"]}
    assert lines["l2 slope"].result == "0.2"  # 2λ exactly
    assert {t for s, t in lines["l2 slope"].operands.items()} == {"0.1"}


def test_build_writes_and_compiles_the_l2_sheets(tmp_path, capsys):
    from derive.sheets.latex import have_latex

    path = tmp_path / "s.toml"
    path.write_text(spec_text([2, 2, 1], name="s", extra="[values]\n" + THREE + "seed = 1\nlearning_rate = 0.5\n")
                    .replace("[network]\n", '[network]\nl2 = 0.25\nl2_scale = "1/m"\n'))
    pdf = have_latex()
    assert main(["build", str(path), "--out", str(tmp_path / "o")] + ([] if pdf else ["--no-pdf"])) == 0
    written = {p.name for p in (tmp_path / "o" / "s").iterdir()}
    assert {"handout.tex", "exercises.tex", "answers.tex"} <= written
    if pdf:
        assert {"handout.pdf", "exercises.pdf", "answers.pdf"} <= written
    assert "not written" not in capsys.readouterr().out


def test_past_the_exact_evaluation_the_sheet_takes_the_modules_regularized_floats(monkeypatch):
    """A net too large for the exact totals: the loss and gradients come from gradients.py (which
    includes the term); the sheet still splits off the term and every line still reproduces."""
    import derive.numbers.answers as answers

    monkeypatch.setattr(answers, "MAX_EXACT_WORK", 1)
    spec = l2_spec("1/(2m)", skip=[[0, 2]])
    d = derive(build_network(spec))
    P = {k: np.array(v, dtype=float) for k, v in spec.values.params.items()}
    J, grads, _ = reference.backprop(spec, P, np.array(spec.values.x, dtype=float), np.array(spec.values.y, dtype=float))
    numbers, w, _ = sheets_of(d, "ng")
    assert numbers["arithmetic"].startswith("binary64")
    assert check_lines(w["lines"]) == []
    lines = {ln.what: ln for ln in w["lines"]}
    assert within(lines["l2 loss"].result, J)
    for p in d.parameters:
        assert within(lines[f"gradient {p.key}"].result, float(np.asarray(grads[p.matrix])[p.index])), p.key


def test_a_spec_without_numbers_asks_and_answers_the_term_in_symbols():
    from derive.sheets.render import render_worksheets

    spec = parse_spec(spec_text([2, 3, 1], loss="bce", name="s").replace("[network]\n", "[network]\nl2 = 0.001\n"))
    d = derive(build_network(spec))
    for profile in PROFILES:
        docs = render_worksheets(d, None, profile)
        assert r"\textbf{L2 term.} With" in docs["exercises.tex"] and "Does $\\delta$ change?" in docs["exercises.tex"]
        assert r"\textbf{L2 term.} Each weight also reaches" in docs["answers.tex"]
        assert r"\subsection*{The L2 term}" in docs["handout.tex"]


@pytest.mark.parametrize("scale", L2_SCALES)
@pytest.mark.parametrize("numbers", [True, False], ids=["numbers", "symbolic"])
def test_the_l2_questions_ask_without_answering_and_every_sum_keeps_the_term(scale, numbers):
    """The question list was ported by hand: its L2 question must not print the factor it asks for,
    and every question that writes J or a weight's gradient as a sum over the examples must keep
    the L2 term (J = Σₙ Jₙ + c·Σw², ∂J/∂w = Σₙ ∂Jₙ/∂w + 2c·w), on both sheets, in every profile."""
    import re

    from derive.notation.names import get_profile
    from derive.sheets.render import _context
    from derive.sheets.typeset import Typesetter

    d = derive(build_network(l2_spec(scale, bias=True)))
    for profile in PROFILES:
        ts = Typesetter(d, get_profile(profile), 4)
        ctx = _context(ts, compute_answers(d) if numbers else None)
        reg, qlist = ctx["regularization"], ctx["questions"]
        cost, one = ts.p.cost, rf"{ts.p.cost}_{{n}}"
        byid = {q.id: q for q in qlist}
        l2q = byid["l2_term"]
        if reg["slope"] != r"\lambda":  # λ/2·Σw² gains λ·w: λ is given
            assert reg["slope"] not in " ".join(l2q.prompt), (profile, l2q.prompt)
            assert reg["slope"] in " ".join(l2q.answer)
        for q in qlist:
            for where, texts in (("prompt", q.prompt), ("answer", q.answer)):
                text = " ".join(texts)
                # J written as the examples' sum alone, with nothing added after it
                for hit in re.finditer(re.escape(rf"{cost} = \sum_{{n}} {one}"), text):
                    assert text[hit.end():].lstrip().startswith("+"), (profile, q.id, where, text[hit.start():hit.end() + 40])
        s = byid["sum_rule"]
        key = ctx["chain_exercise"]["key"]
        if next(p for p in d.parameters if p.key == key).source is not None:
            assert rf"+ {reg['slope']}\, {ts.pname(key)}" in " ".join(s.answer), (profile, s.answer)
        assert reg["short_term"] in " ".join(s.prompt)
        if numbers:
            assert "L2 term" in " ".join(byid["finite_difference"].prompt)
        ids = [q.id for q in qlist]
        if not numbers:  # asked in symbols before the matrix form, whose prompt and answer carry the term
            assert ids.index("l2_term") < ids.index("matrix_form")
        # the counting answer includes the direct paths: the question must say which paths to count
        assert "L2 term" in " ".join(byid["counting"].prompt) and "L2 term" in " ".join(byid["counting"].answer)
        docs = render_worksheets_for(d, profile, numbers)
        for q in qlist:
            for text in q.reveals:
                assert text not in docs["exercises.tex"], (profile, q.id, text)


def render_worksheets_for(d, profile, numbers):
    from derive.sheets.render import render_worksheets

    return render_worksheets(d, compute_answers(d) if numbers else None, profile)


def test_a_squared_weight_never_reads_as_a_layers_weights():
    """In nielsen a bare superscript is a layer (w^2 is layer 2's weights), so the L2 term squares (w)^2
    there; the profiles with bracketed layers, w^(2), keep w^2. Every document, with and without numbers."""
    from derive.sheets.render import render_worksheets

    d = derive(build_network(l2_spec("1/(2m)")))
    for profile in PROFILES:
        for numbers in (compute_answers(d), None):
            for name, tex in render_worksheets(d, numbers, profile).items():
                generic = (r"\sum_{w} w^{2}" in tex) or (r"\sum w^{2}" in tex)
                bracketed = r"\left(w\right)^{2}" in tex
                if profile == "nielsen":
                    assert bracketed and not generic, (profile, name, numbers is None)
                else:
                    assert generic and not bracketed, (profile, name, numbers is None)
