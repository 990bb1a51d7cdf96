"""The derivation engine: path counts, δ terms, the proof, against independent computations."""
import math

import numpy as np
import pytest
import sympy as sp
from conftest import EXAMPLES, spec_text

from derive.code.codegen import load_module, module_source
from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import load_spec, parse_spec
from derive.numbers import reference


def derivation_of(*args, **kwargs):
    return derive(build_network(parse_spec(spec_text(*args, **kwargs))))


# --- Paths: the lab sheet's counts and the product-of-widths formula -------------------------

def test_toy_111_has_two_paths_and_eight_factors():
    d = derivation_of([1, 1, 1], bias=False)
    assert (d.total_paths, d.total_factors) == (2, 8)
    assert d.path_count["W2[0,0]"].factors == 3  # ∂J/∂a(3) · ∂a(3)/∂z(3) · ∂z(3)/∂θ2
    assert d.path_count["W1[0,0]"].factors == 5


def test_222_without_biases_has_52_factors_over_12_paths():
    d = derivation_of([2, 2, 2], bias=False)
    assert (d.total_paths, d.total_factors, len(d.parameters)) == (12, 52, 8)
    # θ(1)_11 reaches J through both outputs: the blue path and the orange path.
    blue, orange = d.paths("W1[0,0]")
    assert [f.numerator.name for f in blue] == ["J", "a2_0", "z2_0", "a1_0", "z1_0"]
    assert [f.numerator.name for f in orange] == ["J", "a2_1", "z2_1", "a1_0", "z1_0"]


def expected_counts(layers, layer, softmax=False):
    """A weight of computing layer `layer` has Π_{k>layer} n_k paths of 2(L − layer) + 3 factors."""
    L = len(layers) - 1
    paths = math.prod(layers[layer + 1:]) * (layers[-1] if softmax else 1)
    return paths, paths * (2 * (L - layer) + 3)


@pytest.mark.parametrize("layers", [[3, 2], [2, 3, 2], [3, 5, 5, 5, 2], [2, 4, 3, 2, 3], [1, 2, 3, 4]])
@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_path_counts_follow_the_product_of_widths(layers, output):
    if output == "softmax" and layers[-1] < 2:
        pytest.skip("softmax needs two outputs")
    acts = ["tanh"] * (len(layers) - 2) + [output]
    d = derivation_of(layers, acts, "half_sse", bias=True)
    for p in d.parameters:
        assert (d.path_count[p.key].paths, d.path_count[p.key].factors) == expected_counts(layers, p.layer, output == "softmax")


def test_path_enumeration_agrees_with_the_counts_with_a_skip_connection():
    d = derivation_of([2, 3, 2, 1], ["tanh", "sigmoid", "sigmoid"], skip=[(0, 2), (1, 3)])
    for p in d.parameters:
        paths = list(d.paths(p.key))
        assert len(paths) == d.path_count[p.key].paths
        assert sum(len(path) for path in paths) == d.path_count[p.key].factors
    # W1[0,0] reaches J through z2 (2 units) and directly through the skip into z3.
    assert d.path_count["W1[0,0]"].paths == 3


# --- δ terms -------------------------------------------------------------------------------

def test_sigmoid_with_bce_gives_yhat_minus_y():
    d = derivation_of([2, 3, 1], "sigmoid", "bce")
    out = d.output_delta[d.network.delta[2][0]]
    a, y = d.network.a[2][0], d.network.y[0]
    assert out.simplified and sp.simplify(out.value - (a - y)) == 0
    assert out.value == a - y


def test_softmax_with_mean_cross_entropy_gives_yhat_minus_y_over_m():
    d = derivation_of([2, 3, 3], ["tanh", "softmax"], "cross_entropy_mean")
    net = d.network
    for j in range(3):
        out = d.output_delta[net.delta[2][j]]
        assert out.used_target_sum
        assert sp.expand(out.value - (net.a[2][j] - net.y[j]) / net.m) == 0


