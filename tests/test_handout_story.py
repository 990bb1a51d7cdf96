"""The handout tells the seeds' story for any net, and is typeset like a careful lecturer's:

* one rule per line (seed 001) for a weight and a bias, for every output/loss pair, with the last
  line equal to the gradient (multiplied out here, compared with SymPy's own derivative);
* the columns reading of the path products (seed 000), computed from the paths;
* the activations' derivatives (σ′ = σ(1 − σ) derived), every line checked against SymPy;
* the four equations of backpropagation iff the profile asks for them (seed 002);
* bias units drawn iff the profile draws them, skip edges drawn distinctly;
* no doubled brackets in any generated .tex (the whole class, scanned over many specs and profiles).
"""
from __future__ import annotations

import random
import re
import tomllib
from pathlib import Path

import pytest
import sympy as sp
from specgen import generate

from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import parse_spec
from derive.notation.names import PROFILES, get_profile
from derive.notation.profile import parse_profile
from derive.numbers.answers import compute_answers
from derive.sheets import slopes
from derive.sheets.columns import columns
from derive.sheets.render import render_worksheets
from derive.sheets.stepwise import product_sum, stepwise
from derive.sheets.typeset import Typesetter, tidy_brackets

ROOT = Path(__file__).resolve().parent.parent


def spec_text(layers, activation, loss, bias=True, skip=None, profile="ng", values=True):
    acts = "[" + ", ".join(f'"{a}"' for a in activation) + "]" if isinstance(activation, list) else f'"{activation}"'
    lines = ['name = "t"', "[network]", f"layers = {layers}", f"activation = {acts}", f"bias = {str(bias).lower()}",
             f'loss = "{loss}"']
    if skip:
        lines.append(f"skip = {skip}")
    lines += ["[notation]", f'style = "{profile}"']
    if values:
        k = layers[-1]
        y = [1] + [0] * (k - 1)
        lines += ["[values]", f"x = [{[0.5, -0.25, 0.75][:layers[0]]}]", f"y = [{y}]", "seed = 3"]
    return "\n".join(lines) + "\n"


def build(text):
    d = derive(build_network(parse_spec(text)))
    return d, (compute_answers(d) if d.network.spec.values is not None else None)


# -- one rule per line ---------------------------------------------------------------------------

PAIRS = [("sigmoid", "half_mse"), ("identity", "half_sse"), ("tanh", "sse"), ("relu", "mse"), ("softmax", "half_sse"),
         ("sigmoid", "bce"), ("sigmoid", "bce_mean"), ("softmax", "cross_entropy"), ("softmax", "cross_entropy_mean"),
         ("sigmoid", "cross_entropy")]


def _full_loss(net):
    """One example's loss as a function of the parameters and inputs (every unit substituted)."""
    subs = {}
    for l in range(1, net.depth + 1):
        for z in net.z[l]:
            subs[z] = net.z_expr[z].xreplace(subs)
        for a in net.a[l]:
            subs[a] = net.a_expr[a].xreplace(subs)
    return net.loss_expr.xreplace(subs), subs


