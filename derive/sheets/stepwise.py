"""One gradient derived the long way, one differentiation rule per line (seed 001 style): the
nested loss is differentiated with respect to one weight, expanding each z only when it is reached."""
from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from .. import activations
from .scope import one_example
from .typeset import Typesetter

MAX_STEP_LINES = 16


class _Prime(sp.Function):
    """f'(v) for display in the line-by-line derivation: args are (v,) and the name is in `name`."""

    name = "f"

    def _latex(self, printer, exp=None):
        return rf"{self.name}'\left({printer._print(self.args[0])}\right)"


def _prime_class(latex_name: str) -> type:
    return type(f"Prime_{abs(hash(latex_name)) % 10**8}", (_Prime,), {"name": latex_name})


_PRIMES: dict[str, type] = {}  # one class per printed name (σ, g, tanh, …)


def _prime(ts: Typesetter, activation: str) -> type:
    tex = ts.names.function(activation)
    return _PRIMES.setdefault(tex, _prime_class(tex))


@dataclass(frozen=True)
class Step:
    rhs: str
    rule: str

    @property
    def rule_below(self) -> bool:
        """True when the line and its rule would not fit side by side: the rule gets a row of its own."""
        return _width(self.rhs) + (7 * len(self.rule)) // 10 > MAX_LINE_WIDTH


# In the rough units of `_width` (about 5.5 pt each), calibrated on generated sheets: a 482 pt text
# block holds about 85; a derivation with a wider line is not shown (the next candidate is tried).
MAX_LINE_WIDTH = 80


def _width(tex: str) -> int:
    """A rough width of a line of LaTeX: its printed characters, with fractions and brackets counted once."""
    tex = re.sub(r"\\(left|right|,|;|quad|qquad)", "", tex)
    tex = re.sub(r"\\[a-zA-Z]+", "x", tex)
    return len(re.sub(r"[{}^_&\s]|\\\\", "", tex))


def stepwise(ts: Typesetter) -> dict | None:
    """The first-layer weight with the fewest factors, else an output-layer weight, derived line by
    line; None when neither can be written out in a few short lines."""
    ts = one_example(ts)  # the loss differentiated here is one example's term
    layer1 = [p for p in ts.d.parameters if p.layer == 1 and p.source is not None]
    order = {p.key: i for i, p in enumerate(ts.d.parameters)}  # list.index per candidate is quadratic in the weights
    candidates = sorted(layer1, key=lambda p: (ts.d.path_count[p.key].factors, order[p.key]))[:1]
    last = [p for p in ts.d.parameters if p.layer == ts.L and p.source is not None][:1]
    for p in candidates + last:
        steps = _Stepper(ts, p).run()
        if steps is not None:
            return {"name": ts.pname(p.key), "lhs": ts.dcost(ts.pname(p.key)), "steps": steps,
                    "first_layer": p.layer == 1}
    return None


