"""The generated module on batches of 1, 2, 3 and 64 examples, against the independent backprop.

A lecturer's spec often has one example, and a student then calls gradients.py on a whole data set:
the module must be right for every m, not only for the spec's. Every number the generated code
computes with, the constants and each factor of m (1/m, λ/(2m), …), must be a number of the input's
floating dtype: m = X.shape[0] is a Python int, and NumPy's reciprocal of an int is 0 for m ≥ 2, which
dropped the L2 term whenever its coefficient came out as exactly 1/m (λ = 1 with the default
"1/(2m)", Ng's ex4 setting, or λ = 0.5 with "1/m").

For every loss × L2 scale × λ (the λ that make the coefficient c, or the gradient's 2c, exactly 1/m,
1/2 or 1 for these batch sizes, and an ordinary one), with the activations taking turns, `loss`,
`gradients`, `gradients_scalar` and `step` are compared with derive.numbers.reference on random X and
targets of the right kind: one-hot rows for softmax, {0, 1} or [0, 1] for bce and cross-entropy with
σ, any number for the squared errors. float32 in gives float32 out, close to the reference on the
same float32 numbers.
"""
from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from derive.code.codegen import load_module, module_source
from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import parse_spec
from derive.numbers import reference

BATCHES = (1, 2, 3, 64)
LOSSES = ("half_sse", "sse", "half_mse", "mse", "bce", "bce_mean", "cross_entropy", "cross_entropy_mean")
HIDDEN = ("sigmoid", "tanh", "relu", "identity")
OUTPUTS = {"squared": ("identity", "sigmoid", "tanh", "softmax", "relu"), "bce": ("sigmoid",),
           "cross_entropy": ("sigmoid", "softmax")}
# c(λ, m) for each l2_scale (regularization.SCALES, written out again here).
SCALE = {"1/(2m)": lambda lam, m: lam / (2 * m), "1/m": lambda lam, m: lam / m,
         "1/2": lambda lam, m: lam / 2, "1": lambda lam, m: lam}


def special_lambdas(scale: str) -> list[float]:
    """The λ (decimals a spec can write) that make c or 2c exactly 1/m, 1/2 or 1 for some batch, and 0.7."""
    found = {0.7}
    for m in BATCHES:
        for target in (Fraction(1, m), Fraction(1, 2), Fraction(1)):
            for factor in (1, 2):  # c itself, or the gradient's 2c
                unit = SCALE[scale](Fraction(1), Fraction(m)) * factor
                lam = target / unit
                if lam.denominator & (lam.denominator - 1) == 0:  # a power of 2: exactly a short decimal
                    found.add(float(lam))
    return sorted(found)


def outputs_for(loss: str) -> tuple[str, ...]:
    return OUTPUTS["bce" if loss.startswith("bce") else "cross_entropy" if loss.startswith("cross") else "squared"]


CASES = []
for loss in LOSSES:
    for scale in SCALE:
        for lam in special_lambdas(scale):
            CASES.append((loss, scale, lam))
for loss in LOSSES:  # without an L2 term, every output activation the loss allows
    for out in outputs_for(loss):
        CASES.append((loss, "1/(2m)", 0.0, out))


