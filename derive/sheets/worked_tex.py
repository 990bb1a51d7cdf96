"""The answer sheet's worked numbers typeset: a settled `Sheet` (`lines`, `settle`) turned into the
templates' pieces — the forward pass, the loss, δ, the per-example tables, gradients and updates, the
L2 term, the given data and the rounding rule — as LaTeX strings in the course's notation.

Only layout is decided here: which line is written out and every number printed come from the sheet.
"""
from __future__ import annotations

import sympy as sp

from ..engine import activations
from ..numbers.answers import as_written
from .decimals import printed_decimal
from .lines import LAMBDA, MAX_EXAMPLES_WORKED, Plan, units_worked
from .regularization import square
from .settle import Sheet, gap_statement, starting_figures, statement
from .typeset import Typesetter, join_terms, listed, matrix_blocks, table_blocks, tex_number, tidy_brackets, wrap_terms


class Printed:
    """A settled sheet's numbers as TeX: `tx(key)` is a quantity as printed; `valued(n)` the
    symbol_names with example n's numbers; `one` with every per-example symbol of example 1 as x_1(1)."""

    def __init__(self, ts: Typesetter, sh: Sheet, plan: Plan):
        self.ts, self.sh, self.plan = ts, sh, plan
        self._valued: dict[int, dict] = {}
        self.one = self.ex_names("1")

    def __call__(self, key: str) -> str:
        return tex_number(self.sh.text(key))

    def valued(self, n: int) -> dict[sp.Symbol, str]:
        """symbol_names with example n's printed numbers (bracketed when negative)."""
        if n not in self._valued:
            names = self._valued[n] = dict(self.ts.sym)
            for s, info in self.ts.net.info.items():
                if info.kind == "J":
                    continue
                key = self.plan.key(s, n)
                if key in self.sh.value:
                    names[s] = _pn(self(key))
        return self._valued[n]

    def ex_names(self, n: str) -> dict[sp.Symbol, str]:
        """symbol_names with every per-example symbol carrying its example index: x_1(n)."""
        names = dict(self.ts.sym)
        if self.plan.multi:
            for s, info in self.ts.net.info.items():
                if info.kind in ("x", "y", "z", "a", "delta"):
                    names[s] = f"{self.ts.sym[s]}({n})"
        return names


def pieces(ts: Typesetter, sh: Sheet, pv: dict, plan: Plan) -> dict:
    """The `worked` dict the exercise and answer templates and the questions read."""
    tx = Printed(ts, sh, plan)
    net, m, shown_m, k = ts.net, plan.m, plan.shown_m, plan.key
    grads = _gradients(ts, tx, plan, pv["rate"] is not None)
    kink = any(sh.value[k(z, n)] == 0 for n in range(shown_m) for l in range(1, ts.L + 1) if net.activation(l) == "relu"
               for z in net.z[l])
    tables, deltas_all = _tables(ts, tx, plan)
    return {"forward": _forward(ts, tx, plan), "tables": tables, "deltas_all": deltas_all, "loss": _loss(ts, tx, plan),
            "deltas": _deltas(ts, tx), "gradients": grads, "given": [b for g in grads for b in g["given"]],
            "examples": m, "shown_examples": shown_m, "multi": plan.multi, "figures": ts.precision,
            "reused_figures": starting_figures(ts.precision, True),
            "rate": tx("eta") if pv["rate"] is not None else None,
            "inputs": _inputs_tex(ts, tx, k), "data": _data_table(ts, m),
            "policy": _policy(ts, kink, m, shown_m, bool(sh.gaps)), "lines": sh.worked_lines(),
            "regularization": _l2_render(ts, tx) if net.l2 is not None else None}


# -- the forward pass, the loss, δ ------------------------------------------------------------------

def _forward(ts: Typesetter, tx: Printed, plan: Plan) -> list[dict]:
    """Example 1's forward pass, unit by unit, layer by layer."""
    one, v0 = tx.one, tx.valued(0)
    forward = []
    for l in range(1, ts.L + 1):
        zs, more = units_worked(ts, l, "forward")
        eqs = [_aligned(one[z], _z_formula(ts, z, one), _z_terms(ts, z, v0), tx(plan.key(z, 0))) for z in zs]
        if l in plan.wide_softmax:
            eqs += _wide_softmax(ts, tx, plan, l, zs)
        else:
            eqs += _activations(ts, tx, plan, l, zs)
        forward.append({"layer": ts.names.layer(l), "equations": eqs, "more": more})
    return forward


