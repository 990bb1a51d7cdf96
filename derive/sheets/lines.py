"""The answer sheet's arithmetic as data: every quantity the sheet prints (with its exact value) and
the line that computes it — the forward pass, the loss, the output δ, backpropagation, the gradients,
the updates and the L2 term — each a formula over other quantities' keys, before any figures are
settled (`settle`) or anything is typeset (`worked_tex`).

The numbers are the derivation's own formulas evaluated from the spec's decimals in exact and
high-precision arithmetic (`answers.precise`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import mpmath
import sympy as sp

from ..errors import SpecError
from ..numbers.answers import DIGITS, MAX_GAP_DIGITS, evaluate, exact_work, example_loss, l2_numbers, precise, to_mpf
from .equations import MAX_SOFTMAX_TERMS
from .settle import Sheet
from .typeset import Typesetter, listed

MAX_EXAMPLES_WORKED = 12  # examples whose every number is shown; past this a stated subset
MAX_TERMS_WORKED = 32  # a sum longer than this is worked in full for the layer's first unit only


@dataclass(frozen=True)
class Plan:
    """What one sheet works out: its examples (all m, or the first MAX_EXAMPLES_WORKED), which units'
    and parameters' lines are written out, and which softmax layers sum their e^z on a line of their own."""

    m: int
    shown_m: int
    wide_softmax: dict  # layer -> the symbol of its Σ_k e^{z_k}
    first_units: dict  # layer -> the units whose forward lines are written out
    delta_units: dict  # layer -> the units whose δ lines are written out
    first_params: dict  # matrix name -> the keys of its parameters whose lines are written out
    info: dict = field(repr=False)  # the network's symbol info, for the quantities' keys

    @classmethod
    def of(cls, ts: Typesetter) -> Plan:
        net, d = ts.net, ts.d
        m = len(ts.spec.values.x)
        layers = range(1, ts.L + 1)
        return cls(m=m, shown_m=min(m, MAX_EXAMPLES_WORKED),
                   # A wide softmax layer: its denominator Σ_k e^{z_k} is worked once, on a line of its own.
                   wide_softmax={l: sp.Symbol(f"S{l}", positive=True) for l in layers
                                 if net.activation(l) == "softmax" and len(net.z[l]) > MAX_SOFTMAX_TERMS},
                   first_units={l: set(units_worked(ts, l, "forward")[0]) for l in layers},
                   delta_units={l: set(units_worked(ts, l, "delta")[0]) for l in layers},
                   first_params={name: set(p.key for p in listed([p for p in d.parameters if p.matrix == name])[0])
                                 for name in ts.matrices},
                   info=net.info)

    @property
    def multi(self) -> bool:
        return self.m > 1

    @property
    def all_examples(self) -> bool:
        return self.m <= MAX_EXAMPLES_WORKED

    def key(self, s: sp.Symbol, n: int | None = None) -> str:
        """A quantity's key: per example "<symbol>#<n>", parameters and m by symbol name (totals are
        "J", "g:<key>", "u:<key>", the L2 term's "l2:…")."""
        if self.info[s].kind in ("W", "b", "m"):
            return s.name
        return f"{s.name}#{n}"


def units_worked(ts: Typesetter, l: int, kind: str) -> tuple[list, int]:
    """The units of layer l whose forward ("forward") or δ ("delta") lines are written out, and how
    many more there are: the first MAX_UNITS_LISTED, or only the first where a line sums more than
    MAX_TERMS_WORKED terms (a 128-wide layer's 128-term sums would fill pages each)."""
    net = ts.net
    zs = list(net.z[l])
    if kind == "forward":
        longest = max(len(ts.z_terms[z]) for z in zs)
    elif l == ts.L:
        longest = len(zs) if net.activation(l) == "softmax" else 1
    else:
        longest = max(len(ts.d.successors[net.a[l][j]]) for j in range(len(zs)))
    shown = zs[:1] if longest > MAX_TERMS_WORKED else listed(zs)[0]
    return shown, len(zs) - len(shown)


