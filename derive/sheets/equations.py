"""The handout's equations, unit by unit and as vectors: the forward pass, the loss, δ of every
layer, the backward pass and gradients in vector form, the general rules, and the gradients'
dimensions for the exercise sheet."""
from __future__ import annotations

import sympy as sp

from ..engine import activations
from ..notation.names import Names
from . import regularization
from .scope import examples, one_example, per_example
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
            rhs = ts.tex(activations.apply(act, z)) if act != "softmax" else _softmax(ts, l, z)
            eqs.append(rf"{ts.s(a)} &= {rhs}")
        layers.append({"layer": ts.names.layer(l), "equations": eqs, "more": more})
    return layers


def _softmax(ts: Typesetter, l: int, z) -> str:
    """e^{z_j} over the sum of e^{z_k}: the units in order, or Σ_k for a layer too wide for one line."""
    zs = ts.net.z[l]
    if len(zs) <= MAX_SOFTMAX_TERMS:
        below = " + ".join(rf"e^{{{ts.s(zk)}}}" for zk in zs)
    else:
        below = rf"\sum_{{k=1}}^{{{len(zs)}}} e^{{{ts.names.unit_of('z', l, 'k')}}}"
    return rf"\frac{{e^{{{ts.s(z)}}}}}{{{below}}}"


MAX_SOFTMAX_TERMS = 4


def _act_vector(ts: Typesetter, l: int, arg: str) -> str:
    act = ts.net.activation(l)
    return rf"{ts.names.function(act)}\left({arg}\right)"


def z_vector_rhs(ts: Typesetter, l: int, batch: bool = True) -> str:
    """Layer l's pre-activations as a matrix product: W a + b, or in rows a W + 1_m b for the stacked
    examples (`batch`), a W + b for one example's row."""
    n, terms = ts.names, []
    for src in ts.spec.sources_of(l):
        M = n.matrix(ts.spec.weight_name(l, src))
        a = n.vector("a", src)
        if not batch and not ts.p.columns:
            # One example's row: x, not the examples' matrix X; a_n where the stacked a is another letter.
            a = ts.p.input if src == 0 else n.one_example("a", src)
        terms.append(f"{M} {a}" if ts.p.columns else f"{a} {M}")
    if ts.spec.biases[l - 1]:
        b = n.matrix(f"b{l}")
        terms.append(b if ts.p.columns or not batch else rf"{n.ones()} {b}")
    return " + ".join(terms)


def forward_vector(ts: Typesetter) -> list[str]:
    n, eqs = ts.names, []
    for l in range(1, ts.L + 1):
        shape = _vshape(ts, l)
        eqs.append(rf"{n.vector('z', l)} &= {z_vector_rhs(ts, l)} && {shape}")
        eqs.append(rf"{n.vector('a', l)} &= {_act_vector(ts, l, n.vector('z', l))} && {shape}")
    return eqs


def _transposed(symbol: str) -> str:
    """x^T for a bare letter, (a^{(2)})^T where the symbol already carries a superscript or index."""
    return rf"{symbol}^T" if "^" not in symbol and "_" not in symbol else rf"\left({symbol}\right)^T"


def _vshape(ts: Typesetter, l: int) -> str:
    w = ts.spec.layers[l]
    m = examples(ts)
    return rf"{w}\times 1" if ts.p.columns else rf"{m if m is not None else ts.p.examples}\times {w}"


def loss(ts: Typesetter) -> dict:
    y_hat = [ts.s(a) for a in ts.net.a[ts.L]]
    return {"scalar": rf"{one_example(ts).p.cost} = {_loss_one_example(ts)}",
            "general": rf"{ts.p.cost_full} = {ts.loss_formula()}",
            "outputs": ", ".join(f"${v}$" for v in y_hat)}


# Output units past which one example's loss is written as a sum over i (its terms would run off the line).
MAX_LOSS_TERMS = {"squared": 4, "binary": 2, "categorical": 4}


