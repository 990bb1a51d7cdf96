"""The generated module refuses wrong input with one clear ValueError, and its helpers are right."""
import numpy as np
import pytest
from conftest import spec_text

from derive.code.codegen import load_module, module_source
from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import parse_spec
from derive.numbers import reference

IRIS_LIKE = spec_text([4, 3, 3], ["tanh", "softmax"], "cross_entropy")  # the 150 × 3 softmax case
ONE_OUT = spec_text([2, 3, 1], "sigmoid", "half_sse", skip=[[0, 2]])


def setup(text):
    spec = parse_spec(text)
    return spec, load_module(module_source(derive(build_network(spec))))


@pytest.fixture(scope="module")
def iris():
    spec, g = setup(IRIS_LIKE)
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, size=150)
    return g, g.init_params(1), rng.normal(size=(150, 4)), labels


def refused(function, *args, match):
    with pytest.raises(ValueError, match=match) as info:
        function(*args)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", ["loss", "gradients", "gradients_scalar", "backward", "trace_scalar", "step"])
def test_the_classic_target_mistakes_are_refused_by_every_function(iris, name):
    g, params, X, labels = iris
    fn = getattr(g, name)
    extra = (0.1,) if name == "step" else ()
    # labels as a column: broadcasting would give a plausible, wrong loss (6.698 in the issue)
    refused(fn, params, X, labels[:, None], *extra,
            match=r"^Y: expected shape \(150, 3\), one row per example of X, got \(150, 1\); for integer class labels use np\.eye\(3\)\[labels\]$")
    refused(fn, params, X, np.eye(3)[:1], *extra, match=r"^Y: expected shape \(150, 3\), one row per example of X, got \(1, 3\)$")
    refused(fn, params, X, labels, *extra, match=r"got \(150,\); for integer class labels use np\.eye\(3\)\[labels\]")
    refused(fn, params, X, np.eye(3)[labels] * 2, *extra, match=r"^Y: expected one-hot rows .* got row 0 = \[")


def test_a_single_example_that_is_not_one_hot_is_refused_too(iris):
    g, params, X, _ = iris
    for Y in ([[0.5, 0.5, 0.0]], [[1.0, 1.0, -1.0]], [[0.0, 0.0, 0.0]], [[2.0, 0.0, 0.0]], [[1.0, 0.0, np.nan]]):
        refused(g.gradients, params, X[:1], np.array(Y), match="one-hot")
    g.gradients(params, X[:1], np.eye(3)[[2]])  # a one-hot row passes


@pytest.mark.parametrize("change,match", [
    (lambda p: {k: v for k, v in p.items() if k != "b2"}, r"^params: 'b2' is missing; expected \{W1: \(3, 4\), b1: \(3,\), W2: \(3, 3\), b2: \(3,\)\}$"),
    (lambda p: {**p, "W3": np.ones((3, 3))}, r"^params: unknown key 'W3'"),
    (lambda p: {**p, "W1": p["W1"].T}, r"^params\['W1'\]: expected shape \(3, 4\), got \(4, 3\) \(transposed\?"),
    (lambda p: {**p, "b1": p["b1"][:, None]}, r"^params\['b1'\]: expected shape \(3,\), got \(3, 1\)$"),
    (lambda p: {**p, "W2": p["W2"] + 0j}, r"^params\['W2'\]: expected real floating or integer numbers, got dtype complex128$"),
    (lambda p: {**p, "b2": np.array(["a", "b", "c"])}, r"^params\['b2'\]: expected real floating or integer numbers"),
    (lambda p: list(p.values()), r"^params: expected a dict of arrays"),
])
def test_wrong_parameters_are_named(iris, change, match):
    g, params, X, labels = iris
    refused(g.gradients, change(params), X, np.eye(3)[labels], match=match)
    refused(g.forward, change(params), X, match=match)


@pytest.mark.parametrize("X,match", [
    (np.ones(4), r"^X: expected shape \(m, 4\), one row per example, got \(4,\) \(one example: X\.reshape\(1, -1\)\)$"),
    (np.ones((2, 5)), r"^X: expected shape \(m, 4\), one row per example, got \(2, 5\)$"),
    (np.ones((2, 4, 1)), r"got \(2, 4, 1\)"),
    (np.ones((0, 4)), r"^X: expected at least one example \(m >= 1\), got shape \(0, 4\)$"),
    (np.ones((1, 4), dtype=bool), r"^X: expected real floating or integer numbers, got dtype bool$"),
    ([[1.0, 2.0], [3.0]], r"^X: expected an array of numbers, got list"),
])
def test_wrong_inputs_are_named(iris, X, match):
    g, params, _, _ = iris
    refused(g.forward, params, X, match=match)
    refused(g.predict, params, X, match=match)


def test_integers_and_lists_are_converted_and_give_the_same_numbers(iris):
    g, params, X, labels = iris
    Xi = np.round(X * 3).astype(np.int32)
    Y = np.eye(3)[labels]
    want = g.gradients(params, Xi.astype(float), Y)
    got = g.gradients({k: v.tolist() for k, v in params.items()}, Xi, np.eye(3, dtype=np.int64)[labels])
    for k in want:
        assert got[k].dtype == np.float64
        np.testing.assert_array_equal(got[k], want[k])