def test_squared_error_keeps_the_chain_and_the_factor_two():
    d = derivation_of([1, 2, 1], "sigmoid", "sse")
    net = d.network
    a, y = net.a[2][0], net.y[0]
    assert sp.expand(d.delta_expr[net.delta[2][0]] - 2 * (a - y) * a * (1 - a)) == 0
    # ∂e/∂w^2_11 = 2(ŷ − y)·w^3_11·g'(z^3)·g'(z^2_1)·x in Nielsen's numbering (our W1[0,0]).
    w = net.parameters[[p.key for p in net.parameters].index("W2[0,0]")].symbol
    a1, x = net.a[1][0], net.x[0]
    expected = 2 * (a - y) * w * a * (1 - a) * a1 * (1 - a1) * x
    assert sp.expand(d.expanded_delta(d.gradient["W1[0,0]"]) - expected) == 0


def test_hidden_delta_sums_over_every_unit_it_feeds_including_skips():
    d = derivation_of([2, 2, 2, 1], "sigmoid", skip=[(1, 3)])
    net = d.network
    fed = d.delta_expr[net.delta[1][0]].free_symbols
    assert {net.delta[2][0], net.delta[2][1], net.delta[3][0]} <= fed


@pytest.mark.parametrize("layers,acts,loss", [
    ([2, 2, 2], "sigmoid", "half_sse"),
    ([1, 2, 1], ["tanh", "identity"], "mse"),
    ([2, 2, 2], ["sigmoid", "softmax"], "cross_entropy"),
    ([2, 3, 1], ["relu", "sigmoid"], "bce_mean"),
])
def test_delta_form_equals_sympy_diff_of_the_nested_loss(layers, acts, loss):
    """An independent route: differentiate the whole composition with SymPy and compare numerically."""
    d = derivation_of(layers, acts, loss)
    net = d.network
    J = net.nested(net.loss_expr)
    rng = np.random.default_rng(3)
    point = {s: sp.Float(rng.uniform(-1, 1)) for s in [p.symbol for p in net.parameters] + list(net.x)}
    ys = rng.uniform(0.1, 0.9, len(net.y)) if net.activation(net.depth) != "softmax" else np.eye(len(net.y))[0]
    point.update({y: sp.Float(v) for y, v in zip(net.y, ys)})
    point[net.m] = 1
    for p in net.parameters:
        want = sp.diff(J, p.symbol).xreplace(point).evalf(30)
        got = net.nested(d.expanded_delta(d.gradient[p.key])).xreplace(point).evalf(30)
        assert abs(float(want - got)) <= 1e-12 * max(1.0, abs(float(want))), p.key


def test_a_wide_network_derives_without_expanding_paths():
    d = derivation_of([3, 5, 5, 5, 2], bias=False)
    assert d.total_paths == 3 * 5 * 50 + 5 * 5 * 10 + 5 * 5 * 2 + 5 * 2  # grows as the product of widths
    sizes = sum(sp.count_ops(e) for e in d.delta_expr.values())
    assert sizes < 400  # while the δ form stays linear in the weights


# --- Generated gradients against the independent backprop and finite differences -----------

HIDDEN = ["sigmoid", "tanh", "relu", "identity"]
OUTPUTS = {"half_sse": ["identity", "sigmoid", "tanh", "softmax"], "sse": ["sigmoid", "relu"],
           "half_mse": ["identity", "softmax"], "mse": ["tanh"], "bce": ["sigmoid"], "bce_mean": ["sigmoid"],
           "cross_entropy": ["softmax", "sigmoid"], "cross_entropy_mean": ["softmax"]}
CASES = []
for i, (loss, outs) in enumerate(OUTPUTS.items()):
    for j, out in enumerate(outs):
        for depth in (1, 2, 3, 4):
            hidden = HIDDEN[(i + j + depth) % 4]
            layers = [3] + [4 - (k % 2) for k in range(depth - 1)] + [3 if out == "softmax" else 2]
            bias = (i + depth) % 2 == 0
            skip = [(0, depth)] if depth >= 2 and (i + j) % 2 == 0 else []
            CASES.append((layers, [hidden] * (depth - 1) + [out], loss, bias, skip))


def away_from_relu_kinks(spec, seed):
    """Finite differences are meaningless within a step of a ReLU kink; redraw until clear of it."""
    for attempt in range(50):
        params, X, Y = reference.random_problem(spec, seed + attempt, examples=4)
        zs = reference.forward(spec, params, X)
        if all(np.min(np.abs(zs[f"z{l}"])) > 0.05 for l in range(1, spec.depth + 1) if spec.activations[l - 1] == "relu"):
            return params, X, Y
    raise AssertionError("no problem clear of ReLU kinks")


