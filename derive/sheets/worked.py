"""The answer sheet's worked numbers, as data first: every line is a `WorkedLine` (what it computes,
the expression it prints, its printed operands and its printed result), and only then LaTeX.

The numbers are the derivation's own formulas evaluated from the spec's decimals in exact and
high-precision arithmetic (`answers.precise`). The printing rule, stated on the sheet:

* numbers the spec gives are printed as written (1, 0.5, 0.15);
* a computed number that is an exact short decimal (z = 1.3) is printed exactly;
* every other computed number is rounded to `precision` significant figures, and a value that is
  used again in a later line (z, a, δ, one example's loss) carries one guard figure more;
* if a line's printed operands would not give its printed result to the printed precision, the
  operands get more figures until they do (`_settle`), so that every line can be re-done by hand;
* a value so near ±1 that even MAX_FIGURES figures print ±1 (σ(200) = 1 − 1.38·10⁻⁸⁷),
  where a later line needs its difference from 1 (1 − ŷ, ln(1 − ŷ), ŷ − y), is printed as 1 − d
  (or 1 + d) with d rounded to the value's figures: the same exact decimal, written so that its
  figures can be read.

A test re-evaluates every line of every sheet from the printed operands (tests/test_worked_lines.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction

import mpmath
import sympy as sp

from ..engine import activations
from ..errors import SpecError
from ..numbers.answers import (
    DIGITS,
    MAX_GAP_DIGITS,
    Number,
    as_written,
    evaluate,
    exact_work,
    example_loss,
    l2_numbers,
    precise,
    to_mpf,
)
from . import line_values as lv
from .decimals import gap_of, printed_decimal, to_decimal
from .equations import MAX_SOFTMAX_TERMS
from .fdcheck import check as fd_check
from .regularization import square
from .typeset import Typesetter, join_terms, listed, matrix_blocks, table_blocks, tex_number, tidy_brackets, wrap_terms

MAX_EXAMPLES_WORKED = 12  # examples whose every number is shown; past this a stated subset
MAX_FIGURES = 12  # the most significant figures an operand is given to make its line reproducible
CHECK_DIGITS = 30  # working digits when a line is re-evaluated from its printed operands (> MAX_FIGURES + margin)
GUARD = 1  # guard figures of a value that later lines use


@dataclass(frozen=True)
class WorkedLine:
    """One line of arithmetic on the sheet: `result` = `expr` evaluated at `operands`.

    `operands` maps every free symbol of `expr` to the decimal text printed for it (Decimal syntax:
    its exponent is its printed precision); `result` likewise. `shown` is False for a line whose
    result appears only in a table or matrix (its operands are all on the page); `complete` is False
    for a sum over more examples than the sheet prints (m > MAX_EXAMPLES_WORKED)."""

    what: str
    expr: sp.Expr
    operands: dict = field(hash=False)
    result: str = ""
    shown: bool = False
    complete: bool = True


def reproduces(expr: sp.Expr, operands: dict, result: str) -> bool:
    """Whether `expr` at the printed operands, rounded to the printed precision of `result`, is `result`."""
    return _rounds_to(expr, {s: Fraction(Decimal(t)) for s, t in operands.items()}, result)


def _rounds_to(expr: sp.Expr, env: dict, result: str) -> bool:
    # As many working digits as the result prints, and a margin: 1 − 1.3839·10⁻⁸⁷ prints 91.
    digits = max(CHECK_DIGITS, len(Decimal(result).as_tuple().digits) + 10)
    with mpmath.workdps(digits):
        try:
            value = evaluate(expr, env)
        except ZeroDivisionError:  # 1/(1 − ŷ) at a printed ŷ of 1: this line cannot be redone from these operands
            return False
        if not isinstance(value, Fraction) and not mpmath.isfinite(value):  # ln 0
            return False
    with localcontext() as ctx:
        ctx.prec = digits + 10
        value = to_decimal(value, digits)
    return lv.rounds_to(value, result)


# -- quantities and lines -------------------------------------------------------------------------

class _Sheet:
    """The quantities of one sheet (values, printed figures) and the lines that compute them."""

    def __init__(self, ts: Typesetter, precision: int):
        self.ts, self.precision = ts, precision
        self.value: dict[str, Number] = {}
        self.given: set[str] = set()
        self.figures: dict[str, int] = {}
        self.lines: list[tuple[str, str, sp.Expr, dict[sp.Symbol, str], bool, bool]] = []  # (what, key, expr, operand keys, shown, complete)
        self._texts: dict[str, str] = {}
        self._exact: dict[str, Fraction] = {}  # the printed text's exact value, read once per figure count
        self._symbols: dict[sp.Expr, frozenset] = {}  # free symbols of each part of a line, found once
        self._value_decimals: dict[str, Decimal] = {}  # a value itself as a Decimal (exact, or to 60 digits)
        self._decimals: dict[str, Decimal] = {}  # the printed text as a Decimal, per figure count
        self.ceiling: dict[str, int] = {}  # figures a value may not exceed (its operands cancel)
        self.gaps: set[str] = set()  # values printed as ±(1 − d); their figures are d's

    def add(self, key: str, value: Number, given: bool = False, guard: bool = False) -> None:
        self.value[key] = value
        if given:
            self.given.add(key)
        else:
            self.figures[key] = self.precision + (GUARD if guard else 0)

    def line(self, what: str, key: str, expr: sp.Expr, operands: dict[sp.Symbol, str], shown: bool = False,
             complete: bool = True) -> None:
        self.lines.append((what, key, expr, operands, shown, complete))

    def text(self, key: str) -> str:
        cached = self._texts.get(key)
        if cached is None:
            cached = printed_decimal(self.value[key], None if key in self.given else self.figures[key], key in self.gaps)
            self._texts[key] = cached
        return cached

    def exact(self, key: str) -> Fraction:
        cached = self._exact.get(key)
        if cached is None:
            cached = self._exact[key] = Fraction(self.decimal(key))
        return cached

    def decimal(self, key: str) -> Decimal:
        cached = self._decimals.get(key)
        if cached is None:
            cached = self._decimals[key] = Decimal(self.text(key))
        return cached

    def _operands(self, ops: dict, arith: lv.Arithmetic) -> dict:
        """The line's operands as printed, exactly, in the arithmetic that evaluates the line."""
        if arith is lv.DECIMALS:
            return {s: self.decimal(k) for s, k in ops.items()}
        return {s: self.exact(k) for s, k in ops.items()}

    def _exact_value(self, key: str, arith: lv.Arithmetic):
        if arith is not lv.DECIMALS:
            return self.value[key]
        cached = self._value_decimals.get(key)
        if cached is None:
            cached = self._value_decimals[key] = lv.decimal(self.value[key])
        return cached

    def _reproduces(self, expr: sp.Expr, printed: dict, result: str, arith: lv.Arithmetic) -> bool:
        if arith is lv.DECIMALS:
            return lv.rounds_to(lv.polynomial(expr)(printed), result)
        return _rounds_to(expr, printed, result)

    def settle(self) -> None:
        """Give operands more figures until every complete line reproduces its printed result.

        A failing line gets one more figure on the operand whose rounding moves its value most
        (the others keep theirs), until it reproduces. Lines are taken consumers first (updates,
        gradients, δ from the input side, then the forward pass backwards), so a value's figures
        are settled by every line that uses it before its own line is checked; a pass then checks
        again only the lines whose operands or result changed figures, until a pass changes nothing."""
        lines = [ln for ln in self.lines if ln[5]]
        producing: dict[str, list[int]] = {}
        using: dict[str, list[int]] = {}
        for i, (what, key, expr, ops, shown, complete) in enumerate(lines):
            producing.setdefault(key, []).append(i)
            for k in sorted(set(ops.values())):
                using.setdefault(k, []).append(i)
        budget = 50 * len(lines) + 100  # each bump is one more figure on one value: this always ends
        todo = set(range(len(lines)))
        arithmetic = [lv.DECIMALS if lv.is_decimal_polynomial(ln[2]) else lv.FRACTIONS for ln in lines]
        while todo and budget > 0:
            changed: set[str] = set()
            for i in sorted(todo, reverse=True):  # the sheet's order is the order values are computed in
                what, key, expr, ops, shown, complete = lines[i]
                while budget > 0:
                    budget -= 1
                    arith = arithmetic[i]
                    printed = self._operands(ops, arith)
                    try:
                        if self._reproduces(expr, printed, self.text(key), arith):
                            break
                        k = self._worst_operand(expr, ops, printed, arith)
                    except lv.NOT_EXACT:  # digits past the exact context: the line goes the slower way
                        arithmetic[i] = lv.FRACTIONS
                        continue
                    if k is None:
                        k = self._gap_operand(ops)
                    if k is None:
                        # Every operand is exact or at its most figures (a sum that cancels): the result
                        # keeps only the figures its operands support, and may never get more again.
                        if key in self.given or self.figures[key] <= 1:
                            break
                        k = key
                        self.figures[k] -= 1
                        self.ceiling[k] = self.figures[k]
                    elif self.figures[k] >= MAX_FIGURES and k not in self.gaps:
                        # Its most figures read 1.00000000000: printed as 1 − d, its d to its own figures.
                        self.gaps.add(k)
                        self.figures[k] = self.precision + GUARD
                        self.ceiling.pop(k, None)
                    else:
                        self.figures[k] += 1
                    self._texts.pop(k, None)
                    self._exact.pop(k, None)
                    self._decimals.pop(k, None)
                    changed.add(k)
            todo = {j for k in changed for j in producing.get(k, []) + using.get(k, [])}

    def _gap_operand(self, ops: dict) -> str | None:
        """An operand at its most figures whose difference from ±1 those figures do not show at all (ŷ = σ(200)
        printed 1.00000000000 where the line needs 1 − ŷ), to be printed as 1 − d instead; or None."""
        for k in sorted(set(ops.values())):
            if k in self.given or k in self.gaps or self.figures[k] < MAX_FIGURES:
                continue
            if abs(self.decimal(k)) == 1 and gap_of(self.value[k]) != 0:
                return k
        return None

    def _worst_operand(self, expr: sp.Expr, ops: dict, printed: dict, arith: lv.Arithmetic) -> str | None:
        """The rounded operand whose exact value changes the line's value most (`printed`: the operands as printed, exactly).

        Each sum and product in the line is evaluated once; trying an operand's exact value then
        re-evaluates only the terms on its way to the top (a δ's Σ_k w δ_k costs one term per δ_k, not 33)."""
        with mpmath.workdps(CHECK_DIGITS):
            memo: dict = {}
            base = lv.node_value(expr, printed, memo, arith)
            worst, size = None, None
            for s, k in sorted(ops.items(), key=lambda item: item[1]):
                if k in self.given or self.figures[k] >= self.ceiling.get(k, MAX_FIGURES):
                    continue
                exact = self._exact_value(k, arith)
                if printed[s] == exact:
                    continue
                change = arith.size(arith.minus(lv.with_operand(expr, s, exact, printed, memo, self._symbols, arith), base))
                if size is None or change > size:
                    worst, size = k, change
        return worst

    def worked_lines(self) -> list[WorkedLine]:
        return [WorkedLine(what, expr, {s: self.text(k) for s, k in ops.items()}, self.text(key), shown, complete)
                for what, key, expr, ops, shown, complete in self.lines]