# -- the numbers ----------------------------------------------------------------------------------

def precise_numbers(ts: Typesetter, numbers: dict, plan: Plan) -> tuple[dict, dict | None]:
    """The sheet's exact and high-precision numbers (`answers.precise`), with the loss and gradients
    the loss's own for an L2 spec, and the L2 term's numbers (None without one)."""
    d = ts.d
    pv = precise(d, examples=plan.shown_m, totals=exact_work(d))
    _refuse_lost(ts, pv["lost"])
    if pv["loss"] is None:  # too many examples for exact totals: the module's floats, as answers.json
        pv["loss"] = Fraction(numbers["loss"])
        pv["gradients"] = {p.key: Fraction(_entry(numbers["gradients"], p)) for p in d.parameters}
        if pv["rate"] is not None:
            pv["updated"] = {p.key: Fraction(_entry(numbers["updated"], p)) for p in d.parameters}
    l2 = _l2_split(d, pv, numbers)  # pv's loss and gradients are now the loss's own; l2 holds the term
    return pv, l2


def _entry(table: dict, p) -> float:
    arr = table[p.matrix]
    return arr[p.index[0]][p.index[1]] if len(p.index) == 2 else arr[p.index[0]]


def _refuse_lost(ts: Typesetter, lost: list) -> None:
    """A unit so saturated that its distance from its bound has more than MAX_GAP_DIGITS digits
    cannot be printed so that its lines can be redone (1 − ŷ of σ(30000) is 10⁻¹³⁰²⁹): say so."""
    if not lost:
        return
    n, a, z, digits = lost[0]
    info = ts.net.info[a]
    act = ts.net.activation(info.layer)
    where = f"example {n + 1}" if len(ts.spec.values.x) > 1 else "the example"
    raise SpecError(ts.spec.source, "values",
                    f"{where} gives unit {info.index[0] + 1} of layer {info.layer} ({act}) the pre-activation "
                    f"z = {mpmath.nstr(to_mpf(z), 6)}, so saturated that its output is within 10^-{digits - 1} of its "
                    f"limit; a worked sheet carries at most {MAX_GAP_DIGITS} digits of that difference: use smaller "
                    f"inputs or weights for a sheet (derive answers and derive check do without it)")


def sheet(ts: Typesetter, pv: dict, l2: dict | None, plan: Plan) -> Sheet:
    """Every quantity and every line of the sheet, in the sheet's order (forward, loss, δ, gradients,
    the L2 term, updates), figures not yet settled. Only the first example's lines of the first few
    units and parameters are shown; every other line's result is in a table."""
    sh = Sheet(ts.precision)
    _quantities(sh, ts, pv, l2, plan)
    for n in range(plan.shown_m):
        _example_lines(sh, ts, plan, n)
    if plan.multi:
        sh.line("loss", "J", sp.Add(*[sp.Symbol(f"J__{n}") for n in range(plan.shown_m)]),
                {sp.Symbol(f"J__{n}"): f"J#{n}" for n in range(plan.shown_m)}, shown=True, complete=plan.all_examples)
    _gradient_lines(sh, ts, plan, l2)
    if l2 is not None:
        _l2_lines(sh, ts.d, l2)
    if pv["rate"] is not None:
        eta, grad = sp.Symbol("eta"), sp.Symbol("grad")
        for p in ts.d.parameters:
            sh.line(f"update {p.key}", f"u:{p.key}", p.symbol - eta * grad,
                    {p.symbol: p.symbol.name, eta: "eta", grad: f"g:{p.key}"}, shown=p.key in plan.first_params[p.matrix])
    return sh