@pytest.mark.parametrize("output,loss", PAIRS)
@pytest.mark.parametrize("layers", [[2, 2, 2], [1, 2, 1], [3, 2]])
def test_stepwise_covers_a_weight_and_a_bias_and_ends_at_the_gradient(output, loss, layers):
    if output == "softmax" and layers[-1] < 2:
        pytest.skip("softmax needs two outputs")
    acts = ["tanh"] * (len(layers) - 2) + [output]
    d, _ = build(spec_text(layers, acts, loss))
    ts = Typesetter(d, get_profile("ng"), 4)
    sw = stepwise(ts)
    kinds = [dv["bias"] for dv in sw["derivations"]]
    assert kinds == [False, True]
    net = d.network
    full, subs = _full_loss(net)
    rng = random.Random(1)
    for dv in sw["derivations"]:
        p = d.parameter(dv["key"])
        steps = dv["steps"]
        # The last line before any closing "multiplied out" line has every term differentiated.
        done = next(s for s in steps if all(t.pending is None for t in s.terms))
        value = product_sum(done.terms).xreplace(subs)
        exact = sp.diff(full, p.symbol)
        point = {s: sp.Rational(rng.randint(-9, 9), 10) for s in exact.free_symbols | value.free_symbols}
        point.update({y: (1 if k == 0 else 0) for k, y in enumerate(net.y)})  # one-hot, as the closing line may use
        point[net.m] = 3
        assert abs(float(sp.N(value.xreplace(point) - exact.xreplace(point), 30))) < 1e-20, dv["name"]
        if steps[-1] is not done:  # the closing line equals the line above
            closing = product_sum(steps[-1].terms).xreplace(subs)
            assert abs(float(sp.N(closing.xreplace(point) - exact.xreplace(point), 30))) < 1e-20
        for s in steps[1:]:
            assert all(s.rules[i] or s.terms[i].pending is None or i for i in range(len(s.rows)))


def test_stepwise_writes_one_fraction_and_outputs_in_order():
    d, _ = build(spec_text([2, 2, 2], "sigmoid", "half_mse", bias=False))
    tex = render_worksheets(d, None, "ng")["handout.tex"]
    section = tex[tex.index("One gradient, one rule per line"):]
    assert r"\frac{1}{2 m}" in section and r"\frac{1}{2} \frac{1}{m}" not in section
    first = section[section.index(r"\frac{\partial}{\partial"):]
    assert first.index("y_{1}") < first.index("y_{2}")
    assert "no biases" in section


def test_stepwise_stays_fast_and_short_on_a_wide_softmax():
    d, _ = build(spec_text([3, 12, 10], ["sigmoid", "softmax"], "cross_entropy", values=False))
    sw = stepwise(Typesetter(d, get_profile("nielsen"), 4))
    for dv in sw["derivations"]:
        assert dv["layer"] == 2  # an output-layer parameter: a first-layer one would have 10 rows a line
        assert all(len(s.rows) <= 4 for s in dv["steps"])
        assert "first two and the last" in dv["rows_note"]


# -- columns, slopes, four equations, diagram ------------------------------------------------------

@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_handout_has_the_columns_reading_computed_from_the_paths(profile):
    d, numbers = build(spec_text([2, 2, 2], "sigmoid", "half_mse", bias=False, profile=profile))
    ts = Typesetter(d, get_profile(profile), 4)
    cols = columns(ts)
    for g in cols["output"]["groups"]:
        paths = [list(d.paths(k)) for k in g["weights"]]
        assert g["shared"] == all([p[:-1] for p in ps] == [p[:-1] for p in paths[0]] for ps in paths)
        assert g["shared"]
    assert cols["output"]["roles"] == ["error term", "activation derivative", "input"]
    assert cols["hidden"]["roles"] == ["error term", "activation derivative", "weight", "activation derivative", "input"]
    assert cols["hidden"]["common"] == 2 and None not in cols["hidden"]["through"]
    tex = render_worksheets(d, numbers, profile)["handout.tex"]
    assert "Reading the paths as columns" in tex and "have the first two columns in common" in tex


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_activation_derivations_are_right_line_by_line(activation):
    d, _ = build(spec_text([1, 1, 1], activation, "half_sse"))
    (entry,) = slopes.activation_derivations(Typesetter(d, get_profile("nielsen"), 4))
    truth = sp.diff(entry["exact"], slopes.Z)
    for line, value in zip(entry["lines"], entry["values"]):
        if value is not None:
            assert sp.simplify((value - truth).rewrite(sp.exp)) == 0, line


def test_every_activation_used_is_derived_or_defined():
    d, _ = build(spec_text([2, 2, 2, 2], ["relu", "tanh", "softmax"], "cross_entropy"))
    tex = render_worksheets(d, None, "ng")["handout.tex"]
    for words in ("The rectifier (ReLU)", "The hyperbolic tangent", "The softmax"):
        assert words in tex
    d, _ = build(spec_text([1, 1, 1], "sigmoid", "half_sse", profile="nielsen"))
    tex = render_worksheets(d, None, "nielsen")["handout.tex"]
    assert r"g(z)\,\bigl(1 - g(z)\bigr)" in tex  # σ′ = σ(1 − σ) with the notes' letter


