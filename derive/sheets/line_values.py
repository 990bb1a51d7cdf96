"""A worked line's value from its printed operands, and how it moves when one operand is made exact.

Settling a sheet's figures (`settle.Sheet.settle`) evaluates every line many times. Two kinds of
arithmetic do it:

- `FRACTIONS`: exact fractions where the formula allows, mpmath for σ, tanh, exp and ln (the
  derivation's own evaluator, `answers.evaluate`);
- `DECIMALS`: Python's `Decimal` in a context far wider than any line needs, with every rounding
  trapped. Printed operands are decimals, and sums, products and whole powers of decimals are
  decimals, so a line that is a polynomial in its operands with decimal constants (a pre-activation,
  a δ of a hidden layer, a gradient, an update) is computed exactly, in C, several times faster.

Both give the same exact value where both apply; a line that is not such a polynomial, or whose
digits would not fit, uses `FRACTIONS`.
"""
from __future__ import annotations

import functools
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, Underflow
from fractions import Fraction
from typing import Callable, NamedTuple

import mpmath
import sympy as sp

from ..numbers.answers import MAX_GAP_DIGITS, Number, add, evaluate, mul, sub, to_mpf

# Operands have a few dozen digits, or, written as 1 − d for a saturated unit, up to MAX_GAP_DIGITS
# and a few; a line multiplies a handful of them over a few hundred terms. The context is wider
# than that (its digits cost only where they are used), and if it were reached the trap says so
# instead of rounding.
WIDTH = 10 * MAX_GAP_DIGITS
EXACT = Context(prec=WIDTH, rounding=ROUND_HALF_EVEN, Emax=10**6, Emin=-10**6,
                traps=[Inexact, InvalidOperation, DivisionByZero, Overflow, Underflow])
NOT_EXACT = (Inexact, InvalidOperation, DivisionByZero, Overflow, Underflow)
ROUNDING = Context(prec=WIDTH, rounding=ROUND_HALF_EVEN, Emax=10**6, Emin=-10**6)  # rounding a result is meant


class Arithmetic(NamedTuple):
    leaf: Callable[[sp.Expr, dict], object]  # a node that is neither a sum nor a product
    total: Callable[[list], object]
    product: Callable[[list], object]
    minus: Callable[[object, object], object]
    size: Callable[[object], object]  # |v|, comparable between values of one line


def _fold(op):
    def folded(values):
        total = values[0]
        for v in values[1:]:
            total = op(total, v)
        return total
    return folded


def _decimal_leaf(expr: sp.Expr, env: dict) -> Decimal:
    if expr.is_Symbol:
        return env[expr]
    if expr.is_Integer:
        return Decimal(int(expr))
    if expr.is_Rational:
        return EXACT.divide(Decimal(int(expr.p)), Decimal(int(expr.q)))  # exact for a decimal constant (checked)
    if expr.is_Pow:
        return EXACT.power(polynomial(expr.base)(env), int(expr.exp))
    raise TypeError(f"{type(expr).__name__} is not a polynomial node")


FRACTIONS = Arithmetic(leaf=evaluate, total=_fold(add), product=_fold(mul), minus=sub, size=lambda v: abs(to_mpf(v)))
DECIMALS = Arithmetic(leaf=_decimal_leaf, total=_fold(EXACT.add), product=_fold(EXACT.multiply),
                      minus=EXACT.subtract, size=abs)


def terminates(denominator: int) -> bool:
    """Whether a fraction with this denominator has a finite decimal (its only prime factors are 2 and 5)."""
    # d divides 10^k for k = its bit length exactly when it is 2^i 5^j (i, j < k): a few modular
    # products, where dividing out 2s and 5s one at a time costs seconds on a 4,000-digit 10^k.
    return pow(10, denominator.bit_length(), denominator) == 0 if denominator > 1 else True