def _copy(symbol: sp.Symbol, n: int) -> sp.Symbol:
    return sp.Symbol(f"{symbol.name}__{n}", real=True)


# -- the worked answers ---------------------------------------------------------------------------

def worked(ts: Typesetter, numbers: dict, render: bool = True) -> dict:
    """Everything the exercise and answer sheets print from the spec's numbers.

    With `render` False only {"lines": [WorkedLine, ...]} (the data, settled, without its LaTeX):
    what `derive class` needs for a student whose sheet is not typeset."""
    d, net, spec = ts.d, ts.net, ts.spec
    m = len(spec.values.x)
    shown_m = min(m, MAX_EXAMPLES_WORKED)
    all_examples = m <= MAX_EXAMPLES_WORKED
    pv = precise(d, examples=shown_m, totals=exact_work(d))
    _refuse_lost(ts, pv["lost"])
    if pv["loss"] is None:  # too many examples for exact totals: the module's floats, as answers.json
        pv["loss"] = Fraction(numbers["loss"])
        pv["gradients"] = {p.key: Fraction(_entry(numbers["gradients"], p)) for p in d.parameters}
        if pv["rate"] is not None:
            pv["updated"] = {p.key: Fraction(_entry(numbers["updated"], p)) for p in d.parameters}
    l2 = _l2_split(d, pv, numbers)  # pv's loss and gradients are now the loss's own; l2 holds the term
    sh = _Sheet(ts, ts.precision)
    multi = m > 1

    # Quantity keys: per example "<symbol>#<n>", parameters by symbol name, totals "J", "g:<key>", "u:<key>".
    def k(s: sp.Symbol, n: int | None = None) -> str:
        info = net.info[s]
        if info.kind in ("W", "b", "m"):
            return s.name
        return f"{s.name}#{n}"

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
    # A wide softmax layer: its denominator Σ_k e^{z_k} is worked once, on a line of its own.
    wide_softmax = {l: sp.Symbol(f"S{l}", positive=True) for l in range(1, ts.L + 1)
                    if net.activation(l) == "softmax" and len(net.z[l]) > MAX_SOFTMAX_TERMS}
    for n, env in enumerate(pv["values"]):
        for l in wide_softmax:
            with mpmath.workdps(DIGITS):
                sh.add(f"S{l}#{n}", evaluate(sp.Add(*[sp.exp(z) for z in net.z[l]]), env), guard=True)

    loss_terms = sp.Add(*[sp.Symbol(f"J__{n}") for n in range(shown_m)]) if multi else None
    # One example's loss, J_n, when there are several; J itself otherwise.
    per_loss = net.loss_expr if net.loss.kind == "squared" else net.loss_expr
    for n, env in enumerate(pv["values"]):
        with mpmath.workdps(DIGITS):  # the loss's digit-keeping form; its line prints per_loss
            sh.add(f"J#{n}", example_loss(net, env), guard=multi)
    sh.add("J", pv["loss"] if multi else sh.value["J#0"])
    for p in d.parameters:
        sh.add(f"g:{p.key}", pv["gradients"][p.key] if l2 is None else l2["total_gradients"][p.key])
        if pv["rate"] is not None:
            sh.add(f"u:{p.key}", pv["updated"][p.key])
            # Enough figures that the step itself shows (to two figures), not just the old value again.
            with mpmath.workdps(DIGITS):  # in mpmath: a step of 10⁻⁴⁰⁰ is not a binary64's 0
                step = abs(to_mpf(pv["updated"][p.key]) - to_mpf(pv["params"][p.symbol]))
                new = abs(to_mpf(pv["updated"][p.key]))
                if step > 0 and new > 0:
                    extra = int(mpmath.floor(mpmath.log10(new)) - mpmath.floor(mpmath.log10(step))) + 2
                    sh.figures[f"u:{p.key}"] = min(MAX_FIGURES, max(sh.precision, extra))

    # Lines, in the order of the sheet: forward, loss, δ, gradients, updates (the first example's
    # scalar lines of the first few units are shown; every other line's result is in a table).
    def ops_of(expr: sp.Expr, n: int) -> dict[sp.Symbol, str]:
        return {s: k(s, n) for s in expr.free_symbols}

    first_units = {l: set(_units_worked(ts, l, "forward")[0]) for l in range(1, ts.L + 1)}
    delta_units = {l: set(_units_worked(ts, l, "delta")[0]) for l in range(1, ts.L + 1)}
    for n in range(shown_m):
        for l in range(1, ts.L + 1):
            for j, z in enumerate(net.z[l]):
                sh.line(f"z {z.name} #{n}", k(z, n), net.z_expr[z], ops_of(net.z_expr[z], n), shown=n == 0 and z in first_units[l])
            if l in wide_softmax:
                total = sp.Add(*[sp.exp(z) for z in net.z[l]])
                sh.line(f"softmax sum {l} #{n}", f"S{l}#{n}", total, ops_of(total, n), shown=n == 0)
            for j, a in enumerate(net.a[l]):
                if l in wide_softmax:
                    z, S = net.z[l][j], wide_softmax[l]
                    sh.line(f"a {a.name} #{n}", k(a, n), sp.exp(z) / S, {z: k(z, n), S: f"S{l}#{n}"},
                            shown=n == 0 and z in first_units[l])
                    continue
                sh.line(f"a {a.name} #{n}", k(a, n), net.a_expr[a], ops_of(net.a_expr[a], n),
                        shown=n == 0 and net.z[l][j] in first_units[l])
        sh.line(f"loss #{n}", f"J#{n}", per_loss, ops_of(per_loss, n), shown=n == 0)
        for l in range(ts.L, 0, -1):
            for z in net.z[l]:
                dl = d.delta[z]
                expr = _delta_expr(ts, z)
                sh.line(f"delta {dl.name} #{n}", k(dl, n), expr, ops_of(expr, n), shown=n == 0 and z in delta_units[l])
    if multi:
        sh.line("loss", "J", loss_terms, {sp.Symbol(f"J__{n}"): f"J#{n}" for n in range(shown_m)},
                shown=True, complete=all_examples)
    first_params = {}
    for name in ts.matrices:
        params = [p for p in d.parameters if p.matrix == name]
        first_params[name] = set(p.key for p in listed(params)[0])
    for p in d.parameters:
        g = d.gradient[p.key]
        if multi:
            expr = sp.Add(*[g.xreplace({s: _copy(s, n) for s in g.free_symbols}) for n in range(shown_m)])
            ops = {_copy(s, n): k(s, n) for n in range(shown_m) for s in g.free_symbols}
        else:
            expr, ops = g, ops_of(g, 0)
        if l2 is not None and p.key in l2["weights"]:
            expr, ops = _l2_gradient(expr, ops, p)
        sh.line(f"gradient {p.key}", f"g:{p.key}", expr, ops, shown=p.key in first_params[p.matrix], complete=all_examples)
    if l2 is not None:
        _l2_lines(sh, d, l2)
    if pv["rate"] is not None:
        eta, grad = sp.Symbol("eta"), sp.Symbol("grad")
        for p in d.parameters:
            sh.line(f"update {p.key}", f"u:{p.key}", p.symbol - eta * grad,
                    {p.symbol: p.symbol.name, eta: "eta", grad: f"g:{p.key}"}, shown=p.key in first_params[p.matrix])
    sh.settle()
    if not render:
        return {"lines": sh.worked_lines()}
    out = _render(ts, sh, pv, m, shown_m, first_units, first_params, k, wide_softmax)
    # The finite-difference question checks one weight (the steepest: see fdcheck.check).
    out["finite_difference"] = fd_check(d, pv["params"], pv["gradients"],
                                        [p.key for p in d.parameters if p.source is not None], ts.precision)
    return out