class _Stepper:
    """One gradient derived by differentiating the nested loss, one rule per line (seed 001 style)."""

    def __init__(self, ts: Typesetter, param):
        self.ts, self.p = ts, param
        self.theta = param.symbol

    def expression(self) -> sp.Expr:
        net, d = self.ts.net, self.ts.d
        reach, stack = set(), [self.theta]
        while stack:
            node = stack.pop()
            for nxt in d.successors.get(node, ()):
                if nxt not in reach:
                    reach.add(nxt)
                    stack.append(nxt)
        # Units the parameter reaches are written as f(z); each z is expanded only when it is
        # differentiated ("definition of z"), which keeps every line short.
        self.reach = reach
        self.subs = {a: net.a_expr[a] for l in range(1, net.depth + 1) for a in net.a[l] if a in reach}
        return self.ts.squared_order(net.loss_expr).xreplace(self.subs)

    def run(self) -> list[Step] | None:
        ts = self.ts
        if ts.net.activation(ts.L) == "softmax":
            return None  # decided before the nested loss is built and typeset: over a wide softmax that is slow
        expr = self.expression()
        if len(ts.tex(expr)) > 500:
            return None
        # a term is (coefficient, [factors], pending expression or None)
        terms = [(sp.Integer(1), [], expr)]
        steps = [Step(self.show(terms), "")]
        while any(t[2] is not None for t in terms):
            if len(steps) > MAX_STEP_LINES:
                return None
            i = next(i for i, t in enumerate(terms) if t[2] is not None)
            result = self.rule(*terms[i])
            if result is None:
                return None
            new, rule = result
            terms = terms[:i] + new + terms[i + 1:]
            steps.append(Step(self.show(terms), rule))
        if any(_width(step.rhs) > MAX_LINE_WIDTH for step in steps):
            return None
        return steps

    def rule(self, coeff, factors, u):
        theta = self.theta
        net = self.ts.net
        if isinstance(u, sp.Symbol) and u in self.reach and u in net.z_expr:
            return [(coeff, factors, net.z_expr[u].xreplace(self.subs))], rf"definition of ${self.ts.s(u)}$"
        if u == theta:
            return [(coeff, factors, None)], rf"$\partial {self.ts.pname(self.p.key)}/\partial {self.ts.pname(self.p.key)} = 1$"
        if isinstance(u, sp.Add):
            parts = [t for t in u.args if self.depends(t)]
            rule = "sum rule; constants drop out" if len(parts) < len(u.args) else "sum rule"
            return [(coeff, factors, t) for t in parts], rule
        if isinstance(u, sp.Mul):
            const = sp.Mul(*[t for t in u.args if not self.depends(t)])
            rest = [t for t in u.args if self.depends(t)]
            if len(rest) != 1:
                return None
            c, f = const.as_coeff_Mul()
            fs = factors + ([f] if f != 1 else [])
            return [(coeff * c, fs, rest[0])], "constant factor"
        if isinstance(u, sp.Pow) and not self.depends(u.exp):
            n, base = u.exp, u.base
            c = n
            f = base ** (n - 1)
            fs = factors + ([f] if f != 1 else [])
            return [(coeff * c, fs, base)], "power rule, chain rule"
        if isinstance(u, activations.Sigmoid):
            return [(coeff, factors + [_prime(self.ts, "sigmoid")(u.args[0])], u.args[0])], rf"derivative of ${self.ts.names.function('sigmoid')}$, chain rule"
        if isinstance(u, sp.tanh):
            return [(coeff, factors + [_prime(self.ts, "tanh")(u.args[0])], u.args[0])], rf"derivative of ${self.ts.names.function('tanh')}$, chain rule"
        if isinstance(u, activations.ReLU):
            return [(coeff, factors + [_prime(self.ts, "relu")(u.args[0])], u.args[0])], rf"derivative of ${self.ts.names.function('relu')}$, chain rule"
        if isinstance(u, sp.log):
            return [(coeff, factors + [1 / u.args[0]], u.args[0])], r"derivative of $\ln$, chain rule"
        if isinstance(u, sp.exp):
            return [(coeff, factors + [u], u.args[0])], r"derivative of $e^x$, chain rule"
        return None

    def depends(self, expr: sp.Expr) -> bool:
        return bool(expr.free_symbols & (self.reach | {self.theta}))

    def show(self, terms) -> str:
        ts = self.ts
        theta = ts.pname(self.p.key)
        parts = []
        for coeff, factors, pending in terms:
            pieces = [ts.paren(f) for f in factors]
            if pending is not None:
                pieces.append(rf"\frac{{\partial}}{{\partial {theta}}}\left[{ts.sum_tex(pending)}\right]")
            body = r" ".join(pieces) or "1"
            c = coeff
            sign = "-" if c < 0 else "+"
            c = abs(c)
            if c != 1:
                body = ts.tex(c) + " " + body
            parts.append((sign, body))
        out = []
        for n, (sign, body) in enumerate(parts):
            if n == 0:
                out.append(("-" if sign == "-" else "") + body)
            else:
                out.append(rf"\\ &\qquad {sign} {body}")
        return " ".join(out)
