"""Saturated but valid specs build, and their sheets print the exact numbers (issue 19).

σ(200) is 1 − 1.38·10⁻⁸⁷: in 50-digit arithmetic 1 − σ(200) is 0, so the loss −ln(1 − ŷ) was −ln 0
and `derive build` died (decimal.InvalidOperation, "cannot convert NaN to integer ratio"), or printed
δ = ŷ − y = 0 for a target of 1. Here a table of such specs (each loss with each output activation it
allows, z far positive and far negative, the target at and away from the saturated value, 1 and 3
examples, with and without L2, saturated hidden units) is built with `derive build --no-pdf`, and
every number its answer sheet works (and its finite-difference check) is compared with

- an independent backprop written here in mpmath with 2,000 digits (enough for every gap in the
  table: tanh(1000) is 1 − 2.7·10⁻⁸⁶⁹),
- the build's answers.json, wherever binary64 can hold the value,

and every worked line is re-done by SymPy from its printed operands.
"""
from __future__ import annotations

import json
import math
import shutil
import subprocess
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import mpmath
import pytest
import sympy as sp

from derive.cli import main
from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import parse_spec
from derive.notation.names import get_profile
from derive.numbers.answers import compute_answers
from derive.sheets.latex import compile_with_log, have_latex, overfull_boxes
from derive.sheets.typeset import Typesetter, tex_number
from derive.sheets.worked import worked

REFERENCE_DIGITS = 2000
LOSS_SCALE = {"half_sse": ("squared", 0.5, False), "sse": ("squared", 1, False), "half_mse": ("squared", 0.5, True),
              "mse": ("squared", 1, True), "bce": ("binary", 1, False), "bce_mean": ("binary", 1, True),
              "cross_entropy": ("categorical", 1, False), "cross_entropy_mean": ("categorical", 1, True)}
# Each loss with every output activation it allows (identity and ReLU only grow: z = ±1000 exactly).
SQUARED = ("half_sse", "sse", "half_mse", "mse")
PAIRS = ([(loss, out) for loss in SQUARED for out in ("sigmoid", "tanh", "softmax", "identity", "relu")]
         + [("bce", "sigmoid"), ("bce_mean", "sigmoid")]
         + [(loss, out) for loss in ("cross_entropy", "cross_entropy_mean") for out in ("sigmoid", "softmax")])
SIZES = (200.0, 700.0, 1000.0)
SETTINGS = [(1, None), (3, None), (1, 0.5), (3, 0.5)]  # (examples, λ)


def spec_text(name, loss, out, z, target, m, l2, hidden=None, width=None):
    """A 1-k net (or 1-1-k with a saturated hidden unit) whose unit 1 sits at z, or −z for the others."""
    width = width or (2 if out == "softmax" else 1)
    sat = {"sigmoid": 1.0 if z > 0 else 0.0, "tanh": 1.0 if z > 0 else -1.0}.get(out, max(z, 0.0) if out == "relu" else z)
    if out == "softmax":
        row = [1.0] + [0.0] * (width - 1) if target == "at" else [0.0] * (width - 1) + [1.0]
    else:
        row = [sat if target == "at" else (1.0 - sat if out == "sigmoid" else 0.5)] * width  # identity, ReLU: at = exactly z
    out_w = [[z]] + [[-z]] * (width - 1) if out == "softmax" else [[z]] * width
    xs = [[1.0 + 0.25 * n] for n in range(m)]
    lines = [f'name = "{name}"', "[network]", f'loss = "{loss}"']
    if hidden:
        lines += [f"layers = [1, 1, {width}]", f'activation = ["{hidden}", "{out}"]']
    else:
        lines += [f"layers = [1, {width}]", f'activation = "{out}"']
    if l2:
        lines.append(f"l2 = {l2}")
    lines += ["[values]", f"x = {xs}", f"y = {[row] * m}", "learning_rate = 0.5"]
    if hidden:  # the hidden unit saturates at z; the output sees ±1 (or the hidden unit's 0)
        lines += [f"W1 = [[{z}]]", "b1 = [0.0]", f"W2 = {[[1.0]] + [[-1.0]] * (width - 1)}", f"b2 = {[0.0] * width}"]
    else:
        lines += [f"W1 = {out_w}", f"b1 = {[0.0] * width}"]
    return "\n".join(lines) + "\n"


