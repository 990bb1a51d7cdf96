"""One gradient derived the long way, one differentiation rule per line (seed 001 style), for one
weight and one bias.

The loss of one example is written over the output units; a unit is replaced by its definition only
when it is differentiated (a = f(z), then z = Σ w a + b), so every line stays short however deep the
net. A line applies one rule to every term still to be differentiated (the terms run side by side,
one row each). The lines are data (`Term`s) before they are text: a test multiplies out the last
line and compares it with the gradient.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import sympy as sp

from ..engine import activations
from .scope import one_example
from .typeset import Typesetter

MAX_STEP_LINES = 24
MAX_ROWS = 4  # terms written out on one line; more are shown as the first two, ⋯ and the last
MAX_FIRST_LAYER_PATHS = 2  # a first-layer weight with more paths is replaced by an output-layer weight
MAX_FIRST_LAYER_FACTORS = 9  # nor is one whose paths are longer (each row would run off the line)


class _Prime(sp.Function):
    """f'(v) for display: args are (v,) and the printed name is in `name`; `activation` says which f."""

    name = "f"
    activation = "identity"

    def _latex(self, printer, exp=None):
        return rf"{self.name}'\left({printer._print(self.args[0])}\right)"


_PRIMES: dict[tuple[str, str], type] = {}  # one class per (activation, printed name)


def _prime(ts: Typesetter, activation: str) -> type:
    tex = ts.names.function(activation)
    key = (activation, tex)
    if key not in _PRIMES:
        _PRIMES[key] = type(f"Prime_{activation}_{len(_PRIMES)}", (_Prime,), {"name": tex, "activation": activation})
    return _PRIMES[key]


@dataclass(frozen=True)
class Term:
    """coeff · Π factors · ∂/∂θ [pending]; pending is None once differentiated, a tuple for an ordered sum."""

    coeff: sp.Expr
    factors: tuple
    pending: object


@dataclass(frozen=True)
class Step:
    """One line of the derivation: a row per term (`rows`, LaTeX) with the rule that row applied."""

    rows: tuple
    rules: tuple
    terms: tuple = ()

    @property
    def rhs(self) -> str:
        return r" \\ &\qquad ".join(self.rows)

    @property
    def rule(self) -> str:
        return "; ".join(dict.fromkeys(r for r in self.rules if r))


# In the rough units of `_width` (about 5.5 pt each), calibrated on generated sheets: a 482 pt text
# block holds about 85.
MAX_LINE_WIDTH = 80


def _rule_width(rule: str) -> int:
    """A rule's width in `_width` units: footnotesize text, with the space a tag keeps from its row."""
    plain = re.sub(r"\$|\\(partial|hat)|[{}^_]", "", rule)
    plain = re.sub(r"\\[a-zA-Z]+", "x", plain)
    return (8 * len(plain)) // 10 + 8


def _split_row(pieces: list[str], lead: str) -> str:
    """A row of factors, broken onto a second line of the align (indented further) where it would
    run past the text block."""
    out, line = [], lead
    for piece in pieces:
        trial = f"{line} {piece}".strip()
        if line.strip() and _width(trial) > MAX_ROW_WIDTH:
            out.append(line.strip())
            line = piece
        else:
            line = trial
    out.append(line.strip())
    return r" \\ &\qquad\qquad ".join(out)


MAX_ROW_WIDTH = 64  # a row's own width, before the indent and the left-hand side


def _width(tex: str) -> int:
    """A rough width of a line of LaTeX: its printed characters, with fractions and brackets counted once."""
    tex = re.sub(r"\\(left|right|,|;|quad|qquad)", "", tex)
    tex = re.sub(r"\\[a-zA-Z]+", "x", tex)
    return len(re.sub(r"[{}^_&\s]|\\\\", "", tex))