def test_float32_stays_float32_and_mixed_floats_widen(iris):
    g, params, X, labels = iris
    single = {k: v.astype(np.float32) for k, v in params.items()}
    assert g.loss(single, X.astype(np.float32), np.eye(3, dtype=np.float32)[labels]).dtype == np.float32
    assert g.loss(single, X, np.eye(3)[labels]).dtype == np.float64


def test_a_flat_y_is_one_target_per_example_only_with_one_output():
    spec, g = setup(ONE_OUT)
    params, X, Y = reference.random_problem(spec, 4, examples=5)
    assert g.loss(params, X, Y[:, 0]) == g.loss(params, X, Y)
    refused(g.loss, params, X, Y[:3, 0], match=r"^Y: expected shape \(5, 1\) or \(5,\), one row per example of X, got \(3,\)$")
    refused(g.loss, params, X, np.ones((5, 2)), match=r"got \(5, 2\)$")


def test_init_params_draws_what_the_spec_seed_draws():
    extra = "[values]\nx = [[0.1, 0.2]]\ny = [[1.0]]\nseed = 1234\n"
    spec, g = setup(ONE_OUT + extra)
    drawn = g.init_params(1234)
    assert list(drawn) == list(spec.parameter_shapes())
    for k, v in spec.values.params.items():
        np.testing.assert_array_equal(drawn[k], np.array(v))
        assert drawn[k].shape == spec.parameter_shapes()[k]
    assert not np.array_equal(g.init_params(1)["W1"], drawn["W1"])
    for bad in (-1, 2**32, 1.5, True, "3"):
        refused(g.init_params, bad, match=r"^seed: expected a whole number")


def test_predict_is_the_output_layer_and_step_is_one_gradient_step():
    spec, g = setup(ONE_OUT)
    params, X, Y = reference.random_problem(spec, 7, examples=4)
    np.testing.assert_allclose(g.predict(params, X), g.forward(params, X)["a2"], rtol=0, atol=0)
    # the prediction is what the independent backprop's loss was computed from
    J, grads, _ = reference.backprop(spec, params, X, Y)
    assert 0.5 * np.sum((Y - g.predict(params, X)) ** 2) == pytest.approx(J, rel=1e-12)
    before = {k: v.copy() for k, v in params.items()}
    new = g.step(params, X, Y, 0.25)
    for k in params:
        np.testing.assert_allclose(new[k], before[k] - 0.25 * grads[k], rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(params[k], before[k])  # the arguments are not changed
    assert g.loss(new, X, Y) < g.loss(params, X, Y)
    for bad in (0, -0.1, float("nan"), "0.1", None):
        refused(g.step, params, X, Y, bad, match=r"^lr: expected a positive number")


def test_step_keeps_float32():
    spec, g = setup(ONE_OUT)
    params, X, Y = reference.random_problem(spec, 7, examples=4)
    new = g.step({k: v.astype(np.float32) for k, v in params.items()}, X.astype(np.float32), Y.astype(np.float32), 0.1)
    assert {v.dtype for v in new.values()} == {np.dtype(np.float32)}


# Numbers a spec refuses, the module refuses (issue 22): NaN or ±inf in X or Y, targets outside [0, 1]
# for bce (and a sigmoid output's cross-entropy), at one example and at many, in every public function.
BCE = spec_text([2, 3, 1], "sigmoid", "bce")
PUBLIC = ["loss", "gradients", "gradients_scalar", "backward", "trace_scalar", "step"]


@pytest.mark.parametrize("name", PUBLIC)
@pytest.mark.parametrize("m", [1, 1000])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_x_or_y_is_refused(name, m, bad):
    _, g = setup(ONE_OUT)
    params, fn = g.init_params(2), getattr(g, name)
    extra = (0.1,) if name == "step" else ()
    X, Y = np.full((m, 2), 0.5), np.full((m, 1), 0.25)
    X[m - 1, 1] = bad
    refused(fn, params, X, Y, *extra, match=rf"^X: expected finite numbers, got {bad} at row {m - 1}, column 1$")
    X[m - 1, 1], Y[m // 2, 0] = 0.5, bad
    refused(fn, params, X, Y, *extra, match=rf"^Y: expected finite numbers, got {bad} at row {m // 2}, column 0$")
    Y[m // 2, 0] = 0.25
    fn(params, X, Y, *extra)
    if name in ("loss", "gradients"):
        refused(fn, params, X.astype(np.float32) / np.float32(0), Y, *extra, match="^X: expected finite numbers")


def test_huge_finite_inputs_are_not_mistaken_for_inf():
    _, g = setup(ONE_OUT)
    X = np.array([[1e200, -1e200]])  # the sum of squares overflows; every entry is still finite
    g.gradients(g.init_params(2), X, np.array([[0.5]]))


@pytest.mark.parametrize("m", [1, 1000])
@pytest.mark.parametrize("target", [1.5, -0.01, np.nan, np.inf])
def test_bce_targets_outside_zero_to_one_are_refused(m, target):
    _, g = setup(BCE)
    X, Y = np.full((m, 2), 0.5), np.full((m, 1), 1.0)
    g.gradients(g.init_params(2), X, Y)
    Y[m - 1, 0] = target
    refused(g.gradients, g.init_params(2), X, Y, match=rf"^Y: expected targets from 0 to 1 for the bce loss, got {target} at row {m - 1}, column 0$")
    refused(g.step, g.init_params(2), X.tolist(), Y.tolist(), 0.1, match="expected targets from 0 to 1")
