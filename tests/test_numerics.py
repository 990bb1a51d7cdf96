"""Numerics at the extremes: the generated module and the worked answers stay finite and warning-free.

Every activation in the hidden and the output layer, with every loss it may feed, is evaluated with
pre-activations up to ±1000 in every layer (so σ and softmax outputs are exactly 0 or 1 in floating
point, and bce / cross-entropy see predictions of exactly 0 and 1, with targets at both ends), under
`numpy.errstate(over="raise", divide="raise", invalid="raise")` and with warnings as errors. The
gradients must still match the independent backprop of `derive.numbers.reference`:

* float64: normwise relative difference max|g − g_ref| / max|g_ref| over all parameters ≤ 1e-12;
* float32: the module computes in float32 (float32 in → float32 out) and is compared with the
  reference evaluated on the same float32 numbers in float64. Rounding a pre-activation of size
  |z| ≈ 1000 in float32 moves it by ~|z|·2⁻²⁴ ≈ 6e-5, and exp-based activations turn that absolute
  error into a relative one, so the tolerance is 100·2⁻²⁴·max|z| (≈ 6e-3 at |z| = 1000).
"""
from __future__ import annotations

import itertools
import json
import warnings

import numpy as np
import pytest

from derive.code.codegen import load_module, module_source
from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import parse_spec
from derive.numbers import reference
from derive.numbers.answers import compute_answers

HIDDEN = ("sigmoid", "tanh", "relu", "identity")
OUTPUTS = ("sigmoid", "tanh", "relu", "identity", "softmax")
LOSSES = ("half_sse", "sse", "half_mse", "mse", "bce", "bce_mean", "cross_entropy", "cross_entropy_mean")
EXTREME = 1000.0


def allowed(out: str, loss: str) -> bool:
    if loss.startswith("bce"):
        return out == "sigmoid"
    if loss.startswith("cross_entropy"):
        return out in ("sigmoid", "softmax")
    return True


COMBOS = [(h, o, l) for h, o, l in itertools.product(HIDDEN, OUTPUTS, LOSSES) if allowed(o, l)]


def spec_for(hidden, out, loss, layers=(2, 3, 3), skip=False, values=""):
    text = "\n".join([
        'name = "n"', "[network]", f"layers = {list(layers)}",
        f"activation = {json.dumps([hidden] * (len(layers) - 2) + [out])}", f'loss = "{loss}"', "bias = true",
        "skip = [[0, 2]]" if skip else "skip = []"]) + "\n" + values
    return parse_spec(text)


_MODULES: dict = {}


def module_for(spec):
    key = (spec.layers, spec.activations, spec.loss, spec.skips)
    if key not in _MODULES:
        _MODULES[key] = load_module(module_source(derive(build_network(spec))))
    return _MODULES[key]


def extreme_problem(spec, seed=0, m=6):
    """Parameters scaled layer by layer so that max |z_l| = 1000 in every layer; targets at both ends."""
    rng = np.random.default_rng(seed)
    params = {n: rng.uniform(-1, 1, size=s) for n, s in spec.parameter_shapes().items()}
    X = rng.standard_normal((m, spec.layers[0]))
    for l in range(1, spec.depth + 1):
        z = reference.forward(spec, params, X)[f"z{l}"]
        factor = EXTREME / np.max(np.abs(z))
        for name in params:
            if name == f"b{l}" or name == f"W{l}" or name.startswith(f"W{l}_"):
                params[name] = params[name] * factor
    n_out = spec.layers[-1]
    if spec.activations[-1] == "softmax":
        Y = np.eye(n_out)[rng.integers(0, n_out, size=m)]
    elif spec.loss.startswith(("bce", "cross_entropy")):
        Y = rng.integers(0, 2, size=(m, n_out)).astype(float)  # exactly 0 and 1, often the wrong end
        Y[0, 0] = 0.5
    else:
        Y = rng.standard_normal((m, n_out))
    return params, X, Y


def strict():
    """Any overflow, division by zero, invalid operation or warning fails the test."""
    class Strict:
        def __enter__(self):
            self.err = np.errstate(over="raise", divide="raise", invalid="raise")
            self.err.__enter__()
            self.warn = warnings.catch_warnings()
            self.warn.__enter__()
            warnings.simplefilter("error")

        def __exit__(self, *exc):
            self.warn.__exit__(*exc)
            self.err.__exit__(*exc)
            return False

    return Strict()


