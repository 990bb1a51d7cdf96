"""The handout's equations, unit by unit and as vectors: the forward pass, the loss, δ of every
layer, the backward pass and gradients in vector form, the general rules, and the gradients'
dimensions for the exercise sheet."""
from __future__ import annotations

import sympy as sp

from . import activations
from .notation import Names
from .typeset import Typesetter, chunked, join_terms, listed


def forward(ts: Typesetter) -> list[dict]:
    layers = []
    for l in range(1, ts.L + 1):
        zs, more = listed(list(ts.net.z[l]))
        eqs = []
        for z in zs:
            eqs.append(rf"{ts.s(z)} &= {ts.z_rhs(z)}")
        act = ts.net.activation(l)
        for z, a in zip(zs, ts.net.a[l]):
            rhs = ts.tex(activations.apply(act, z)) if act != "softmax" else ts.tex(ts.net.a_expr[a])
            eqs.append(rf"{ts.s(a)} &= {rhs}")
        layers.append({"layer": ts.names.layer(l), "equations": eqs, "more": more})
    return layers


def _act_vector(ts: Typesetter, l: int, arg: str) -> str:
    act = ts.net.activation(l)
    return rf"{ts.names.function(act)}\left({arg}\right)"


def forward_vector(ts: Typesetter) -> list[str]:
    n, eqs = ts.names, []
    for l in range(1, ts.L + 1):
        terms = []
        for src in ts.spec.sources_of(l):
            M = n.matrix(ts.spec.weight_name(l, src))
            a = n.vector("a", src)
            terms.append(f"{M} {a}" if ts.p.columns else f"{a} {M}")
        if ts.spec.biases[l - 1]:
            b = n.matrix(f"b{l}")
            terms.append(b if ts.p.columns else rf"{n.ones()} {b}")
        shape = _vshape(ts, l)
        eqs.append(rf"{n.vector('z', l)} &= {' + '.join(terms)} && {shape}")
        eqs.append(rf"{n.vector('a', l)} &= {_act_vector(ts, l, n.vector('z', l))} && {shape}")
    return eqs


def _transposed(symbol: str) -> str:
    """x^T for a bare letter, (a^{(2)})^T where the symbol already carries a superscript or index."""
    return rf"{symbol}^T" if "^" not in symbol and "_" not in symbol else rf"\left({symbol}\right)^T"


def _vshape(ts: Typesetter, l: int) -> str:
    w = ts.spec.layers[l]
    return rf"{w}\times 1" if ts.p.columns else rf"{ts.p.examples}\times {w}"


def loss(ts: Typesetter) -> dict:
    y_hat = [ts.s(a) for a in ts.net.a[ts.L]]
    return {"scalar": rf"{ts.p.cost} = {ts.loss_rhs()}",
            "general": rf"{ts.p.cost_full} = {ts.loss_formula()}",
            "outputs": ", ".join(f"${v}$" for v in y_hat)}


def deltas(ts: Typesetter) -> dict:
    out_lines = []
    L = ts.L
    zs, more_out = listed(list(ts.net.z[L]))
    for z in zs:
        d = ts.d.delta[z]
        od = ts.d.output_delta[d]
        chain = join_terms([rf"{ts.partial(ts.net.J, f)}\,{ts.partial(f, z)}" for f in ts.d.successors[z]])
        gap = r" \\ &" if len(ts.d.successors[z]) > 2 else " "  # a softmax unit's chain has a term per output
        line = rf"{ts.s(d)} &= {ts.dcost(ts.s(z))} = {chain}{gap}= {ts.output_chain(z)}"
        if od.simplified:
            line += rf" \\ &= {ts.tex(od.value)}"
        out_lines.append(line)
    hidden = []
    for l in range(L - 1, 0, -1):
        zs, more = listed(list(ts.net.z[l]))
        eqs = []
        for z in zs:
            d = ts.d.delta[z]
            a = ts.net.a[l][ts.net.z[l].index(z)]
            succ = ts.d.successors[a]
            inner = join_terms([rf"{ts.partial(zn, a)}\,{ts.s(ts.d.delta[zn])}" for zn in succ])
            inner = rf"\left({inner}\right)" if len(succ) > 1 else inner
            gap = r" \\ &" if len(succ) > 2 else " "
            eqs.append(rf"{ts.s(d)} &= {inner} {ts.partial(a, z)}{gap}= {ts.hidden_delta(z)}")
        hidden.append({"layer": ts.names.layer(l), "equations": eqs, "more": more})
    notes = []
    if any(od.simplified for od in ts.d.output_delta.values()):
        notes.append("The output $\\delta$ simplifies: the derivative of the activation cancels against the loss.")
    if any(od.used_target_sum for od in ts.d.output_delta.values()):
        notes.append("The simplification uses that the targets are one-hot (they sum to 1).")
    return {"output": out_lines, "output_more": more_out, "hidden": hidden, "notes": notes,
            "definition": rf"{ts.p.delta}_j{ts.names.generic_layer()} := {ts.dcost(ts.p.preactivation + '_j' + ts.names.generic_layer())}"}