def table():
    cases, i = [], 0
    for loss, out in PAIRS:
        for sign in (1, -1):
            for target in ("at", "away"):
                m, l2 = SETTINGS[i % 4]
                z = sign * SIZES[i % 3]
                cases.append((f"{loss}-{out}-{'pos' if sign > 0 else 'neg'}{int(abs(z))}-{target}-m{m}{'-l2' if l2 else ''}".replace("_", "-"),
                              loss, out, z, target, m, l2, None))
                i += 1
    for hidden in ("sigmoid", "tanh"):
        for loss, out in (("bce", "sigmoid"), ("cross_entropy", "softmax"), ("half_sse", "tanh")):
            for sign in (1, -1):
                m, l2 = SETTINGS[i % 4]
                z = sign * SIZES[i % 3]
                cases.append((f"{hidden}-hidden-{loss}-{out}-{'pos' if sign > 0 else 'neg'}{int(abs(z))}-m{m}{'-l2' if l2 else ''}".replace("_", "-"),
                              loss, out, z, "away", m, l2, hidden))
                i += 1
    # The issue's two: a 1-1 net at z = 200 with bce, and a 2-2-1 variant of it.
    cases.append(("issue-1-1-bce-200", "bce", "sigmoid", 200.0, "away", 1, None, None))
    return cases


CASES = table()
ISSUE_221 = """name = "issue-2-2-1"
[network]
layers = [2, 2, 1]
activation = "sigmoid"
loss = "bce"
[values]
x = [[1.0, 1.0]]
y = [[1.0]]
W1 = [[1.0, 1.0], [100.0, 100.0]]
b1 = [0.0, 0.0]
W2 = [[100.0, 100.0]]
b2 = [0.0]
learning_rate = 0.5
"""


# -- an independent backprop in mpmath --------------------------------------------------------------

def _f(act, z):
    if act == "relu":
        return [max(v, 0) for v in z]
    if act == "sigmoid":
        return [1 / (1 + mpmath.exp(-v)) for v in z]
    if act == "tanh":
        return [mpmath.tanh(v) for v in z]
    if act == "identity":
        return list(z)
    top = max(z)
    e = [mpmath.exp(v - top) for v in z]
    return [v / mpmath.fsum(e) for v in e]


