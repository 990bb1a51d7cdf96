"""L2 regularization: J = loss + c·Σ W² over every weight matrix (skip connections too), never biases.

How λ enters c is a convention that differs from course to course; the spec names one of four
(`network.l2_scale`), looked up in `SCALES`, never evaluated. m is the number of examples, as in
the losses. The term belongs to the whole batch, not to one example: its gradient ∂J/∂w = 2c·w is
added once to the sum over the examples of δ·a, and a weight reaches J along one more path, of one
factor. λ stays a symbol in the derivation (a handout prints λ/m) and becomes the spec's number,
exactly, where numbers are computed (`L2Term.numeric`).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import sympy as sp

# c(λ, m) for each convention: Ng's ex4 and deeplearning.ai λ/(2m)·ΣW², CS231n's λ·ΣW² and ½λ·ΣW².
SCALES: dict[str, Callable[[sp.Expr, sp.Expr], sp.Expr]] = {
    "1/(2m)": lambda lam, m: lam / (2 * m),
    "1/m": lambda lam, m: lam / m,
    "1/2": lambda lam, m: lam / 2,
    "1": lambda lam, m: lam,
}


@dataclass(frozen=True)
class L2Term:
    symbol: sp.Symbol  # λ
    value: sp.Rational  # the spec's λ as the decimal it wrote (0.7 → 7/10, not the float's binary value)
    scale: str  # a key of SCALES
    coefficient: sp.Expr  # c(λ, m)
    expr: sp.Expr  # c · Σ w² over every weight symbol: the batch's regularization term
    weights: tuple[sp.Symbol, ...] = ()  # the weights the term reads: every weight, never a bias

    def slope(self, weight: sp.Symbol) -> sp.Expr:
        """∂(c Σ w²)/∂w = 2c·w: λ/m·w for the default 1/(2m)."""
        return 2 * self.coefficient * weight

    def numeric(self, expr: sp.Expr) -> sp.Expr:
        """`expr` with λ replaced by the spec's value."""
        return expr.xreplace({self.symbol: self.value})


def l2_term(lam: float, scale: str, symbol: sp.Symbol, m: sp.Symbol, weights: list[sp.Symbol]) -> L2Term:
    coefficient = SCALES[scale](symbol, m)
    # repr gives the shortest decimal that reads back as the same float: the number the spec wrote.
    exact = Fraction(repr(float(lam)))
    value = sp.Rational(exact.numerator, exact.denominator)
    return L2Term(symbol, value, scale, coefficient, coefficient * sp.Add(*(w ** 2 for w in weights)), tuple(weights))