def _loss_one_example(ts: Typesetter) -> str:
    """One example's loss: every output's term written out for a few outputs, else Σ over the outputs."""
    net, loss = ts.net, ts.net.loss
    k = len(net.a[ts.L])
    if k <= MAX_LOSS_TERMS[loss.kind]:
        return ts.loss_rhs()
    a, y = rf"{ts.names.vector('a', ts.L)}_{{i}}", "y_{i}"
    scale = loss.scale(net.m)
    lead = "" if scale == 1 else ts.pr(scale) + " "
    total = rf"\sum_{{i=1}}^{{{k}}}"
    if loss.kind == "squared":
        return rf"{lead}{total} \left({y} - {a}\right)^{{2}}"
    if loss.kind == "binary":
        return rf"-{lead}{total} \left[{y} {ts.p.log} {a} + \left(1 - {y}\right) {ts.p.log}\left(1 - {a}\right)\right]"
    return rf"-{lead}{total} {y} {ts.p.log} {a}"


def deltas(ts: Typesetter) -> dict:
    out_lines = []
    L = ts.L
    zs, more_out = listed(list(ts.net.z[L]))
    for z in zs:
        d = ts.d.delta[z]
        od = ts.d.output_delta[d]
        succ = ts.d.successors[z]
        if len(succ) <= 2:
            chain = " + ".join(rf"{ts.partial(ts.net.J, f)}\,{ts.partial(f, z)}" for f in succ)
            line = rf"{ts.s(d)} &= {ts.dcost(ts.s(z))} = {chain} = {ts.output_chain(z)}"
        else:  # a softmax output: every output depends on z, one term per output
            a_i = rf"{ts.names.vector('a', L)}_{{i}}"
            chain = rf"\sum_{{i=1}}^{{{len(succ)}}} {ts.dcost(a_i)}\,\frac{{\partial {a_i}}}{{\partial {ts.s(z)}}}"
            line = rf"{ts.s(d)} &= {ts.dcost(ts.s(z))} = {chain}"
            if len(succ) <= 3:
                line += rf" \\ &= {ts.output_chain(z)}"
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
    grads, sums = [], []
    one = one_example(ts)
    batch = per_example(ts)
    for name in ts.matrices:
        shape = n.matrix_shape(name)
        if name.startswith("b"):
            l = int(name[1:])
            rhs = n.vector("delta", l) if ts.p.columns else rf"{n.ones()}^T {n.vector('delta', l)}"
        else:
            dst, src = Names._matrix_layers(name)
            a, d = n.vector("a", src), n.vector("delta", dst)
            rhs = rf"{d} {_transposed(a)}" if ts.p.columns else rf"{_transposed(a)} {d}"
        # Column vectors hold one example: that example's term. Rows of X hold all m: the whole J.
        lhs = one.dcost(n.matrix(name)) if ts.p.columns else ts.dcost(n.matrix(name))
        # The whole J's gradient gains an L2 term's + λ/m W (one example's Jₙ does not).
        decay = regularization.gradient_term(ts, name)
        grads.append(rf"{lhs} &= {rhs}{'' if ts.p.columns else decay} && {shape[0]}\times {shape[1]}")
        if batch and ts.p.columns:
            sums.append(rf"{ts.dcost(n.matrix(name))} &= \sum_{{n}} {lhs}{decay}")
    slopes = []
    for l in range(1, L + 1):
        act = ts.net.activation(l)
        if act == "softmax":
            continue
        a0, z0 = ts.net.a[l][0], ts.net.z[l][0]
        slope = ts.tex(activations.derivative_from_output(act, a0, z0), ts.vec, mul_symbol=had)
        slopes.append(rf"{n.activation(l)}'\left({n.vector('z', l)}\right) = {slope}")
    m = examples(ts)
    if ts.p.columns:
        shapes_text = "one example, column vectors"
    elif m is None:
        shapes_text = f"${ts.p.examples}$ examples, one per row"
    else:
        shapes_text = (f"the spec's one example, a row (${ts.p.examples} = 1$)" if m == 1 else
                       f"the spec's {m} examples, one per row (${ts.p.examples} = {m}$)")
    batch_note = ""
    if batch and not ts.p.columns:
        d, a = n.vector("delta", L), n.vector("a", L - 1)
        rows = ts.p.examples if m is None else str(m)
        batch_note = (rf"Row $n$ of ${d}$ is example $n$'s $\delta$, so ${d}$ is ${rows}\times {ts.spec.layers[L]}$, and a product "
                      rf"such as ${_transposed(a)} {d}$ adds the examples: its entry $(k, i)$ is "
                      rf"$\sum_{{n=1}}^{{{rows}}} {a}_{{nk}}\, {d}_{{ni}}$, example $n$'s contribution "
                      rf"$\frac{{\partial {one.p.cost}}}{{\partial \theta}}$ summed over the {rows} examples.")
    elif batch:
        batch_note = (rf"These are one example's terms; ${ts.p.cost}$ adds the examples' terms, so its gradients add them over "
                      rf"the examples $n$ (with $\delta$ and $a$ of example $n$ in each term):")
    return {"lines": lines, "gradients": grads, "sums": sums, "batch_note": batch_note, "slopes": slopes,
            "shapes": shapes_text, "activation": ts.p.activation}