def _with_summary(profile: str, summary: str):
    text = (ROOT / "derive" / "notation" / "profiles" / f"{profile}.toml").read_text()
    text = re.sub(r'summary = "[a-z_]+"', f'summary = "{summary}"', text)
    return parse_profile(text.encode(), f"{profile}-copy.toml")


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_four_equations_iff_the_profile_asks(profile):
    d, _ = build(spec_text([1, 2, 1], "sigmoid", "sse", profile=profile))
    p = get_profile(profile)
    tex = render_worksheets(d, None, p)["handout.tex"]
    assert (r"\tag{BP1}" in tex) == p.four_equations
    flipped = _with_summary(profile, "none" if p.four_equations else "four_equations")
    tex = render_worksheets(d, None, flipped)["handout.tex"]
    assert (r"\tag{BP4}" in tex) == flipped.four_equations
    assert get_profile("nielsen").four_equations and not get_profile("ng").four_equations


def test_nielsen_four_equations_are_the_notes_form():
    d, _ = build(spec_text([1, 2, 1], "sigmoid", "sse", profile="nielsen"))
    tex = render_worksheets(d, None, "nielsen")["handout.tex"]
    assert r"\delta^{L} = \nabla_{\hat{y}} e \circ g'\left(z^{L}\right)" in tex
    assert r"\delta^{l} = \left(\left(w^{l+1}\right)^T \delta^{l+1}\right) \circ g'\left(z^{l}\right)" in tex
    assert r"\frac{\partial e}{\partial b^{l}_{j}} = \delta^{l}_{j}" in tex
    assert r"\frac{\partial e}{\partial w^{l}_{jk}} = a^{l-1}_{k}\, \delta^{l}_{j}" in tex


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_bias_units_drawn_iff_the_profile_draws_them(profile):
    d, _ = build(spec_text([1, 2, 1], "sigmoid", "sse", profile=profile))
    tex = render_worksheets(d, None, profile)["handout.tex"]
    assert ("bias units, always $1$" in tex) == get_profile(profile).bias_drawn_as_unit


def test_skip_edges_are_drawn_apart_and_listed():
    d, _ = build(spec_text([2, 2, 2, 1], ["tanh", "sigmoid", "identity"], "half_sse", skip="[[0, 2]]"))
    tex = render_worksheets(d, None, "ng")["handout.tex"]
    assert r"\draw[skip]" in tex and "dashed: skip connections" in tex
    assert not re.search(r"\\draw\[edge\] \(n0-\d\) to\[bend", tex)  # no skip drawn as a grey bend over the hidden units
    assert r"\theta^{(1\to 3)}_{11} x_{1}" in tex  # and it is a term of the equations


# -- typography --------------------------------------------------------------------------------------

def test_tidy_brackets():
    assert tidy_brackets(r"\tanh{\left(\left(-0.41\right) \right)}") == r"\tanh{\left(-0.41\right) }"
    assert tidy_brackets(r"e^{\left(-0.4053\right)}") == r"e^{-0.4053}"
    kept = r"\sigma\left(\left(-0.5\right) \cdot 2\right)"
    assert tidy_brackets(kept) == kept


_TOKEN = re.compile(r"\\left\(|\\right\)|\\[bB]igg?l\(|\\[bB]igg?r\)|(?<!\\)\(|(?<!\\)\)")


