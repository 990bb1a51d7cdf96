"""Check the generated gradients against the independent backprop and finite differences."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import reference
from .answers import example_arrays
from .codegen import load_module
from .spec import Spec

EXACT_TOLERANCE = 1e-12  # generated code vs the independent backprop: same maths, different route
FD_TOLERANCE = 1e-7  # vs central differences with Richardson extrapolation


@dataclass(frozen=True)
class Comparison:
    name: str
    worst: float  # largest relative difference over all parameters
    parameter: str  # where it occurred
    scale: float  # the largest |entry| of that parameter's reference gradient
    tolerance: float
    floor: float = 0.0  # absolute allowance for the reference's own rounding noise

    @property
    def ok(self) -> bool:
        return self.worst * self.scale <= self.tolerance * self.scale + self.floor


@dataclass(frozen=True)
class CheckReport:
    spec_name: str
    on: str  # "spec values" or "seeded random values"
    loss: float
    comparisons: tuple[Comparison, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.comparisons)

    def lines(self) -> list[str]:
        out = [f"{self.spec_name}: checked on {self.on}, J = {self.loss:.10g}"]
        for c in self.comparisons:
            verdict = "ok" if c.ok else "MISMATCH"
            out.append(f"  {c.name:<40} largest relative difference {c.worst:.2e} at {c.parameter} (tolerance {c.tolerance:.0e}) {verdict}")
        return out


def problem_for(spec: Spec, seed: int = 0):
    if spec.values is not None:
        return "spec values", example_arrays(spec.values)
    return "seeded random values", reference.random_problem(spec, seed)


def relative_difference(got: dict, want: dict) -> tuple[float, str, float]:
    """Largest max|got − want| / max|want| over the parameters, where, and that parameter's scale."""
    worst, where, at_scale = -1.0, "-", 1.0
    for name, expected in want.items():
        diff = float(np.max(np.abs(np.asarray(got[name], dtype=float) - expected)))
        scale = max(float(np.max(np.abs(expected))), 1e-300)
        if diff / scale > worst:
            worst, where, at_scale = diff / scale, name, scale
    return worst, where, at_scale


def check_module(spec: Spec, source: str, seed: int = 0) -> CheckReport:
    module = load_module(source)
    on, (params, X, Y) = problem_for(spec, seed)
    loss, grads, _ = reference.backprop(spec, params, X, Y)
    fd = reference.finite_differences(spec, params, X, Y)
    floor = 1e-11 * max(1.0, abs(loss))  # rounding noise of finite differences, ~1e-16·|J|/h
    comparisons = []
    for label, got in (("gradients (matrix form) vs backprop", module.gradients(params, X, Y)),
                       ("gradients_scalar vs backprop", module.gradients_scalar(params, X, Y))):
        comparisons.append(Comparison(label, *relative_difference(got, grads), EXACT_TOLERANCE))
    comparisons.append(Comparison("gradients (matrix form) vs finite diff.",
                                  *relative_difference(module.gradients(params, X, Y), fd), FD_TOLERANCE, floor))
    loss_gap = abs(float(module.loss(params, X, Y)) - loss) / max(abs(loss), 1e-300)
    comparisons.append(Comparison("loss vs backprop", loss_gap, "J", max(abs(loss), 1e-300), EXACT_TOLERANCE))
    return CheckReport(spec.name, on, loss, tuple(comparisons))
