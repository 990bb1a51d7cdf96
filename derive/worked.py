"""The answer sheet's worked example: the first example's numbers substituted into every forward,
δ and gradient formula, and the gradient step. The numbers come from `compute_answers` (the
generated code); this module only formats them."""
from __future__ import annotations

import re

import sympy as sp

from . import activations
from .typeset import Typesetter, join_terms, listed


def worked(ts: Typesetter, numbers: dict) -> dict:
    nb, net = numbers, ts.net
    vals = _example_values(ts, numbers, 0)
    valued = _valued(ts, vals)
    forward = []
    for l in range(1, ts.L + 1):
        eqs = []
        zs, more = listed(list(net.z[l]))
        act = net.activation(l)
        for z in zs:
            eqs.append(_line(ts.s(z), ts.z_rhs(z), ts.z_rhs(z, valued, dot=True), ts.num(vals[z])))
        for z, a in zip(zs, net.a[l]):
            f = activations.apply(act, z) if act != "softmax" else net.a_expr[a]
            eqs.append(_line(ts.s(a), ts.tex(f), _substituted(ts, f, vals), ts.num(vals[a])))
        forward.append({"layer": ts.names.layer(l), "equations": eqs, "more": more})
    m = nb["examples"]
    # With several examples J and every gradient are totals over the batch: their substituted
    # lines sum every example's numbers, so that the value printed follows from the line itself.
    batch = [_valued(ts, _example_values(ts, numbers, e)) for e in range(m)] if m > 1 else None
    if batch:
        loss = _line(ts.p.cost, ts.loss_formula(), ts.loss_rhs(dot=True, examples=batch), ts.num(nb["loss"]))
    else:
        loss = _line(ts.p.cost, ts.loss_rhs(), ts.loss_rhs(valued, dot=True), ts.num(nb["loss"]))
    deltas = []
    for l in range(ts.L, 0, -1):
        zs, more = listed(list(net.z[l]))
        eqs = []
        for z in zs:
            d = ts.d.delta[z]
            if l < ts.L:
                formula, subs = ts.hidden_delta(z), ts.hidden_delta(z, valued, dot=True)
            elif ts.d.output_delta[d].simplified:
                expr = ts.d.delta_expr[d]
                formula, subs = ts.tex(expr), _substituted(ts, expr, vals)
            else:
                formula, subs = ts.output_chain(z), ts.output_chain(z, valued, dot=True)
            end = r" \\ &= " if len(subs) > 140 else " = "  # a long substitution gets the value on its own line
            eqs.append(rf"{ts.s(d)} &= {formula} \\ &= {subs}{end}{ts.num(vals[d])}")
        deltas.append({"layer": ts.names.layer(l), "equations": eqs, "more": more})
    grads = []
    rate = nb.get("learning_rate")
    for name in ts.matrices:
        params = [p for p in ts.d.parameters if p.matrix == name]
        shown, more = listed(params)
        eqs = []
        for p in shown:
            g = ts.d.gradient[p.key]
            total = nb["gradients"][name][p.index[0]][p.index[1]] if len(p.index) == 2 else nb["gradients"][name][p.index[0]]
            if batch:
                per_example = [ts.tex(g, ex, mul_symbol="dot") for ex in batch]
                eqs.append(_line(ts.dcost(ts.pname(p.key)), rf"\sum_{{n=1}}^{{{ts.p.examples}}} {ts.tex(g)}",
                                 join_terms(per_example), ts.num(total)))
            elif g.is_Symbol:
                eqs.append(rf"{ts.dcost(ts.pname(p.key))} &= {ts.tex(g)} = {ts.num(total)}")  # ∂J/∂b = δ: nothing to substitute
            else:
                eqs.append(_line(ts.dcost(ts.pname(p.key)), ts.tex(g), _substituted(ts, g, vals), ts.num(total)))
        upd = []
        if rate is not None:
            for p in shown:
                old = vals[p.symbol]
                g = nb["gradients"][name][p.index[0]][p.index[1]] if len(p.index) == 2 else nb["gradients"][name][p.index[0]]
                new = nb["updated"][name][p.index[0]][p.index[1]] if len(p.index) == 2 else nb["updated"][name][p.index[0]]
                upd.append(rf"{ts.pname(p.key)} &\leftarrow {ts.pname(p.key)} - {ts.p.learning_rate}\, {ts.dcost(ts.pname(p.key))} "
                           rf"= {ts.num(old)} - {ts.num(rate)} \cdot {_pn(ts.num(g))} = {ts.num(new)}")
        grads.append({"name": ts.names.matrix(name), "equations": eqs, "more": more,
                      "matrix": _matrix_tex(ts, name, nb["gradients"][name]),
                      "updated": upd, "updated_matrix": _matrix_tex(ts, name, nb["updated"][name]) if rate is not None else "",
                      "lhs": ts.dcost(ts.names.matrix(name)),
                      "given": _matrix_tex(ts, name, nb["parameters"][name])})
    given, row, width = [], [], 0
    for g in grads:  # the given matrices, a few to a row so that a row fits the page
        if not g["given"]:
            continue
        cols = max(ts.names.matrix_shape(n)[1] for n in ts.matrices if ts.names.matrix(n) == g["name"])
        if row and width + cols + 1 > 8:
            given.append(r",\qquad ".join(row))
            row, width = [], 0
        row.append(f"{g['name']} = {g['given']}")
        width += cols + 1  # the name and the gap count about one column
    if row:
        given.append(r",\qquad ".join(row))
    return {"forward": forward, "loss": loss, "deltas": deltas, "gradients": grads, "given": given,
            "examples": nb["examples"], "rate": ts.num(rate) if rate is not None else None,
            "inputs": _inputs_tex(ts, vals), "batch": _batch_tex(ts, nb) if m > 1 else None}