def stepwise(ts: Typesetter) -> dict | None:
    """One weight and one bias (when the net has biases) derived line by line, with a sentence saying
    why these two were chosen."""
    ts = one_example(ts)  # the loss differentiated here is one example's term
    weight, why = _chosen_weight(ts)
    if weight is None:
        return None
    derivations = [_derivation(ts, weight, why)]
    bias, why_bias = _chosen_bias(ts, weight)
    if bias is not None:
        derivations.append(_derivation(ts, bias, why_bias))
    derivations = [dv for dv in derivations if dv is not None]
    if not derivations:
        return None
    no_bias = "" if bias is not None else "The network has no biases, so there is no bias to differentiate."
    first = derivations[0]
    return {"derivations": derivations, "no_bias": no_bias,
            # kept for templates that show one derivation
            "name": first["name"], "lhs": first["lhs"], "steps": first["steps"], "first_layer": first["layer"] == 1}


def _chosen_weight(ts: Typesetter):
    """The first-layer weight with the fewest paths when its rows fit, else the first output-layer weight."""
    d = ts.d
    weights = [p for p in d.parameters if p.source is not None]
    if not weights:
        return None, ""
    order = {p.key: i for i, p in enumerate(d.parameters)}
    layer1 = sorted((p for p in weights if p.layer == 1), key=lambda p: (d.path_count[p.key].paths, order[p.key]))
    if layer1:
        p = layer1[0]
        count = d.path_count[p.key]
        if count.paths <= MAX_FIRST_LAYER_PATHS and count.factors <= MAX_FIRST_LAYER_FACTORS * count.paths:
            return p, ("a first-layer weight, so that every layer's rule appears" if ts.L > 1 else "")
    last = [p for p in weights if p.layer == ts.L]
    p = (last or weights)[0]
    first = layer1[0] if layer1 else None
    why = ""
    if first is not None and first.layer != p.layer:
        why = (f"an output-layer weight: a first-layer weight reaches ${ts.p.cost}$ along "
               f"{d.path_count[first.key].paths} paths, one row each, too many to write out")
    return p, why


def _chosen_bias(ts: Typesetter, weight):
    """The bias of the weight's own unit (seed 001's θ₂: the two derivations differ only in their last
    line) when the weight's derivation has one row a line; after a longer first-layer derivation, an
    output-layer bias; else the bias of the weight's own unit, else the first bias."""
    biases = [p for p in ts.d.parameters if p.source is None]
    if not biases:
        return None, ""
    same = [b for b in biases if b.layer == weight.layer and b.index[0] == weight.index[0]]
    last = [b for b in biases if b.layer == ts.L]
    # One row a line (one path, one loss term per output): the deeper bias is short enough too.
    one_row = ts.d.path_count[weight.key].paths == 1 and ts.net.loss.kind != "binary"
    if same and (weight.layer == ts.L or one_row):
        return same[0], "the bias of the same unit, so that the two derivations differ only in their last line"
    if last:
        return last[0], ("an output-layer bias: a bias deeper in the net takes the same steps as the weight above, "
                         "down to its own unit")
    if same:
        return same[0], "the bias of the same unit, so that the two derivations differ only in their last line"
    order = {b.key: i for i, b in enumerate(biases)}
    fewest = min(biases, key=lambda b: (ts.d.path_count[b.key].paths, -b.layer, order[b.key]))
    return fewest, "the bias with the fewest paths to the loss"


def _derivation(ts: Typesetter, p, why: str) -> dict | None:
    stepper = _Stepper(ts, p)
    try:
        steps = stepper.run()
    except (ValueError, RuntimeError):
        # An expression no rule here covers (every activation and loss derive offers is covered, and
        # tests/test_handout_story.py checks each): the section is left out rather than the build failing.
        return None
    lhs = ts.dcost(ts.pname(p.key))
    return {"name": ts.pname(p.key), "key": p.key, "lhs": lhs, "steps": steps, "lines": align_lines(lhs, steps),
            "layer": p.layer, "bias": p.source is None, "why": why, "rows_note": stepper.rows_note}


