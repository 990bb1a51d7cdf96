"""The answer sheet's worked numbers, as data first: every line is a `WorkedLine` (what it computes,
the expression it prints, its printed operands and its printed result), and only then LaTeX.

The numbers are the derivation's own formulas evaluated from the spec's decimals in exact and
high-precision arithmetic (`answers.precise`). The printing rule, stated on the sheet:

* numbers the spec gives are printed as written (1, 0.5, 0.15);
* a computed number that is an exact short decimal (z = 1.3) is printed exactly;
* every other computed number is rounded to `precision` significant figures, and a value that is
  used again in a later line (z, a, δ, one example's loss) carries one guard figure more;
* if a line's printed operands would not give its printed result to the printed precision, the
  operands get more figures until they do (`_settle`), so that every line can be re-done by hand.

A test re-evaluates every line of every sheet from the printed operands (tests/test_worked_lines.py).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

import mpmath
import sympy as sp

from .. import activations
from ..answers import DIGITS, Number, as_written, evaluate, exact_work, precise
from .equations import MAX_SOFTMAX_TERMS
from .fdcheck import check as fd_check
from .typeset import Typesetter, join_terms, listed, matrix_blocks, table_blocks, tex_number, wrap_terms

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


def printed_decimal(value: Number, figures: int | None) -> str:
    """`value` as decimal text: exactly when it is a short exact decimal (or `figures` is None),
    else rounded half-even to `figures` significant figures (trailing zeros kept: they are printed)."""
    if isinstance(value, Fraction):
        exact = _exact_decimal(value)
        if exact is not None and (figures is None or len(exact.as_tuple().digits) <= figures + 2):
            return _plain(exact)
        if figures is None:
            raise ValueError(f"{value} has no exact decimal")
    with localcontext() as ctx:
        ctx.prec = DIGITS + 10
        d = _to_decimal(value)
        if d == 0:
            return "0"
        q = d.quantize(Decimal(1).scaleb(d.adjusted() - figures + 1), rounding=ROUND_HALF_EVEN)
        return str(q)


def _exact_decimal(value: Fraction) -> Decimal | None:
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1:
        return None
    with localcontext() as ctx:
        ctx.prec = 200
        return (Decimal(value.numerator) / Decimal(value.denominator)).normalize()


def _plain(d: Decimal) -> str:
    if d == d.to_integral_value():
        return str(int(d))
    return str(d)


def _to_decimal(value: Number) -> Decimal:
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    with mpmath.workdps(DIGITS):
        return Decimal(mpmath.nstr(value, DIGITS, strip_zeros=False, min_fixed=-mpmath.inf, max_fixed=mpmath.inf))


def reproduces(expr: sp.Expr, operands: dict, result: str) -> bool:
    """Whether `expr` at the printed operands, rounded to the printed precision of `result`, is `result`."""
    env = {s: Fraction(Decimal(t)) for s, t in operands.items()}
    with mpmath.workdps(CHECK_DIGITS):
        value = evaluate(expr, env)
    want = Decimal(result)
    with localcontext() as ctx:
        ctx.prec = DIGITS + 10
        got = _to_decimal(value).quantize(Decimal(1).scaleb(want.as_tuple().exponent), rounding=ROUND_HALF_EVEN)
    return got == want


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
        self.ceiling: dict[str, int] = {}  # figures a value may not exceed (its operands cancel)

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
            cached = printed_decimal(self.value[key], None if key in self.given else self.figures[key])
            self._texts[key] = cached
        return cached

    def settle(self) -> None:
        """Give operands more figures until every complete line reproduces its printed result.

        A failing line gets one more figure on the operand whose rounding moves its value most
        (the others keep theirs); then the lines that print that value (its own line must now
        reproduce one more figure, the lines using it see a new operand) are checked again."""
        lines = [ln for ln in self.lines if ln[5]]
        producing: dict[str, list[int]] = {}
        using: dict[str, list[int]] = {}
        for i, (what, key, expr, ops, shown, complete) in enumerate(lines):
            producing.setdefault(key, []).append(i)
            for k in sorted(set(ops.values())):
                using.setdefault(k, []).append(i)
        pending = list(range(len(lines)))
        queued = set(pending)
        budget = 50 * len(lines) + 100  # each bump is one more figure on one value: this always ends
        while pending and budget > 0:
            i = pending.pop()
            queued.discard(i)
            budget -= 1
            what, key, expr, ops, shown, complete = lines[i]
            printed = {s: self.text(k) for s, k in ops.items()}
            if reproduces(expr, printed, self.text(key)):
                continue
            k = self._worst_operand(expr, ops, printed)
            if k is None:
                # Every operand is exact or at its most figures (a sum that cancels): the result
                # keeps only the figures its operands support, and may never get more again.
                if key in self.given or self.figures[key] <= 1:
                    continue
                k = key
                self.figures[k] -= 1
                self.ceiling[k] = self.figures[k]
            else:
                self.figures[k] += 1
            self._texts.pop(k, None)
            for j in [i] + producing.get(k, []) + using.get(k, []):
                if j not in queued:
                    queued.add(j)
                    pending.append(j)

    def _worst_operand(self, expr: sp.Expr, ops: dict, printed: dict) -> str | None:
        """The rounded operand whose exact value changes the line's value most."""
        env = {s: Fraction(Decimal(t)) for s, t in printed.items()}
        with mpmath.workdps(CHECK_DIGITS):
            base = _to_decimal(evaluate(expr, env))
            worst, size = None, Decimal(-1)
            for s, k in sorted(ops.items(), key=lambda item: item[1]):
                if k in self.given or self.figures[k] >= self.ceiling.get(k, MAX_FIGURES) or env[s] == self.value[k]:
                    continue
                trial = dict(env)
                trial[s] = self.value[k]
                change = abs(_to_decimal(evaluate(expr, trial)) - base)
                if change > size:
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
    if pv["loss"] is None:  # too many examples for exact totals: the module's floats, as answers.json
        pv["loss"] = Fraction(numbers["loss"])
        pv["gradients"] = {p.key: Fraction(_entry(numbers["gradients"], p)) for p in d.parameters}
        if pv["rate"] is not None:
            pv["updated"] = {p.key: Fraction(_entry(numbers["updated"], p)) for p in d.parameters}
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
        with mpmath.workdps(DIGITS):
            sh.add(f"J#{n}", evaluate(per_loss, env), guard=multi)
    sh.add("J", pv["loss"] if multi else sh.value["J#0"])
    for p in d.parameters:
        sh.add(f"g:{p.key}", pv["gradients"][p.key])
        if pv["rate"] is not None:
            sh.add(f"u:{p.key}", pv["updated"][p.key])
            # Enough figures that the step itself shows (to two figures), not just the old value again.
            step = abs(float(pv["updated"][p.key]) - float(pv["params"][p.symbol]))
            new = abs(float(pv["updated"][p.key]))
            if step > 0 and new > 0:
                extra = math.floor(math.log10(new)) - math.floor(math.log10(step)) + 2
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
        sh.line(f"gradient {p.key}", f"g:{p.key}", expr, ops, shown=p.key in first_params[p.matrix], complete=all_examples)
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
            total = rf"\sum_{{k=1}}^{{{len(net.z[l])}}} e^{{{ts.names.vector('z', l)}_{{k}}{'(1)' if multi else ''}}}"
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
            eqs.append(_aligned(one[a], ts.tex(f, one), [_substituted(ts, f, v0)], tx(k(a, 0))))
        forward.append({"layer": ts.names.layer(l), "equations": eqs, "more": more})

    # The loss: example 1's, then (several examples) the sum of every example's.
    cost = ts.p.cost
    loss_lhs = rf"{cost}_{{1}}" if multi else cost
    loss_terms = ts.loss_terms(v0, dot=True)
    loss_lines = [_aligned(loss_lhs, ts.loss_rhs(one) if multi else ts.loss_rhs(), loss_terms, tx("J#0"),
                           lead=ts.loss_lead(v0, dot=True))]
    if multi:
        parts = [tx(f"J#{n}") for n in range(shown_m)]
        parts = [rf"\left({t}\right)" if t.startswith("-") else t for t in parts]
        loss_lines.append(_aligned(cost, rf"\sum_{{n=1}}^{{{ts.p.examples}}} {cost}_{{n}}", _maybe_cut(parts, m), tx("J")))

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
            if multi:
                per_example = []
                for n in range(shown_m):
                    per_example.append(_substituted(ts, g, valued(n)))
                eqs.append(_aligned(lhs, rf"\sum_{{n=1}}^{{{ts.p.examples}}} {ts.tex(g, ex_names('n'))}", _maybe_cut(per_example, m),
                                    tx(f"g:{p.key}")))
            elif g.is_Symbol:
                eqs.append(rf"{lhs} &= {ts.tex(g)} = {tx(f'g:{p.key}')}")  # ∂J/∂b = δ: nothing to substitute
            else:
                eqs.append(_aligned(lhs, ts.tex(g), [_substituted(ts, g, v0)], tx(f"g:{p.key}")))
            if rate is not None:
                gt = tx(f"g:{p.key}")
                upd.append(rf"{ts.pname(p.key)} &\leftarrow {ts.pname(p.key)} - {ts.p.learning_rate}\, {lhs} "
                           rf"= {tx(p.symbol.name)} - {tx('eta')} \cdot {_pn(gt)} = {tx(f'u:{p.key}')}")
        mname = ts.names.matrix(name)
        grads.append({"name": mname, "equations": eqs, "more": more,
                      "matrix": _matrix(ts, name, lambda p: tx(f"g:{p.key}"), ts.dcost(mname), _product_form(ts, name, m)),
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
            "policy": _policy(ts, kink, m, shown_m), "lines": sh.worked_lines()}


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


def _policy(ts: Typesetter, kink: bool, m: int, shown_m: int) -> str:
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
    return _DOUBLE_BRACKETS.sub(r"\\left(\1\\right)", text)


_DOUBLE_BRACKETS = re.compile(r"\\left\(\\left\((-[^()]+?)\\right\)\\right\)")


def _aligned(lhs: str, formula: str, terms: list[str], value: str, lead: str = "", tail: str = "") -> str:
    """`lhs &= formula = t1 + t2 + … = value`, broken over lines of the align where it is long.

    `terms` are summed; `lead` multiplies the bracketed sum from the left, `tail` from the right."""
    once = lambda text: _DOUBLE_BRACKETS.sub(r"\\left(\1\\right)", text)  # ReLU′((−0.55)) → ReLU′(−0.55)
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
        return rf"\mathbf{{1}}_m^T {dl} = " if not ts.p.columns else rf"\sum_n {dl}(n) = "
    dst, src = n._matrix_layers(name)
    a, dl = n.vector("a", src), n.vector("delta", dst)
    if not ts.p.columns:
        at = rf"{a}^T" if "^" not in a else rf"\left({a}\right)^T"
        return rf"{at} {dl} = "
    if m == 1:
        return rf"{dl} \left({a}\right)^T = "
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