def _entry(table: dict, p) -> float:
    arr = table[p.matrix]
    return arr[p.index[0]][p.index[1]] if len(p.index) == 2 else arr[p.index[0]]


def _delta_expr(ts: Typesetter, z: sp.Symbol) -> sp.Expr:
    """δ as the sheet prints it: the output chain before cancelling, unless it cancels (σ with bce)."""
    d = ts.d.delta[z]
    if d in ts.d.output_delta and not ts.d.output_delta[d].simplified:
        return ts.d.output_delta[d].chain
    return ts.d.delta_expr[d]


# -- rendering ---------------------------------------------------------------------------------

def _render(ts: Typesetter, sh: _Sheet, pv: dict, m: int, shown_m: int, first_units, first_params, k,
            wide_softmax: dict) -> dict:
    net, d = ts.net, ts.d
    multi = m > 1

    def tx(key: str) -> str:
        return tex_number(sh.text(key))

    cache: dict[int, dict] = {}

    def valued(n: int) -> dict[sp.Symbol, str]:
        """symbol_names with example n's printed numbers (bracketed when negative)."""
        if n in cache:
            return cache[n]
        names = cache[n] = dict(ts.sym)
        for s, info in net.info.items():
            if info.kind == "J":
                continue
            key = k(s, n)
            if key in sh.value:
                text = tx(key)
                names[s] = rf"\left({text}\right)" if text.startswith("-") else text
        return names

    def ex_names(n: str) -> dict[sp.Symbol, str]:
        """symbol_names with every per-example symbol carrying its example index: x_1(n)."""
        names = dict(ts.sym)
        if multi:
            for s, info in net.info.items():
                if info.kind in ("x", "y", "z", "a", "delta"):
                    names[s] = f"{ts.sym[s]}({n})"
        return names

    one = ex_names("1")
    shown_lines = {ln.what: ln for ln in sh.worked_lines()}

    # Forward pass of example 1, unit by unit.
    forward = []
    v0 = valued(0)
    for l in range(1, ts.L + 1):
        zs, more = _units_worked(ts, l, "forward")
        eqs = []
        for z in zs:
            terms = _z_terms(ts, z, v0)
            eqs.append(_aligned(one[z], _z_formula(ts, z, one), terms, tx(k(z, 0))))
        act = net.activation(l)
        if l in wide_softmax:
            # Σ_k e^{z_k} once, every term in unit order; then each output is e^{z_j} over that number.
            total = rf"\sum_{{k=1}}^{{{len(net.z[l])}}} e^{{{ts.names.unit_of('z', l, 'k')}{'(1)' if multi else ''}}}"
            exps = [rf"e^{{{tx(k(z, 0))}}}" for z in net.z[l]]
            eqs.append(_aligned(total, "", exps, tx(f"S{l}#0")))
            for j, z in enumerate(zs):
                a = net.a[l][j]
                eqs.append(_aligned(one[a], rf"\frac{{e^{{{one[z]}}}}}{{{total}}}",
                                    [rf"\frac{{e^{{{tx(k(z, 0))}}}}}{{{tx(f'S{l}#0')}}}"], tx(k(a, 0))))
            forward.append({"layer": ts.names.layer(l), "equations": eqs, "more": more})
            continue
        for j, z in enumerate(zs):
            a = net.a[l][j]
            f = activations.apply(act, z) if act != "softmax" else net.a_expr[a]
            if act == "identity":  # ŷ = z = −0.143: the value once, not (−0.143) = −0.143
                eqs.append(rf"{one[a]} &= {ts.tex(f, one)} = {tx(k(a, 0))}")
                continue
            eqs.append(_aligned(one[a], ts.tex(f, one), [_substituted(ts, f, v0)], tx(k(a, 0))))
        forward.append({"layer": ts.names.layer(l), "equations": eqs, "more": more})

    # The loss: example 1's, then (several examples) the sum of every example's.
    cost = ts.p.cost
    l2 = net.l2 is not None
    loss_lhs = rf"{cost}_{{1}}" if multi or l2 else cost
    loss_terms = ts.loss_terms(v0, dot=True)
    loss_lines = [_aligned(loss_lhs, ts.loss_rhs(one) if multi else ts.loss_rhs(), loss_terms, tx("J#0"),
                           lead=ts.loss_lead(v0, dot=True))]
    if multi:
        parts = [tx(f"J#{n}") for n in range(shown_m)]
        parts = [rf"\left({t}\right)" if t.startswith("-") else t for t in parts]
        total = rf"\sum_{{n=1}}^{{{ts.p.examples}}} {cost}_{{n}}"
        loss_lines.append(_aligned(total if l2 else cost, "" if l2 else total, _maybe_cut(parts, m), tx("J")))

    # δ of example 1, output layer first.
    deltas = []
    for l in range(ts.L, 0, -1):
        zs, more = _units_worked(ts, l, "delta")
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
            line = _aligned(one[dl], formula, terms, tx(k(dl, 0)), tail=tail)
            if net.activation(l) == "relu" and sh.value[k(z, 0)] == 0:
                line += rf" \\ &\qquad \text{{(${one[z]} = 0$ exactly, and $\operatorname{{ReLU}}'(0) = 0$)}}"
            eqs.append(line)
        deltas.append({"layer": ts.names.layer(l), "equations": eqs, "more": more})

    # Every example's z, a and δ, one row per example.
    tables = []
    # One example: the units not worked line by line still have every value on the page, in a table.
    unlisted = any(_units_worked(ts, l, kind)[1] for l in range(1, ts.L + 1) for kind in ("forward", "delta"))
    if multi or unlisted:
        for l in range(1, ts.L + 1):
            for kind, syms in (("z", net.z[l]), ("a", net.a[l])):
                tables.append(_example_table(ts, kind, l, syms, shown_m, tx, k, m))
        deltas_all = [_example_table(ts, "delta", l, net.delta[l], shown_m, tx, k, m) for l in range(ts.L, 0, -1)]
        loss_table = None
    else:
        deltas_all = []
        loss_table = None

    # Gradients and updates.
    grads = []
    rate = pv["rate"]
    for name in ts.matrices:
        params = [p for p in d.parameters if p.matrix == name]
        shown, more = listed(params)
        eqs, upd = [], []
        for p in shown:
            g = d.gradient[p.key]
            lhs = ts.dcost(ts.pname(p.key))
            decay = _l2_addend(ts, p, tx)  # (" + λ/m w", "0.35 · 0.1") for a weight of an L2 spec, else ("",)
            if multi:
                per_example = []
                for n in range(shown_m):
                    per_example.append(_substituted(ts, g, valued(n)))
                eqs.append(_aligned(lhs, rf"\sum_{{n=1}}^{{{ts.p.examples}}} {ts.tex(g, ex_names('n'))}" + decay[0],
                                    _maybe_cut(per_example, m) + list(decay[1:]), tx(f"g:{p.key}")))
            elif g.is_Symbol:
                eqs.append(rf"{lhs} &= {ts.tex(g)} = {tx(f'g:{p.key}')}")  # ∂J/∂b = δ: nothing to substitute
            else:
                eqs.append(_aligned(lhs, ts.tex(g) + decay[0], [_substituted(ts, g, v0)] + list(decay[1:]), tx(f"g:{p.key}")))
            if rate is not None:
                gt = tx(f"g:{p.key}")
                upd.append(rf"{ts.pname(p.key)} &\leftarrow {ts.pname(p.key)} - {ts.p.learning_rate}\, {lhs} "
                           rf"= {tx(p.symbol.name)} - {tx('eta')} \cdot {_pn(gt)} = {tx(f'u:{p.key}')}")
        mname = ts.names.matrix(name)
        grads.append({"name": mname, "equations": eqs, "more": more,
                      "matrix": _matrix(ts, name, lambda p: tx(f"g:{p.key}"), ts.dcost(mname), _l2_product_form(ts, name, m)),
                      "updated": upd,
                      "updated_matrix": _matrix(ts, name, lambda p: tx(f"u:{p.key}"), rf"{mname} \leftarrow") if rate is not None else [],
                      "lhs": ts.dcost(mname),
                      "given": _matrix(ts, name, lambda p: tx(p.symbol.name), f"{mname} ="),
                      })
    kink = any(sh.value[k(z, n)] == 0 for n in range(shown_m) for l in range(1, ts.L + 1) if net.activation(l) == "relu"
               for z in net.z[l])
    return {"forward": forward, "tables": tables, "deltas_all": deltas_all, "loss": loss_lines, "deltas": deltas,
            "gradients": grads, "given": [b for g in grads for b in g["given"]],
            "examples": m, "shown_examples": shown_m, "multi": multi, "figures": ts.precision,
            "rate": tex_number(sh.text("eta")) if rate is not None else None,
            "inputs": _inputs_tex(ts, sh, k), "data": _data_table(ts, sh, k, shown_m, m),
            "policy": _policy(ts, kink, m, shown_m, bool(sh.gaps)), "lines": sh.worked_lines(),
            "regularization": _l2_render(ts, sh, tx) if l2 else None}