def doubled_brackets(tex: str) -> list[str]:
    r"""Bracket pairs (\left( \right), \bigl( \bigr), plain ( )) that enclose exactly one other bracket
    pair and nothing else, and a bracketed number as a whole exponent (e^{(−0.41)})."""
    pairs, stack = [], []
    for m in _TOKEN.finditer(tex):
        if m.group().endswith("("):
            stack.append(m)
        elif stack:
            pairs.append((stack.pop(), m))
    spans = {(o.start(), c.end()) for o, c in pairs}
    found = []
    for o, c in pairs:
        inner = tex[o.end():c.start()]
        lead, trail = len(inner) - len(inner.lstrip()), len(inner.rstrip())
        if (o.end() + lead, o.end() + trail) in spans:
            found.append(tex[max(0, o.start() - 30):c.end() + 10])
    found += [tex[m.start() - 20:m.end() + 30] for m in re.finditer(r"\^\{\\left\(", tex)]
    return found


def _narrow_generated(count: int):
    out = []
    for name, text in generate(20261130, 60):
        if max(tomllib.loads(text)["network"]["layers"]) <= 6:
            out.append((name, text))
    return out[:count]


def test_the_bracket_scan_finds_the_known_cases():
    assert doubled_brackets(r"\tanh{\left(\left(-0.55\right) \right)}")
    assert doubled_brackets(r"e^{\left(-0.4053\right)}") and doubled_brackets(r"((a + b))")
    assert not doubled_brackets(r"\ln(1 - f(\mathbf{x}, \mathbf{W}))") and not doubled_brackets(r"a^{(2)}")


def test_no_doubled_brackets_in_any_generated_sheet():
    texts = [(p.stem, p.read_text()) for p in sorted((ROOT / "examples").glob("*.toml"))] + _narrow_generated(16)
    problems = []
    for i, (name, text) in enumerate(texts):
        spec = parse_spec(text, name)
        d = derive(build_network(spec))
        numbers = compute_answers(d) if spec.values is not None else None
        for profile in sorted(PROFILES) if i < 4 else [spec.notation]:
            for doc, tex in render_worksheets(d, numbers, profile).items():
                problems += [f"{name} {profile} {doc}: {hit}" for hit in doubled_brackets(tex)]
    assert not problems, "\n".join(problems[:10])


def test_headings_are_kept_with_what_follows():
    base = (ROOT / "templates" / "base.tex.j2").read_text()
    assert r"\renewcommand{\section}{\derive@needlines" in base and r"\renewcommand{\subsection}{\derive@needlines" in base


def test_collecting_brackets_fit_their_contents():
    d, _ = build(spec_text([2, 2, 2], "sigmoid", "half_mse", bias=False))
    tex = render_worksheets(d, None, "ng")["handout.tex"]
    assert r"\Big[" not in tex and r"\Big]" not in tex
    assert r"&= \left[" in tex


def test_identity_output_is_not_bracketed_twice_nor_multiplied_by_one():
    d, numbers = build(spec_text([2, 2, 1], ["tanh", "identity"], "half_sse"))
    docs = render_worksheets(d, numbers, "welch")
    assert not re.search(r"\\hat\{y\} &= z\^\{\(3\)\} = \\left\(", docs["answers.tex"])
    assert r"\cdot 1 W" not in docs["handout.tex"] and r"\cdot 1 \theta" not in docs["handout.tex"]


@pytest.mark.skipif(not __import__("derive.sheets.latex", fromlist=["have_latex"]).have_latex()
                    or __import__("shutil").which("pdftotext") is None, reason="pdflatex or pdftotext is not installed")
