"""Worked exercises for the hand-written NumPy reference backprop (derive/numbers/reference.py).

Each exercise checks the reference against numbers obtained some other way: published worked
examples (Matt Mazur, Welch Labs), closed forms evaluated here with the `math` module, and
finite differences of the loss.
"""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from derive.engine.spec import parse_spec
from derive.numbers.reference import backprop, finite_differences, forward, loss, random_problem

ALL_LOSSES = ("half_sse", "sse", "half_mse", "mse", "bce", "bce_mean", "cross_entropy", "cross_entropy_mean")
SQUARED = ("half_sse", "sse", "half_mse", "mse")
HIDDEN = ("sigmoid", "tanh", "relu", "identity")


def make_spec(layers, activation, loss, bias=True, skip=(), name="t"):
    """Build a Spec the way a lecturer would write it: as TOML text."""
    text = "\n".join(
        [
            f'name = "{name}"',
            "[network]",
            f"layers = {json.dumps(list(layers))}",
            f"activation = {json.dumps(activation if isinstance(activation, str) else list(activation))}",
            f"bias = {json.dumps(bias if isinstance(bias, bool) else list(bias))}",
            f'loss = "{loss}"',
            f"skip = {json.dumps([list(s) for s in skip])}",
        ]
    )
    return parse_spec(text)