def normwise(got: dict, want: dict, natural: float = 0.0) -> float:
    """max|got − want| over all parameters, relative to max|want| or to the gradient's natural scale.

    When every unit saturates, the true gradient is e^{−|z|}-small (1e-100 or 0) and any rounding in
    a term of the sum dominates it: the module prints σ' as a(1 − a), which is exactly 0 once a
    rounds to 1 (z > 37 in float64), where the reference keeps σ(z)σ(−z) ≈ e^{−z}. Both are right
    to rounding relative to `natural`, the size the gradient's terms would have with slopes of 1.
    """
    diff = max(float(np.max(np.abs(np.asarray(got[k], dtype=np.float64) - want[k]))) for k in want)
    scale = max([float(np.max(np.abs(want[k]))) for k in want] + [natural])
    return diff / scale if scale else diff


def natural_scale(spec, params, X, J) -> float:
    f = reference.forward(spec, params, X)
    feeding = [np.max(np.abs(X))] + [np.max(np.abs(f[f"a{l}"])) for l in range(1, spec.depth)]
    return max(1.0, abs(J)) * max(1.0, *map(float, feeding)) * 1e-3


def all_arrays(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from all_arrays(v)
    else:
        yield np.asarray(value)


@pytest.mark.parametrize("hidden, out, loss", COMBOS, ids=["-".join(c) for c in COMBOS])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_generated_module_at_pre_activations_of_1000(hidden, out, loss, dtype):
    spec = spec_for(hidden, out, loss)
    module = module_for(spec)
    params, X, Y = extreme_problem(spec)
    P = {k: v.astype(dtype) for k, v in params.items()}
    Xd, Yd = X.astype(dtype), Y.astype(dtype)
    f = reference.forward(spec, {k: v.astype(np.float64) for k, v in P.items()}, Xd.astype(np.float64))
    assert max(float(np.max(np.abs(f[f"z{l}"]))) for l in (1, 2)) == pytest.approx(EXTREME, rel=1e-3)
    with strict():
        results = {
            "forward": module.forward(P, Xd),
            "loss": module.loss(P, Xd, Yd),
            "backward": module.backward(P, Xd, Yd),
            "gradients": module.gradients(P, Xd, Yd),
            "trace": module.trace_scalar(P, Xd, Yd),
        }
        scalar = module.gradients_scalar(P, Xd, Yd)
    for array in all_arrays(results):
        assert np.all(np.isfinite(array))
        assert array.dtype == dtype, array.dtype  # float32 in, float32 out
    # The reference sees exactly the numbers the module saw, in float64.
    P64, X64 = {k: v.astype(np.float64) for k, v in P.items()}, Xd.astype(np.float64)
    J, want, _ = reference.backprop(spec, P64, X64, Yd.astype(np.float64))
    natural = natural_scale(spec, P64, X64, J)
    if dtype == np.float64:
        tolerance = 1e-12
    else:
        tolerance = 100 * 2.0**-24 * EXTREME
    assert normwise(results["gradients"], want, natural) <= tolerance
    assert normwise(scalar, want, natural) <= tolerance
    assert abs(float(results["loss"]) - J) <= tolerance * max(1.0, abs(J))


@pytest.mark.parametrize("out, loss", [("sigmoid", "bce"), ("sigmoid", "bce_mean"), ("sigmoid", "cross_entropy"),
                                       ("softmax", "cross_entropy"), ("softmax", "cross_entropy_mean"),
                                       ("sigmoid", "half_sse"), ("softmax", "mse")])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_predictions_of_exactly_0_and_1(out, loss, dtype):
    """A one-layer network whose outputs are exactly 0 and 1 in floating point, right and wrong."""
    spec = spec_for("sigmoid", out, loss, layers=(2, 2))
    module = module_for(spec)
    params = {"W1": np.array([[EXTREME, 0.0], [0.0, -EXTREME]]), "b1": np.zeros(2)}
    X = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [0.0, 0.0]])
    if out == "softmax":
        Y = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    else:
        Y = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    P = {k: v.astype(dtype) for k, v in params.items()}
    with strict():
        trace = module.trace_scalar(P, X.astype(dtype), Y.astype(dtype))
        grads = module.gradients(P, X.astype(dtype), Y.astype(dtype))
        J = module.loss(P, X.astype(dtype), Y.astype(dtype))
    a = trace["forward"]["a1"]
    assert np.any(a == 1.0) and np.any(a <= np.finfo(dtype).tiny * 2**60)  # saturated both ways
    Jr, want, _ = reference.backprop(spec, params, X, Y)
    tolerance = 1e-12 if dtype == np.float64 else 100 * 2.0**-24 * EXTREME  # as in the test above
    assert np.isfinite(J) and float(J) == pytest.approx(Jr, rel=tolerance)
    natural = natural_scale(spec, params, X, Jr)
    assert normwise(grads, want, natural) <= tolerance
    assert normwise(trace["gradients"], want, natural) <= tolerance
    for array in all_arrays(trace):
        assert np.all(np.isfinite(array)) and array.dtype == dtype