MAX_TERMS_WORKED = 32  # a sum longer than this is worked in full for the layer's first unit only


def _units_worked(ts: Typesetter, l: int, kind: str) -> tuple[list, int]:
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


def _policy(ts: Typesetter, kink: bool, m: int, shown_m: int, gaps: bool = False) -> str:
    p = ts.precision
    text = (f"Numbers given in the spec are printed as written. Every computed number is exact when it is a short "
            f"decimal, and otherwise rounded to {p} significant figures ({p + GUARD} for a value that later lines "
            f"use, more where a later line needs them), so that every line gives its printed result, to the "
            f"figures printed, from the numbers printed in it.")
    if m > 1:
        text += (r" A number written with $(n)$ belongs to example $n$; $" + ts.p.cost + r"_n$ is the loss of example $n$"
                 + r" and $" + ts.p.cost + r"$ and the gradients sum over all examples.")
    if m > shown_m:
        text += (f" Examples 1 to {shown_m} of {m} are worked; the sums run over all {m} examples (their remaining "
                 f"terms are elided with $\\cdots$).")
    if gaps:
        text += (f" A value so near $1$ (or $-1$) that {MAX_FIGURES} figures would print $1$, where a later "
                 f"line needs the difference, is written $1 - d$ (or $1 + d$), $d$ rounded as above.")
    if kink:
        text += r" $\operatorname{ReLU}'(0)$ is taken to be $0$; where a unit sits exactly at $z = 0$ the line says so."
    return text


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


