"""Proof that, for every parameter, the sum over its chain-rule paths equals its δ form — in time
linear in the number of weights, without listing a single path.

The handout's path sum for a parameter θ feeding unit z is f(z←θ)·P(z), where P(n) is the sum, over
the chain-rule paths from node n to J, of the product of the local factors on the path. Grouping the
paths by their first step gives P(n) = Σ_s f(s←n)·P(s) over the successors s of n (the distributive
law), so every P is computed once per node, from J backwards, by dynamic programming.

Two identities then make "path sum = δ form" hold for every θ:

1. **Output units.** The printed δ_j equals the chain Σ_i ∂J/∂a_i·∂a_i/∂z_j, which is P(z_j), as
   rational functions of the placeholders a, y, m (under Σ_k y_k = 1 where the derivation used it).
2. **Every parameter.** With the output δ's replaced by free indeterminates D_j, the path sum is
   Σ_j C_θj·D_j, where C_θj sums the paths from θ to z_j; it must equal the printed δ form
   (δ·input activation, each hidden δ expanded through the printed δ definitions down to the D_j)
   as polynomials in the placeholders and the D_j. Substituting D_j := δ_j, by (1), gives the claim.

Each identity is a polynomial identity test (Schwartz–Zippel): both sides are evaluated exactly,
modulo the prime p = 2^61 − 1, at independent uniformly random points. If the two sides differed,
their difference (denominators cleared) would be a nonzero polynomial of total degree at most d,
which vanishes at a random point with probability at most d/p; d is bounded from the expressions
themselves, and every identity is tested at `points` points. Every local factor, every P and every
δ is evaluated once per point and shared by all parameters, so the cost grows with the number of
edges (weights), not paths. Local derivatives that are not rational in the placeholders (ReLU's
step) are treated as independent indeterminates, which only makes the identity stronger.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Callable

import sympy as sp

from .derivation import Derivation

PRIME = 2**61 - 1  # a Mersenne prime: exact arithmetic on Python ints stays fast
POINTS = 2
MAX_REDRAWS = 20
METHOD = "polynomial identity test"


class ProofFailed(AssertionError):
    """A path sum and its δ form differ: a bug in the derivation, never in the user's spec."""


@dataclass(frozen=True)
class ParameterProof:
    key: str
    method: str
    detail: str
    failure: float = 0.0  # upper bound on the probability that a difference went unnoticed
    points: int = 0  # random points each identity was tested at
    prime: int = 0  # the modulus of the exact arithmetic


def prove(derivation: Derivation, points: int = POINTS, seed: int | None = None,
          progress: Callable[[int, int], None] | None = None) -> tuple[ParameterProof, ...]:
    """Establish path sum = δ form for every parameter; raises ProofFailed naming the first that differs.

    `seed=None` draws the points from the operating system, so that no point is fixed in advance;
    the result does not depend on the points unless an identity is false. `progress(done, total)` is
    called after each point.
    """
    rng = random.Random(seed) if seed is not None else random.SystemRandom()
    net = derivation.network
    outputs = [derivation.delta[z] for z in net.z[net.depth]]
    sides = _Degrees(derivation)
    for n in range(points):
        for attempt in range(MAX_REDRAWS):
            try:
                _check_point(derivation, _Point(derivation, rng))
                break
            except _ZeroDenominator:
                continue  # a denominator vanished at this point (probability ≤ degree / p): draw another
        else:
            raise ProofFailed(f"a denominator vanished at {MAX_REDRAWS} random points in a row")
        if progress is not None:
            progress(n + 1, points)
    out_bound = sum((sides.output_identity(d) / PRIME) ** points for d in outputs)
    results = []
    for p in derivation.parameters:
        d = sides.parameter_identity(p)
        failure = (d / PRIME) ** points
        results.append(ParameterProof(
            p.key, METHOD,
            f"{derivation.path_count[p.key].paths} paths summed by dynamic programming; both sides equal modulo "
            f"2^61 - 1 at {points} random points; degree <= {d}",
            failure + out_bound, points, PRIME))
    return tuple(results)


def failure_bound(proofs) -> float:
    """An upper bound on the probability that any proved identity is false although every test passed
    (union bound; each parameter's share repeats the output identities', so this over-counts)."""
    return min(1.0, sum(p.failure for p in proofs))