def sigma(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def assert_gradients_agree(spec, params, X, Y, rtol=1e-7):
    """Backprop and Richardson finite differences agree entry by entry to `rtol` relative.

    The absolute floor is the rounding noise of a difference quotient, about 1e-16 * |J| / h with
    h = 1e-3; it only matters for entries many orders of magnitude below the loss.
    """
    J, grads, deltas = backprop(spec, params, X, Y)
    assert J == pytest.approx(loss(spec, params, X, Y), rel=1e-14, abs=1e-300)
    numeric = finite_differences(spec, params, X, Y)
    assert list(grads) == list(spec.parameter_shapes()) == list(numeric)
    floor = 1e-11 * max(1.0, abs(J))
    for name, shape in spec.parameter_shapes().items():
        assert grads[name].shape == shape
        np.testing.assert_allclose(grads[name], numeric[name], rtol=rtol, atol=floor, err_msg=name)
    assert sorted(deltas) == sorted(f"delta{l}" for l in range(1, spec.depth + 1))
    return J, grads, deltas


def away_from_relu_kinks(spec, seed, examples, margin=0.05):
    """A random problem whose relu pre-activations all keep |z| >= margin.

    A difference quotient with step h straddles the kink of relu when |z| is of order h, and then
    measures a mixture of the two one-sided slopes instead of the derivative; such draws are
    skipped (deterministically) rather than allowed to fail the comparison.
    """
    relu_layers = [l for l, act in enumerate(spec.activations, start=1) if act == "relu"]
    for attempt in range(100):
        params, X, Y = random_problem(spec, seed=seed + 100_000 * attempt, examples=examples)
        f = forward(spec, params, X)
        if all(np.min(np.abs(f[f"z{l}"])) >= margin for l in relu_layers):
            return params, X, Y
    raise AssertionError("no random problem away from the relu kinks")


# ---------------------------------------------------------------------------------------------
# Exercise 1: Matt Mazur, "A Step by Step Backpropagation Example" (2015).
# A 2-2-2 sigmoid network, half the sum of squared errors, one training example.
# Mazur's weights w1..w8 in our canonical (out, in) matrices:
#   w1: i1->h1 = W1[0,0]  w2: i2->h1 = W1[0,1]  w3: i1->h2 = W1[1,0]  w4: i2->h2 = W1[1,1]
#   w5: h1->o1 = W2[0,0]  w6: h2->o1 = W2[0,1]  w7: h1->o2 = W2[1,0]  w8: h2->o2 = W2[1,1]
# His biases b1 = 0.35 and b2 = 0.60 are shared by a layer and never updated, so we compare
# the weights only.

MAZUR = make_spec([2, 2, 2], "sigmoid", "half_sse", name="mazur")
MAZUR_PARAMS = {
    "W1": np.array([[0.15, 0.20], [0.25, 0.30]]),
    "b1": np.array([0.35, 0.35]),
    "W2": np.array([[0.40, 0.45], [0.50, 0.55]]),
    "b2": np.array([0.60, 0.60]),
}
MAZUR_X = np.array([[0.05, 0.10]])
MAZUR_Y = np.array([[0.01, 0.99]])


def test_mazur_forward_pass():
    f = forward(MAZUR, MAZUR_PARAMS, MAZUR_X)
    # net_h1 = 0.15*0.05 + 0.2*0.1 + 0.35 = 0.3775, out_h1 = sigma(0.3775)
    assert f["z1"][0, 0] == pytest.approx(0.3775, abs=1e-12)
    assert f["a1"][0] == pytest.approx([0.593269992, 0.596884378], abs=1e-9)
    assert f["a2"][0] == pytest.approx([0.75136507, 0.772928465], abs=1e-8)


def test_mazur_total_error():
    # E_o1 = 0.274811083, E_o2 = 0.023560026, E_total = 0.298371109
    J = loss(MAZUR, MAZUR_PARAMS, MAZUR_X, MAZUR_Y)
    assert J == pytest.approx(0.298371109, abs=1e-9)
    f = forward(MAZUR, MAZUR_PARAMS, MAZUR_X)
    per_output = 0.5 * (MAZUR_Y[0] - f["a2"][0]) ** 2
    assert per_output == pytest.approx([0.274811083, 0.023560026], abs=1e-9)


def test_mazur_output_weight_gradient_by_hand():
    # dE/dw5 = (out_o1 - target_o1) * out_o1 (1 - out_o1) * out_h1
    #        = 0.74136507 * 0.186815602 * 0.593269992 = 0.082167041
    J, grads, deltas = backprop(MAZUR, MAZUR_PARAMS, MAZUR_X, MAZUR_Y)
    out_h1 = sigma(0.15 * 0.05 + 0.20 * 0.10 + 0.35)
    out_h2 = sigma(0.25 * 0.05 + 0.30 * 0.10 + 0.35)
    out_o1 = sigma(0.40 * out_h1 + 0.45 * out_h2 + 0.60)
    by_hand = (out_o1 - 0.01) * out_o1 * (1 - out_o1) * out_h1
    assert grads["W2"][0, 0] == pytest.approx(by_hand, rel=1e-12)
    assert grads["W2"][0, 0] == pytest.approx(0.082167041, abs=1e-9)
    assert deltas["delta2"][0, 0] == pytest.approx((out_o1 - 0.01) * out_o1 * (1 - out_o1), rel=1e-12)


def test_mazur_hidden_weight_gradient():
    # dE/dw1 = (delta_o1 w5 + delta_o2 w7) * out_h1 (1 - out_h1) * i1 = 0.000438568
    _, grads, _ = backprop(MAZUR, MAZUR_PARAMS, MAZUR_X, MAZUR_Y)
    assert grads["W1"][0, 0] == pytest.approx(0.000438568, abs=1e-9)


def test_mazur_one_gradient_step_gives_published_weights():
    rate = 0.5
    _, grads, _ = backprop(MAZUR, MAZUR_PARAMS, MAZUR_X, MAZUR_Y)
    W1 = MAZUR_PARAMS["W1"] - rate * grads["W1"]
    W2 = MAZUR_PARAMS["W2"] - rate * grads["W2"]
    published_W2 = [[0.35891648, 0.408666186], [0.511301270, 0.561370121]]  # w5 w6 / w7 w8
    published_W1 = [[0.149780716, 0.19956143], [0.24975114, 0.29950229]]  # w1 w2 / w3 w4
    np.testing.assert_allclose(W2, published_W2, atol=1e-8)
    np.testing.assert_allclose(W1, published_W1, atol=1e-8)


# ---------------------------------------------------------------------------------------------
# Exercise 2: Welch Labs, "Neural Networks Demystified": a 2-3-1 sigmoid network with no
# biases, J = 1/2 (y - yhat)^2, every weight 1, x = [0.3, 1.0], y = 0.75.
# By hand: every hidden unit sees z = 0.3 + 1.0 = 1.3, so a = sigma(1.3); the output sees
# z = 3 sigma(1.3); dJ/dW2_j = (yhat - y) yhat (1 - yhat) a_j is the same for each j.

WELCH = make_spec([2, 3, 1], "sigmoid", "half_sse", bias=False, name="welch")
WELCH_PARAMS = {"W1": np.ones((3, 2)), "W2": np.ones((1, 3))}
WELCH_X = np.array([[0.3, 1.0]])
WELCH_Y = np.array([[0.75]])


def test_welch_closed_form():
    a = sigma(1.3)
    yhat = sigma(3 * a)
    J_hand = 0.5 * (0.75 - yhat) ** 2
    dW2_hand = (yhat - 0.75) * yhat * (1 - yhat) * a
    dW1_hand = [(yhat - 0.75) * yhat * (1 - yhat) * 1.0 * a * (1 - a) * x for x in (0.3, 1.0)]

    f = forward(WELCH, WELCH_PARAMS, WELCH_X)
    J, grads, _ = backprop(WELCH, WELCH_PARAMS, WELCH_X, WELCH_Y)
    assert f["a2"][0, 0] == pytest.approx(yhat, rel=1e-14)
    assert J == pytest.approx(J_hand, rel=1e-14)
    np.testing.assert_allclose(grads["W2"], [[dW2_hand] * 3], rtol=1e-13)
    np.testing.assert_allclose(grads["W1"], [dW1_hand] * 3, rtol=1e-13)


def test_welch_published_numbers():
    f = forward(WELCH, WELCH_PARAMS, WELCH_X)
    J, grads, _ = backprop(WELCH, WELCH_PARAMS, WELCH_X, WELCH_Y)
    assert round(float(f["a2"][0, 0]), 6) == 0.913529
    assert J == pytest.approx(0.0133709, abs=5e-8)
    np.testing.assert_allclose(grads["W2"], [[0.0101512] * 3], atol=5e-8)


# ---------------------------------------------------------------------------------------------
# Exercise 3: a single sigmoid neuron with bce has delta = yhat - y, exactly as in every
# logistic-regression lecture; the mean version divides by m.


def test_logistic_regression_delta_is_prediction_minus_target():
    spec = make_spec([2, 1], "sigmoid", "bce")
    params = {"W1": np.array([[0.5, -1.0]]), "b1": np.array([0.25])}
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0]])
    Y = np.array([[1.0], [0.0], [1.0]])
    z = X @ np.array([0.5, -1.0]) + 0.25
    yhat = np.array([sigma(t) for t in z])
    J_hand = -sum(y * math.log(p) + (1 - y) * math.log(1 - p) for y, p in zip(Y[:, 0], yhat))
    J, grads, deltas = backprop(spec, params, X, Y)
    assert J == pytest.approx(J_hand, rel=1e-13)
    np.testing.assert_allclose(deltas["delta1"][:, 0], yhat - Y[:, 0], rtol=1e-13)
    np.testing.assert_allclose(grads["W1"][0], (yhat - Y[:, 0]) @ X, rtol=1e-13)
    np.testing.assert_allclose(grads["b1"], [np.sum(yhat - Y[:, 0])], rtol=1e-13)

    mean = make_spec([2, 1], "sigmoid", "bce_mean")
    J_mean, grads_mean, deltas_mean = backprop(mean, params, X, Y)
    assert J_mean == pytest.approx(J_hand / 3, rel=1e-13)
    np.testing.assert_allclose(deltas_mean["delta1"], deltas["delta1"] / 3, rtol=1e-13)