@pytest.mark.parametrize("example,profile", [("ng-222", "ng"), ("welch-231", "welch"), ("iris-423", "ng")])
def test_no_heading_is_stranded_at_the_foot_of_a_page(tmp_path, example, profile):
    """The pages the issue named (ng-222 p.2, welch-231 p.2, iris-423 p.5) and every other page of
    their handouts: the last lines of a page are never a section or subsection heading."""
    import subprocess

    from derive.sheets.latex import compile_with_log

    d, numbers = build((ROOT / "examples" / f"{example}.toml").read_text())
    tex = render_worksheets(d, numbers, profile)["handout.tex"]
    # A heading's words before any math ("Paths for" of "Paths for $\theta^{(2)}_{11}$").
    headings = {re.sub(r"\s+", " ", h).strip() for h in re.findall(r"\\(?:sub)?section\*\{([^{}$]*)", tex)}
    headings.discard("")
    source = tmp_path / "handout.tex"
    source.write_text(tex)
    pdf, _ = compile_with_log(source)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for number, page in enumerate(text.split("\f")[:-1], start=1):
        lines = [re.sub(r"\s+", " ", line).strip() for line in page.splitlines() if line.strip()]
        body = [line for line in lines if not line.isdigit()]
        for line in body[-3:]:
            stranded = [h for h in headings if line == h or (line.startswith(h + " ") and len(line) < len(h) + 12)]
            assert not stranded, f"{example} page {number} ends with the heading {line!r}"


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_stepwise_ends_in_the_sign_the_delta_section_uses(profile):
    """ng and nielsen write ∂J/∂ŷ as (ŷ − y): the derivation's last line takes the minus into the
    bracket; welch writes −(y − ŷ) and keeps it; qbus writes (f − t) from the start."""
    d, _ = build(spec_text([1, 2, 1], "sigmoid", "sse", profile=profile))
    p = get_profile(profile)
    sw = stepwise(Typesetter(d, p, 4))
    last = sw["derivations"][0]["steps"][-1].rhs
    out, y = (r"\hat{y}", p.target) if p.output_hat else ("a^{(3)}", p.target)
    if "(" in p.output:
        out = p.output
    if p.minus_y_first:
        assert last.startswith("-") and rf"\left({y} - {out}\right)" in last
    else:
        assert not last.startswith("-") and rf"\left({out} - {y}\right)" in last


def test_skip_edges_run_below_every_unit():
    d, _ = build(spec_text([2, 3, 2, 1], ["tanh", "sigmoid", "identity"], "half_sse", skip="[[0, 2], [1, 3]]"))
    from derive.sheets.diagram import network_diagram

    tikz = network_diagram(Typesetter(d, get_profile("welch"), 4))
    units = [float(y) for y in re.findall(r"\\node\[unit\] \(n\d+-\d+\) at \([-0-9.]+,([-0-9.]+)\)", tikz)]
    skips = re.findall(r"\\draw\[skip\] (.*);", tikz)
    assert len(skips) == 2 * 2 + 3 * 1  # every skip weight has its edge: [0, 2] is 2 × 2, [1, 3] is 3 × 1
    for route in skips:
        corners = [tuple(map(float, c)) for c in re.findall(r"\(([-0-9.]+),([-0-9.]+)\)", route)]
        low = min(y for _, y in corners)
        assert low < min(units) - 0.3  # the horizontal run passes below every unit
        xs = sorted({x for x, _ in corners})
        unit_xs = {float(x) for x in re.findall(r"\\node\[unit\] \(n\d+-\d+\) at \(([-0-9.]+),", tikz)}
        assert not (set(xs) & unit_xs)  # its vertical runs are in the gaps between the layers


def test_the_closing_lines_check_tells_a_right_line_from_a_wrong_one():
    """The 'multiplied out' line is printed only if it equals the line above at random points where every
    a is f of its z; the check must accept the identity a = softmax(z) and σ′ = σ(1 − σ), and refuse a near miss."""
    import sympy as sp

    from derive.engine.network import build_network
    from derive.engine.spec import parse_spec
    from derive.sheets.stepwise import _derivative, _equal

    net = build_network(parse_spec(spec_text([2, 3, 3], activation=["sigmoid", "softmax"], loss="cross_entropy"), "n.toml"))
    a_hidden, z_hidden = net.a[1][0], net.z[1][0]
    a_out, zs = net.a[2][0], net.z[2]
    softmax = sp.exp(zs[0]) / sp.Add(*[sp.exp(z) for z in zs])
    assert _equal(a_out, softmax, net, one_hot=False)
    assert _equal(a_hidden * (1 - a_hidden), _derivative("sigmoid", z_hidden), net, one_hot=False)
    assert not _equal(a_out, softmax * sp.Rational(1001, 1000), net, one_hot=False)
    assert not _equal(a_hidden * (1 - a_hidden), _derivative("tanh", z_hidden), net, one_hot=False)