def general(ts: Typesetter) -> dict:
    """The rule for every entry of every matrix; with m ≠ 1 examples a sum over the examples n
    (δ and a of example n: row n of the matrices in the row-vector profile, column n otherwise)."""
    batch = per_example(ts)
    total = r"\sum_{n} " if batch else ""
    rules = []
    row, col = ts.p.index_letters
    for name in ts.matrices:
        M = ts.names.entry(name)
        if name.startswith("b"):
            l = int(name[1:])
            d = ts.names.vector('delta', l)
            unit = row if ts.p.columns else col
            if not batch:
                rules.append(rf"{ts.dcost(M)} = {d}_{unit}")
            else:
                rules.append(rf"{ts.dcost(M)} = \sum_{{n}} {d}_{{{unit}n}}" if ts.p.columns else rf"{ts.dcost(M)} = \sum_{{n}} {d}_{{n{unit}}}")
            continue
        dst, src = Names._matrix_layers(name)
        d, a = ts.names.vector("delta", dst), ts.names.vector("a", src)
        if ts.p.columns:
            body = rf"{d}_{{{row}n}}\, {a}_{{{col}n}}" if batch else rf"{d}_{row}\, {a}_{col}"
        else:
            body = rf"{a}_{{n{row}}}\, {d}_{{n{col}}}" if batch else rf"{a}_{row}\, {d}_{col}"
        rules.append(rf"{ts.dcost(M)} = {total}{body}{regularization.gradient_term(ts, name, entry=True)}")
    note = ""
    if batch:
        where = "column" if ts.p.columns else "row"
        note = (rf"Here ${ts.names.vector('delta', ts.L)}_{{{row + 'n' if ts.p.columns else 'n' + col}}}$ and the like are the "
                f"values of example $n$ (its {where} when the examples are stacked), and $n$ runs over all the examples.")
    every = []
    if not ts.large:
        one = one_example(ts)
        for p in ts.d.parameters:
            every.append(rf"{one.dcost(one.pname(p.key))} &= {one.tex(ts.d.gradient[p.key])}")
    rows = [r",\qquad ".join(chunk) for chunk in chunked(rules, 2)]
    return {"rules": rules, "rule_rows": rows, "every": chunked(every, 2), "note": note}


def dimensions(ts: Typesetter) -> list[dict]:
    rows = []
    for name in ts.matrices:
        r, c = ts.names.matrix_shape(name)
        rows.append({"name": ts.names.matrix(name), "gradient": ts.dcost(ts.names.matrix(name)),
                     "rows": r, "cols": c})
    return rows


