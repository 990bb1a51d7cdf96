"""Which J a handout line is about: one example's term or the whole batch.

The chain-rule paths, the δ recursion and the column-vector formulas follow one example. When a
spec has m ≠ 1 examples (or none, so m is general), J sums the examples' terms, J = Σₙ Jₙ, and a
parameter's gradient adds every example's paths. Lines about one example then name their cost Jₙ,
so every printed equality holds for the J the sheet defines; δ = ∂J/∂z needs no change (z is one
example's, and only that example's term depends on it). An L2 term (J = Σₙ Jₙ + c·ΣW²) makes one
example's term part of J even when m = 1; the sheets state the term and its gradient on their own.
"""
from __future__ import annotations

import copy
import dataclasses

from .typeset import Typesetter


def examples(ts: Typesetter) -> int | None:
    """The number of examples m the spec gives, or None for a spec without numbers."""
    return len(ts.spec.values.x) if ts.spec.values is not None else None


def per_example(ts: Typesetter) -> bool:
    """True when one example's derivative is not the gradient of J (m ≠ 1, or m not given, or J has
    an L2 term: that term is the batch's, so even one example's Jₙ is not all of J)."""
    return examples(ts) != 1 or ts.net.l2 is not None


def one_cost(ts: Typesetter) -> str:
    """The cost of one example as printed: J_n (J itself when m = 1)."""
    return rf"{ts.p.cost}_{{n}}" if per_example(ts) else ts.p.cost


def one_example(ts: Typesetter) -> Typesetter:
    """`ts`, printing the cost as one example's term J_n when the spec has m ≠ 1 examples."""
    if not per_example(ts):
        return ts
    view = copy.copy(ts)
    cost = one_cost(ts)
    view.p = dataclasses.replace(ts.p, cost=cost)
    view.sym = {**ts.sym, ts.net.J: cost}
    view.vec = {**ts.vec, ts.net.J: cost}
    return view