def _activations(ts: Typesetter, tx: Printed, plan: Plan, l: int, zs: list) -> list[str]:
    net, one = ts.net, tx.one
    act = net.activation(l)
    eqs = []
    for j, z in enumerate(zs):
        a = net.a[l][j]
        f = activations.apply(act, z) if act != "softmax" else net.a_expr[a]
        if act == "identity":  # ŷ = z = −0.143: the value once, not (−0.143) = −0.143
            eqs.append(rf"{one[a]} &= {ts.tex(f, one)} = {tx(plan.key(a, 0))}")
        else:
            eqs.append(_aligned(one[a], ts.tex(f, one), [_substituted(ts, f, tx.valued(0))], tx(plan.key(a, 0))))
    return eqs


def _wide_softmax(ts: Typesetter, tx: Printed, plan: Plan, l: int, zs: list) -> list[str]:
    """Σ_k e^{z_k} once, every term in unit order; then each output is e^{z_j} over that number."""
    net, one, k = ts.net, tx.one, plan.key
    total = rf"\sum_{{k=1}}^{{{len(net.z[l])}}} e^{{{ts.names.unit_of('z', l, 'k')}{'(1)' if plan.multi else ''}}}"
    exps = [rf"e^{{{tx(k(z, 0))}}}" for z in net.z[l]]
    eqs = [_aligned(total, "", exps, tx(f"S{l}#0"))]
    for j, z in enumerate(zs):
        a = net.a[l][j]
        eqs.append(_aligned(one[a], rf"\frac{{e^{{{one[z]}}}}}{{{total}}}",
                            [rf"\frac{{e^{{{tx(k(z, 0))}}}}}{{{tx(f'S{l}#0')}}}"], tx(k(a, 0))))
    return eqs


def _loss(ts: Typesetter, tx: Printed, plan: Plan) -> list[str]:
    """Example 1's loss, then (several examples) the sum of every example's."""
    cost, multi, l2 = ts.p.cost, plan.multi, ts.net.l2 is not None
    one, v0 = tx.one, tx.valued(0)
    loss_lhs = rf"{cost}_{{1}}" if multi or l2 else cost
    loss_terms = ts.loss_terms(v0, dot=True)
    lines = [_aligned(loss_lhs, ts.loss_rhs(one) if multi else ts.loss_rhs(), loss_terms, tx("J#0"),
                      lead=ts.loss_lead(v0, dot=True))]
    if multi:
        parts = [_pn(tx(f"J#{n}")) for n in range(plan.shown_m)]
        total = rf"\sum_{{n=1}}^{{{ts.p.examples}}} {cost}_{{n}}"
        lines.append(_aligned(total if l2 else cost, "" if l2 else total, _maybe_cut(parts, plan.m), tx("J")))
    return lines


def _deltas(ts: Typesetter, tx: Printed) -> list[dict]:
    """δ of example 1, output layer first."""
    net, d, one, v0 = ts.net, ts.d, tx.one, tx.valued(0)
    deltas = []
    for l in range(ts.L, 0, -1):
        zs, more = units_worked(ts, l, "delta")
        eqs = []
        for z in zs:
            dl = d.delta[z]
            if l < ts.L:
                formula, terms, tail = ts.hidden_delta(z, one), *_hidden_terms(ts, z, v0)
            elif d.output_delta[dl].simplified:
                expr = d.delta_expr[dl]
                formula, terms, tail = ts.tex(expr, one), [_substituted(ts, expr, v0)], ""
            else:
                formula, terms, tail = ts.output_chain(z, one), [ts.output_chain(z, v0, dot=True)], ""
            line = _aligned(one[dl], formula, terms, tx(tx.plan.key(dl, 0)), tail=tail)
            if net.activation(l) == "relu" and tx.sh.value[tx.plan.key(z, 0)] == 0:
                line += rf" \\ &\qquad \text{{(${one[z]} = 0$ exactly, and $\operatorname{{ReLU}}'(0) = 0$)}}"
            eqs.append(line)
        deltas.append({"layer": ts.names.layer(l), "equations": eqs, "more": more})
    return deltas