def four_equations(ts: Typesetter) -> dict | None:
    """The four equations of backpropagation (the notes' (1)–(4), Nielsen's BP1–BP4) in this
    profile's letters, element by element and as vectors; None unless the profile asks for them."""
    p, n = ts.p, ts.names
    if not p.four_equations:
        return None

    def sup(text: str) -> str:
        return f"^{{({text})}}" if p.parens else f"^{{{text}}}"

    big_l = sup("L")
    d, z, a, cost, had = p.delta, p.preactivation, p.activation_letter, p.cost, p.hadamard
    # The activation as this document writes it (σ, or the profile's g) when the layers share one;
    # a net that mixes them gets g_l, "layer l's activation", so that no letter means two functions.
    shared = {act for act in ts.spec.activations if act not in ("identity", "softmax")}
    g = n.function(next(iter(shared))) if len(shared) == 1 else p.activation + "_{l}"
    notes = [] if len(shared) <= 1 else [rf"Here ${g}$ is the activation of layer $l$."]
    if ts.net.activation(ts.L) == "softmax":
        notes.append(r"With the softmax output, (BP1) takes the softmax's Jacobian (Section 1) in place of "
                     rf"${g}'$: ${d}{big_l}_{{j}} = \sum_i \frac{{\partial {cost}}}{{\partial {a}{big_l}_i}} "
                     rf"\frac{{\partial {a}{big_l}_i}}{{\partial {z}{big_l}_j}}$.")
    row, col = p.index_letters
    # The weight matrix between layer l and l + 1 carries l + 1 ("target" profiles) or l ("source").
    w_next = sup("l+1") if p.weight_by_target else sup("l")
    w_own = sup("l") if p.weight_by_target else sup("l-1")
    w, W = p.weight_letter, p.matrix_letter
    out_vec = n.vector("a", ts.L) if p.output_hat else a + big_l
    if p.columns:
        bp2_vec = rf"{d}{sup('l')} = \left(\left({W}{w_next}\right)^T {d}{sup('l+1')}\right) {had} {g}'\left({z}{sup('l')}\right)"
    else:
        bp2_vec = rf"{d}{sup('l')} = \left({d}{sup('l+1')} \left({W}{w_next}\right)^T\right) {had} {g}'\left({z}{sup('l')}\right)"
    # Element form with the profile's two letters, each always for the same side of a weight: with
    # columns, w_{jk} goes from unit k (earlier layer) to unit j (later); with rows, W_{ki} from k to i.
    if p.columns:
        later, earlier = row, col
        w_between = rf"{w}{w_next}_{{{later}{earlier}}}"
        bp4 = rf"\frac{{\partial {cost}}}{{\partial {w}{w_own}_{{{row}{col}}}}} = {a}{sup('l-1')}_{{{col}}}\, {d}{sup('l')}_{{{row}}}"
    else:
        earlier, later = row, col
        w_between = rf"{w}{w_next}_{{{earlier}{later}}}"
        bp4 = rf"\frac{{\partial {cost}}}{{\partial {w}{w_own}_{{{row}{col}}}}} = {a}{sup('l-1')}_{{{row}}}\, {d}{sup('l')}_{{{col}}}"
    unit = later
    if p.bias_unit:
        bias = rf"{w}{w_own}_{{{unit}0}}" if p.columns else rf"{w}{w_own}_{{0{unit}}}"
    else:
        bias = rf"{p.bias_letter}{w_own}_{{{unit}}}"
    lines = [
        (rf"{d}{big_l}_{{{unit}}} = \frac{{\partial {cost}}}{{\partial {a}{big_l}_{{{unit}}}}}\, {g}'\left({z}{big_l}_{{{unit}}}\right)",
         rf"{d}{big_l} = \nabla_{{{out_vec}}} {cost} {had} {g}'\left({z}{big_l}\right)", "1"),
        (rf"{d}{sup('l')}_{{{earlier}}} = \sum_{{{later}}} {d}{sup('l+1')}_{{{later}}}\, {w_between}\, {g}'\left({z}{sup('l')}_{{{earlier}}}\right)",
         bp2_vec, "2"),
        (rf"\frac{{\partial {cost}}}{{\partial {bias}}} = {d}{sup('l')}_{{{unit}}}", "", "3"),
        (bp4, "", "4"),
    ]
    rows = [rf"{elem} &\qquad {vec} \tag{{BP{tag}}}" for elem, vec, tag in lines]
    if not any(ts.spec.biases):
        notes.append("This network has no biases, so (BP3) is not used here; it is stated for completeness.")
    return {"rows": rows, "no_bias": " ".join(notes), "layers": ts.names.layer(ts.L)}