def align_lines(lhs: str, steps: list[Step]) -> list[str]:
    """The rows of the align: `lhs &= …` first, each later row of a line indented, each rule tagged
    at the right of its row (on a row of its own where the two would not fit side by side)."""
    out = []
    for s, step in enumerate(steps):
        for r, (row, rule) in enumerate(zip(step.rows, step.rules)):
            lead = (lhs + " &= " if s == 0 else "&= ") if r == 0 else r"&\qquad "
            text = lead + row
            if rule:
                last_line = row.split(r"\\")[-1]
                if _width(last_line) + _rule_width(rule) > MAX_LINE_WIDTH:
                    text += r" \\ &"
                text += rf" \tag*{{\footnotesize {rule}}}"
            out.append(text)
    return out


class _Stepper:
    """One gradient derived by differentiating the nested loss, one rule per line (seed 001 style)."""

    def __init__(self, ts: Typesetter, param):
        self.ts, self.p = ts, param
        self.theta = param.symbol
        d, net = ts.d, ts.net
        reach, stack = set(), [self.theta]
        while stack:
            node = stack.pop()
            for nxt in d.successors.get(node, ()):
                if nxt not in reach and nxt != net.J:
                    reach.add(nxt)
                    stack.append(nxt)
        self.reach = reach
        self.rows_note = ""

    # -- the loss of one example as an ordered sum over the outputs ------------------------------
    def loss(self) -> tuple[sp.Expr, tuple]:
        ts, net = self.ts, self.ts.net
        loss = net.loss
        core = []
        for a, y in zip(net.a[ts.L], net.y):
            if loss.kind == "squared":
                core.append(ts.squared_order((y - a) ** 2))
            elif loss.kind == "binary":
                core += [y * sp.log(a), (1 - y) * sp.log(1 - a)]
            else:
                core.append(y * sp.log(a))
        scale = loss.scale(net.m)
        return (scale if loss.kind == "squared" else -scale), tuple(core)

    def run(self) -> list[Step]:
        lead, core = self.loss()
        if lead != 1:
            start = [Term(sp.Integer(1), (), ("scaled", lead, core))]
        else:
            start = [Term(sp.Integer(1), (), core if len(core) > 1 else core[0])]
        terms = start
        steps = [self.step(terms, [""])]
        while any(t.pending is not None for t in terms):
            if len(steps) > MAX_STEP_LINES:
                raise RuntimeError(f"the one-rule-per-line derivation of {self.p.key} did not finish")
            # Every term still to be differentiated takes its next rule; each row names its own rule.
            new_terms, rules = [], []
            for t in terms:
                if t.pending is None:
                    new_terms.append(t)
                    rules.append("")
                    continue
                made, kind, piece = self.rule(t)
                new_terms += made
                rules += [_label(kind, [piece], self.ts.p.log)] + [""] * (len(made) - 1)
            kept = [(t, r) for t, r in zip(new_terms, rules) if t.coeff != 0]
            terms = [t for t, _ in kept]
            steps.append(self.step(terms, [r for _, r in kept]))
        closing = self.closing(terms)
        if closing is not None:
            steps.append(closing)
        return steps

    # -- the rules -------------------------------------------------------------------------------
    def rule(self, t: Term) -> tuple[list[Term], str, str]:
        ts, net = self.ts, self.ts.net
        u, c, fs = t.pending, t.coeff, t.factors
        if isinstance(u, tuple) and u and u[0] == "scaled":
            return [Term(c * u[1], fs, u[2] if len(u[2]) > 1 else u[2][0])], "constant", ""
        if isinstance(u, tuple):
            parts = [v for v in u if self.depends(v)]
            rule = "sum rule; constants drop out" if len(parts) < len(u) else "sum rule"
            made = []
            for v in parts:  # ∂[y − a] = −∂[a]: the sign comes out with the constants
                k, rest = v.as_coeff_Mul() if isinstance(v, sp.Mul) else (sp.Integer(1), v)
                made.append(Term(-c, fs, rest) if k == -1 else Term(c, fs, v))
            return made, "sum", rule
        if u == self.theta:
            name = ts.pname(self.p.key)
            return [Term(c, fs, None)], "self", rf"$\partial {name}/\partial {name} = 1$"
        if isinstance(u, sp.Symbol) and u in net.z_expr:
            return [Term(c, fs, self.z_sum(u))], "z", f"${ts.s(u)}$"
        if isinstance(u, sp.Symbol) and u in net.a_expr:
            info = net.info[u]
            act = net.activation(info.layer)
            z = net.z[info.layer][info.index[0]]
            if act == "identity":
                return [Term(c, fs, self.z_sum(z))], "identity", rf"${ts.s(u)} = {ts.s(z)}$"
            if act == "softmax":
                i = info.index[0]
                outs = list(net.a[info.layer])
                made = []
                for j, zj in enumerate(net.z[info.layer]):
                    if zj in self.reach:
                        made.append(Term(c, fs + (activations.softmax_jacobian(outs, i, j),), zj))
                return made, "softmax", f"${ts.s(u)}$"
            prime = _prime(ts, act)
            return [Term(c, fs + (prime(z),), z)], "activation", rf"${ts.s(u)} = {ts.names.function(act)}\left({ts.s(z)}\right)$"
        if isinstance(u, sp.Add):
            return self.rule(Term(c, fs, tuple(_ordered_terms(u))))
        if isinstance(u, sp.Mul):
            const = sp.Mul(*[v for v in u.args if not self.depends(v)])
            rest = [v for v in u.args if self.depends(v)]
            if len(rest) != 1:
                raise ValueError(f"product rule needed for {u}")
            k, f = const.as_coeff_Mul()
            return [Term(c * k, fs + ((f,) if f != 1 else ()), rest[0])], "constant", ""
        if isinstance(u, sp.Pow) and not self.depends(u.exp):
            n, base = u.exp, u.base
            f = base ** (n - 1)
            return [Term(c * n, fs + ((f,) if f != 1 else ()), base)], "power", ""
        if isinstance(u, sp.log):
            return [Term(c, fs + (1 / u.args[0],), u.args[0])], "ln", ""
        raise ValueError(f"no rule for {u}")

    def z_sum(self, z: sp.Symbol) -> tuple:
        """z's terms in the course's order (weights unit by unit, skips, the bias last)."""
        return tuple(w if a is None else w * a for w, a in self.ts.z_terms[z])

    def depends(self, expr) -> bool:
        if isinstance(expr, tuple):
            return any(self.depends(v) for v in (expr[2] if expr and expr[0] == "scaled" else expr))
        return bool(expr.free_symbols & (self.reach | {self.theta}))

    # -- the last line: the terms multiplied out, where that is shorter ---------------------------
    def closing(self, terms: list[Term]) -> Step | None:
        """For a cross-entropy loss the factors cancel: (1/a)·a(1 − a)… multiplies out to (a − y) times
        the rest of each path. The line is added only when the output δ simplifies, and only if it
        equals the line above (checked at random points, every a written as f(z))."""
        ts, net, d = self.ts, self.ts.net, self.ts.d
        if net.loss.kind == "squared":
            return self.error_sign(terms)
        if not all(d.output_delta[d.delta[z]].simplified for z in net.z[ts.L]):
            return None
        # One term per path: the output unit's simplified δ, then the path's factors after ∂a/∂z.
        new, one_hot, seen = [], False, set()
        for path in d.paths(self.p.key):
            z_out = path[1].denominator
            if (z_out, path[2:]) in seen:  # a softmax: the paths through every output meet again in δ of z
                continue
            seen.add((z_out, path[2:]))
            od = d.output_delta[d.delta[z_out]]
            one_hot = one_hot or od.used_target_sum
            rest = tuple(self.factor(f) for f in path[2:])
            new.append(Term(sp.Integer(1), (od.value,) + tuple(f for f in rest if f != 1), None))
        if not _equal(product_sum(terms), product_sum(new), net, one_hot):
            return None
        rule = "multiplied out" + ("; the targets sum to $1$" if one_hot else "")
        return self.step(new, [rule] + [""] * (len(new) - 1))

    def factor(self, f) -> sp.Expr:
        """A local derivative as the lines above write it: f′(z) for an activation, else its value."""
        net = self.ts.net
        num, den = net.info[f.numerator], net.info[f.denominator]
        if num.kind == "a" and den.kind == "z" and net.activation(num.layer) not in ("softmax", "identity"):
            return _prime(self.ts, net.activation(num.layer))(f.denominator)
        return f.value

    def error_sign(self, terms: list[Term]) -> Step | None:
        """A profile that writes the squared loss (y − ŷ)² but its gradient (ŷ − y) (ng, nielsen) gets
        a last line with the sign taken into the bracket, as its δ section writes it."""
        ts, net = self.ts, self.ts.net
        if not ts.p.target_first or ts.p.minus_y_first:
            return None
        flips = {y - a: sp.Add(a, -y, evaluate=False) for a, y in zip(net.a[ts.L], net.y)}
        new, changed = [], False
        for t in terms:
            hit = [f for f in t.factors if f in flips]
            if len(hit) == 1 and t.coeff.could_extract_minus_sign():
                new.append(Term(-t.coeff, tuple(flips.get(f, f) for f in t.factors), None))
                changed = True
            else:
                new.append(t)
        if not changed:
            return None
        out, y = net.a[ts.L][0], net.y[0]
        if len(net.y) == 1:
            rule = rf"$-({ts.s(y)} - {ts.s(out)}) = {ts.s(out)} - {ts.s(y)}$"
        else:
            a_i, y_i = rf"{ts.names.vector('a', ts.L)}_i", rf"{ts.p.target}_i"
            rule = rf"$-({y_i} - {a_i}) = {a_i} - {y_i}$"
        return self.step(new, [rule] + [""] * (len(new) - 1))

    # -- printing --------------------------------------------------------------------------------
    def step(self, terms: list[Term], rules: list[str]) -> Step:
        rows, shown_rules = self.show(terms, rules)
        return Step(tuple(rows), tuple(shown_rules), tuple(terms))

    def show(self, terms: list[Term], rules: list[str]) -> tuple[list[str], list[str]]:
        ts = self.ts
        theta = ts.pname(self.p.key)
        shown = list(enumerate(terms))
        if len(terms) > MAX_ROWS:
            shown = shown[:2] + [None] + shown[-1:]
            self.rows_note = (f"With {len(terms)} terms on a line, the first two and the last are written; "
                              "the others are the same with their own output's index.")
        rows, row_rules = [], []
        for n, item in enumerate(shown):
            if item is None:
                rows.append(r"+ \cdots")
                row_rules.append("")
                continue
            i, t = item
            pieces = [ts.paren(f) for f in t.factors]
            if t.pending is not None:
                pieces.append(rf"\frac{{\partial}}{{\partial {theta}}}\left[{self.pending_tex(t.pending)}\right]")
            negative = t.coeff.could_extract_minus_sign()
            c = -t.coeff if negative else t.coeff
            if c != 1:
                pieces.insert(0, ts.tex(c))
            sign = "-" if negative else ("" if n == 0 else "+")
            rows.append(_split_row(pieces or ["1"], sign))
            row_rules.append(rules[i] if i < len(rules) else "")
        return rows, row_rules

    def pending_tex(self, u) -> str:
        ts = self.ts
        if isinstance(u, tuple) and u and u[0] == "scaled":
            inner = self.sum_tex(u[2])
            lead = u[1]
            sign = "-" if lead.could_extract_minus_sign() else ""
            lead = -lead if sign else lead
            body = rf"\left({inner}\right)" if len(u[2]) > 1 or ts.net.loss.kind == "binary" else inner
            return f"{sign}{'' if lead == 1 else ts.tex(lead) + ' '}{body}"
        if isinstance(u, tuple):
            return self.sum_tex(u)
        return ts.tex(u)

    def sum_tex(self, parts: tuple) -> str:
        ts = self.ts
        items = list(parts)
        if len(items) > 5:
            items = items[:3] + [None] + items[-1:]
        out = ""
        for i, v in enumerate(items):
            if v is None:
                out += r" + \cdots"
                continue
            text = ts.tex(v)
            neg = v.could_extract_minus_sign()
            if i == 0:
                out = text
            elif neg:
                out += " - " + ts.tex(-v)
            else:
                out += " + " + text
        return out