def reference(spec: dict) -> dict:
    """Every number of the worked sheet, keyed as its lines are ("z1_0#0", "J#0", "g:W1[0,0]", ...)."""
    with mpmath.workdps(REFERENCE_DIGITS):
        v = spec["values"]
        acts = spec["activations"]
        kind, c, mean = LOSS_SCALE[spec["loss"]]
        m = len(v["x"])
        c = mpmath.mpf(c) / (m if mean else 1)
        W = {l: [[mpmath.mpf(repr(w)) for w in row] for row in v[f"W{l}"]] for l in range(1, len(acts) + 1)}
        b = {l: [mpmath.mpf(repr(w)) for w in v[f"b{l}"]] for l in range(1, len(acts) + 1)}
        out, grads = {}, {}
        for n in range(m):
            a = {0: [mpmath.mpf(repr(t)) for t in v["x"][n]]}
            zs = {}
            for l in range(1, len(acts) + 1):
                zs[l] = [mpmath.fsum(w * x for w, x in zip(W[l][j], a[l - 1])) + b[l][j] for j in range(len(W[l]))]
                a[l] = _f(acts[l - 1], zs[l])
                for j in range(len(zs[l])):
                    out[f"z{l}_{j}#{n}"], out[f"a{l}_{j}#{n}"] = zs[l][j], a[l][j]
            L, y, yh = len(acts), [mpmath.mpf(repr(t)) for t in v["y"][n]], a[len(acts)]
            if kind == "squared":
                J = c * mpmath.fsum((t - p) ** 2 for t, p in zip(y, yh))
                dJ = [2 * c * (p - t) for t, p in zip(y, yh)]
            elif kind == "binary":
                J = -c * mpmath.fsum(t * mpmath.log(p) + (1 - t) * mpmath.log(1 - p) for t, p in zip(y, yh))
                dJ = [c * ((1 - t) / (1 - p) - t / p) for t, p in zip(y, yh)]
            else:
                J = -c * mpmath.fsum(t * mpmath.log(p) for t, p in zip(y, yh))
                dJ = [-c * t / p for t, p in zip(y, yh)]
            out[f"J#{n}"] = J
            delta = {}
            for l in range(L, 0, -1):
                if l == L and acts[-1] == "softmax":
                    delta[l] = [mpmath.fsum(dJ[i] * yh[i] * ((1 if i == j else 0) - yh[j]) for i in range(len(yh)))
                                for j in range(len(yh))]
                    continue
                up = dJ if l == L else [mpmath.fsum(W[l + 1][i][j] * delta[l + 1][i] for i in range(len(W[l + 1])))
                                        for j in range(len(zs[l]))]
                slope = {"sigmoid": lambda p, q: p * (1 - p), "tanh": lambda p, q: 1 - p * p, "identity": lambda p, q: 1,
                         "relu": lambda p, q: 1 if q > 0 else 0}[acts[l - 1]]
                delta[l] = [u * slope(p, q) for u, p, q in zip(up, a[l], zs[l])]
            for l in range(1, L + 1):
                for j in range(len(delta[l])):
                    out[f"delta{l}_{j}#{n}"] = delta[l][j]
                    for k in range(len(a[l - 1])):
                        grads[f"W{l}[{j},{k}]"] = grads.get(f"W{l}[{j},{k}]", 0) + delta[l][j] * a[l - 1][k]
                    grads[f"b{l}[{j}]"] = grads.get(f"b{l}[{j}]", 0) + delta[l][j]
        out["J"] = mpmath.fsum(out[f"J#{n}"] for n in range(m))
        lam = spec.get("l2")
        if lam:  # the default scale λ/(2m): J gains λ/(2m) Σw², each weight's gradient λ/m · w
            squares = mpmath.fsum(w * w for l in W for row in W[l] for w in row)
            out["l2:J"] = out["J"] + mpmath.mpf(repr(lam)) / (2 * m) * squares
            for l in W:
                for j, row in enumerate(W[l]):
                    for k, w in enumerate(row):
                        grads[f"W{l}[{j},{k}]"] += mpmath.mpf(repr(lam)) / m * w
        for key, g in grads.items():
            out[f"g:{key}"] = g
            layer, index = key[1:].split("[")
            p = W[int(layer)][int(index.split(",")[0].rstrip("]"))][int(index.rstrip("]").split(",")[1])] \
                if key[0] == "W" else b[int(layer)][int(index.rstrip("]"))]
            out[f"u:{key}"] = p - mpmath.mpf(repr(v["learning_rate"])) * g
        return out


def line_key(what: str) -> str | None:
    """The reference's key for a worked line's result ("a a1_0 #2" → "a1_0#2"), None for the L2 term's parts."""
    kind, _, rest = what.partition(" ")
    if kind in ("z", "a", "delta"):
        name, n = rest.split(" #")
        return f"{name}#{n}"
    if kind == "loss":
        return f"J#{rest[1:]}" if rest else "J"
    if kind == "gradient":
        return f"g:{rest}"
    if kind == "update":
        return f"u:{rest}"
    return "l2:J" if what == "l2 loss" else None


def half_unit(text: str) -> Decimal:
    return Decimal(1).scaleb(Decimal(text).as_tuple().exponent) / 2


def sympy_value(line) -> Decimal:
    """The line at its printed operands, by SymPy, with as many digits as its operands and result reach
    (1 − ŷ of a printed ŷ = 1 − 1.3839·10⁻⁸⁷ needs 91 of them)."""
    subs = {s: sp.Rational(*Decimal(t).as_integer_ratio()) for s, t in line.operands.items()}
    value = line.expr.xreplace(subs)
    if value.is_Rational:
        return Decimal(int(value.p)) / Decimal(int(value.q))
    reach = max([len(Decimal(t).as_tuple().digits) + abs(Decimal(t).as_tuple().exponent) for t in line.operands.values()] + [0])
    digits = 40 + reach + len(Decimal(line.result).as_tuple().digits)
    return Decimal(str(sp.Float(sp.N(value, digits), digits)))