def _tables(ts: Typesetter, tx: Printed, plan: Plan) -> tuple[list[dict], list[dict]]:
    """Every example's z and a, and every example's δ, one row per example; for one example only
    where some units are not worked line by line (their values are still all on the page)."""
    net = ts.net
    unlisted = any(units_worked(ts, l, kind)[1] for l in range(1, ts.L + 1) for kind in ("forward", "delta"))
    if not (plan.multi or unlisted):
        return [], []
    tables = [_example_table(ts, kind, l, syms, tx, plan)
              for l in range(1, ts.L + 1) for kind, syms in (("z", net.z[l]), ("a", net.a[l]))]
    return tables, [_example_table(ts, "delta", l, net.delta[l], tx, plan) for l in range(ts.L, 0, -1)]


def _example_table(ts: Typesetter, kind: str, l: int, syms, tx: Printed, plan: Plan) -> dict:
    m, shown_m = plan.m, plan.shown_m
    header = [ts.sym[s] for s in syms]
    rows = [[tx(plan.key(s, n)) for s in syms] for n in range(shown_m)]
    label = ts.names.vector(kind, l)
    if m == 1:
        title = rf"${label}$, every unit"
    elif shown_m < m:
        title = rf"${label}(n)$ for examples $n = 1, \ldots, {shown_m}$ of ${m}$, one row each"
    elif not ts.p.columns:
        title = rf"${label}$, one row per example (${ts.p.examples} \times {len(syms)}$)"
    else:
        title = rf"${label}(n)$ for every example $n$, one row each (the columns of the course's matrix)"
    return {"title": title, "blocks": table_blocks(header, rows)}


# -- gradients and updates ------------------------------------------------------------------------

def _gradients(ts: Typesetter, tx: Printed, plan: Plan, rate: bool) -> list[dict]:
    """Each parameter matrix: its first few gradients and updates line by line, then as matrices."""
    grads = []
    for name in ts.matrices:
        shown, more = listed([p for p in ts.d.parameters if p.matrix == name])
        eqs = [_gradient(ts, tx, plan, p) for p in shown]
        upd = [_update(ts, tx, p) for p in shown] if rate else []
        mname = ts.names.matrix(name)
        grads.append({"name": mname, "equations": eqs, "more": more,
                      "matrix": _matrix(ts, name, lambda p: tx(f"g:{p.key}"), ts.dcost(mname),
                                        _l2_product_form(ts, name, plan.m)),
                      "updated": upd,
                      "updated_matrix": _matrix(ts, name, lambda p: tx(f"u:{p.key}"), rf"{mname} \leftarrow") if rate else [],
                      "lhs": ts.dcost(mname),
                      "given": _matrix(ts, name, lambda p: tx(p.symbol.name), f"{mname} ="),
                      })
    return grads


def _gradient(ts: Typesetter, tx: Printed, plan: Plan, p) -> str:
    g = ts.d.gradient[p.key]
    lhs = ts.dcost(ts.pname(p.key))
    decay = _l2_addend(ts, p, tx)  # (" + λ/m w", "0.35 · 0.1") for a weight of an L2 spec, else ("",)
    if plan.multi:
        per_example = [_substituted(ts, g, tx.valued(n)) for n in range(plan.shown_m)]
        return _aligned(lhs, rf"\sum_{{n=1}}^{{{ts.p.examples}}} {ts.tex(g, tx.ex_names('n'))}" + decay[0],
                        _maybe_cut(per_example, plan.m) + list(decay[1:]), tx(f"g:{p.key}"))
    if g.is_Symbol:
        return rf"{lhs} &= {ts.tex(g)} = {tx(f'g:{p.key}')}"  # ∂J/∂b = δ: nothing to substitute
    return _aligned(lhs, ts.tex(g) + decay[0], [_substituted(ts, g, tx.valued(0))] + list(decay[1:]), tx(f"g:{p.key}"))


def _update(ts: Typesetter, tx: Printed, p) -> str:
    lhs = ts.dcost(ts.pname(p.key))
    return (rf"{ts.pname(p.key)} &\leftarrow {ts.pname(p.key)} - {ts.p.learning_rate}\, {lhs} "
            rf"= {tx(p.symbol.name)} - {tx('eta')} \cdot {_pn(tx(f'g:{p.key}'))} = {tx(f'u:{p.key}')}")