def _label(kind: str, pieces: list[str], log: str = r"\ln") -> str:
    """The rule of a line, naming the units it was applied to."""
    names = " and ".join(pieces) if len(pieces) <= 2 else ", ".join(pieces[:-1]) + " and " + pieces[-1]
    if kind == "z":
        return f"definition of {names}"
    if kind == "activation":
        return f"{', '.join(pieces)}: chain rule"
    if kind == "identity":
        return f"{', '.join(pieces)} (identity), definition of $z$"
    if kind == "softmax":
        return "softmax derivative (Section 1), chain rule"
    if kind == "sum":
        return "sum rule; constants drop out" if any("drop" in p for p in pieces) else "sum rule"
    fixed = {"constant": "constant factor", "power": "power rule, chain rule", "ln": rf"derivative of ${log}$, chain rule"}
    return fixed.get(kind, pieces[0] if pieces else kind)


def _ordered_terms(expr: sp.Add) -> list[sp.Expr]:
    """A sum's terms as the printer writes them: the positive ones first (y − a, not −a + y)."""
    from .typeset import _Printer

    terms = list(_Printer()._as_ordered_terms(expr))
    return [t for t in terms if not t.could_extract_minus_sign()] + [t for t in terms if t.could_extract_minus_sign()]


def product_sum(terms) -> sp.Expr:
    """The value of a line whose terms are all differentiated: Σ coeff · Π factors, f′ as its derivative."""
    assert all(t.pending is None for t in terms)
    # One Add of every term (adding them one by one re-sorts the growing sum each time: quadratic).
    return sp.Add(*[t.coeff * sp.Mul(*[_unprime(f) for f in t.factors]) for t in terms])