def _quantities(sh: Sheet, ts: Typesetter, pv: dict, l2: dict | None, plan: Plan) -> None:
    """Every value the sheet prints: given (parameters, m, inputs, targets, η) or computed."""
    net, k = ts.net, plan.key
    for s, v in pv["params"].items():
        sh.add(s.name, v, given=True)
    sh.add(net.m.name, pv["m"], given=True)
    for n, env in enumerate(pv["values"]):
        for s in list(net.x) + list(net.y):
            sh.add(k(s, n), env[s], given=True)
        for l in range(1, ts.L + 1):
            for s in net.z[l] + net.a[l] + net.delta[l]:
                sh.add(k(s, n), env[s], guard=True)
    if pv["rate"] is not None:
        sh.add("eta", pv["rate"], given=True)
    for n, env in enumerate(pv["values"]):
        for l in plan.wide_softmax:
            with mpmath.workdps(DIGITS):
                sh.add(f"S{l}#{n}", evaluate(sp.Add(*[sp.exp(z) for z in net.z[l]]), env), guard=True)
    # One example's loss, J_n, when there are several; J itself otherwise.
    for n, env in enumerate(pv["values"]):
        with mpmath.workdps(DIGITS):  # the loss's digit-keeping form; its line prints net.loss_expr
            sh.add(f"J#{n}", example_loss(net, env), guard=plan.multi)
    sh.add("J", pv["loss"] if plan.multi else sh.value["J#0"])
    for p in ts.d.parameters:
        sh.add(f"g:{p.key}", pv["gradients"][p.key] if l2 is None else l2["total_gradients"][p.key])
        if pv["rate"] is not None:
            sh.add_update(f"u:{p.key}", pv["updated"][p.key], pv["params"][p.symbol])


def _example_lines(sh: Sheet, ts: Typesetter, plan: Plan, n: int) -> None:
    """Example n's lines: every unit's z and a, its loss, and every unit's δ from the output layer back."""
    net, d = ts.net, ts.d

    def ops_of(expr: sp.Expr) -> dict[sp.Symbol, str]:
        return {s: plan.key(s, n) for s in expr.free_symbols}

    for l in range(1, ts.L + 1):
        shown = plan.first_units[l] if n == 0 else set()
        for z in net.z[l]:
            sh.line(f"z {z.name} #{n}", plan.key(z, n), net.z_expr[z], ops_of(net.z_expr[z]), shown=z in shown)
        S = plan.wide_softmax.get(l)
        if S is not None:
            total = sp.Add(*[sp.exp(z) for z in net.z[l]])
            sh.line(f"softmax sum {l} #{n}", f"S{l}#{n}", total, ops_of(total), shown=n == 0)
        for z, a in zip(net.z[l], net.a[l]):
            if S is not None:
                sh.line(f"a {a.name} #{n}", plan.key(a, n), sp.exp(z) / S, {z: plan.key(z, n), S: f"S{l}#{n}"},
                        shown=z in shown)
            else:
                sh.line(f"a {a.name} #{n}", plan.key(a, n), net.a_expr[a], ops_of(net.a_expr[a]), shown=z in shown)
    sh.line(f"loss #{n}", f"J#{n}", net.loss_expr, ops_of(net.loss_expr), shown=n == 0)
    for l in range(ts.L, 0, -1):
        for z in net.z[l]:
            expr = delta_expr(ts, z)
            sh.line(f"delta {d.delta[z].name} #{n}", plan.key(d.delta[z], n), expr, ops_of(expr),
                    shown=n == 0 and z in plan.delta_units[l])


def delta_expr(ts: Typesetter, z: sp.Symbol) -> sp.Expr:
    """δ as the sheet prints it: the output chain before cancelling, unless it cancels (σ with bce)."""
    d = ts.d.delta[z]
    if d in ts.d.output_delta and not ts.d.output_delta[d].simplified:
        return ts.d.output_delta[d].chain
    return ts.d.delta_expr[d]


def _gradient_lines(sh: Sheet, ts: Typesetter, plan: Plan, l2: dict | None) -> None:
    """Every parameter's gradient: Σ over the worked examples of its derivation formula (+ 2c·w with L2)."""
    for p in ts.d.parameters:
        g = ts.d.gradient[p.key]
        if plan.multi:
            expr = sp.Add(*[g.xreplace({s: _copy(s, n) for s in g.free_symbols}) for n in range(plan.shown_m)])
            ops = {_copy(s, n): plan.key(s, n) for n in range(plan.shown_m) for s in g.free_symbols}
        else:
            expr, ops = g, {s: plan.key(s, 0) for s in g.free_symbols}
        if l2 is not None and p.key in l2["weights"]:
            expr, ops = _l2_gradient(expr, ops, p)
        sh.line(f"gradient {p.key}", f"g:{p.key}", expr, ops, shown=p.key in plan.first_params[p.matrix],
                complete=plan.all_examples)


