"""Check the generated gradients against the independent backprop and finite differences.

The finite differences know where they cannot be trusted: a parameter whose step moves a ReLU unit's
pre-activation across (or off) its kink at 0 is not differenced, and named as such, instead of being
reported as a mismatch; the step shrinks where the function is steep (a unit that multiplies
the step by 50), so the truncation error stays small without giving up on the parameter.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.spec import Spec
from . import reference
from .answers import example_arrays

EXACT_TOLERANCE = 1e-12  # generated code vs the independent backprop: same maths, different route
FD_TOLERANCE = 1e-7  # vs central differences with Richardson extrapolation


REL_STEP = 1e-3  # the largest change of any pre-activation a difference step may cause
# Below this relative difference two float64 routes to one number differ by rounding alone (the
# bundled examples: 0 to 3.5e-15, by machine): printed as the bound, not as a machine's own noise.
ROUNDING = 1e-14


@dataclass(frozen=True)
class Comparison:
    name: str
    worst: float  # largest relative difference max|got − want| / max|want| over the parameters
    parameter: str  # where it occurred: the entry, e.g. W1[0,1]
    tolerance: float  # relative
    ok: bool  # every parameter within tolerance · max|want| + the absolute floor
    skipped: tuple[str, ...] = ()  # entries not compared (a finite difference across a ReLU kink)
    difference: float = 0.0  # the absolute difference at `parameter`
    scale: float = 0.0  # max|want| of that parameter (0: every entry should be 0)

    def shown(self, figures: int = 3) -> str:
        """The largest relative difference as printed: the rounding bound when it is below it."""
        return f"< {ROUNDING:.0e}" if self.worst < ROUNDING else f"{self.worst:.{figures - 1}e}"


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
            measured = (f"{c.shown()} (float rounding; tolerance {c.tolerance:.0e})" if c.worst < ROUNDING else
                        f"{c.shown()} at {c.parameter} (tolerance {c.tolerance:.0e})")
            out.append(f"  {c.name:<40} largest relative difference {measured} {verdict}")
            if c.skipped:
                out.append(f"  {'':<40} not differenced, a ReLU kink lies within the step: {_listing(c.skipped)}")
        return out

    def failures(self, source: str) -> list[str]:
        """One line per failing comparison, naming the spec file and the parameter entry."""
        return [f"{source}: check: {c.name}: {c.parameter} differs by "
                + (f"{c.worst:.2e} relative (tolerance {c.tolerance:.0e})" if c.scale > 0 else
                   f"{c.difference:.2e} where every entry should be 0")
                for c in self.comparisons if not c.ok]


def _listing(names: tuple[str, ...], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def problem_for(spec: Spec, seed: int = 0):
    if spec.values is not None:
        return "spec values", example_arrays(spec.values)
    return "seeded random values", reference.random_problem(spec, seed)


def compare(name: str, got: dict, want: dict, tolerance: float, floor: float, skip: dict | None = None) -> Comparison:
    """Per parameter: |got − want| ≤ tolerance · max|want| + floor; reports the worst relative difference.

    `skip` maps a parameter to a boolean mask of entries not to compare (kinks in the way).
    """
    worst, where, ok, skipped, difference, worst_scale = -1.0, "-", True, [], 0.0, 0.0
    for key, expected in want.items():
        expected = np.asarray(expected, dtype=float)
        mask = np.asarray(skip[key]) if skip and key in skip else np.zeros(expected.shape, dtype=bool)
        skipped.extend(_entry(key, idx) for idx in zip(*np.nonzero(mask))) if mask.ndim else None
        # finite differences of a very large problem cover a sample: the rest are NaN, not compared
        mask = mask | ~np.isfinite(expected)
        expected = np.where(mask, 0.0, expected)
        if mask.all():
            continue
        diffs = np.where(mask, 0.0, np.abs(np.asarray(got[key], dtype=float) - expected))
        if not diffs.size:
            continue
        scale = float(np.max(np.abs(expected)))
        ok = ok and float(np.max(diffs)) <= tolerance * scale + floor
        relative = float(np.max(diffs)) / max(scale, 1e-300)
        if relative > worst:
            at = np.unravel_index(int(np.argmax(np.where(mask, -1.0, diffs))), diffs.shape)
            worst, where = relative, _entry(key, at) if diffs.ndim else key
            difference, worst_scale = float(np.max(diffs)), scale
    return Comparison(name, max(worst, 0.0), where, tolerance, ok, tuple(skipped), difference, worst_scale)


def _entry(key: str, idx) -> str:
    return f"{key}[{','.join(str(int(i)) for i in idx)}]" if len(idx) else key


def kink_aware_differences(spec: Spec, params, X, Y, rel_step: float = REL_STEP, only: dict | None = None):
    """dJ/dθ by Richardson-extrapolated central differences, and where they could not be taken.

    Returns (gradients, skipped masks, smallest step). For each entry the step starts at
    rel_step · max(1, |θ|) / max(1, |X|) and shrinks until no pre-activation moves by more than
    rel_step (steep units); an entry whose step moves any ReLU pre-activation to the other side of
    0, onto it or off it, straddles the kink and is not differenced (its mask entry is True).
    `only` (parameter -> boolean mask) limits the work to those entries; the others are NaN.
    """
    P, Xm, Ym = reference._inputs(spec, params, X, Y)
    relu_layers = [l for l in range(1, spec.depth + 1) if spec.activations[l - 1] == "relu"]
    input_scale = max(1.0, float(np.max(np.abs(Xm)))) if Xm.size else 1.0
    base_zs, _ = reference._forward(spec, P, Xm)

    def run(theta):
        zs, acts = reference._forward(spec, theta, Xm)
        return reference._loss_value(spec, zs[-1], acts[-1], Ym) + reference._l2_penalty(spec, theta, Xm.shape[0]), zs

    def moved(zs) -> float:
        return max(float(np.max(np.abs(zs[l] - base_zs[l]), initial=0.0)) for l in range(1, spec.depth + 1))

    def crosses(zs) -> bool:
        return any(np.any(np.sign(zs[l]) != np.sign(base_zs[l])) for l in relu_layers)

    grads, skipped, smallest = {}, {}, np.inf
    for name, value in P.items():
        grad = np.zeros_like(value) if only is None else np.full(value.shape, np.nan)
        mask = np.zeros(value.shape, dtype=bool)
        for idx in np.ndindex(value.shape):
            if only is not None and not only[name][idx]:
                continue
            orig = value[idx]

            def at(step):
                trial = value.copy()
                trial[idx] = orig + step
                return run({**P, name: trial})

            h = rel_step * max(1.0, abs(orig)) / input_scale
            (plus, zp), (minus, zm) = at(h), at(-h)
            for _ in range(6):  # steep: shrink the step until no pre-activation moves more than rel_step
                shift = max(moved(zp), moved(zm))
                if shift <= 2 * rel_step:
                    break
                h *= rel_step / shift
                (plus, zp), (minus, zm) = at(h), at(-h)
            if crosses(zp) or crosses(zm):
                mask[idx] = True
                continue
            (half_plus, _), (half_minus, _) = at(h / 2), at(-h / 2)
            wide, narrow = (plus - minus) / (2 * h), (half_plus - half_minus) / h
            grad[idx] = (4.0 * narrow - wide) / 3.0
            smallest = min(smallest, h)
        grads[name], skipped[name] = grad, mask
    return grads, skipped, smallest


def _sample_note(fd: dict) -> str:
    """' (on 1,234 of 49,536 entries)' when the finite differences covered a sample only."""
    total = sum(v.size for v in fd.values())
    done = sum(int(np.isfinite(v).sum()) for v in fd.values())
    return "" if done == total else f" (on {done:,} of {total:,} entries)"


def check_module(spec: Spec, module, seed: int = 0) -> CheckReport:
    """Check a loaded generated module (`codegen.load_module`) for `spec`."""
    on, (params, X, Y) = problem_for(spec, seed)
    loss, grads, _ = reference.backprop(spec, params, X, Y)
    matrix, scalar = module.gradients(params, X, Y), module.gradients_scalar(params, X, Y)
    natural = max(1.0, abs(loss)) * max(1.0, float(np.max(np.abs(X))))
    if sum(np.size(v) for v in grads.values()) <= CAREFUL_ENTRIES:
        fd, kinks, step = kink_aware_differences(spec, params, X, Y)
    else:
        fd, kinks, step = _large_differences(spec, params, X, Y, matrix, natural, abs(loss))
    # Absolute allowances: the textbook σ' = a(1 − a) loses digits when a unit saturates
    # (1 − a cancels), ~1e-16 of the gradient's natural size; finite differences carry rounding
    # noise of ~1e-16·|J|/h. A wrong derivation is off by far more than either.
    exact_floor = 1e-13 * natural
    fd_floor = max(1e-11 * natural, 1e-14 * max(1.0, abs(loss)) / step if np.isfinite(step) else 0.0)
    comparisons = (
        compare("gradients (matrix form) vs backprop", matrix, grads, EXACT_TOLERANCE, exact_floor),
        compare("gradients_scalar vs backprop", scalar, grads, EXACT_TOLERANCE, exact_floor),
        compare("gradients (matrix form) vs finite diff." + _sample_note(fd), matrix, fd, FD_TOLERANCE, fd_floor, kinks),
        compare("loss vs backprop", {"J": float(module.loss(params, X, Y))}, {"J": np.array(loss)}, EXACT_TOLERANCE, 0.0),
    )
    return CheckReport(spec.name, on, loss, comparisons)


# Up to this many parameter entries every entry is differenced with the careful per-entry method
# (the limit-sized 10 × 32 net has about 10,000); past it, batched passes come first.
CAREFUL_ENTRIES = 12_000


def _large_differences(spec: Spec, params, X, Y, matrix: dict, natural: float, loss: float):
    """Batched (and, past the work budget, sampled) finite differences; the entries where they
    disagree with the matrix form are differenced again with the careful per-entry method, which
    shrinks the step for steep units and names the entries a ReLU kink lies across."""
    fd = reference.finite_differences(spec, params, X, Y)
    # the same allowance as the comparison itself, with the batched passes' smallest step
    floor = max(1e-11 * natural, 1e-14 * max(1.0, loss) * max(1.0, float(np.max(np.abs(X)))) / REL_STEP)
    rough = {}
    for key, expected in fd.items():
        known = np.isfinite(expected)
        scale = float(np.max(np.abs(expected[known]), initial=0.0))
        diff = np.abs(np.asarray(matrix[key], dtype=float) - np.where(known, expected, 0.0))
        rough[key] = known & (diff > FD_TOLERANCE * scale + floor)
    kinks = {key: np.zeros(np.shape(v), dtype=bool) for key, v in fd.items()}
    step = REL_STEP / max(1.0, float(np.max(np.abs(X))))
    if any(m.any() for m in rough.values()):
        careful, kinks, step = kink_aware_differences(spec, params, X, Y, only=rough)
        for key, again in rough.items():
            fd[key] = np.where(again, careful[key], fd[key])
    return fd, kinks, step