def _example_table(ts: Typesetter, kind: str, l: int, syms, shown_m: int, tx, k, m: int) -> dict:
    names = ts.names
    header = [ts.sym[s] for s in syms]
    rows = [[tx(k(s, n)) for s in syms] for n in range(shown_m)]
    label = names.vector(kind, l)
    if m == 1:
        title = rf"${label}$, every unit"
    elif shown_m < m:
        title = rf"${label}(n)$ for examples $n = 1, \ldots, {shown_m}$ of ${m}$, one row each"
    elif not ts.p.columns:
        title = rf"${label}$, one row per example (${ts.p.examples} \times {len(syms)}$)"
    else:
        title = rf"${label}(n)$ for every example $n$, one row each (the columns of the course's matrix)"
    return {"title": title, "blocks": table_blocks(header, rows)}


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


def _inputs_tex(ts: Typesetter, sh: _Sheet, k) -> str:
    parts = [f"${ts.s(x)} = {tex_number(sh.text(k(x, 0)))}$" for x in ts.net.x]
    parts += [f"${ts.s(y)} = {tex_number(sh.text(k(y, 0)))}$" for y in ts.net.y]
    return ", ".join(parts)


def _data_table(ts: Typesetter, sh: _Sheet, k, shown_m: int, m: int) -> list[str]:
    """Every example's inputs and targets as written in the spec, one labelled row per example."""
    values = ts.spec.values
    header = [ts.s(x) for x in ts.net.x] + [ts.s(y) for y in ts.net.y]
    rows = [[tex_number(printed_decimal(as_written(v), None)) for v in list(values.x[n]) + list(values.y[n])]
            for n in range(m)]
    return table_blocks(header, rows, split=len(ts.net.x))


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