DEEP = spec_text([2, 3, 3, 2, 1], "sigmoid", "half_sse")


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_evaluated_paths_of_a_deep_net_are_broken_before_the_margin(profile):
    """A 2-3-3-2-1 net's deepest weight has paths of nine evaluated factors: in qbus, whose output is
    f(x, W), one line ran 22 pt into the margin. Each printed line of an evaluated path stays within
    the budget (a single factor aside), and the pieces still multiply to the whole path."""
    from derive.sheets.path_sums import MAX_EVALUATED_WIDTH
    from derive.sheets.typeset import tex_width

    d, numbers = build(DEEP.replace('style = "ng"', f'style = "{profile}"'))
    tex = render_worksheets(d, numbers, profile)["handout.tex"]
    blocks = re.findall(r"With every local derivative evaluated:\n\\begin\{align\*\}\n(.*?)\\end\{align\*\}", tex, re.S)
    assert blocks
    broken = 0
    for block in blocks:
        for line in block.split("\\\\"):
            body = re.sub(r"\\textcolor\{path[a-z]+\}", "", line.split("&=", 1)[-1]).replace(r"&\qquad\quad", "")
            body = body.replace(r"&\quad +", "").strip()
            assert tex_width(body) <= MAX_EVALUATED_WIDTH + 40, (profile, body[:120])
        broken += block.count(r"&\qquad\quad")
    assert broken or profile == "nielsen"  # nielsen's short names fit; the others' nine factors do not


@pytest.mark.skipif(not __import__("derive.sheets.latex", fromlist=["have_latex"]).have_latex(), reason="pdflatex is not installed")
def test_deep_qbus_handout_has_no_overfull_line(tmp_path):
    from derive.sheets.latex import compile_with_log, overfull_boxes

    d, numbers = build(DEEP.replace('style = "ng"', 'style = "qbus"'))
    source = tmp_path / "handout.tex"
    source.write_text(render_worksheets(d, numbers, "qbus")["handout.tex"])
    _, log = compile_with_log(source, single_pass=True)
    assert not overfull_boxes(log, 1.0)


def test_a_generic_unit_is_written_with_the_units_letter_not_the_batch_matrix():
    """qbus names the stacked pre-activations Z and one example's units z: Σ_k over the units of a layer
    (collecting a deep net's paths, a wide softmax's denominator) writes z^{(l)}_k, as its terms do."""
    for text in (DEEP, spec_text([3, 12, 6], ["tanh", "softmax"], "cross_entropy")):
        d, numbers = build(text.replace('style = "ng"', 'style = "qbus"'))
        docs = render_worksheets(d, numbers, "qbus")
        for name, tex in docs.items():
            assert not re.search(r"\\mathbf\{Z\}\^\{\(\d\)\}_\{k\}", tex), name


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_a_long_forward_sum_never_hides_the_skip_connection(profile):
    """z = W a + W' x + b has more terms than a sum shows; shortened, it keeps every weight matrix's
    first term, so the skip connection's terms are in the forward equations (they were behind the ⋯)."""
    for layers, skip in (([2, 3, 1], [[0, 2]]), ([3, 12, 2], [[0, 2]])):
        d, numbers = build(spec_text(layers, "sigmoid", "half_sse", skip=skip, profile=profile))
        ts = Typesetter(d, get_profile(profile), 4)
        skip_matrix = ts.names.matrix(d.network.spec.skips[0].name)
        tex = render_worksheets(d, numbers, profile)["handout.tex"]
        forward = tex[tex.index("Forward equations"):tex.index("In matrix form")]
        # the entry of the skip matrix (its superscript, as every entry of it prints) is in the sums
        sup = re.search(r"\^\{[^{}]*\\to[^{}]*\}", skip_matrix).group(0)
        assert sup in forward, (profile, layers, skip_matrix)