def _unprime(expr: sp.Expr) -> sp.Expr:
    return expr.replace(lambda n: isinstance(n, _Prime), lambda n: _derivative(n.activation, n.args[0]))


def _derivative(activation: str, z: sp.Expr) -> sp.Expr:
    return _slope(activation).xreplace({_V: z})


_V = sp.Symbol("v", real=True)


@functools.lru_cache(maxsize=None)
def _slope(activation: str) -> sp.Expr:
    """f′(v), differentiated once per activation (a wide softmax's closing line has thousands of f′)."""
    return sp.diff(activations.apply(activation, _V), _V)


def _equal(left: sp.Expr, right: sp.Expr, net, one_hot: bool) -> bool:
    """left == right at a few random points where every activation is f of its pre-activation (so
    that a and f′(z) agree), with one-hot targets where the simplification uses them.

    The units get numbers, not their formulas: a softmax's a_k holds every z of its layer, and
    writing it out in a sum over its paths grows with the square of the layer's width."""
    import random

    rng = random.Random(7)
    symbols = sorted(left.free_symbols | right.free_symbols, key=lambda s: s.name)
    for trial in range(3):
        values = {s: sp.Rational(rng.randint(1, 97), 101) for s in symbols}
        for l in range(1, net.depth + 1):
            zs = {z: values.get(z, sp.Rational(rng.randint(1, 97), 101)) for z in net.z[l]}
            values.update(zs)
            values.update({a: sp.N(net.a_expr[a].xreplace(zs), 50) for a in net.a[l]})
        if one_hot:
            hot = trial % len(net.y)
            values.update({y: sp.Integer(1 if k == hot else 0) for k, y in enumerate(net.y)})
        difference = sp.N(left.xreplace(values) - right.xreplace(values), 40)
        if abs(difference) > sp.Float(10) ** -25:
            return False
    return True