def values_of(text: str) -> dict:
    """The spec's table as the reference reads it (written here, not read through derive)."""
    import tomllib

    data = tomllib.loads(text)
    net, values = data["network"], data["values"]
    acts = net["activation"] if isinstance(net["activation"], list) else [net["activation"]] * (len(net["layers"]) - 1)
    return {"activations": acts, "loss": net["loss"], "values": values, "l2": net.get("l2")}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every spec of the table built by one `derive build --no-pdf`, as a lecturer would run it."""
    root = tmp_path_factory.mktemp("saturated")
    paths = []
    for name, *args in CASES:
        path = root / f"{name}.toml"
        path.write_text(spec_text(name, *args))
        paths.append(path)
    (root / "issue-2-2-1.toml").write_text(ISSUE_221)
    paths.append(root / "issue-2-2-1.toml")
    code = main(["build", *map(str, paths), "--out", str(root / "out"), "--no-pdf", "--quiet"])
    return root, code


def test_the_table_covers_every_loss_with_each_output_it_allows():
    from derive.engine.spec import ACTIVATIONS, LOSSES

    allowed = {(loss, out) for loss in LOSSES for out in ACTIVATIONS
               if not loss.startswith("bce") or out == "sigmoid"
               if not loss.startswith("cross_entropy") or out in ("sigmoid", "softmax")}
    assert {(c[1], c[2]) for c in CASES if c[7] is None} == set(PAIRS) == allowed
    for loss, out in PAIRS:
        kinds = {(c[3] > 0, c[4]) for c in CASES if (c[1], c[2]) == (loss, out) and c[7] is None}
        assert kinds == {(True, "at"), (True, "away"), (False, "at"), (False, "away")}, (loss, out)
    assert {(c[5], bool(c[6])) for c in CASES} == {(1, False), (3, False), (1, True), (3, True)}
    assert {abs(c[3]) for c in CASES} == set(SIZES)


def test_the_whole_table_builds(built, capsys):
    root, code = built
    assert code == 0, capsys.readouterr().err
    for name, *_ in CASES + [("issue-2-2-1",)]:
        assert {p.name for p in (root / "out" / name).iterdir()} >= {"gradients.py", "answers.json", "answers.tex"}


def unreproduced(lines) -> list:
    """The complete lines that, re-done from their printed operands, do not give their printed result."""
    bad = []
    for ln in lines:
        if ln.complete:
            with localcontext() as ctx:
                ctx.prec = 100_000
                got = sympy_value(ln).quantize(Decimal(1).scaleb(Decimal(ln.result).as_tuple().exponent), ROUND_HALF_EVEN)
            if got != Decimal(ln.result):
                bad.append((ln.what, {s.name: t[:40] for s, t in ln.operands.items()}, ln.result[:40], str(got)[:40]))
    return bad


def misprinted(lines, want: dict) -> tuple[list, int]:
    """The lines whose printed result is not the exact value rounded to its printed figures, and how many were compared."""
    bad, checked = [], 0
    for ln in lines:
        key = line_key(ln.what)
        if key is None:
            continue
        with mpmath.workdps(REFERENCE_DIGITS):
            exact = Decimal(mpmath.nstr(want[key], REFERENCE_DIGITS - 10, min_fixed=0, max_fixed=0))
        with localcontext() as ctx:
            ctx.prec = REFERENCE_DIGITS
            if abs(Decimal(ln.result) - exact) > half_unit(ln.result):
                bad.append((ln.what, ln.result[:60], str(exact)[:60]))
        checked += 1
    return bad, checked


def answers_mismatches(numbers: dict, want: dict) -> list:
    """answers.json's numbers that are not the exact ones rounded to binary64 (0 where binary64 underflows)."""
    got = {"J" if "l2" not in numbers else "l2:J": numbers["loss"]}
    for layer, rows in numbers["forward"].items():
        for n, row in enumerate(rows):
            for j, v in enumerate(row):
                got[f"{layer[0]}{layer[1:]}_{j}#{n}"] = v
    for layer, rows in numbers["delta"].items():
        for n, row in enumerate(rows):
            for j, v in enumerate(row):
                got[f"delta{layer[5:]}_{j}#{n}"] = v
    for table, prefix in (("gradients", "g"), ("updated", "u")):
        for pname, value in numbers[table].items():
            for j, row in enumerate(value):
                if isinstance(row, list):
                    for k, v in enumerate(row):
                        got[f"{prefix}:{pname}[{j},{k}]"] = v
                else:
                    got[f"{prefix}:{pname}[{j}]"] = row
    bad = []
    for key, v in got.items():
        exact = float(want[key])  # correctly rounded (0.0 below binary64's smallest number)
        if not math.isfinite(v) or abs(v - exact) > 1e-12 * abs(exact) + 1e-300:
            bad.append((key, v, exact))
    return bad


