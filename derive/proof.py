"""Proof that the sum over chain-rule paths equals the δ form, parameter by parameter.

Both sides are polynomials in the local-derivative values, so their difference is expanded and
compared with zero when the path sum is small; larger sums are compared at random points with
exact rational arithmetic (an identity of polynomials that holds at random points holds
everywhere with probability 1); sums past `max_paths` are not enumerated and say so.
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
    for p in derivation.parameters:
        count = derivation.path_count[p.key].paths
        if count > max_paths:
            results.append(ParameterProof(p.key, "skipped", f"{count} paths exceed the limit of {max_paths}"))
            continue
        paths = derivation.path_sum(p.key).xreplace(constraint)
        delta_form = derivation.expanded_delta(derivation.gradient[p.key]).xreplace(constraint)
        difference = paths - delta_form
        if count <= SYMBOLIC_LIMIT:
            if sp.expand(difference) != 0:
                raise AssertionError(f"{p.key}: the path sum and the δ form differ")
            results.append(ParameterProof(p.key, "symbolic", f"{count} path(s): difference expands to 0"))
            continue
        symbols = sorted(difference.free_symbols, key=lambda s: s.name)
        for _ in range(points):
            point = {s: sp.Rational(rng.randint(1, 999), 1000) for s in symbols}
            if paths.xreplace(point) != delta_form.xreplace(point):
                raise AssertionError(f"{p.key}: the path sum and the δ form differ at a random rational point")
        results.append(ParameterProof(p.key, "numeric", f"{count} paths: exactly equal at {points} random rational points"))
    return tuple(results)


def _target_constraint(derivation: Derivation) -> dict:
    """One-hot targets sum to 1; where the output δ used that, both sides are compared under it."""
    if not any(o.used_target_sum for o in derivation.output_delta.values()):
        return {}
    y = derivation.network.y
    return {y[-1]: 1 - sp.Add(*y[:-1])}
