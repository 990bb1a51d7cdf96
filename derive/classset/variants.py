"""Each student's numbers: the spec's [values] with what [variants] names redrawn.

A student's generator is seeded from a hash of (class seed, student id) alone, so a student's
sheet never depends on who else is on the roster or in which order.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np

from ..engine.spec import Spec, Values, Variants
from ..errors import DeriveError
from ..numbers import reference

MAX_DRAWS = 100  # redraws allowed while avoiding ReLU kinks before the ranges are called unusable
KINK = 1e-9  # a ReLU pre-activation this close to 0 sits on the kink, where the slope is a convention


def student_rng(class_seed: int, student_id: str) -> np.random.Generator:
    digest = hashlib.sha256(f"derive-class\0{class_seed}\0{student_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def _draw(rng: np.random.Generator, low: float, high: float, shape, decimals: int) -> np.ndarray:
    values = np.round(rng.uniform(low, high, size=shape), decimals)
    return values + 0.0  # -0.0 becomes 0.0: a sheet never prints "-0.00"


def _targets(rng: np.random.Generator, spec: Spec, variants: Variants, shape: tuple[int, int]) -> np.ndarray:
    if spec.activations[-1] == "softmax":
        return np.eye(shape[1])[rng.integers(0, shape[1], size=shape[0])]  # one class per example
    if spec.loss.startswith(("bce", "cross_entropy")):
        return rng.integers(0, 2, size=shape).astype(float)  # a 0/1 label per output
    low, high = variants.targets
    return _draw(rng, low, high, shape, variants.decimals)


def _as_tuple(arr: np.ndarray) -> tuple:
    return tuple(_as_tuple(a) for a in arr) if arr.ndim > 1 else tuple(float(a) for a in arr)


def has_kink(spec: Spec, values: Values) -> bool:
    """True when a ReLU pre-activation of any example sits within KINK of 0 (by the independent forward pass)."""
    relu = [l for l in range(1, spec.depth + 1) if spec.activations[l - 1] == "relu"]
    if not relu:
        return False
    forward = reference.forward(spec, values.params, np.array(values.x, dtype=float))
    return any(np.any(np.abs(forward[f"z{l}"]) < KINK) for l in relu)


def draw_values(spec: Spec, class_seed: int, student_id: str) -> Values:
    """One student's Values, redrawn (from the same generator) while a ReLU sits on its kink, if asked."""
    variants, template = spec.variants, spec.values
    if variants is None or template is None:
        raise DeriveError(f"{spec.source}: variants: a class set needs [values] and a [variants] table")
    rng = student_rng(class_seed, student_id)
    shapes = spec.parameter_shapes()
    x_shape = (len(template.x), spec.layers[0])
    y_shape = (len(template.y), spec.layers[-1])
    for _ in range(MAX_DRAWS):
        params = dict(template.params)
        if variants.weights is not None:
            params = {n: _as_tuple(_draw(rng, *variants.weights, s, variants.decimals)) for n, s in shapes.items()}
        x = template.x if variants.inputs is None else _as_tuple(_draw(rng, *variants.inputs, x_shape, variants.decimals))
        y = template.y if variants.targets is None else _as_tuple(_targets(rng, spec, variants, y_shape))
        values = replace(template, x=x, y=y, params=params, layout="out_in", seed=None)
        if not (variants.avoid_kinks and has_kink(spec, values)):
            return values
    raise DeriveError(f"{spec.source}: variants: {MAX_DRAWS} draws for student {student_id!r} all put a ReLU "
                      "pre-activation at 0; widen the ranges or raise decimals")


def canonical_values(values: Values) -> dict:
    """A student's numbers as a spec's [values] would give them (canonical layout, W of shape (out, in))."""
    out = {"x": [list(r) for r in values.x], "y": [list(r) for r in values.y]}
    for name, arr in values.params.items():
        out[name] = [list(r) for r in arr] if arr and isinstance(arr[0], tuple) else list(arr)
    if values.learning_rate is not None:
        out["learning_rate"] = values.learning_rate
    return out
