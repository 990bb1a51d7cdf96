"""Proof that the sum over chain-rule paths equals the δ form, parameter by parameter.

Both sides are rational functions of the placeholder values (a, W, x, y, m), so their difference
is cancelled and compared with zero when the path sum is small; larger sums are compared at random
points with exact rational arithmetic (an identity of rational functions that holds at random
points holds everywhere with probability 1); sums past `max_paths` are not enumerated and say so.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import sympy as sp

from .derivation import Derivation

SYMBOLIC_LIMIT = 16


@dataclass(frozen=True)
class ParameterProof:
    key: str
    method: str  # "symbolic", "numeric" or "skipped"
    detail: str


def prove(derivation: Derivation, max_paths: int = 4096, points: int = 3, seed: int = 0) -> tuple[ParameterProof, ...]:
    rng = random.Random(seed)
    results = []
    constraint = _target_constraint(derivation)
    evaluations: list[_Evaluation] = []  # the random points, drawn once and shared by all parameters
    for p in derivation.parameters:
        count = derivation.path_count[p.key].paths
        if count > max_paths:
            results.append(ParameterProof(p.key, "skipped", f"{count} paths exceed the limit of {max_paths}"))
            continue
        if count <= SYMBOLIC_LIMIT:
            paths = derivation.path_sum(p.key).xreplace(constraint)
            delta_form = derivation.expanded_delta(_delta_form(derivation, p.key)).xreplace(constraint)
            # cancel, not expand: a simplified output δ (σ with bce) leaves fractions in the path sum
            if sp.cancel(paths - delta_form) != 0:
                raise AssertionError(f"{p.key}: the path sum and the δ form differ")
            results.append(ParameterProof(p.key, "symbolic", f"{count} path(s): difference cancels to 0"))
            continue
        if not evaluations:
            evaluations.extend(_Evaluation(derivation, _random_point(derivation, rng, constraint)) for _ in range(points))
        for at in evaluations:
            if at.path_sum(p.key) != at.delta_form(p.key):
                raise AssertionError(f"{p.key}: the path sum and the δ form differ at a random rational point")
        results.append(ParameterProof(p.key, "numeric", f"{count} paths: exactly equal at {points} random rational points"))
    return tuple(results)


def _random_point(derivation: Derivation, rng: random.Random, constraint: dict) -> dict:
    """Random rationals for every symbol the local factors and δ definitions use."""
    net = derivation.network
    symbols = set(net.info) - set(sp.flatten(net.delta)) - {net.J}
    point = {s: sp.Rational(rng.randint(1, 999), 1000) for s in sorted(symbols, key=lambda s: s.name)}
    point[net.m] = sp.Integer(rng.randint(1, 9))
    for target, value in constraint.items():
        point[target] = value.xreplace(point)
    return point


class _Evaluation:
    """Both sides at one point: each local factor and each δ is evaluated once and reused."""

    def __init__(self, derivation: Derivation, point: dict):
        self.derivation = derivation
        self.factor_values = {edge: f.value.xreplace(point) for edge, f in derivation.factors.items()}
        net = derivation.network
        self.values = dict(point)
        for l in range(net.depth, 0, -1):
            for d in net.delta[l]:
                self.values[d] = derivation.delta_expr[d].xreplace(self.values)

    def path_sum(self, key: str) -> sp.Rational:
        """Σ over explicitly enumerated paths of the product of the local factors' values."""
        total = sp.Integer(0)
        for path in self.derivation.paths(key):
            product = sp.Integer(1)
            for f in path:
                product *= self.factor_values[(f.numerator, f.denominator)]
            total += product
        return total

    def delta_form(self, key: str) -> sp.Rational:
        """δ · (input activation), with every δ evaluated from its definition, output layer first."""
        return _delta_form(self.derivation, key).xreplace(self.values)


def _delta_form(derivation: Derivation, key: str) -> sp.Expr:
    """δ · (input activation), plus the L2 term's own ∂J/∂w when the spec has one."""
    return derivation.gradient[key] + derivation.regularization.get(key, 0)


def _target_constraint(derivation: Derivation) -> dict:
    """One-hot targets sum to 1; where the output δ used that, both sides are compared under it."""
    if not any(o.used_target_sum for o in derivation.output_delta.values()):
        return {}
    y = derivation.network.y
    return {y[-1]: 1 - sp.Add(*y[:-1])}