def activations(k: int, loss: str, out: str | None = None) -> tuple[str, str]:
    outs = outputs_for(loss)
    return HIDDEN[k % len(HIDDEN)], out or outs[(k // len(HIDDEN)) % len(outs)]


def spec_for(loss, scale, lam, hidden, out, skip):
    """A 2-3-2 net with one example in its [values], as a lecturer writes one."""
    y = "[[1.0, 0.0]]" if out == "softmax" else "[[0.25, 0.75]]"
    text = "\n".join([
        'name = "batch"', "[network]", "layers = [2, 3, 2]", f"activation = {json.dumps([hidden, out])}",
        f'loss = "{loss}"', "bias = true", "skip = [[0, 2]]" if skip else "skip = []",
        *([f"l2 = {lam!r}", f'l2_scale = "{scale}"'] if lam else []),
        "[values]", "x = [[0.5, -0.25]]", f"y = {y}", "seed = 1"]) + "\n"
    return parse_spec(text)


def problem(spec, m: int, seed: int):
    rng = np.random.default_rng(seed)
    params = {name: rng.uniform(-1.0, 1.0, size=shape) for name, shape in spec.parameter_shapes().items()}
    X = rng.standard_normal((m, spec.layers[0]))
    n = spec.layers[-1]
    if spec.activations[-1] == "softmax":
        Y = np.eye(n)[rng.integers(0, n, size=m)]
    elif spec.loss.startswith(("bce", "cross_entropy")):
        # targets at the ends for one seed, anywhere in [0, 1] for the next
        Y = rng.integers(0, 2, size=(m, n)).astype(float) if seed % 2 else rng.uniform(0.0, 1.0, size=(m, n))
    else:
        Y = rng.standard_normal((m, n))
    return params, X, Y


def assert_close(got: dict, want: dict, rtol: float, what: str):
    natural = max(float(np.max(np.abs(w))) for w in want.values())
    for key, w in want.items():
        g = np.asarray(got[key], dtype=float)
        assert g.shape == np.shape(w), (what, key)
        err = float(np.max(np.abs(g - w)))
        assert err <= rtol * float(np.max(np.abs(w))) + 0.01 * rtol * natural, (what, key, err, g, w)


def ids(case):
    return "-".join(str(v) for v in case)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_the_module_matches_the_reference_on_every_batch_size(case):
    loss, scale, lam, *out = case
    k = CASES.index(case)
    hidden, out = activations(k, loss, *out)
    spec = spec_for(loss, scale, lam, hidden, out, skip=k % 3 == 0)
    module = load_module(module_source(derive(build_network(spec))))
    for m in BATCHES:
        params, X, Y = problem(spec, m, seed=k + m)
        want_loss, want, _ = reference.backprop(spec, params, X, Y)
        where = f"{hidden}/{out} {loss} λ={lam} {scale} m={m}"
        got_loss = module.loss(params, X, Y)
        assert abs(float(got_loss) - want_loss) <= 1e-12 * max(1.0, abs(want_loss)), (where, got_loss, want_loss)
        assert_close(module.gradients(params, X, Y), want, 1e-11, where + " gradients")
        assert_close(module.gradients_scalar(params, X, Y), want, 1e-11, where + " gradients_scalar")
        stepped = module.step(params, X, Y, 0.1)
        assert_close(stepped, {n: params[n] - 0.1 * want[n] for n in want}, 1e-12, where + " step")

        # float32 in, float32 out: every constant and m itself in the working dtype
        single = {n: v.astype(np.float32) for n, v in params.items()}
        X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
        want_loss32, want32, _ = reference.backprop(spec, single, X32, Y32)
        got_loss32 = module.loss(single, X32, Y32)
        assert np.asarray(got_loss32).dtype == np.float32, where
        assert abs(float(got_loss32) - want_loss32) <= 1e-5 * max(1.0, abs(want_loss32)), (where, got_loss32, want_loss32)
        for name, fn in (("gradients", module.gradients), ("gradients_scalar", module.gradients_scalar),
                         ("step", lambda p, x, y: module.step(p, x, y, 0.1))):
            got32 = fn(single, X32, Y32)
            assert {g.dtype for g in got32.values()} == {np.dtype(np.float32)}, (where, name)
            expected = want32 if name != "step" else {n: single[n] - 0.1 * want32[n] for n in want32}
            assert_close(got32, expected, 1e-4, where + " float32 " + name)


def test_the_lambdas_include_the_reported_settings():
    # Ng's ex4 default: λ = 1 with λ/(2m) gives the gradient's 2c = 1/m; λ = 0.5 with λ/m likewise.
    assert 1.0 in special_lambdas("1/(2m)") and 0.5 in special_lambdas("1/m")
    assert {0.015625, 0.5, 1.0} <= set(special_lambdas("1"))  # c = 1/64, 1/2 (and 1/m at m = 2), 1


def test_one_example_spec_one_identity_unit_on_two_examples():
    # The case: a 1-1 identity net, λ = 1, one example in the spec, called on two.
    spec = parse_spec('name = "one"\n[network]\nlayers = [1, 1]\nactivation = "identity"\nbias = false\n'
                      'loss = "half_sse"\nl2 = 1.0\n[values]\nx = [[1.0]]\ny = [[0.5]]\nW1 = [[0.25]]\n')
    module = load_module(module_source(derive(build_network(spec))))
    params, X, Y = {"W1": np.array([[0.25]])}, np.array([[1.0], [2.0]]), np.array([[0.5], [0.0]])
    # J = ½Σ(w x − y)² + λ/(2m)·w²: dJ/dw = Σ(w x − y)x + (λ/m)w = −0.25 + 1 + 0.125 = 0.875
    want = (0.25 - 0.5) * 1.0 + (0.5 - 0.0) * 2.0 + 0.25 / 2
    for fn in (module.gradients, module.gradients_scalar):
        assert fn(params, X, Y)["W1"][0, 0] == pytest.approx(want, rel=1e-15)
    assert module.step(params, X, Y, 1.0)["W1"][0, 0] == pytest.approx(0.25 - want, rel=1e-15)