def _product_form(ts: Typesetter, name: str, m: int) -> str:
    """The matrix form of a gradient as a sum over examples: (a)^T δ, or Σ_n δ(n) a(n)^T."""
    n = ts.names
    if name.startswith("b"):
        dl = n.vector("delta", int(name[1:]))
        if m == 1:
            return ""
        return rf"{n.ones()}^T {dl} = " if not ts.p.columns else rf"\sum_n {dl}(n) = "  # the profile's 1_m or 1_N
    dst, src = n._matrix_layers(name)
    a, dl = n.vector("a", src), n.vector("delta", dst)
    # x^T, but (a^{(2)})^T: a bare letter takes its T without brackets, as the handout's matrix form writes it
    at = rf"{a}^T" if "^" not in a and "_" not in a else rf"\left({a}\right)^T"
    if not ts.p.columns:
        return rf"{at} {dl} = "
    if m == 1:
        return rf"{dl} {at} = "
    return rf"\sum_n {dl}(n) \left({a}(n)\right)^T = "


def _matrix(ts: Typesetter, name: str, cell, lhs: str, middle: str = "") -> list[str]:
    """A parameter-shaped matrix as the sheet shows it (welch transposes weights), in column blocks."""
    params = {p.index: p for p in ts.d.parameters if p.matrix == name}
    shape = ts.spec.parameter_shapes()[name]
    if len(shape) == 1:
        rows = [[cell(params[(j,)])] for j in range(shape[0])]
        if not ts.p.columns:
            rows = [[r[0] for r in rows]]
    else:
        rows = [[cell(params[(j, c)]) for c in range(shape[1])] for j in range(shape[0])]
        if not ts.p.columns:
            rows = [list(c) for c in zip(*rows)]
    if lhs.endswith(("=", r"\leftarrow")):
        head = lhs + " " + middle
    else:
        head = lhs + " = " + middle
    return matrix_blocks(head, rows)


# -- the given data and the rounding rule -----------------------------------------------------------

def _inputs_tex(ts: Typesetter, tx: Printed, k) -> str:
    parts = [f"${ts.s(x)} = {tx(k(x, 0))}$" for x in ts.net.x]
    parts += [f"${ts.s(y)} = {tx(k(y, 0))}$" for y in ts.net.y]
    return ", ".join(parts)


def _data_table(ts: Typesetter, m: int) -> list[str]:
    """Every example's inputs and targets as written in the spec, one labelled row per example."""
    values = ts.spec.values
    header = [ts.s(x) for x in ts.net.x] + [ts.s(y) for y in ts.net.y]
    rows = [[tex_number(printed_decimal(as_written(v), None)) for v in list(values.x[n]) + list(values.y[n])]
            for n in range(m)]
    return table_blocks(header, rows, split=len(ts.net.x))


def _policy(ts: Typesetter, kink: bool, m: int, shown_m: int, gaps: bool = False) -> str:
    """The rounding rule (`settle.statement`), and what the sheet's examples and units add to it."""
    text = statement(ts.precision)
    if m > 1:
        text += (r" A number written with $(n)$ belongs to example $n$; $" + ts.p.cost + r"_n$ is the loss of example $n$"
                 + r" and $" + ts.p.cost + r"$ and the gradients sum over all examples.")
    if m > shown_m:
        text += (f" Examples 1 to {shown_m} of {m} are worked; the sums run over all {m} examples (their remaining "
                 f"terms are elided with $\\cdots$).")
    if gaps:
        text += " " + gap_statement()
    if kink:
        text += r" $\operatorname{ReLU}'(0)$ is taken to be $0$; where a unit sits exactly at $z = 0$ the line says so."
    return text


# -- small pieces -----------------------------------------------------------------------------------

def _maybe_cut(terms: list[str], m: int) -> list[str]:
    if m <= MAX_EXAMPLES_WORKED:
        return terms
    return terms[:3] + [r"\cdots"]


def _z_formula(ts: Typesetter, z: sp.Symbol, names: dict) -> str:
    return join_terms([names[w] if a is None else f"{names[w]} {names[a]}" for w, a in ts.z_terms[z]])


def _z_terms(ts: Typesetter, z: sp.Symbol, names: dict) -> list[str]:
    return [names[w] if a is None else rf"{names[w]} \cdot {names[a]}" for w, a in ts.z_terms[z]]


def _hidden_terms(ts: Typesetter, z: sp.Symbol, names: dict) -> tuple[list[str], str]:
    """The terms Σ w δ of a hidden unit's δ with numbers, and the activation's slope after them."""
    info = ts.net.info[z]
    a = ts.net.a[info.layer][info.index[0]]
    terms = [rf"{ts.pr(ts.d.factors[(zn, a)].value, names, True, paren=True)} \cdot {names[ts.d.delta[zn]]}"
             for zn in ts.d.successors[a]]
    slope = ts.d.factors[(a, z)].value
    if slope == 1:
        return terms, ""
    return terms, r" \cdot " + ts.pr(slope, names, True, paren=True)