_LAMBDA, _SLOPE, _SQUARES, _PENALTY, _DATA = (sp.Symbol(n, real=True) for n in ("lambda", "l2slope", "l2squares", "l2penalty", "l2data"))


def _l2_gradient(expr: sp.Expr, ops: dict, p) -> tuple[sp.Expr, dict]:
    """A weight's gradient line with the L2 term's part: Σₙ δ a + 2c·w (λ/m·w for the default scale)."""
    return expr + _SLOPE * p.symbol, {**ops, _SLOPE: "l2:slope", p.symbol: p.symbol.name}


def _l2_lines(sh: _Sheet, d, l2: dict) -> None:
    """The term's own lines: the slope 2c, Σw² over every weight, c·Σw², and J = the loss's sum + c·Σw²."""
    net = d.network
    weights = list(l2["weights"].values())
    sh.add("l2:lambda", l2["lambda"], given=True)
    sh.add("l2:slope", l2["slope"], guard=True)
    sh.add("l2:squares", l2["squares"], guard=True)
    sh.add("l2:penalty", l2["penalty"], guard=True)
    sh.add("l2:J", l2["total_loss"])
    lam, m = net.l2.symbol, net.m
    slope = (2 * net.l2.coefficient).xreplace({lam: _LAMBDA})
    # λ/2·Σw² gains λ·w: the factor is λ itself, given, and needs no line of its own on the page.
    sh.line("l2 slope", "l2:slope", slope, {s: ("l2:lambda" if s == _LAMBDA else m.name) for s in slope.free_symbols},
            shown=slope != _LAMBDA)
    sh.line("l2 squares", "l2:squares", sp.Add(*(w ** 2 for w in weights)), {w: w.name for w in weights}, shown=True)
    coefficient = net.l2.coefficient.xreplace({lam: _LAMBDA})
    ops = {s: ("l2:lambda" if s == _LAMBDA else m.name) for s in coefficient.free_symbols}
    sh.line("l2 penalty", "l2:penalty", coefficient * _SQUARES, {**ops, _SQUARES: "l2:squares"}, shown=True)
    sh.line("l2 loss", "l2:J", _DATA + _PENALTY, {_DATA: "J", _PENALTY: "l2:penalty"}, shown=True)