@pytest.mark.parametrize("layers,acts,loss,bias,skip", CASES, ids=lambda v: str(v).replace(" ", ""))
def test_generated_gradients_match_backprop_and_finite_differences(layers, acts, loss, bias, skip):
    spec = parse_spec(spec_text(layers, acts, loss, bias, skip))
    d = derive(build_network(spec))
    module = load_module(module_source(d))
    for examples in (1, 4):
        params, X, Y = away_from_relu_kinks(spec, 11)
        X, Y = X[:examples], Y[:examples]
        J, grads, deltas = reference.backprop(spec, params, X, Y)
        fd = reference.finite_differences(spec, params, X, Y)
        assert module.loss(params, X, Y) == pytest.approx(J, rel=1e-12)
        for form in (module.gradients(params, X, Y), module.gradients_scalar(params, X, Y)):
            for name, want in grads.items():
                assert form[name].shape == want.shape
                np.testing.assert_allclose(form[name], want, rtol=1e-12, atol=1e-14 * max(1, abs(J)))
                np.testing.assert_allclose(form[name], fd[name], rtol=1e-7, atol=1e-11 * max(1, abs(J)))
        back = module.backward(params, X, Y)
        for name, want in deltas.items():
            np.testing.assert_allclose(back[name], want, rtol=1e-12, atol=1e-15)
    for p in d.parameters:
        want = expected_counts(layers, p.layer, acts[-1] == "softmax")
        if not skip:
            assert (d.path_count[p.key].paths, d.path_count[p.key].factors) == want


# --- The bundled examples reproduce the teaching material ------------------------------------

def answers_of(name):
    from derive.numbers.answers import compute_answers

    return compute_answers(derive(build_network(load_spec(EXAMPLES / f"{name}.toml"))))


def test_welch_231_worksheet_numbers():
    numbers = answers_of("welch-231")
    assert numbers["forward"]["a2"][0][0] == pytest.approx(0.913529, abs=5e-7)
    assert numbers["loss"] == pytest.approx(0.0133709, abs=5e-8)
    # ∂J/∂W(2) = (a(2))ᵀ δ(3): 0.0101512 per entry, not the hand key's "aᵀ = 0.74".
    np.testing.assert_allclose(numbers["gradients"]["W2"], [[0.0101512] * 3], atol=5e-8)
    # by hand: a = σ(1.3), ŷ = σ(3a), δ = −(y − ŷ)ŷ(1 − ŷ)
    a = 1 / (1 + math.exp(-1.3))
    yhat = 1 / (1 + math.exp(-3 * a))
    assert numbers["gradients"]["W2"][0][0] == pytest.approx(a * (yhat - 0.75) * yhat * (1 - yhat), rel=1e-12)


def test_mazur_222_published_numbers():
    numbers = answers_of("mazur-222")
    assert numbers["loss"] == pytest.approx(0.298371109, abs=1e-9)
    assert numbers["gradients"]["W2"][0][0] == pytest.approx(0.082167041, abs=1e-9)
    assert numbers["updated"]["W2"][0][0] == pytest.approx(0.35891648, abs=1e-8)
    assert numbers["updated"]["W1"][0][0] == pytest.approx(0.149780716, abs=1e-9)


def test_welch_batch_sums_over_the_three_examples():
    numbers = answers_of("welch-231-batch")
    a2 = np.array(numbers["forward"]["a1"])
    d3 = np.array(numbers["delta"]["delta2"])
    assert d3.shape == (3, 1)
    np.testing.assert_allclose(numbers["gradients"]["W2"], (a2.T @ d3).T, rtol=1e-13)


def test_classification_twin_has_output_delta_yhat_minus_t():
    numbers = answers_of("classification-231")
    yhat = np.array(numbers["forward"]["a2"])
    t = np.array(numbers["inputs"]["y"])
    np.testing.assert_allclose(numbers["delta"]["delta2"], yhat - t, rtol=1e-13)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_every_bundled_example_checks_out(path):
    from derive.numbers.check import check_module

    spec = load_spec(path)
    report = check_module(spec, load_module(module_source(derive(build_network(spec)))))
    assert report.ok, report.lines()