def check_finite_difference(sheet) -> None:
    """The finite-difference check agrees, and its quotient comes from its printed J(w ± ε); there is
    none only where every weight's gradient is so small (10⁻⁸⁷ through a saturated unit) that J(w ± ε)
    differ past the 20th decimal place: a check no student could do from printed values."""
    fd = sheet["finite_difference"]
    if fd is None:
        grads = [abs(Decimal(ln.result)) for ln in sheet["lines"] if ln.what.startswith("gradient W")]
        assert max(grads) < Decimal("1e-10"), grads
        return
    assert fd.agree, (fd.key, fd.j_plus[:40], fd.j_minus[:40], fd.quotient, fd.gradient)
    with localcontext() as ctx:
        ctx.prec = 100_000
        quotient = (Decimal(fd.j_plus) - Decimal(fd.j_minus)) / (2 * Decimal(fd.epsilon.numerator) / fd.epsilon.denominator)
        assert abs(quotient - Decimal(fd.quotient)) <= half_unit(fd.quotient), (fd.key, quotient, fd.quotient)


@pytest.mark.parametrize("case", CASES + [("issue-2-2-1",)], ids=lambda c: c[0])
def test_saturated_sheet_prints_the_exact_numbers_and_every_line_reproduces(built, case):
    root, _ = built
    name = case[0]
    text = (root / f"{name}.toml").read_text()
    d = derive(build_network(parse_spec(text, name)))
    numbers = json.loads((root / "out" / name / "answers.json").read_text())
    assert numbers == json.loads(json.dumps(compute_answers(d)))  # the build's answers are these
    sheet = worked(Typesetter(d, get_profile("ng"), 4), numbers)
    check_finite_difference(sheet)
    assert unreproduced(sheet["lines"]) == []
    bad, checked = misprinted(sheet["lines"], reference(values_of(text)))
    assert bad == [] and checked >= 5
    tex = (root / "out" / name / "answers.tex").read_text()
    for ln in sheet["lines"]:
        if ln.shown:
            assert tex_number(ln.result) in tex, ln.what


@pytest.mark.parametrize("case", CASES + [("issue-2-2-1",)], ids=lambda c: c[0])
def test_saturated_answers_json_holds_the_exact_values_in_binary64(built, case):
    root, _ = built
    name = case[0]
    numbers = json.loads((root / "out" / name / "answers.json").read_text())
    assert answers_mismatches(numbers, reference(values_of((root / f"{name}.toml").read_text()))) == []


# A softmax whose top units tie while another sits 1,400 below them: the ties' δ cancel down to that
# other unit's e⁻¹⁴⁰⁰, which 50 digits printed as noise (4·10⁻⁵³, in answers.json too).
TIED = [(loss, z, target) for loss in ("cross_entropy", "half_sse") for z in (200.0, -700.0) for target in ("at", "away")]


def tied(loss, z, target):
    text = spec_text("tied", loss, "softmax", z, target, 2, None, None, width=4)
    d = derive(build_network(parse_spec(text, "tied")))
    numbers = compute_answers(d)
    return text, numbers, worked(Typesetter(d, get_profile("ng"), 4), numbers)