def _output_delta_vector(ts: Typesetter) -> str:
    """δ of the output layer as an element-wise vector/matrix formula."""
    n, L = ts.names, ts.L
    a0, y0, z0 = ts.net.a[L][0], ts.net.y[0], ts.net.z[L][0]
    act = ts.net.activation(L)
    od = ts.d.output_delta[ts.d.delta[z0]]
    had = rf" {ts.p.hadamard} "
    if act == "softmax" or od.simplified:
        if od.value.free_symbols <= {a0, y0, z0, ts.net.m}:
            return ts.tex(od.value, ts.vec, mul_symbol=had)
        return rf"\left(\frac{{\partial {n.vector('a', L)}}}{{\partial {n.vector('z', L)}}}\right)^T \nabla_{{{n.vector('a', L)}}}{ts.p.cost}"
    grad = sp.diff(ts.net.loss_expr, a0)
    if ts.net.loss.kind == "squared":
        grad_tex = ts.loss_gradient(0, ts.vec)
    else:
        grad_tex = ts.paren(grad, ts.vec) if isinstance(grad, sp.Add) else ts.tex(grad, ts.vec, mul_symbol=had)
    return rf"{grad_tex}{had}{n.activation(L)}'\left({n.vector('z', L)}\right)"


def backward_vector(ts: Typesetter) -> dict:
    n, L, had = ts.names, ts.L, rf" {ts.p.hadamard} "
    lines = []
    lines.append(rf"{n.vector('delta', L)} &= {_output_delta_vector(ts)} && {_vshape(ts, L)}")
    for l in range(L - 1, 0, -1):
        terms = []
        for dst in range(l + 1, L + 1):
            if l in ts.spec.sources_of(dst):
                M = n.matrix(ts.spec.weight_name(dst, l))
                d = n.vector("delta", dst)
                terms.append(rf"{_transposed(M)} {d}" if ts.p.columns else rf"{d} {_transposed(M)}")
        lines.append(rf"{n.vector('delta', l)} &= \left({' + '.join(terms)}\right){had}{n.activation(l)}'\left({n.vector('z', l)}\right) && {_vshape(ts, l)}")
    grads = []
    for name in ts.matrices:
        shape = n.matrix_shape(name)
        if name.startswith("b"):
            l = int(name[1:])
            rhs = n.vector("delta", l) if ts.p.columns else rf"{n.ones()}^T {n.vector('delta', l)}"
        else:
            dst, src = Names._matrix_layers(name)
            a, d = n.vector("a", src), n.vector("delta", dst)
            rhs = rf"{d} {_transposed(a)}" if ts.p.columns else rf"{_transposed(a)} {d}"
        grads.append(rf"{ts.dcost(n.matrix(name))} &= {rhs} && {shape[0]}\times {shape[1]}")
    slopes = []
    for l in range(1, L + 1):
        act = ts.net.activation(l)
        if act == "softmax":
            continue
        a0, z0 = ts.net.a[l][0], ts.net.z[l][0]
        slope = ts.tex(activations.derivative_from_output(act, a0, z0), ts.vec, mul_symbol=had)
        slopes.append(rf"{n.activation(l)}'\left({n.vector('z', l)}\right) = {slope}")
    shapes_text = ("one example, column vectors" if ts.p.columns else f"${ts.p.examples}$ examples, one per row")
    return {"lines": lines, "gradients": grads, "slopes": slopes, "shapes": shapes_text,
            "activation": ts.p.activation}


def general(ts: Typesetter) -> dict:
    rules = []
    row, col = ts.p.index_letters
    for name in ts.matrices:
        M = ts.names.entry(name)
        if name.startswith("b"):
            l = int(name[1:])
            rules.append(rf"{ts.dcost(M)} = {ts.names.vector('delta', l)}_{row if ts.p.columns else col}")
            continue
        dst, src = Names._matrix_layers(name)
        d, a = ts.names.vector("delta", dst), ts.names.vector("a", src)
        if ts.p.columns:
            rules.append(rf"{ts.dcost(M)} = {d}_{row}\, {a}_{col}")
        else:
            rules.append(rf"{ts.dcost(M)} = {a}_{row}\, {d}_{col}")
    every = []
    if not ts.large:
        for p in ts.d.parameters:
            every.append(rf"{ts.dcost(ts.pname(p.key))} &= {ts.tex(ts.d.gradient[p.key])}")
    rows = [r",\qquad ".join(chunk) for chunk in chunked(rules, 2)]
    return {"rules": rules, "rule_rows": rows, "every": chunked(every, 2)}


def dimensions(ts: Typesetter) -> list[dict]:
    rows = []
    for name in ts.matrices:
        r, c = ts.names.matrix_shape(name)
        rows.append({"name": ts.names.matrix(name), "gradient": ts.dcost(ts.names.matrix(name)),
                     "rows": r, "cols": c})
    return rows
