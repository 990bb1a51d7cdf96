"""Worked numbers: every z, a, δ, gradient and updated parameter, computed by the generated code.

The numbers come from evaluating the derivation's own scalar formulas (the worksheet's formulas),
so the answer sheet and the handout cannot disagree.
"""
from __future__ import annotations

import numpy as np

from .codegen import load_module, module_source
from .derivation import Derivation
from .spec import Values


def example_arrays(values: Values) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    params = {k: np.array(v, dtype=float) for k, v in values.params.items()}
    return params, np.array(values.x, dtype=float), np.array(values.y, dtype=float)


def compute_answers(derivation: Derivation, module=None) -> dict:
    """The answers object of `derive answers --json`, for a spec with [values]."""
    spec = derivation.network.spec
    if spec.values is None:
        raise ValueError("the spec has no [values]")
    module = module or load_module(module_source(derivation))  # the generated gradients.py, loaded
    params, X, Y = example_arrays(spec.values)
    trace = module.trace_scalar(params, X, Y)
    result = {
        "network": spec.name,
        "examples": int(X.shape[0]),
        "inputs": {"x": X.tolist(), "y": Y.tolist()},
        "parameters": {k: v.tolist() for k, v in params.items()},
        "loss": float(trace["loss"]),
        "forward": {k: v.tolist() for k, v in trace["forward"].items()},
        "delta": {k: v.tolist() for k, v in trace["delta"].items()},
        "gradients": {k: v.tolist() for k, v in trace["gradients"].items()},
    }
    if spec.l2:
        # J and every weight's gradient include the L2 term (the generated code adds it); say which.
        result["l2"] = {"lambda": spec.l2, "scale": spec.l2_scale, "weights": [n for n in params if n.startswith("W")]}
    rate = spec.values.learning_rate
    if rate is not None:
        result["learning_rate"] = rate
        result["updated"] = {k: (params[k] - rate * trace["gradients"][k]).tolist() for k in params}
    return result