def test_softmax_cross_entropy_delta_is_prediction_minus_target():
    spec = make_spec([2, 3], "softmax", "cross_entropy")
    params = {"W1": np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), "b1": np.zeros(3)}
    X = np.array([[1.0, 2.0]])
    Y = np.array([[0.0, 1.0, 0.0]])
    z = [1.0, 2.0, 3.0]
    total = sum(math.exp(t) for t in z)
    p = [math.exp(t) / total for t in z]
    J, _, deltas = backprop(spec, params, X, Y)
    assert J == pytest.approx(-math.log(p[1]), rel=1e-14)
    np.testing.assert_allclose(deltas["delta1"][0], [p[0], p[1] - 1, p[2]], rtol=1e-13)


def test_each_loss_matches_its_formula():
    yhat = np.array([[0.2, 0.7], [0.6, 0.1], [0.9, 0.4]])
    Y = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    m = 3
    # identity output with W1 = I, no bias: yhat = x
    sq = np.sum((Y - yhat) ** 2)
    expected = {"half_sse": sq / 2, "sse": sq, "half_mse": sq / (2 * m), "mse": sq / m}
    for name, value in expected.items():
        spec = make_spec([2, 2], "identity", name, bias=False)
        assert loss(spec, {"W1": np.eye(2)}, yhat, Y) == pytest.approx(value, rel=1e-14)
    # sigmoid output, with z = logit(yhat) so that the network outputs exactly yhat
    logit = np.log(yhat / (1 - yhat))
    bce = -np.sum(Y * np.log(yhat) + (1 - Y) * np.log(1 - yhat))
    ce = -np.sum(Y * np.log(yhat))
    for name, value in {"bce": bce, "bce_mean": bce / m, "cross_entropy": ce, "cross_entropy_mean": ce / m}.items():
        spec = make_spec([2, 2], "sigmoid", name, bias=False)
        assert loss(spec, {"W1": np.eye(2)}, logit, Y) == pytest.approx(value, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Exercise 4: the delta of one example row does not depend on the other rows (sum losses), and
# dJ/dW_l = delta_l^T a_{l-1}, dJ/db_l = sum of delta_l over rows.


def test_delta_rows_are_per_example_and_assemble_the_gradients():
    spec = make_spec([3, 4, 2, 2], ["tanh", "relu", "softmax"], "half_sse", skip=[[0, 2], [1, 3]])
    params, X, Y = random_problem(spec, seed=7, examples=4)
    _, grads, deltas = backprop(spec, params, X, Y)
    f = forward(spec, params, X)
    for i in range(4):
        _, _, single = backprop(spec, params, X[i : i + 1], Y[i : i + 1])
        for key in deltas:
            np.testing.assert_allclose(deltas[key][i : i + 1], single[key], rtol=1e-13, atol=1e-16)
    acts = {0: X, 1: f["a1"], 2: f["a2"]}
    for l in (1, 2, 3):
        np.testing.assert_allclose(grads[f"b{l}"], deltas[f"delta{l}"].sum(axis=0), rtol=1e-13)
        np.testing.assert_allclose(grads[f"W{l}"], deltas[f"delta{l}"].T @ acts[l - 1], rtol=1e-13)
    np.testing.assert_allclose(grads["W2_0"], deltas["delta2"].T @ X, rtol=1e-13)
    np.testing.assert_allclose(grads["W3_1"], deltas["delta3"].T @ f["a1"], rtol=1e-13)


def test_skip_connection_adds_into_pre_activation():
    spec = make_spec([2, 2, 1], "identity", "sse", bias=False, skip=[[0, 2]])
    params = {"W1": np.array([[1.0, 2.0], [3.0, 4.0]]), "W2": np.array([[1.0, -1.0]]), "W2_0": np.array([[10.0, 100.0]])}
    X = np.array([[1.0, 1.0]])
    # a1 = [3, 7]; z2 = 3 - 7 + 10 + 100 = 106
    f = forward(spec, params, X)
    assert f["z2"][0, 0] == 106.0
    _, grads, _ = backprop(spec, params, X, np.array([[100.0]]))
    # dJ/dz2 = 2 (106 - 100) = 12; dJ/dW2_0 = 12 x; dJ/dW1 = (12 W2)^T x
    np.testing.assert_allclose(grads["W2_0"], [[12.0, 12.0]])
    np.testing.assert_allclose(grads["W2"], [[36.0, 84.0]])
    np.testing.assert_allclose(grads["W1"], [[12.0, 12.0], [-12.0, -12.0]])


def test_relu_derivative_is_zero_at_zero():
    spec = make_spec([1, 1, 1], ["relu", "identity"], "half_sse", bias=False)
    params = {"W1": np.array([[1.0]]), "W2": np.array([[1.0]])}
    _, grads, deltas = backprop(spec, params, np.array([[0.0]]), np.array([[1.0]]))
    assert deltas["delta1"][0, 0] == 0.0
    assert grads["W1"][0, 0] == 0.0


# ---------------------------------------------------------------------------------------------
# Exercise 5: finite differences agree with backprop to 1e-7 relative over a table of
# hidden activation x (loss, output activation) x depth x bias x skip x examples.

OUTPUT_PAIRS = [(l, out) for l in SQUARED for out in ("sigmoid", "tanh", "relu", "identity", "softmax")]
OUTPUT_PAIRS += [("bce", "sigmoid"), ("bce_mean", "sigmoid")]
OUTPUT_PAIRS += [(l, out) for l in ("cross_entropy", "cross_entropy_mean") for out in ("softmax", "sigmoid")]
VARIANTS = list(itertools.product((True, False), (False, True), (1, 4)))  # bias, skip, examples
HIDDEN_WIDTHS = (3, 4, 2)


def _table():
    cases = []
    for loss_name, out in OUTPUT_PAIRS:
        # depth 1 has no hidden layer (and no room for a skip)
        for bias, examples in ((True, 1), (False, 4)):
            cases.append((loss_name, out, None, 1, bias, False, examples))
        k = 0
        for depth in (2, 3, 4):
            for hidden in HIDDEN:
                bias, skip, examples = VARIANTS[k % len(VARIANTS)]
                k += 1
                cases.append((loss_name, out, hidden, depth, bias, skip, examples))
    return cases


def _case_id(case):
    loss_name, out, hidden, depth, bias, skip, examples = case
    parts = [loss_name, f"out-{out}", f"hidden-{hidden}" if hidden else "no-hidden", f"L{depth}"]
    parts += ["bias" if bias else "nobias", "skip" if skip else "noskip", f"m{examples}"]
    return "-".join(parts)


TABLE = _table()


def test_table_covers_every_combination():
    assert {l for l, *_ in TABLE} == set(ALL_LOSSES)
    for loss_name, out in OUTPUT_PAIRS:
        rows = [c for c in TABLE if c[:2] == (loss_name, out)]
        assert {c[3] for c in rows} == {1, 2, 3, 4}
        assert {c[2] for c in rows} == set(HIDDEN) | {None}
        assert {c[4:] for c in rows if c[3] > 1} == set(VARIANTS)


@pytest.mark.parametrize("case", TABLE, ids=[_case_id(c) for c in TABLE])
def test_backprop_matches_finite_differences(case):
    loss_name, out, hidden, depth, bias, skip, examples = case
    n_out = 1 if out == "sigmoid" and loss_name.startswith("bce") and depth % 2 else 2
    layers = [3, *HIDDEN_WIDTHS[: depth - 1], n_out]
    activations = [hidden] * (depth - 1) + [out]
    skips = []
    if skip:
        skips.append([0, depth])  # from the input straight to the output
        if depth >= 3:
            skips.append([1, 3])  # from a hidden layer
    spec = make_spec(layers, activations, loss_name, bias=bias, skip=skips)
    params, X, Y = away_from_relu_kinks(spec, seed=TABLE.index(case), examples=examples)
    assert_gradients_agree(spec, params, X, Y)


def test_mixed_activations_per_layer_biases_and_several_skips():
    spec = make_spec(
        [3, 4, 3, 3, 2],
        ["tanh", "sigmoid", "relu", "softmax"],
        "cross_entropy_mean",
        bias=[True, False, True, False],
        skip=[[0, 2], [0, 4], [1, 3], [2, 4]],
    )
    params, X, Y = away_from_relu_kinks(spec, seed=11, examples=5)
    assert set(params) == {"W1", "b1", "W2", "W2_0", "W3", "W3_1", "b3", "W4", "W4_0", "W4_2"}
    assert_gradients_agree(spec, params, X, Y)


def test_finite_differences_catch_a_wrong_gradient():
    """The check has teeth: perturbing one gradient entry by 1e-5 relative is detected."""
    spec = make_spec([2, 3, 1], "tanh", "mse")
    params, X, Y = random_problem(spec, seed=3)
    _, grads, _ = backprop(spec, params, X, Y)
    numeric = finite_differences(spec, params, X, Y)
    wrong = grads["W1"].copy()
    wrong[0, 0] *= 1 + 1e-5
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(wrong, numeric["W1"], rtol=1e-7)


# ---------------------------------------------------------------------------------------------
# Exercise 6: saturated outputs (z = +-1000) give finite numbers and raise no warning.

STRICT = dict(over="raise", divide="raise", invalid="raise", under="ignore")


def _run_strict(spec, params, X, Y):
    with np.errstate(**STRICT):
        f = forward(spec, params, X)
        J = loss(spec, params, X, Y)
        J2, grads, deltas = backprop(spec, params, X, Y)
    assert J == J2
    for arr in [*f.values(), *grads.values(), *deltas.values(), np.array(J)]:
        assert np.all(np.isfinite(arr))
    return f, J, grads, deltas


@pytest.mark.parametrize("loss_name", ["bce", "bce_mean", "cross_entropy", "half_sse"])
def test_sigmoid_output_saturated(loss_name):
    spec = make_spec([1, 2], "sigmoid", loss_name, bias=False)
    params = {"W1": np.array([[1000.0], [-1000.0]])}
    X = np.array([[1.0]])
    f, J, grads, deltas = _run_strict(spec, params, X, np.array([[1.0, 0.0]]))  # right answer
    assert list(f["a1"][0]) == [1.0, 0.0]
    assert J == 0.0
    f, J, grads, deltas = _run_strict(spec, params, X, np.array([[0.0, 1.0]]))  # confidently wrong
    if loss_name.startswith("bce"):
        assert J == pytest.approx(2000.0, rel=1e-15)  # -ln sigma(-1000) = 1000 per output
        np.testing.assert_allclose(deltas["delta1"][0], [1.0, -1.0])
        np.testing.assert_allclose(grads["W1"], [[1.0], [-1.0]])
    elif loss_name == "cross_entropy":
        assert J == pytest.approx(1000.0, rel=1e-15)  # only the target-1 output counts
        np.testing.assert_allclose(deltas["delta1"][0], [0.0, -1.0])
    else:
        assert J == 1.0  # 1/2 (1 + 1); the sigmoid is flat, so the gradient vanishes
        np.testing.assert_allclose(deltas["delta1"][0], [0.0, 0.0], atol=1e-300)


@pytest.mark.parametrize("loss_name", ["cross_entropy", "cross_entropy_mean", "half_sse", "mse"])
def test_softmax_output_saturated(loss_name):
    spec = make_spec([1, 3], "softmax", loss_name, bias=False)
    params = {"W1": np.array([[1000.0], [-1000.0], [0.0]])}
    X = np.array([[1.0], [1.0]])
    Y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # first row right, second confidently wrong
    f, J, grads, deltas = _run_strict(spec, params, X, Y)
    np.testing.assert_allclose(f["a1"][0], [1.0, 0.0, 0.0])
    if loss_name.startswith("cross_entropy"):
        m = 2 if loss_name.endswith("mean") else 1
        assert J == pytest.approx(2000.0 / m, rel=1e-15)  # -ln softmax = 1000 - (-1000)
        np.testing.assert_allclose(deltas["delta1"][1], np.array([1.0, -1.0, 0.0]) / m)


def test_saturated_hidden_layer_behind_bce():
    spec = make_spec([2, 2, 1], "sigmoid", "bce")
    params = {
        "W1": np.array([[1000.0, 0.0], [0.0, -1000.0]]),
        "b1": np.zeros(2),
        "W2": np.array([[1000.0, -1000.0]]),
        "b2": np.array([0.0]),
    }
    _, J, grads, _ = _run_strict(spec, params, np.array([[1.0, 1.0]]), np.array([[0.0]]))
    assert J == pytest.approx(1000.0, rel=1e-15)
    assert grads["W1"][0, 0] == 0.0  # the saturated hidden sigmoid passes no gradient back


# ---------------------------------------------------------------------------------------------
# Inputs: float32, flat vectors, random problems, mismatched parameters.


def test_float32_inputs_are_upcast():
    spec = make_spec([3, 3, 2], ["tanh", "softmax"], "cross_entropy")
    params, X, Y = random_problem(spec, seed=5)
    single = {k: v.astype(np.float32) for k, v in params.items()}
    J32, g32, d32 = backprop(spec, single, X.astype(np.float32), Y.astype(np.float32))
    J64, g64, _ = backprop(spec, {k: v.astype(np.float64) for k, v in single.items()}, X.astype(np.float32).astype(np.float64), Y)
    assert isinstance(J32, float) and J32 == J64
    for name in g32:
        assert g32[name].dtype == np.float64
        np.testing.assert_array_equal(g32[name], g64[name])
    assert all(d.dtype == np.float64 for d in d32.values())


def test_flat_vectors_and_nested_lists_are_accepted():
    # a flat x is one example; a flat y for a single output unit is one number per example
    J = loss(WELCH, {"W1": [[1, 1]] * 3, "W2": [[1, 1, 1]]}, [0.3, 1.0], [0.75])
    assert J == pytest.approx(loss(WELCH, WELCH_PARAMS, WELCH_X, WELCH_Y), rel=1e-15)


def test_random_problem_is_seeded_and_legal():
    spec = make_spec([2, 3, 4], ["relu", "softmax"], "cross_entropy", skip=[[0, 2]])
    p1, X1, Y1 = random_problem(spec, seed=1, examples=5)
    p2, X2, Y2 = random_problem(spec, seed=1, examples=5)
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])
        assert p1[k].shape == spec.parameter_shapes()[k] and p1[k].dtype == np.float64
        assert np.all(np.abs(p1[k]) <= 1.0)
    np.testing.assert_array_equal(X1, X2)
    assert X1.shape == (5, 2) and Y1.shape == (5, 4)
    assert np.all(Y1.sum(axis=1) == 1.0) and set(np.unique(Y1)) <= {0.0, 1.0}
    _, _, Y3 = random_problem(make_spec([2, 2], "sigmoid", "bce"), seed=2, examples=6)
    assert np.all((Y3 > 0) & (Y3 < 1))
    assert not np.array_equal(random_problem(spec, seed=2)[1], random_problem(spec, seed=1)[1])


def test_mismatched_parameters_are_refused():
    with pytest.raises(ValueError, match="b1"):
        loss(WELCH, {**WELCH_PARAMS, "b1": np.zeros(3)}, WELCH_X, WELCH_Y)
    with pytest.raises(ValueError, match="W2"):
        loss(WELCH, {"W1": np.ones((3, 2))}, WELCH_X, WELCH_Y)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        loss(WELCH, {"W1": np.ones((2, 3)), "W2": np.ones((1, 3))}, WELCH_X, WELCH_Y)
    with pytest.raises(ValueError, match="X"):
        loss(WELCH, WELCH_PARAMS, np.ones((1, 3)), WELCH_Y)
