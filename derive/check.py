"""Check the generated gradients against the independent backprop and finite differences."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import reference
from .answers import example_arrays
from .spec import Spec

EXACT_TOLERANCE = 1e-12  # generated code vs the independent backprop: same maths, different route
FD_TOLERANCE = 1e-7  # vs central differences with Richardson extrapolation


@dataclass(frozen=True)
class Comparison:
    name: str
    worst: float  # largest relative difference max|got − want| / max|want| over the parameters
    parameter: str  # where it occurred
    tolerance: float  # relative
    ok: bool  # every parameter within tolerance · max|want| + the absolute floor


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


def compare(name: str, got: dict, want: dict, tolerance: float, floor: float) -> Comparison:
    """Per parameter: |got − want| ≤ tolerance · max|want| + floor; reports the worst relative difference."""
    worst, where, ok = -1.0, "-", True
    for key, expected in want.items():
        expected = np.asarray(expected, dtype=float)
        known = np.isfinite(expected)  # finite differences of a very large problem cover a sample (NaN elsewhere)
        diff = float(np.max(np.abs(np.asarray(got[key], dtype=float)[known] - expected[known]), initial=0.0))
        scale = float(np.max(np.abs(expected[known]), initial=0.0))
        ok = ok and diff <= tolerance * scale + floor
        relative = diff / max(scale, 1e-300)
        if relative > worst:
            worst, where = relative, key
    return Comparison(name, worst, where, tolerance, ok)


def _sample_note(fd: dict) -> str:
    """' (on 1,234 of 49,536 entries)' when the finite differences covered a sample only."""
    total = sum(v.size for v in fd.values())
    done = sum(int(np.isfinite(v).sum()) for v in fd.values())
    return "" if done == total else f" (on {done:,} of {total:,} entries)"


def check_module(spec: Spec, module, seed: int = 0) -> CheckReport:
    """Check a loaded generated module (`codegen.load_module`) for `spec`."""
    on, (params, X, Y) = problem_for(spec, seed)
    loss, grads, _ = reference.backprop(spec, params, X, Y)
    fd = reference.finite_differences(spec, params, X, Y)
    natural = max(1.0, abs(loss)) * max(1.0, float(np.max(np.abs(X))))
    # Absolute allowances: the textbook σ' = a(1 − a) loses digits when a unit saturates
    # (1 − a cancels), ~1e-16 of the gradient's natural size; finite differences carry rounding
    # noise of ~1e-16·|J|/h. A wrong derivation is off by far more than either.
    exact_floor, fd_floor = 1e-13 * natural, 1e-11 * natural
    matrix, scalar = module.gradients(params, X, Y), module.gradients_scalar(params, X, Y)
    comparisons = (
        compare("gradients (matrix form) vs backprop", matrix, grads, EXACT_TOLERANCE, exact_floor),
        compare("gradients_scalar vs backprop", scalar, grads, EXACT_TOLERANCE, exact_floor),
        compare("gradients (matrix form) vs finite diff." + _sample_note(fd), matrix, fd, FD_TOLERANCE, fd_floor),
        compare("loss vs backprop", {"J": float(module.loss(params, X, Y))}, {"J": np.array(loss)}, EXACT_TOLERANCE, 0.0),
    )
    return CheckReport(spec.name, on, loss, comparisons)