def _copy(symbol: sp.Symbol, n: int) -> sp.Symbol:
    return sp.Symbol(f"{symbol.name}__{n}", real=True)


# -- the L2 term (network.l2): J gains c·Σw², each weight's gradient 2c·w ------------------------

def _l2_split(d, pv: dict, numbers: dict) -> dict | None:
    """For an L2 spec: set pv's loss and gradients to the loss's own (the examples' sums) and return
    the term's numbers with "total_gradients" (what J's gradient is); None without an L2 term."""
    if d.network.l2 is None:
        return None
    l2 = pv.get("l2")
    if l2 is None:  # too many examples for exact totals: the module's floats (which include the term), less the term
        l2 = l2_numbers(d, pv["params"], pv["m"])
        total = dict(pv["gradients"])
        l2["loss"] = pv["loss"] - l2["penalty"]
        l2["gradients"] = {key: g - l2["slope"] * pv["params"][l2["weights"][key]] if key in l2["weights"] else g
                           for key, g in total.items()}
    else:
        total = dict(pv["gradients"])
    l2 = dict(l2, total_gradients=total, total_loss=pv["loss"])
    pv["loss"], pv["gradients"] = l2["loss"], dict(l2["gradients"])
    return l2


# λ and the term's parts as a line's operands (LAMBDA also stands for the network's λ where the sheet prints it).
LAMBDA, _SLOPE, _SQUARES, _PENALTY, _DATA = (sp.Symbol(n, real=True) for n in ("lambda", "l2slope", "l2squares", "l2penalty", "l2data"))


def _l2_gradient(expr: sp.Expr, ops: dict, p) -> tuple[sp.Expr, dict]:
    """A weight's gradient line with the L2 term's part: Σₙ δ a + 2c·w (λ/m·w for the default scale)."""
    return expr + _SLOPE * p.symbol, {**ops, _SLOPE: "l2:slope", p.symbol: p.symbol.name}


def _l2_lines(sh: Sheet, d, l2: dict) -> None:
    """The term's own lines: the slope 2c, Σw² over every weight, c·Σw², and J = the loss's sum + c·Σw²."""
    net = d.network
    weights = list(l2["weights"].values())
    sh.add("l2:lambda", l2["lambda"], given=True)
    sh.add("l2:slope", l2["slope"], guard=True)
    sh.add("l2:squares", l2["squares"], guard=True)
    sh.add("l2:penalty", l2["penalty"], guard=True)
    sh.add("l2:J", l2["total_loss"])
    lam, m = net.l2.symbol, net.m
    slope = (2 * net.l2.coefficient).xreplace({lam: LAMBDA})
    # λ/2·Σw² gains λ·w: the factor is λ itself, given, and needs no line of its own on the page.
    sh.line("l2 slope", "l2:slope", slope, {s: ("l2:lambda" if s == LAMBDA else m.name) for s in slope.free_symbols},
            shown=slope != LAMBDA)
    sh.line("l2 squares", "l2:squares", sp.Add(*(w ** 2 for w in weights)), {w: w.name for w in weights}, shown=True)
    coefficient = net.l2.coefficient.xreplace({lam: LAMBDA})
    ops = {s: ("l2:lambda" if s == LAMBDA else m.name) for s in coefficient.free_symbols}
    sh.line("l2 penalty", "l2:penalty", coefficient * _SQUARES, {**ops, _SQUARES: "l2:squares"}, shown=True)
    sh.line("l2 loss", "l2:J", _DATA + _PENALTY, {_DATA: "J", _PENALTY: "l2:penalty"}, shown=True)
