"""Losses: each is one example's contribution to J, written over the output activations.

J = Σ over examples of `per_example(a, y, m)`, with m the number of examples (a symbol), so the
mean losses carry their 1/m into every δ. `stable_form` rewrites the logarithms of a sigmoid or
softmax output in terms of z so that generated code stays finite when a prediction is exactly 0 or 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp

from .activations import LogSigmoid, LogSumExp


@dataclass(frozen=True)
class Loss:
    name: str
    scale: Callable[[sp.Symbol], sp.Expr]  # the constant in front of the sum, given m
    kind: str  # "squared", "binary" or "categorical"
    # The loss over all examples in LaTeX, with placeholders a notation profile fills in: <y> the
    # target, <yhat> the output, <m> the number of examples, <error> (y − ŷ) or (ŷ − y).
    formula: str

    def per_example(self, a: list[sp.Symbol], y: list[sp.Symbol], m: sp.Symbol) -> sp.Expr:
        if self.kind == "squared":
            core = sum((yi - ai) ** 2 for ai, yi in zip(a, y))
        elif self.kind == "binary":
            core = -sum(yi * sp.log(ai) + (1 - yi) * sp.log(1 - ai) for ai, yi in zip(a, y))
        else:
            core = -sum(yi * sp.log(ai) for ai, yi in zip(a, y))
        return self.scale(m) * core

    def stable_form(self, expr: sp.Expr, a: list[sp.Symbol], z: list[sp.Symbol], output: str,
                    lse: sp.Expr | None = None) -> sp.Expr:
        """The same loss with ln a (and ln(1 − a)) replaced by their stable forms in z.

        For a softmax output, `lse` stands for ln Σ_k e^{z_k} (by default written over `z`).
        """
        if self.kind == "squared":
            return expr
        if output == "softmax":
            lse = LogSumExp(*z) if lse is None else lse
            logs = {sp.log(ai): zi - lse for ai, zi in zip(a, z)}
        else:
            logs = {sp.log(ai): LogSigmoid(zi) for ai, zi in zip(a, z)}
            logs.update({sp.log(1 - ai): LogSigmoid(-zi) for ai, zi in zip(a, z)})
        return expr.xreplace(logs)


def _half(m):
    return sp.Rational(1, 2)


LOSSES = {
    "half_sse": Loss("half_sse", _half, "squared", r"\frac{1}{2}\sum <error>^2"),
    "sse": Loss("sse", lambda m: sp.Integer(1), "squared", r"\sum <error>^2"),
    "half_mse": Loss("half_mse", lambda m: 1 / (2 * m), "squared", r"\frac{1}{2<m>}\sum <error>^2"),
    "mse": Loss("mse", lambda m: 1 / m, "squared", r"\frac{1}{<m>}\sum <error>^2"),
    "bce": Loss("bce", lambda m: sp.Integer(1), "binary", r"-\sum \left[<y> \ln <yhat> + (1 - <y>)\ln(1 - <yhat>)\right]"),
    "bce_mean": Loss("bce_mean", lambda m: 1 / m, "binary", r"-\frac{1}{<m>}\sum \left[<y> \ln <yhat> + (1 - <y>)\ln(1 - <yhat>)\right]"),
    "cross_entropy": Loss("cross_entropy", lambda m: sp.Integer(1), "categorical", r"-\sum <y> \ln <yhat>"),
    "cross_entropy_mean": Loss("cross_entropy_mean", lambda m: 1 / m, "categorical", r"-\frac{1}{<m>}\sum <y> \ln <yhat>"),
}