def _substituted(ts: Typesetter, expr: sp.Expr, names: dict) -> str:
    text = ts.tex(expr, names, mul_symbol="dot")
    # A negative number is bracketed as a factor; as a function's whole argument, σ(−0.1), once is enough.
    return tidy_brackets(text)


def _aligned(lhs: str, formula: str, terms: list[str], value: str, lead: str = "", tail: str = "") -> str:
    """`lhs &= formula = t1 + t2 + … = value`, broken over lines of the align where it is long.

    `terms` are summed; `lead` multiplies the bracketed sum from the left, `tail` from the right."""
    once = tidy_brackets  # ReLU′((−0.55)) → ReLU′(−0.55), e^{(−0.41)} → e^{−0.41}
    return wrap_terms(lhs, formula, [once(t) for t in terms], value, lead=lead, tail=once(tail))


def _pn(text: str) -> str:
    return rf"\left({text}\right)" if text.startswith("-") else text


# -- the L2 term --------------------------------------------------------------------------------------

MAX_SQUARES_SHOWN = 12  # squared weights written out in Σw²; past this the first and last few, and the count


def _l2_render(ts: Typesetter, tx: Printed) -> dict:
    """The answer sheet's L2 lines (J's term, then J) and the exercise sheet's question, as LaTeX pieces."""
    net, d = ts.net, ts.d
    cost = ts.p.cost
    l2 = net.l2
    names = {**ts.sym, l2.symbol: r"\lambda"}
    coefficient, slope = ts.tex(l2.coefficient, names), ts.tex(2 * l2.coefficient, names)
    read = set(l2.weights)
    weights = [p for p in d.parameters if p.symbol in read]
    squares = [rf"{_pn(tx(p.symbol.name))}^{{2}}" for p in weights]
    if len(squares) > MAX_SQUARES_SHOWN:
        squares = squares[:3] + [rf"\cdots \text{{ ({len(weights) - 4} more) }}"] + squares[-1:]
    sum_w = rf"\sum {square(ts)}"
    with_numbers = lambda expr: ts.tex(expr.xreplace({l2.symbol: LAMBDA}), {**ts.sym, LAMBDA: tx("l2:lambda"),
                                                                             net.m: tx(net.m.name)}, mul_symbol="dot")
    lines = [
        _aligned(rf"\sum_{{w}} {square(ts)}", "", squares, tx("l2:squares")),
        _aligned(coefficient + sum_w, "", [rf"{with_numbers(l2.coefficient)} \cdot {tx('l2:squares')}"], tx("l2:penalty")),
        _aligned(cost, rf"\sum_{{n}} {cost}_{{n}} + {coefficient}{sum_w}", [rf"{tx('J')} + {tx('l2:penalty')}"], tx("l2:J")),
    ]
    slope_line = _aligned(slope, "", [with_numbers(2 * l2.coefficient)], tx("l2:slope")) if 2 * l2.coefficient != l2.symbol else ""
    return {"lambda": tx("l2:lambda"), "coefficient": coefficient, "slope": slope, "lines": lines, "slope_line": slope_line,
            "weights": len(weights), "loss": tx("l2:J")}


def _l2_slope(ts: Typesetter) -> str:
    """2c in the sheet's symbols (λ/m for the default scale)."""
    return ts.tex(2 * ts.net.l2.coefficient, {**ts.sym, ts.net.l2.symbol: r"\lambda"})


def _l2_addend(ts: Typesetter, p, tx: Printed) -> tuple:
    """("+ λ/m·w" as the formula's tail, "λ/m's value · w's value" as one more summed term) for a weight
    of an L2 spec; ("",) otherwise."""
    if ts.net.l2 is None or p.symbol not in ts.net.l2.weights:  # every weight, never a bias
        return ("",)
    return (rf" + {_l2_slope(ts)}\, {ts.pname(p.key)}", rf"{tx('l2:slope')} \cdot {_pn(tx(p.symbol.name))}")


def _l2_product_form(ts: Typesetter, name: str, m: int) -> str:
    """`_product_form`, with + λ/m·W for a weight matrix of an L2 spec."""
    form = _product_form(ts, name, m)
    if ts.net.l2 is None or name.startswith("b"):
        return form
    return form[:-len(" = ")] + rf" + {_l2_slope(ts)}\, {ts.names.matrix(name)} = "