def _check_point(derivation: Derivation, at: _Point) -> None:
    net = derivation.network
    succ, factor = derivation.successors, at.factor
    # (1) Output units: printed δ_j against the chain through the loss, both from the same point.
    for z in net.z[net.depth]:
        d = derivation.delta[z]
        chain = sum(factor(a, z) * factor(net.J, a) for a in succ[z]) % PRIME
        if at.value(derivation.delta_expr[d]) != chain:
            raise ProofFailed(f"{d}: the printed output δ differs from Σ ∂J/∂a·∂a/∂z")
    # (2) Path sums with the output δ's as free indeterminates D_j, by dynamic programming from J back.
    paths: dict[sp.Symbol, int] = {z: at.free[derivation.delta[z]] for z in net.z[net.depth]}
    for l in range(net.depth - 1, 0, -1):
        for a, z in zip(net.a[l], net.z[l]):
            paths[a] = sum(factor(s, a) * paths[s] for s in succ[a]) % PRIME
            paths[z] = factor(a, z) * paths[a] % PRIME
    for p in derivation.parameters:
        # A weight with an L2 term also reaches J directly: one more path, of one factor.
        path_sum = sum(factor(s, p.symbol) * (1 if s == net.J else paths[s]) for s in succ[p.symbol]) % PRIME
        if at.delta_form(_delta_form(derivation, p.key)) != path_sum:
            raise ProofFailed(f"{p.key}: the sum over its chain-rule paths differs from its δ form")


class _Point:
    """One random point: every placeholder, output δ and non-rational atom gets a value mod PRIME.

    `value` evaluates an expression at the point; `delta_form` first evaluates every δ from its printed
    definition, the output δ's being the free D_j, and caches them, so each is computed once.
    """

    def __init__(self, derivation: Derivation, rng: random.Random):
        net = derivation.network
        self.rng = rng
        self.derivation = derivation
        self.values: dict[sp.Expr, int] = {}
        for s in sorted(set(net.info) - {net.J}, key=lambda s: s.name):
            if net.info[s].kind != "delta":
                self.values[s] = rng.randrange(PRIME)
        if any(o.used_target_sum for o in derivation.output_delta.values()):
            self.values[net.y[-1]] = (1 - sum(self.values[y] for y in net.y[:-1])) % PRIME
        self.free = {derivation.delta[z]: rng.randrange(PRIME) for z in net.z[net.depth]}
        self._factors: dict[tuple[sp.Symbol, sp.Symbol], int] = {}
        self._deltas_done = False

    def factor(self, numerator: sp.Symbol, denominator: sp.Symbol) -> int:
        key = (numerator, denominator)
        v = self._factors.get(key)
        if v is None:
            v = self._factors[key] = self.value(self.derivation.factors[key].value)
        return v

    def value(self, expr: sp.Expr) -> int:
        return _evaluate(expr, self.values, self.rng)

    def delta_form(self, expr: sp.Expr) -> int:
        """expr with every δ evaluated from its printed definition, output layer first (the D_j)."""
        if not self._deltas_done:
            net, d = self.derivation.network, self.derivation
            self.values.update(self.free)
            for l in range(net.depth - 1, 0, -1):
                for z in net.z[l]:
                    self.values[d.delta[z]] = self.value(d.delta_expr[d.delta[z]])
            self._deltas_done = True
        return self.value(expr)


def _evaluate(expr: sp.Expr, values: dict, rng: random.Random) -> int:
    """expr at the point, exactly, modulo PRIME. Atoms that are not rational in the placeholders
    (Heaviside(z)) get a random value the first time they are met, kept in `values`."""
    v = values.get(expr)
    if v is not None:
        return v
    if expr.is_Integer:
        return int(expr) % PRIME
    if expr.is_Rational:
        return expr.p * pow(expr.q, -1, PRIME) % PRIME
    if expr.is_Add:
        return sum(_evaluate(t, values, rng) for t in expr.args) % PRIME
    if expr.is_Mul:
        out = 1
        for t in expr.args:
            out = out * _evaluate(t, values, rng) % PRIME
        return out
    if expr.is_Pow and expr.exp.is_Integer:
        base = _evaluate(expr.base, values, rng)
        k = int(expr.exp)
        if k < 0:
            if base == 0:
                raise _ZeroDenominator
            base, k = pow(base, -1, PRIME), -k
        return pow(base, k, PRIME)
    if expr.is_Function:
        v = values[expr] = rng.randrange(PRIME)  # an independent indeterminate, same value wherever it recurs
        return v
    raise ProofFailed(f"cannot evaluate {expr} exactly: not a rational function of the placeholders")


