"""The exercise sheet's questions and their worked answers, as data: one ordered list per sheet.

Both templates iterate over the same list, the exercise sheet printing each question's `prompt`
with `space` centimetres to write in, the answer sheet its `answer`, so every question asked is
answered, in the same order (tests match the ids). The questions follow the seeds' scaffold (the
guided notes 003, the lab sheet 000, the notes 002 §2.4) for the given network: shapes, a matrix
product entry by entry, the chain rule for one weight, the activation's derivative, the output δ for
the loss at hand, the recursion, the matrix form, the numeric passes, one step, a finite-difference
check. A topic is one small function `(ts, pieces, worked) -> [Question]`; `TOPICS` lists them in
the sheet's order, and a new topic (say an L2 term) is one more function in that list.

`reveals` holds TeX the answer writes that the exercise sheet must not print (the question would
answer itself); a test checks it on every generated sheet.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from ..engine.activations import LATEX_NAME
from . import equations, path_sums, regularization, scope
from .path_sums import chain_exercise
from .typeset import Typesetter, tex_number

MAX_ROWS_SPACE = 10.0  # cm: the most room one question leaves (a page holds about 25 cm)


@dataclass(frozen=True)
class Question:
    id: str  # stable name, the same on both sheets ("dimensions", "fd_check")
    title: str  # bold lead-in (TeX)
    prompt: tuple[str, ...]  # TeX paragraphs and displays of the question, in order
    answer: tuple[str, ...]  # TeX paragraphs and displays of the worked answer
    space: float  # centimetres left blank under the prompt for the student's working
    reveals: tuple[str, ...] = ()  # TeX from the answer that must not appear on the exercise sheet

    @property
    def need(self) -> float:
        """Centimetres that must be left on a page for the question to start there: its whole prompt
        and its room to write (at most MIN_ROOM_KEPT of it), so that a prompt is never split by a page."""
        return round(prompt_height(self.prompt) + min(self.space, MIN_ROOM_KEPT) + 0.5, 1)


MIN_ROOM_KEPT = 4.0  # cm of a question's room that starts on the page with its prompt
LINE_CM, CHARS_PER_LINE, DISPLAY_CM = 0.55, 85, 1.6  # 11 pt on A4 with 2 cm margins, generously


def prompt_height(paragraphs: tuple[str, ...]) -> float:
    """A generous estimate of a prompt's printed height in cm: its text lines, displays and table rows."""
    import math
    import re

    height = 0.0
    for text in paragraphs:
        displays = re.findall(r"\\\[.*?\\\]|\\begin\{(align\*|gather\*)\}.*?\\end\{\1\}", text, re.S)
        rows = sum(body.count(r"\\") for body in re.findall(r"\\begin\{(?:align\*|center|gather\*)\}(.*?)\\end", text, re.S))
        tables = len(re.findall(r"\\begin\{center\}", text))  # a table's own height is its rows'
        height += DISPLAY_CM * len(displays) + 0.8 * tables + 0.9 * rows
        prose = re.sub(r"\\\[.*?\\\]|\\begin\{(align\*|center|gather\*)\}.*?\\end\{\1\}", "", text, flags=re.S)
        prose = re.sub(r"\\[a-zA-Z]+|[{}$^_&]", "", prose)
        if prose.strip():
            height += LINE_CM * math.ceil(len(prose) / CHARS_PER_LINE)
    return height


def _align(lines: list[str]) -> str:
    return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"


def _display(tex: str) -> str:
    return rf"\[ {tex} \]"


def _space(cm: float) -> float:
    return round(min(MAX_ROWS_SPACE, max(1.0, cm)), 1)


def _t(symbol: str) -> str:
    return rf"{symbol}^T" if "^" not in symbol and "_" not in symbol else rf"\left({symbol}\right)^T"


def _m(ts: Typesetter) -> str:
    """The examples' count as the sheet uses it: the spec's number where it has several, else the letter."""
    m = scope.examples(ts)
    return str(m) if m is not None and m > 1 else ts.p.examples


# -- the symbolic pieces (typeset once; a class set's students share them) -------------------------

def symbolic(ts: Typesetter, chain: dict | None = None, regularization: dict | None = None, counts: dict | None = None) -> dict:
    """What the questions need from the derivation, typeset once for every student of a class set
    (`chain`: the chain exercise, when the caller has it already; `regularization`: what
    `regularization.context` says of an L2 term, None without one; `counts`: the path counts, when
    the caller has them, which for an L2 term include its direct paths)."""
    one = scope.one_example(ts)
    return {"chain": chain if chain is not None else chain_exercise(ts), "deltas": equations.deltas(one), "loss": equations.loss(ts),
            "backward": equations.backward_vector(ts), "general": equations.general(ts),
            "forward_vector": equations.forward_vector(ts), "one": one,
            "counts": counts if counts is not None else path_sums.counts(ts), "regularization": regularization}


# -- topics --------------------------------------------------------------------------------------