def is_decimal_polynomial(expr: sp.Expr) -> bool:
    """Whether `expr` is built from symbols, decimal constants, sums, products and whole powers ≥ 0."""
    if expr.is_Symbol:
        return True
    if expr.is_Rational:
        return terminates(int(expr.q))
    if isinstance(expr, (sp.Add, sp.Mul)):
        return all(is_decimal_polynomial(a) for a in expr.args)
    if expr.is_Pow:
        return expr.exp.is_Integer and int(expr.exp) >= 0 and is_decimal_polynomial(expr.base)
    return False


def decimal(value: Number) -> Decimal:
    """A worked number as a Decimal: exactly when it has a short decimal, else to 60 significant digits."""
    if isinstance(value, Fraction):
        if terminates(value.denominator):  # else the division would run to the context's last digit first
            try:
                return EXACT.divide(Decimal(value.numerator), Decimal(value.denominator))
            except NOT_EXACT:
                pass
        return Context(prec=60).divide(Decimal(value.numerator), Decimal(value.denominator))
    return Decimal(mpmath.nstr(value, 60, strip_zeros=False, min_fixed=0, max_fixed=0))


def rounds_to(value: Decimal, result: str) -> bool:
    """Whether the exact `value`, rounded half-even to the printed precision of `result`, is `result`."""
    want = Decimal(result)
    return ROUNDING.quantize(value, Decimal(1).scaleb(want.as_tuple().exponent)) == want


@functools.lru_cache(maxsize=200_000)
def polynomial(expr: sp.Expr) -> Callable[[dict], Decimal]:
    """`expr` (a decimal polynomial) as a function of its decimal operands, exact: it raises one of
    NOT_EXACT rather than round. The tree is walked once here, not at every evaluation."""
    if expr.is_Symbol:
        return lambda env: env[expr]
    if isinstance(expr, (sp.Add, sp.Mul)):
        parts = [polynomial(a) for a in expr.args]
        op = EXACT.add if isinstance(expr, sp.Add) else EXACT.multiply

        def combined(env):
            total = parts[0](env)
            for part in parts[1:]:
                total = op(total, part(env))
            return total
        return combined
    if expr.is_Pow:
        base, n = polynomial(expr.base), int(expr.exp)
        return lambda env: EXACT.power(base(env), n)
    const = _decimal_leaf(expr, {})
    return lambda env: const


def node_value(expr: sp.Expr, env: dict, memo: dict, arith: Arithmetic):
    """`expr` at `env`, remembering the value of every sum and product in it (and of their terms)."""
    value = memo.get(expr)
    if value is None:
        if isinstance(expr, sp.Add):
            value = arith.total([node_value(a, env, memo, arith) for a in expr.args])
        elif isinstance(expr, sp.Mul):
            value = arith.product([node_value(a, env, memo, arith) for a in expr.args])
        else:
            value = arith.leaf(expr, env)
        memo[expr] = value
    return value


def symbols_of(expr: sp.Expr, symbols: dict) -> frozenset:
    inside = symbols.get(expr)
    if inside is None:
        inside = symbols[expr] = frozenset(expr.free_symbols)
    return inside


def with_operand(expr: sp.Expr, s: sp.Symbol, value, env: dict, memo: dict, symbols: dict, arith: Arithmetic):
    """`expr` with the operand `s` at `value` and every other at `env`: the parts without `s` from `memo`
    (filled by `node_value`), so only the terms on the way from `s` to the top are evaluated again."""
    if s not in symbols_of(expr, symbols):
        return memo[expr]
    if expr == s:
        return value
    if isinstance(expr, sp.Add):
        change = [arith.minus(with_operand(a, s, value, env, memo, symbols, arith), memo[a]) for a in expr.args
                  if s in symbols_of(a, symbols)]
        return arith.total([memo[expr]] + change)
    if isinstance(expr, sp.Mul):
        return arith.product([with_operand(a, s, value, env, memo, symbols, arith) for a in expr.args])
    return arith.leaf(expr, {**env, s: value})