def test_a_wrong_prediction_of_exactly_0_costs_its_margin_not_infinity():
    """bce with y = 1 and σ(z) = 0 in floating point: J = −ln σ(−1000)… = 1000, not inf."""
    spec = spec_for("sigmoid", "sigmoid", "bce", layers=(1, 1))
    module = module_for(spec)
    with strict():
        J = module.loss({"W1": np.array([[-EXTREME]]), "b1": np.zeros(1)}, np.array([[1.0]]), np.array([[1.0]]))
        g = module.gradients({"W1": np.array([[-EXTREME]]), "b1": np.zeros(1)}, np.array([[1.0]]), np.array([[1.0]]))
    assert float(J) == pytest.approx(EXTREME, rel=1e-12)
    assert float(g["W1"][0, 0]) == pytest.approx(-1.0, rel=1e-12)


@pytest.mark.parametrize("hidden, out, loss", [("relu", "identity", "mse"), ("identity", "identity", "half_sse"),
                                               ("tanh", "relu", "sse"), ("relu", "softmax", "cross_entropy")])
def test_the_largest_allowed_numbers_in_a_deep_network_stay_finite(hidden, out, loss):
    """|values| up to the spec's limit of 1e6 through four layers of width 4 with a skip."""
    spec = spec_for(hidden, out, loss, layers=(4, 4, 4, 4), skip=True)
    module = module_for(spec)
    rng = np.random.default_rng(1)
    params = {n: rng.choice([-1e6, 1e6], size=s) for n, s in spec.parameter_shapes().items()}
    X = rng.choice([-1e6, 1e6], size=(3, 4))
    Y = np.eye(4)[[0, 1, 2]] if out == "softmax" else rng.uniform(-1e6, 1e6, size=(3, 4))
    with strict():
        grads = module.gradients(params, X, Y)
        trace = module.trace_scalar(params, X, Y)
    for array in all_arrays(trace):
        assert np.all(np.isfinite(array))
    J, want, _ = reference.backprop(spec, params, X, Y)
    assert normwise(grads, want) <= 1e-12
    assert normwise(trace["gradients"], want) <= 1e-12


def _values_block(spec, params, X, Y, rate=0.5) -> str:
    lines = ["[values]", f"x = {json.dumps(X.tolist())}", f"y = {json.dumps(Y.tolist())}", f"learning_rate = {rate}"]
    lines += [f"{k} = {json.dumps(np.asarray(v).tolist())}" for k, v in params.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("hidden, out, loss", [("sigmoid", "sigmoid", "bce"), ("tanh", "softmax", "cross_entropy_mean"),
                                               ("relu", "sigmoid", "cross_entropy"), ("identity", "softmax", "half_mse"),
                                               ("relu", "identity", "mse")])
def test_worked_answers_at_the_extremes_are_finite_and_match_the_reference(hidden, out, loss):
    base = spec_for(hidden, out, loss)
    params, X, Y = extreme_problem(base, seed=3, m=3)
    params = {k: np.round(v, 6) for k, v in params.items()}
    spec = spec_for(hidden, out, loss, values=_values_block(base, params, np.round(X, 6), Y))
    with strict():
        numbers = compute_answers(derive(build_network(spec)))
    for array in all_arrays({k: numbers[k] for k in ("forward", "delta", "gradients", "updated")}):
        assert np.all(np.isfinite(array.astype(float)))
    J, want, _ = reference.backprop(spec, spec.values.params, spec.values.x, spec.values.y)
    assert numbers["loss"] == pytest.approx(J, rel=1e-12)
    natural = natural_scale(spec, spec.values.params, np.array(spec.values.x), J)
    assert normwise({k: np.array(v) for k, v in numbers["gradients"].items()}, want, natural) <= 1e-12