@pytest.mark.parametrize("loss, z, target", TIED)
def test_a_tied_softmax_prints_the_exact_numbers(loss, z, target):
    text, numbers, sheet = tied(loss, z, target)
    want = reference(values_of(text))
    assert answers_mismatches(numbers, want) == []
    bad, checked = misprinted(sheet["lines"], want)
    assert bad == [] and checked >= 5
    check_finite_difference(sheet)


@pytest.mark.parametrize("loss, z, target", TIED)
def test_a_tied_softmax_sheet_reproduces(loss, z, target, request):
    if loss == "half_sse" and z < 0:
        # Its tied units' δ is 10⁻⁶⁰⁹ from operands printed 0.333333333333: no 12 figures carry it.
        request.applymarker(pytest.mark.xfail(strict=True, reason="a tied softmax δ cancels below any printed operand's figures"))
    _, _, sheet = tied(loss, z, target)
    assert unreproduced(sheet["lines"]) == []


def test_a_unit_saturated_past_what_a_sheet_carries_is_refused_in_one_line(tmp_path, capsys):
    """σ(30000) is 1 − 10⁻¹³⁰²⁹: past MAX_GAP_DIGITS; `derive build` says so (exit 2), `derive answers` answers."""
    far = tmp_path / "far.toml"
    far.write_text(spec_text("far", "bce", "sigmoid", 30000.0, "at", 1, None))
    good = tmp_path / "good.toml"
    good.write_text(spec_text("good", "bce", "sigmoid", 200.0, "at", 1, None))
    out = tmp_path / "out"
    assert main(["build", str(far), str(good), "--out", str(out), "--no-pdf", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [err.rstrip("\n")] and err.startswith(f"derive: error: {far}: values: the example gives unit 1 of "
                                                                      "layer 1 (sigmoid) the pre-activation z = 30000.0")
    assert (out / "good" / "answers.tex").is_file() and not (out / "far").exists()
    assert main(["answers", "--json", str(far)]) == 0
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["delta"]["delta1"] == [[0.0]] and numbers["loss"] == 0.0  # −e⁻³⁰⁰⁰⁰ and ln(1 + e⁻³⁰⁰⁰⁰), in binary64


@pytest.mark.parametrize("name", ["issue-1-1-bce-200", "tanh-hidden-cross-entropy-softmax-pos700-m1"])
def test_the_sheets_of_a_saturated_spec_compile_cleanly(tmp_path, name):
    """With PDFs: the gap is printed as 1 − d (σ(200) = 1 − 1.3839 × 10⁻⁸⁷), nothing runs into the margin."""
    if not have_latex() or shutil.which("pdftotext") is None:
        pytest.skip("pdflatex or pdftotext is not installed")
    case = next(c for c in CASES if c[0] == name)
    path = tmp_path / f"{name}.toml"
    path.write_text(spec_text(*case))
    out = tmp_path / "out"
    assert main(["build", str(path), "--out", str(out)]) == 0
    folder = out / name
    text = subprocess.run(["pdftotext", str(folder / "answers.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = "".join(text.split())
    assert "1−1.3839×10" in flat if "200" in name else "1−" in flat  # σ(200) = 1 − 1.3839 × 10⁻⁸⁷
    assert "NaN" not in text and "inf" not in text.split()
    _, log = compile_with_log(folder / "answers.tex", timeout=180, single_pass=True)
    assert overfull_boxes(log, 1.0) == []


def test_a_value_that_only_rounds_to_a_short_decimal_is_rounded_not_called_exact():
    from fractions import Fraction

    from derive.sheets.decimals import printed_decimal

    update = Fraction(700) - Fraction(493, 10**307)  # θ − η·∂J/∂θ through a saturated unit
    assert printed_decimal(update, 4) == "700.0"
    assert printed_decimal(Fraction(7, 4), 4) == "1.75"  # a short exact decimal is still printed exactly
    assert printed_decimal(1 - Fraction(13839, 10**91), 5, gap=True) == "0." + "9" * 86 + "86161"