class _ZeroDenominator(ArithmeticError):
    """The random point hit a zero of a denominator (probability ≤ degree / 2^61); draw another."""


class _Degrees:
    """Bounds on total degrees, numerator and denominator, of every expression both sides are built from.

    A bound (n, d) says the expression, with fractions combined without cancelling, is N/D with
    deg N ≤ n and deg D ≤ d; placeholders, the D_j and non-rational atoms have degree 1.
    """

    def __init__(self, derivation: Derivation):
        self.d = derivation
        net = derivation.network
        self.memo: dict[sp.Expr, tuple[int, int]] = {}
        for z in net.z[net.depth]:
            self.memo[derivation.delta[z]] = (1, 0)  # the free D_j
        for l in range(net.depth - 1, 0, -1):
            for z in net.z[l]:
                dz = derivation.delta[z]
                self.memo[dz] = self.of(derivation.delta_expr[dz])
        # P(n), the path sums with D_j free, by the same recursion as the evaluation
        self.paths: dict[sp.Symbol, tuple[int, int]] = {z: (1, 0) for z in net.z[net.depth]}
        for l in range(net.depth - 1, 0, -1):
            for a, z in zip(net.a[l], net.z[l]):
                self.paths[a] = _add([_mul(self.factor(s, a), self.paths[s]) for s in derivation.successors[a]])
                self.paths[z] = _mul(self.factor(a, z), self.paths[a])

    def factor(self, numerator, denominator) -> tuple[int, int]:
        return self.of(self.d.factors[(numerator, denominator)].value)

    def of(self, expr: sp.Expr) -> tuple[int, int]:
        got = self.memo.get(expr)
        if got is not None:
            return got
        if expr.is_Number:
            got = (0, 0)
        elif expr.is_Symbol or expr.is_Function:
            got = (1, 0)
        elif expr.is_Add:
            got = _add([self.of(t) for t in expr.args])
        elif expr.is_Mul:
            got = (0, 0)
            for t in expr.args:
                got = _mul(got, self.of(t))
        elif expr.is_Pow and expr.exp.is_Integer:
            n, d = self.of(expr.base)
            k = int(expr.exp)
            got = (k * n, k * d) if k >= 0 else (-k * d, -k * n)
        else:
            raise ProofFailed(f"cannot bound the degree of {expr}")
        self.memo[expr] = got
        return got

    def output_identity(self, delta: sp.Symbol) -> int:
        """Degree of printed δ_j − chain_j, denominators cleared."""
        net, d = self.d.network, self.d
        z = next(z for z in net.z[net.depth] if d.delta[z] == delta)
        chain = _add([_mul(self.factor(a, z), self.factor(net.J, a)) for a in d.successors[z]])
        return _identity_degree(self.of(d.delta_expr[delta]), chain)

    def parameter_identity(self, p) -> int:
        J = self.d.network.J
        path_sum = _add([self.factor(s, p.symbol) if s == J else _mul(self.factor(s, p.symbol), self.paths[s])
                         for s in self.d.successors[p.symbol]])
        return _identity_degree(self.of(_delta_form(self.d, p.key)), path_sum)


def _delta_form(derivation: Derivation, key: str) -> sp.Expr:
    """δ · (input activation), plus the L2 term's own ∂J/∂w when the spec has one."""
    return derivation.gradient[key] + derivation.regularization.get(key, 0)


def _add(terms: list[tuple[int, int]]) -> tuple[int, int]:
    den = sum(d for _, d in terms)
    return (max((n + den - d for n, d in terms), default=0), den)


def _mul(x: tuple[int, int], y: tuple[int, int]) -> tuple[int, int]:
    return (x[0] + y[0], x[1] + y[1])


def _identity_degree(left: tuple[int, int], right: tuple[int, int]) -> int:
    """Degree bound of N_l·D_r − N_r·D_l, plus the denominators' degrees (the chance of redrawing)."""
    return max(left[0] + right[1], right[0] + left[1]) + left[1] + right[1] + 1


def bits(probability: float) -> int:
    """The k in 'at most 2^-k', rounded down to stay an upper bound."""
    return 1024 if probability <= 0 else math.floor(-math.log2(probability))