MAX_BATCH_ROWS = 6  # examples printed in the exercises' table of all examples before \vdots


def _batch_tex(ts: Typesetter, numbers: dict) -> dict:
    """Every example's inputs and targets, one example per row, for the sheets that ask for batch totals."""
    def table(rows: list[list[float]]) -> str:
        shown = [" & ".join(ts.num(v) for v in r) for r in rows[:MAX_BATCH_ROWS]]
        if len(rows) > MAX_BATCH_ROWS:
            shown.append(" & ".join([r"\vdots"] * len(rows[0])))
        return r"\begin{bmatrix} " + r" \\ ".join(shown) + r" \end{bmatrix}"
    return {"inputs": table(numbers["inputs"]["x"]), "targets": table(numbers["inputs"]["y"])}


def _example_values(ts: Typesetter, numbers: dict, e: int = 0) -> dict[sp.Symbol, float]:
    nb, net = numbers, ts.net
    vals: dict[sp.Symbol, float] = {net.m: float(nb["examples"])}
    for k, x in enumerate(net.x):
        vals[x] = nb["inputs"]["x"][e][k]
    for j, y in enumerate(net.y):
        vals[y] = nb["inputs"]["y"][e][j]
    for p in ts.d.parameters:
        arr = nb["parameters"][p.matrix]
        vals[p.symbol] = arr[p.index[0]][p.index[1]] if len(p.index) == 2 else arr[p.index[0]]
    for l in range(1, ts.L + 1):
        for j in range(ts.spec.layers[l]):
            vals[net.z[l][j]] = nb["forward"][f"z{l}"][e][j]
            vals[net.a[l][j]] = nb["forward"][f"a{l}"][e][j]
            vals[net.delta[l][j]] = nb["delta"][f"delta{l}"][e][j]
    return vals


def _valued(ts: Typesetter, vals: dict[sp.Symbol, float]) -> dict[sp.Symbol, str]:
    names = dict(ts.sym)
    for s, v in vals.items():
        text = ts.num(v) if s != ts.net.m else str(int(v))
        names[s] = rf"\left({text}\right)" if text.startswith("-") else text
    return names


def _substituted(ts: Typesetter, expr: sp.Expr, vals: dict[sp.Symbol, float]) -> str:
    text = ts.tex(expr, _valued(ts, {s: vals[s] for s in expr.free_symbols if s in vals}), mul_symbol="dot")
    # A negative number is bracketed as a factor; as a function's whole argument, σ(−0.1000), once is enough.
    return _DOUBLE_BRACKETS.sub(r"\\left(\1\\right)", text)


_DOUBLE_BRACKETS = re.compile(r"\\left\(\\left\((-[0-9.]+)\\right\)\\right\)")


def _matrix_tex(ts: Typesetter, name: str, arr) -> str:
    rows = [list(r) for r in arr] if isinstance(arr[0], list) else [[v] for v in arr]
    if len(ts.spec.parameter_shapes()[name]) == 1 and not ts.p.columns:
        rows = [[r[0] for r in rows]]
    elif len(ts.spec.parameter_shapes()[name]) == 2 and not ts.p.columns:
        rows = [list(c) for c in zip(*rows)]
    if max(len(r) for r in rows) > 8:
        return ""
    body = r" \\ ".join(" & ".join(ts.num(v) for v in r) for r in rows)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


def _line(lhs: str, formula: str, subs: str, value: str) -> str:
    if len(formula) + len(subs) > 110:
        return rf"{lhs} &= {formula} \\ &= {subs} = {value}"
    return rf"{lhs} &= {formula} = {subs} = {value}"


def _inputs_tex(ts: Typesetter, vals) -> str:
    parts = [f"${ts.s(x)} = {ts.num(vals[x])}$" for x in ts.net.x]
    parts += [f"${ts.s(y)} = {ts.num(vals[y])}$" for y in ts.net.y]
    return ", ".join(parts)


def _pn(text: str) -> str:
    return rf"\left({text}\right)" if text.startswith("-") else text