MAX_SQUARES_SHOWN = 12  # squared weights written out in Σw²; past this the first and last few, and the count


def _l2_render(ts: Typesetter, sh: _Sheet, tx) -> dict:
    """The answer sheet's L2 lines (J's term, then J) and the exercise sheet's question, as LaTeX pieces."""
    net, d = ts.net, ts.d
    cost, m_letter = ts.p.cost, ts.p.examples
    l2 = net.l2
    names = {**ts.sym, l2.symbol: r"\lambda"}
    coefficient, slope = ts.tex(l2.coefficient, names), ts.tex(2 * l2.coefficient, names)
    read = set(l2.weights)
    weights = [p for p in d.parameters if p.symbol in read]
    squares = [rf"{_pn(tx(p.symbol.name))}^{{2}}" for p in weights]
    if len(squares) > MAX_SQUARES_SHOWN:
        squares = squares[:3] + [rf"\cdots \text{{ ({len(weights) - 4} more) }}"] + squares[-1:]
    sum_w = rf"\sum {square(ts)}"
    with_numbers = lambda expr: ts.tex(expr.xreplace({l2.symbol: _LAMBDA}), {**ts.sym, _LAMBDA: tx("l2:lambda"),
                                                                              net.m: tx(net.m.name)}, mul_symbol="dot")
    lines = [
        _aligned(rf"\sum_{{w}} {square(ts)}", "", squares, tx("l2:squares")),
        _aligned(coefficient + sum_w, "", [rf"{with_numbers(l2.coefficient)} \cdot {tx('l2:squares')}"], tx("l2:penalty")),
        _aligned(cost, rf"\sum_{{n}} {cost}_{{n}} + {coefficient}{sum_w}", [rf"{tx('J')} + {tx('l2:penalty')}"], tx("l2:J")),
    ]
    slope_line = _aligned(slope, "", [with_numbers(2 * l2.coefficient)], tx("l2:slope")) if 2 * l2.coefficient != l2.symbol else ""
    return {"lambda": tx("l2:lambda"), "coefficient": coefficient, "slope": slope, "lines": lines, "slope_line": slope_line,
            "weights": len(weights), "loss": tx("l2:J")}


def _l2_addend(ts: Typesetter, p, tx) -> tuple:
    """("+ λ/m·w" as the formula's tail, "λ/m's value · w's value" as one more summed term) for a weight
    of an L2 spec; ("",) otherwise."""
    if ts.net.l2 is None or p.symbol not in ts.net.l2.weights:  # every weight, never a bias
        return ("",)
    slope = ts.tex(2 * ts.net.l2.coefficient, {**ts.sym, ts.net.l2.symbol: r"\lambda"})
    return (rf" + {slope}\, {ts.pname(p.key)}", rf"{tx('l2:slope')} \cdot {_pn(tx(p.symbol.name))}")


def _l2_product_form(ts: Typesetter, name: str, m: int) -> str:
    """`_product_form`, with + λ/m·W for a weight matrix of an L2 spec."""
    form = _product_form(ts, name, m)
    if ts.net.l2 is None or name.startswith("b"):
        return form
    slope = ts.tex(2 * ts.net.l2.coefficient, {**ts.sym, ts.net.l2.symbol: r"\lambda"})
    return form[:-len(" = ")] + rf" + {slope}\, {ts.names.matrix(name)} = "