def dimensions(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """Shapes (003 questions 1, 2, 7, 13): δ, z and a of one example and of all examples, ∂J/∂W;
    W's own shape only where the sheet does not print W."""
    n, p = ts.names, ts.p
    m = _m(ts)
    blank = r"\underline{\hspace{0.9cm}} $\times$ \underline{\hspace{0.9cm}}"
    how = "side by side, one column per example" if p.columns else "one row per example"
    head = rf" & one example & all ${m}$ examples ({how}) \\ \hline"
    ask, give = [head], [head]
    for l in range(1, ts.L + 1):
        width = ts.spec.layers[l]
        what = ", ".join(f"${n.vector(k, l)}$" for k in ("delta", "z", "a"))
        single = f"{width} \\times 1" if p.columns else f"1 \\times {width}"
        many = f"{width} \\times {m}" if p.columns else f"{m} \\times {width}"
        ask.append(rf"{what} & {blank} & {blank} \\")
        give.append(rf"{what} & ${single}$ & ${many}$ \\")
    table = lambda rows: "\\begin{center}\\renewcommand{\\arraystretch}{1.3}\\begin{tabular}{lcc}\n" + "\n".join(rows) + "\n\\end{tabular}\\end{center}"
    printed = w is not None  # the parameters are printed above the questions: W's shape is not asked
    grad_ask, grad_give = [], []
    for name in ts.matrices:
        r, c = n.matrix_shape(name)
        M = n.matrix(name)
        if printed:
            grad_ask.append(rf"${ts.dcost(M)}$ is {blank}")
            grad_give.append(rf"${ts.dcost(M)}$ is ${r} \times {c}$, the shape of ${M}$")
        else:
            grad_ask.append(rf"${M}$ is {blank} and ${ts.dcost(M)}$ is {blank}")
            grad_give.append(rf"${M}$ and ${ts.dcost(M)}$ are ${r} \times {c}$")
    rows = lambda items: "\\begin{center}\\renewcommand{\\arraystretch}{1.8}\\begin{tabular}{l}\n" + " \\\\\n".join(items) + "\n\\end{tabular}\\end{center}"
    prompt = ("Fill in the shapes (rows $\\times$ columns) as this course writes them: a layer's "
              "$\\delta$, $z$ and $a$ for one example and for all the examples at once,", table(ask),
              "and the gradient of every parameter matrix:", rows(grad_ask))
    answer = (table(give), rows(grad_give),
              f"A gradient has the shape of its parameter: one entry per parameter.")
    return [Question("dimensions", "Dimensions", prompt, answer, 1.0)]


def rows_and_columns(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """003 question 12: what the rows and columns of the stacked activations mean (several examples)."""
    m = scope.examples(ts)
    if ts.L < 2 or m is None or m < 2:
        return []
    n, p = ts.names, ts.p
    l = ts.L - 1
    A = n.vector("a", l)
    stacked = "side by side" if p.columns else "one above the other"
    prompt = (rf"Stack the {m} examples' activations of layer {n.layer(l)} {stacked} into one matrix (${A}$ in "
              rf"this course's notation). What does a row of it stand for, and what does a column?",)
    units = rf"the {ts.spec.layers[l]} units of layer {n.layer(l)}"
    if p.columns:
        text = rf"A column is one example $n$ (its ${A}$), a row is one unit: the matrix is ${ts.spec.layers[l]} \times {m}$, rows = {units}, columns = the {m} examples."
    else:
        text = rf"A row is one example $n$ (its ${A}$), a column is one unit: the matrix is ${m} \times {ts.spec.layers[l]}$, rows = the {m} examples, columns = {units}."
    return [Question("rows_columns", "Rows and columns", prompt, (text,), 1.5)]


def entry_product(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """003 questions 8–10: the output layer's matrix product written entry by entry for one unit, and
    ∂z/∂W = aᵀ."""
    n, net, L = ts.names, ts.net, ts.L
    z = net.z[L][0]
    zL = n.one_example("z", L)  # the lecture's z_n for one example; its bold Z is all N of them
    rhs = equations.z_vector_rhs(ts, L, batch=False)  # one example: no 1_m in front of the bias
    src = L - 1
    a_vec = n.one_example("a", src)
    name = ts.spec.weight_name(L, src)
    M = n.matrix(name)
    unit = ts.s(z)
    prompt = (rf"Write ${zL} = {rhs}$ (one example) out entry by entry for the output unit ${unit}$: "
              rf"the sum over the units that feed it. Then give $\partial {unit}/\partial w$ for every weight $w$ "
              rf"of ${M}$ into ${unit}$, and write these derivatives as one vector in terms of ${a_vec}$.",)
    terms = ts.z_terms[z]
    derivs = []
    main = [(p.symbol, p.source) for p in ts.d.parameters if p.matrix == name and p.index[0] == 0]
    shown = main if len(main) <= 4 else main[:2] + [None] + main[-1:]
    for pair in shown:
        if pair is None:
            derivs.append(r"&\;\;\vdots")
            continue
        wsym, asym = pair
        derivs.append(rf"\frac{{\partial {unit}}}{{\partial {ts.s(wsym)}}} &= {ts.s(asym)}")
    others = [wsym for wsym, asym in terms if asym is None]
    bias = ""
    if others:
        bias = rf" The bias term gives $\partial {unit}/\partial {ts.s(others[0])} = 1$."
    entries = [ts.s(p[0]) for p in main]
    cells = [rf"\dfrac{{\partial {unit}}}{{\partial {e}}}" for e in entries]
    if len(cells) > 4:
        cells = cells[:2] + [r"\vdots" if not ts.p.columns else r"\cdots"] + cells[-1:]
    # \left[ matrix \right], not bmatrix: a sheet's bmatrix displays are its parameter-shaped matrices
    # \\[8pt] would only deepen the row's strut, which a display fraction is deeper than already: \noalign adds the room
    vec = r"\left[\begin{matrix}" + (r" \\ \noalign{\vskip 6pt} ".join(cells) if not ts.p.columns else r" & ".join(cells)) + r"\end{matrix}\right]"
    where = ("column" if not ts.p.columns else "row") + rf" of ${M}$ that feeds ${unit}$"
    answer = (_display(rf"{unit} = {ts.z_rhs(z)}"),
              "Each weight multiplies one activation, so",
              _align(derivs),
              rf"and for the whole {where}: " + _display(rf"{vec} = {_t(a_vec)}"),
              rf"as for $f(x) = c\,x$, $f'(x) = c$: the activations are constants with respect to the weights. "
              rf"So $\partial {zL}/\partial {M} = {_t(a_vec)}$, one copy per output unit.{bias}")
    return [Question("entry_product", "A matrix product, entry by entry", prompt, answer, 4.5,
                     reveals=(ts.z_rhs(z),))]


def sum_rule(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """003 questions 3, 4 and 14: J sums over the examples; take one example, put the sum back later."""
    if not scope.per_example(ts):
        return []
    cost, one = ts.p.cost, scope.one_cost(ts)
    key = pc["chain"]["key"]
    wname = ts.pname(key)
    l2 = pc.get("regularization")
    # J = Σₙ Jₙ + c·Σw² with an L2 term: the term is no example's, and a weight's gradient gains its 2c·w
    whole = rf"\sum_{{n}} {one} + {l2['short_term']}" if l2 else rf"\sum_{{n}} {one}"
    decay = rf" + {l2['slope']}\, {wname}" if l2 and _is_weight(ts, key) else ""
    terms = (" one term per example $n$ and the L2 term" if l2 else " one term per example $n$")
    prompt = (rf"${cost} = {whole}$ adds{terms}, with ${pc['loss']['scalar']}$ for example $n$. "
              rf"Use the sum rule to move the sum outside ${ts.dcost(wname)}$. Why may the next questions work with one "
              rf"example's ${one}$ only, and what must be done at the end?",)
    answer = (_display(rf"{ts.dcost(wname)} = \sum_{{n}} \frac{{\partial {one}}}{{\partial {wname}}}{decay}"),
              rf"${one}$ depends on ${wname}$ only through example $n$'s own forward pass, so each term is one example's "
              rf"derivative, with that example's values. The questions below work with one example ($\delta$ is "
              rf"$\partial {one}/\partial z$); the gradients in matrix form and the numbers put the sum back, adding "
              rf"every example's term." + (" The loss's $1/" + ts.p.examples + "$ stays inside every $" + one + "$."
                                           if _mean(ts) else "")
              + (rf" The L2 term belongs to no example: its derivative ${l2['slope']}\, {wname}$ is added once, after the sum."
                 if decay else " The L2 term holds no bias, so a bias's gradient is the sum alone." if l2 else ""))
    return [Question("sum_rule", "Remove the sum, then put it back", prompt, answer, 2.5,
                     reveals=(rf"\sum_{{n}} \frac{{\partial {one}}}{{\partial {wname}}}",))]


def _is_weight(ts: Typesetter, key: str) -> bool:
    return next(p for p in ts.d.parameters if p.key == key).source is not None


def chain(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """The chain rule for one weight, factor by factor (001, 003 questions 4–5): fill the missing factors."""
    ce = pc["chain"]
    cost, one = ts.p.cost, scope.one_cost(ts)
    l2 = pc.get("regularization")
    whole = rf" (${cost} = \sum_n {one} + {l2['short_term']}$)" if l2 else ""
    lead = (rf"For one example $n$, whose term of ${cost}$ is ${one}${whole}: " if scope.per_example(ts) else "")
    blank = r"\underline{\hspace{1cm}}"
    intro = (rf"{lead}${ce['name']}$ reaches ${one}$ along {blank} paths with {blank} factors in total. "
             + (rf"Here are the first {len(ce['answers'])} of its paths; fill" if ce["more"] else "Fill")
             + " in the missing factor of each path:")
    prompt = (intro, _align([rf"{ce['lhs']} &= " + " \\\\\n&\\quad + ".join(ce["lines"])]))
    s = "s" if ce["paths"] != 1 else ""
    answers = ", ".join(f"${a}$" for a in ce["answers"])
    answer = (rf"{lead}${ce['name']}$ reaches ${one}$ along {ce['paths']} path{s} with {ce['factors']} factors in total. "
              rf"The missing factor{'s are' if len(ce['answers']) != 1 else ' is'} {answers}:",
              _align([rf"{ce['lhs']} &= " + " \\\\\n&\\quad + ".join(ce["full"])]))
    return [Question("chain", "Complete the chain", prompt, answer, 1.0)]


def _sigmoid_steps(f: str) -> list[str]:
    """σ′ by the chain rule on (1 + e^{−z})^{−1}, then split into σ(1 − σ), with σ written as the sheet's `f`."""
    return [rf"{f}'(z) &= \frac{{d}}{{dz}}\left(1 + e^{{-z}}\right)^{{-1}} = -\left(1 + e^{{-z}}\right)^{{-2}} \cdot \left(-e^{{-z}}\right) "
            rf"= \frac{{e^{{-z}}}}{{\left(1 + e^{{-z}}\right)^{{2}}}}",
            rf"&= \frac{{1}}{{1 + e^{{-z}}}} \cdot \frac{{\left(1 + e^{{-z}}\right) - 1}}{{1 + e^{{-z}}}} = {f}(z)\left(1 - {f}(z)\right),"]


def _tanh_steps(f: str) -> list[str]:
    """tanh′ by the quotient rule, then 1 − tanh², with the function written as the sheet's `f`."""
    return [rf"{f}'(z) &= \frac{{\left(e^{{z}} + e^{{-z}}\right)^{{2}} - \left(e^{{z}} - e^{{-z}}\right)^{{2}}}}{{\left(e^{{z}} + e^{{-z}}\right)^{{2}}}}",
            rf"&= 1 - \left(\frac{{e^{{z}} - e^{{-z}}}}{{e^{{z}} + e^{{-z}}}}\right)^{{2}} = 1 - {f}(z)^{{2}},"]


def activation_derivative(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """003 question 6 and the lab's σ′: each activation's derivative derived (identity needs none).
    The function is written as the sheet writes it everywhere (σ, or the course's letter g, f)."""
    n, p = ts.names, ts.p
    out = []
    acts = sorted(set(ts.spec.activations), key=ts.spec.activations.index)
    a_gen = rf"{p.activation_letter}_j{n.generic_layer()}"
    z_gen = rf"{p.preactivation}_j{n.generic_layer()}"
    for act in acts:
        f = n.function(act)
        own = LATEX_NAME[act]
        named = f"${own}$" if f == own else f"${f} = {own}$"
        if act == "sigmoid":
            prompt = (rf"The activation {named} (the sigmoid) is ${f}(z) = \frac{{1}}{{1 + e^{{-z}}}}$. Derive ${f}'(z)$ and write it "
                      rf"in terms of ${f}(z)$ alone; what is it for a unit in terms of its activation ${a_gen}$?",)
            answer = (_align(_sigmoid_steps(f)),
                      rf"so a unit's slope is ${f}'\left({z_gen}\right) = {a_gen}\left(1 - {a_gen}\right)$: backpropagation reuses the forward pass's ${a_gen}$.")
            reveals = (rf"{f}(z)\left(1 - {f}(z)\right)",)
        elif act == "tanh":
            prompt = (rf"The activation {named} is ${f}(z) = \frac{{e^{{z}} - e^{{-z}}}}{{e^{{z}} + e^{{-z}}}}$. Derive ${f}'(z)$ "
                      rf"(quotient rule) and write it in terms of ${f}(z)$ alone; what is it in terms of a unit's activation ${a_gen}$?",)
            answer = (_align(_tanh_steps(f)),
                      rf"so a unit's slope is ${f}'\left({z_gen}\right) = 1 - \left({a_gen}\right)^{{2}}$.")
            reveals = (rf"1 - {f}(z)^{{2}}",)
        elif act == "relu":
            prompt = (rf"The activation {named} is ${f}(z) = \max(0, z)$. Give ${f}'(z)$ "
                      rf"for $z > 0$ and for $z < 0$, and say why $z = 0$ needs a convention.",)
            answer = (_display(rf"{f}'(z) = \begin{{cases}} 1 & z > 0 \\ 0 & z < 0 \end{{cases}}"),
                      r"At the kink $z = 0$ the two one-sided slopes differ (0 from the left, 1 from the right), so "
                      r"ReLU has no derivative there and a value must be chosen; this sheet, like derive's code, takes "
                      rf"${f}'(0) = 0$.")
            reveals = (r"\begin{cases} 1 & z > 0",)
        elif act == "softmax" and not _simplifies(ts):
            prompt = (rf"The output layer is a softmax, ${p.activation_letter}_i = e^{{z_i}} / \sum_k e^{{z_k}}$. Derive "
                      rf"$\partial {p.activation_letter}_i/\partial z_j$ for $j = i$ and for $j \ne i$.",)
            a = p.activation_letter
            answer = (_align([rf"\frac{{\partial {a}_i}}{{\partial z_i}} &= \frac{{e^{{z_i}} \sum_k e^{{z_k}} - e^{{z_i}} e^{{z_i}}}}{{\left(\sum_k e^{{z_k}}\right)^{{2}}}} = {a}_i\left(1 - {a}_i\right)",
                              rf"\frac{{\partial {a}_i}}{{\partial z_j}} &= -\frac{{e^{{z_i}} e^{{z_j}}}}{{\left(\sum_k e^{{z_k}}\right)^{{2}}}} = -{a}_i {a}_j \quad (j \ne i)"]),)
            reveals = (rf"-{a}_i {a}_j",)
        else:
            continue
        title = {"sigmoid": r"The sigmoid's derivative", "tanh": r"The derivative of $\tanh$",
                 "relu": r"The derivative of ReLU", "softmax": "The softmax's derivatives"}[act]
        out.append(Question(f"derivative_{act}", title, prompt, answer, 4.0 if act != "relu" else 2.0, reveals))
    return out


def _mean(ts: Typesetter) -> bool:
    """Whether the loss averages over the examples (its constant holds 1/m)."""
    scale = ts.net.loss.scale(ts.net.m)  # a SymPy expression, or a plain number for the sums
    return isinstance(scale, sp.Basic) and scale.has(ts.net.m)


def _simplifies(ts: Typesetter) -> bool:
    """Whether the output δ comes out as a difference of output and target (times the loss's constant)."""
    L = ts.L
    od = ts.d.output_delta[ts.d.delta[ts.net.z[L][0]]]
    return od.simplified or (ts.net.activation(L) == "identity" and ts.net.loss.kind == "squared")


def output_delta(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """δ of the output for the loss at hand (003's δ⁽³⁾; ŷ − t where it simplifies, 004)."""
    one, n, L = pc["one"], ts.names, ts.L
    z = ts.net.z[L][0]
    dl = ts.d.delta[z]
    cost = one.p.cost
    unit_d, unit_z = one.s(dl), one.s(z)
    out_name = one.s(ts.net.a[L][0])
    if _simplifies(ts):
        prompt = (rf"Compute the output error ${unit_d} = \partial {cost}/\partial {unit_z}$ for this loss and output "
                  rf"activation: write it by the chain rule through ${out_name}$, then simplify it as far as it goes.",)
    else:
        prompt = (rf"Compute the output error ${unit_d} = \partial {cost}/\partial {unit_z}$ for this loss and output "
                  rf"activation, as the product of $\partial {cost}/\partial {out_name}$ and the activation's slope, each worked out.",)
    deltas = pc["deltas"]
    lines = deltas["output"]
    more = deltas["output_more"]
    answer = [_align(lines)]
    if more:
        answer.append(rf"and likewise for the other {more} output units.")
    answer += deltas["notes"]
    od = ts.d.output_delta[dl]
    reveals = ()
    steps = _cancelling(ts) if od.simplified else []
    if steps:
        answer.append("Multiplying out (the loss's constant aside):")
        answer.append(_align(steps))
    if _simplifies(ts):
        target = one.s(ts.net.y[0])
        # in the sign the δ lines above print: the profile's −(y − ŷ) is its ∂J/∂ŷ of a squared error;
        # σ with bce and softmax with cross-entropy come out as ŷ − y in every profile
        minus = ts.p.minus_y_first and ts.net.loss.kind == "squared"
        diff = rf"-\left({target} - {out_name}\right)" if minus else rf"{out_name} - {target}"
        answer.append(rf"So an output unit's error is its output minus its target, ${diff}$"
                      + (r", times the loss's constant." if ts.net.loss.scale(ts.net.m) * (2 if ts.net.loss.kind == "squared" else 1) != 1 else "."))
        reveals = (one.tex(od.value),)
    return [Question("output_delta", r"The output error $" + n.vector("delta", L) + "$", prompt, tuple(answer), 4.0, reveals)]


def _cancelling(ts: Typesetter) -> list[str]:
    """The algebra by which the activation's slope cancels against the loss (σ with bce, softmax with
    cross-entropy), without the loss's constant, in the profile's letters."""
    out, t = ts.names.output_symbol(), ts.p.target
    if ts.net.loss.kind == "binary" and ts.net.activation(ts.L) == "sigmoid":
        y, o = (t, out) if ts.spec.layers[-1] == 1 else (f"{t}_j", f"{out}_j")
        return [rf"&\left(\frac{{1 - {y}}}{{1 - {o}}} - \frac{{{y}}}{{{o}}}\right) {o}\left(1 - {o}\right)",
                rf"&\quad= \left(1 - {y}\right) {o} - {y} \left(1 - {o}\right) = {o} - {y}"]
    if ts.net.loss.kind == "categorical" and ts.net.activation(ts.L) == "softmax":
        return [rf"&\sum_{{i}} \left(-\frac{{{t}_i}}{{{out}_i}}\right) \frac{{\partial {out}_i}}{{\partial z_j}} "
                rf"= -\frac{{{t}_j}}{{{out}_j}} {out}_j\left(1 - {out}_j\right) + \sum_{{i \ne j}} \frac{{{t}_i}}{{{out}_i}} {out}_i {out}_j",
                rf"&\quad= -{t}_j + {out}_j \sum_{{i}} {t}_i = {out}_j - {t}_j \qquad \left(\textstyle\sum_i {t}_i = 1\right)"]
    return []


def factor_delta(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """003: the backpropagating error δ collects the chain's shared factors."""
    ce = pc["chain"]
    s = ce["section"]
    prompt = (rf"Write ${ce['lhs']}$ as a product of a $\delta$ and one activation (which factors of the chain make the $\delta$?).",)
    answer = []
    if s["factoring"]["lines"]:
        answer.append(_align([rf"{s['lhs']} " + " \\\\\n".join(s["factoring"]["lines"])]))
    answer.append(_display(s["result"] + ("," if s["factoring"]["delta_line"] else ".")))
    if s["factoring"]["delta_line"]:
        answer.append("with " + _display(s["factoring"]["delta_line"] + "."))
    return [Question("factor_delta", r"Factor out $\delta$", prompt, tuple(answer), 3.0)]


def recursion(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """The δ recursion (003 question 17, 002's (2)): a hidden layer's δ from the layer it feeds."""
    if ts.L < 2:
        return []
    n, p = ts.names, ts.p
    l = ts.L - 1
    hidden = pc["deltas"]["hidden"][0]
    d_unit = ts.s(ts.d.delta[ts.net.z[l][0]])
    prompt = (rf"Give the recursion that computes a hidden unit's error from the layer after it: ${d_unit}$ in terms of "
              rf"the $\delta$ of the units it feeds, and then every hidden layer's ${n.vector('delta', l)}$ in matrix form "
              rf"(with ${p.hadamard}$ for the element-wise product).",)
    eqs = hidden["equations"][:2]
    backward = pc["backward"]["lines"][1:]
    answer = [_align(eqs)]
    if len(hidden["equations"]) > 2 or hidden["more"]:
        answer.append("and likewise for the other units. In matrix form (shapes on the right):")
    else:
        answer.append("In matrix form (shapes on the right):")
    answer.append(_align(backward))
    # ReLU's slope prints as ReLU′(z) = ReLU′(z): no news; its definition is in the derivative question.
    slopes = [s for s in pc["backward"]["slopes"] if len(set(s.split(" = "))) > 1]
    if slopes:
        answer.append("with " + ", ".join(f"${s}$" for s in slopes) + ".")
    return [Question("recursion", r"The $\delta$ recursion", prompt, tuple(answer), 4.0,
                     reveals=tuple(line.split("&=")[1].split("&&")[0].strip() for line in backward))]


def matrix_form(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """The gradients in matrix form (003 questions 14–15): a δ times a transposed activation."""
    bv = pc["backward"]
    n = ts.names
    batch = scope.per_example(ts)
    again = (" With several examples, put the sum over the examples back: which product adds them?" if batch else "")
    decay = (", plus, for a weight matrix, the L2 term's derivative" if pc.get("regularization") else "")
    prompt = (rf"Write the gradient of every parameter matrix in matrix form, as a product of a $\delta$ and an "
              rf"activation{decay} (check the shapes against the dimensions you found).{again}",)
    answer = [_align(bv["gradients"])]
    if bv["sums"]:
        answer.append(bv["batch_note"])
        answer.append(_align(bv["sums"]))
    elif bv["batch_note"]:
        answer.append(bv["batch_note"])
    g = pc["general"]
    answer.append("Entry by entry:")
    answer.append("\\begin{gather*}\n" + " \\\\\n".join(r",\qquad ".join(c) for c in _pairs(g["rules"])) + "\n\\end{gather*}")
    if g["note"]:
        answer.append(g["note"])
    return [Question("matrix_form", "Gradients in matrix form", prompt, tuple(answer), 4.0,
                     # a bias's gradient is δ itself, a name the sheet prints anyway: only the products count
                     reveals=tuple(r for r in (line.split("&=")[1].split("&&")[0].strip() for line in bv["gradients"]) if "^T" in r))]


def _pairs(items: list) -> list[list]:
    return [items[i:i + 2] for i in range(0, len(items), 2)]


# -- numeric topics (the spec's [values]) ------------------------------------------------------------

def _more(count: int) -> str:
    return rf"\emph{{and likewise for the other {count} units (their values are in the table below).}}" if count else ""


def forward_pass(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    if w is None:
        return []
    cost = ts.p.cost
    of = " of every example" if w["multi"] else ""
    l2 = pc.get("regularization")
    loss = rf"the loss ${cost}$ without its L2 term, $\sum_n {scope.one_cost(ts)}$" if l2 else rf"the loss ${cost}$"
    prompt = (rf"Compute every ${ts.p.preactivation}$ and ${ts.p.activation_letter}${of}, and {loss}.",)
    answer = []
    if w["multi"]:
        answer.append("Example 1, line by line:")
    for layer in w["forward"]:
        answer.append(_align(layer["equations"]))
        if layer["more"]:
            answer.append(_more(layer["more"]))
    answer.append(_align([w["loss"][0]]))
    answer += _tables(w, w["tables"])
    if w["multi"]:
        answer.append("and the loss over all examples is")
        answer.append(_align([w["loss"][1]]))
    units = sum(min(width, 3) for width in ts.spec.layers[1:])
    return [Question("forward", "Forward pass", prompt, tuple(answer), _space(1.0 + 0.9 * units))]


def _tables(w: dict, tables: list[dict]) -> list[str]:
    if not tables:
        return []
    out = [(r"\textbf{Every example.} The same lines for every example give: " if w["multi"] else
            r"\textbf{Every unit.} The same lines for every unit give: ")]
    for t in tables:
        out.append(t["title"] + ":")
        out += t["blocks"]
    return out


def output_error(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    if w is None:
        return []
    first = w["deltas"][0]
    prompt = ("Compute $\\delta$ of the output layer" + (" for every example." if w["multi"] else ".")
              ).replace("\\delta", ts.p.delta),
    answer = [_align(first["equations"])] + ([_more(first["more"])] if first["more"] else [])
    if len(w["deltas"]) == 1:
        answer += _tables(w, w["deltas_all"])
    return [Question("output_error", "Output error, in numbers", prompt, tuple(answer), _space(1.0 + 1.0 * min(ts.spec.layers[-1], 3)))]


def backpropagate(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    if w is None or len(w["deltas"]) < 2:
        return []
    prompt = (rf"Compute ${ts.p.delta}$ of every hidden layer" + (" for every example." if w["multi"] else "."),)
    answer = []
    for layer in w["deltas"][1:]:
        answer.append(_align(layer["equations"]))
        if layer["more"]:
            answer.append(_more(layer["more"]))
    answer += _tables(w, w["deltas_all"])
    units = sum(min(width, 3) for width in ts.spec.layers[1:-1])
    return [Question("backpropagate", "Backpropagate, in numbers", prompt, tuple(answer), _space(1.0 + 1.0 * units))]


def gradients(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    if w is None:
        return []
    names = ", ".join(f"${g['lhs']}$" for g in w["gradients"])
    summed = ", summed over the examples" if w["multi"] else ""
    l2 = pc.get("regularization")
    prompt = (rf"Compute {names}{summed}." + (" " + l2["gradient_question"] if l2 else ""),)
    answer = [l2["gradient_note"]] if l2 else []
    for g in w["gradients"]:
        answer.append(_align(g["equations"]))
        if g["more"]:
            answer.append(rf"\emph{{and likewise for the other {g['more']} entries:}}")
        answer += g["matrix"]
    return [Question("gradients", "Gradients, in numbers", prompt, tuple(answer), _space(1.5 + 1.2 * len(w["gradients"])))]


def update(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    if w is None or not w["rate"]:
        return []
    note = (" " + pc["regularization"]["update_note"]) if pc.get("regularization") else ""
    prompt = (rf"With learning rate ${ts.p.learning_rate} = {w['rate']}$, take one gradient-descent step: the new value "
              rf"of every parameter.{note}",)
    regularized = " (for a weight, the regularized one)" if note else ""
    answer = [rf"With ${ts.p.learning_rate} = {w['rate']}$, every parameter moves against its gradient{regularized}:"]
    for g in w["gradients"]:
        answer.append(_align(g["updated"]))
        if g["more"]:
            answer.append(rf"\emph{{and likewise for the other {g['more']} entries:}}")
        answer += g["updated_matrix"]
    return [Question("update", "One gradient-descent step", prompt, tuple(answer), _space(1.0 + 1.0 * len(w["gradients"])))]


def finite_difference(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """002 §2.4: check one backpropagated gradient by a central difference."""
    if w is None or w.get("finite_difference") is None:
        return []
    fd = w["finite_difference"]
    cost = ts.p.cost
    wname = ts.pname(fd.key)
    eps = r"10^{-4}"
    places = max(0, -_exponent(fd.j_plus))
    l2 = " (with its L2 term)" if pc.get("regularization") else ""
    prompt = (rf"Check one gradient by finite differences. With $\varepsilon = {eps}$, compute ${cost}${l2} with "
              rf"${wname}$ raised by $\varepsilon$ and lowered by $\varepsilon$ (every other parameter as given"
              + (", over all the examples" if w["multi"] else "") + rf"), then the central difference "
              rf"\[ \frac{{{cost}({wname} + \varepsilon) - {cost}({wname} - \varepsilon)}}{{2\varepsilon}} \] and compare it "
              rf"with your ${ts.dcost(wname)}$ from the gradients above. Keep {places} decimal places of ${cost}$: the two "
              rf"values differ only far to the right.",)
    jp, jm, q, g = (tex_number(t) for t in (fd.j_plus, fd.j_minus, fd.quotient, fd.gradient))
    lines = [rf"{cost}({wname} + \varepsilon) &= {jp}", rf"{cost}({wname} - \varepsilon) &= {jm}",
             rf"\frac{{{cost}({wname} + \varepsilon) - {cost}({wname} - \varepsilon)}}{{2\varepsilon}} &= "
             rf"\frac{{{jp} - {_paren(jm)}}}{{2 \cdot {eps}}} = {q}",
             rf"{ts.dcost(wname)} &= {g} \quad\text{{(backpropagation)}}"]
    verdict = (rf"They agree to {fd.figures} significant figures (within half a unit of the last): backpropagation's "
               rf"gradient checks out. The central difference differs from the derivative only by a term of order "
               rf"$\varepsilon^{{2}}$." if fd.agree else
               rf"They do not agree to {fd.figures} significant figures: a ReLU unit lies within $\varepsilon$ of its kink "
               rf"here, where the loss has no derivative (the finite difference straddles the kink).")
    rounding = (rf"${cost}(\cdot \pm \varepsilon)$ are rounded to {places} decimal places, enough that the quotient of the "
                rf"printed values gives its printed {fd.figures} significant figures; quotient and gradient are rounded to "
                rf"{fd.figures} significant figures.")
    return [Question("finite_difference", "A finite-difference check", prompt, (_align(lines), verdict, rounding), 4.0,
                     reveals=tuple(t for t in (jp, jm) if sum(c.isdigit() for c in t) >= 5))]  # "1.3" may be a given number


def l2_term(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """An L2 term (network.l2): with numbers, Σw², the term, J and the factor every weight's gradient
    gains, worked; without, the regularized gradients and whether δ changes, in symbols."""
    l2 = pc.get("regularization")
    if l2 is None or w is None:  # without numbers the term is asked in symbols, before the matrix form (l2_symbolic)
        return []
    lead = r"\textbf{L2 term.} "
    r = w["regularization"]
    answer = [rf"With $\lambda = {r['lambda']}$, over every weight" + (", not the biases:" if l2["biases"] else ":"), _align(r["lines"])]
    slope = (rf"Every weight's gradient gains ${r['slope']}\, w$, the derivative of ${r['coefficient']}\, {regularization.square(ts)}$"
             + (", with" if r["slope_line"] else "."))
    answer.append(slope)
    if r["slope_line"]:
        answer.append(_align([r["slope_line"]]))
    # the factor of w is the question's last step (the derivative of c·w²): the prompt must not print it
    return [Question("l2_term", "L2 term", (l2["question"].removeprefix(lead),), tuple(answer), 3.0,
                     reveals=(r["slope"],) if r["slope_line"] else ())]  # λ/2·Σw²: the factor is λ itself


def l2_symbolic(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    """An L2 term without numbers: ∂J/∂W and ∂J/∂b in symbols, and whether δ changes. Asked before the
    matrix form, whose prompt and answer carry the term (asked after, it would be answered already)."""
    l2 = pc.get("regularization")
    if l2 is None or w is not None:
        return []
    lead = r"\textbf{L2 term.} "
    return [Question("l2_term", "L2 term", (l2["symbolic_question"].removeprefix(lead),),
                     (l2["symbolic_answer"].removeprefix(lead),), 3.0, reveals=(rf"{l2['slope']}\, W",))]


def _exponent(text: str) -> int:
    from decimal import Decimal
    return Decimal(text).as_tuple().exponent


def _paren(text: str) -> str:
    return rf"\left({text}\right)" if text.startswith("-") else text


def counting(ts: Typesetter, pc: dict, w: dict | None) -> list[Question]:
    c = pc["counts"]
    # the answer counts the L2 term's direct paths: the question says so, or a student counting the network's is marked wrong
    direct = (" (counting each weight's direct path through the L2 term)" if pc.get("regularization") else "")
    prompt = (rf"The network has {c['parameters']} parameters. How many chain-rule paths and factors would writing "
              rf"every gradient out path by path take{direct}? Why does backpropagation with $\delta$ need far fewer operations?",)
    answer = (rf"Path by path: {c['total_paths']} paths and {c['total_factors']} factors for the {c['parameters']} parameters. "
              rf"With $\delta$: {c['edges']} local derivatives evaluated once, one $\delta$ per unit, {c['units']} units, "
              r"and one product per parameter, so the work grows linearly with the number of weights."
              + (" " + pc["regularization"]["counts_note"] if pc.get("regularization") else ""),)
    return [Question("counting", "Counting", prompt, answer, 3.0)]


# The sheet's order: structure first (shapes, products, the chain for one weight, δ), then the numbers.
# Another topic is one more function here (it sees the same typesetter, pieces and worked numbers).
TOPICS = [dimensions, rows_and_columns, entry_product, sum_rule, chain, activation_derivative, output_delta,
          factor_delta, recursion, l2_symbolic, matrix_form, forward_pass, l2_term, output_error, backpropagate, gradients, update,
          finite_difference, counting]


def questions(ts: Typesetter, pieces: dict, worked: dict | None) -> list[Question]:
    """The sheet's questions in order; `pieces` from `symbolic(ts)` (plus "counts"), `worked` the numbers or None."""
    out: list[Question] = []
    for topic in TOPICS:
        out += topic(ts, pieces, worked)
    ids = [q.id for q in out]
    assert len(ids) == len(set(ids)), ids
    return out
