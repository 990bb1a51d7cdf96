"""Saturated but valid nets: the loss and its slope to every digit, and a check that does not cry wolf.

σ(20) = 1 − 2.06·10⁻⁹ is held to 16 digits, so 1 − σ(20) computed from it keeps 8, and a squared
error against the target 1 (J ≈ 2.1·10⁻¹⁸) kept as few: `derive check` refused the net with "loss vs
backprop differs by 1.08e-07 (tolerance 1e-12)", and at z = 30 the module's loss was 3.3·10⁻⁴ off.
The module and the reference now evaluate 1 − σ(z) as σ(−z), a − y without cancelling, and softmax's
ln a by its log-softmax, so both agree with the exact answers (answers.precise: the spec's decimals
exactly, σ and ln to 50 digits and more where a unit saturates) at z = 20, 30, 40, 200 and −200, for
every loss σ or softmax can feed, with targets at the saturated value and away from it.

The tolerance is relative, 1e-12 (a few ulp of each number, however small), with one exception: a
softmax output under a squared error, whose δ = a∘(g − Σ g∘a) subtracts numbers of size |g| to get
one far smaller, from probabilities a = e^(z − lse) that carry lse's rounding, |z|·2⁻⁵³; that
difference is only as good as a few such ulp, so its gradients are held to 1e-15·|z| of the net's
natural scale max(1, |J|)·max(1, |x|) (the check's own floor is 1e-13 of it, whatever z).
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from derive.cli import main
from derive.code import stable_forms
from derive.code.codegen import load_module, module_source
from derive.engine.derivation import derive
from derive.engine.matrix_form import Elementwise
from derive.engine.network import build_network
from derive.engine.spec import parse_spec
from derive.numbers import check, reference
from derive.numbers.answers import example_arrays, precise, to_float

Z = (20.0, 30.0, 40.0, 200.0, -200.0)
SQUARED = ("half_sse", "sse", "half_mse", "mse")
SIGMOID_LOSSES = SQUARED + ("bce", "bce_mean", "cross_entropy", "cross_entropy_mean")
SOFTMAX_LOSSES = SQUARED + ("cross_entropy", "cross_entropy_mean")
RELATIVE = 1e-12


def sigmoid_targets(z: float, loss: str) -> list[float]:
    """The saturated value (1 for z > 0, 0 for z < 0), the other end, the middle; outside [0, 1] for squared errors."""
    at = 1.0 if z > 0 else 0.0
    return [at, 1.0 - at, 0.5, 0.999] + ([2.0, -1.0] if loss in SQUARED else [])


def spec_text(layers, activation, loss, x, y, params: dict) -> str:
    acts = json.dumps(activation)  # "sigmoid" or ["sigmoid", "identity"]
    lines = ['name = "saturated"', "[network]", f"layers = {list(layers)}", f"activation = {acts}", "bias = false",
             f'loss = "{loss}"', "[values]", f"x = {x}", f"y = {y}"]
    lines += [f"{name} = {value}" for name, value in params.items()]
    return "\n".join(lines) + "\n"


def exact_and_module(text: str):
    spec = parse_spec(text)
    derivation = derive(build_network(spec))
    module = load_module(module_source(derivation))
    exact = precise(derivation)
    params, X, Y = example_arrays(spec.values)
    return spec, module, exact, (params, X, Y)


def assert_exact(spec, module, exact, problem, gradient_floor: float = 0.0):
    params, X, Y = problem
    J = to_float(exact["loss"])
    for name, got in (("loss", module.loss(*problem)), ("trace_scalar loss", module.trace_scalar(*problem)["loss"])):
        assert abs(float(got) - J) <= RELATIVE * abs(J), (name, float(got), J)
    want = {key: to_float(v) for key, v in exact["gradients"].items()}
    for form, grads in (("matrix", module.gradients(*problem)), ("scalar", module.gradients_scalar(*problem))):
        for key, w in want.items():
            name, index = key.split("[")
            g = float(grads[name][tuple(int(i) for i in index[:-1].split(","))])
            assert abs(g - w) <= RELATIVE * abs(w) + gradient_floor, (form, key, g, w)
    # δ of the output layer, every example: the slope of the loss itself
    L = spec.depth
    deltas = module.backward(params, X, Y)[f"delta{L}"]
    net = derive(build_network(spec)).network
    for n, values in enumerate(exact["values"]):
        for j, d in enumerate(net.delta[L]):
            w = to_float(values[d])
            assert abs(float(deltas[n, j]) - w) <= RELATIVE * abs(w) + gradient_floor, (f"delta{L}", n, j, deltas[n, j], w)
    report = check.check_module(spec, module)
    assert report.ok, report.lines()


@pytest.mark.parametrize("z", Z)
@pytest.mark.parametrize("loss", SIGMOID_LOSSES)
def test_a_saturated_sigmoid_output_to_every_digit(loss, z):
    for y in sigmoid_targets(z, loss):
        text = spec_text([1, 1], "sigmoid", loss, "[[1.0]]", f"[[{y}]]", {"W1": f"[[{z}]]"})
        assert_exact(*exact_and_module(text))


@pytest.mark.parametrize("z", Z)
@pytest.mark.parametrize("loss", SOFTMAX_LOSSES)
def test_a_saturated_softmax_output_to_every_digit(loss, z):
    for hot in (0, 1):  # the target at the class the net is sure of, and at the other one
        y = "[[1.0, 0.0, 0.0]]" if hot == 0 else "[[0.0, 1.0, 0.0]]"
        text = spec_text([1, 3], "softmax", loss, "[[1.0]]", y, {"W1": f"[[{z}], [0.0], [{-z / 4}]]"})
        spec, module, exact, problem = exact_and_module(text)
        natural = max(1.0, abs(to_float(exact["loss"]))) * max(1.0, float(np.max(np.abs(problem[1]))))
        assert_exact(spec, module, exact, problem, gradient_floor=1e-15 * natural * abs(z) if loss in SQUARED else 0.0)


@pytest.mark.parametrize("z", Z)
@pytest.mark.parametrize("out, loss", [("identity", "half_sse"), ("sigmoid", "bce"), ("sigmoid", "mse")])
def test_a_saturated_hidden_sigmoid_to_every_digit(out, loss, z):
    # σ′ = a(1 − a) of the hidden unit is a·σ(−z): the first layer's gradient keeps its digits
    text = spec_text([1, 1, 1], ["sigmoid", out], loss, "[[1.0], [0.5]]", "[[0.25], [1.0]]",
                     {"W1": f"[[{z}]]", "W2": "[[0.75]]"})
    assert_exact(*exact_and_module(text))


def test_the_reported_saturated_nets_pass_derive_check(tmp_path, capsys):
    for z in (20, 30):
        path = tmp_path / f"sigma-{z}.toml"
        path.write_text(spec_text([1, 1], "sigmoid", "half_sse", "[[1.0]]", "[[1.0]]", {"W1": f"[[{z}.0]]"}))
        assert main(["check", str(path), "--no-proof"]) == 0, capsys.readouterr()
    assert check.EXACT_TOLERANCE == 1e-12  # the tolerance kept, not widened to let these through


def test_the_reference_and_its_finite_differences_keep_the_digits_too():
    """derive.numbers.reference on its own: J = ½σ(−30)² and dJ/dw = −σ(30)σ(−30)², relative 1e-13."""
    spec = parse_spec(spec_text([1, 1], "sigmoid", "half_sse", "[[1.0]]", "[[1.0]]", {"W1": "[[30.0]]"}))
    params, X, Y = {"W1": np.array([[30.0]])}, np.array([[1.0]]), np.array([[1.0]])
    c = 1.0 / (1.0 + np.exp(30.0))  # σ(−30) to the last bit
    J, grads, _ = reference.backprop(spec, params, X, Y)
    assert J == pytest.approx(0.5 * c * c, rel=1e-13)
    assert grads["W1"][0, 0] == pytest.approx(-(1.0 - c) * c * c, rel=1e-13)
    fd = reference.finite_differences(spec, params, X, Y)
    assert fd["W1"][0, 0] == pytest.approx(-(1.0 - c) * c * c, rel=1e-6)


def _cancelling_sums(expr, saturating: set, targets: set) -> list:
    """Sums in `expr` of a saturating unit's a and a number or a target: 1 − a, a − y (which cancel near 1)."""
    found = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Add):
            terms = [t.as_coeff_Mul()[1] if t.is_Mul else t for t in node.args]
            if any(t in saturating for t in terms) and any(t.is_Number or t in targets for t in terms):
                found.append(node)
    return found


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "identity"])
@pytest.mark.parametrize("out, loss", [(o, l) for o in ("sigmoid", "softmax", "identity") for l in SIGMOID_LOSSES
                                       if not (l.startswith("bce") and o != "sigmoid")
                                       and not (l.startswith("cross") and o == "identity")])
def test_no_formula_of_the_module_subtracts_a_saturating_unit_from_one_or_its_target(hidden, out, loss):
    """Every template of the matrix form, and every δ and J of the scalar form, as the module evaluates them."""
    spec = parse_spec("\n".join(['name = "forms"', "[network]", "layers = [2, 3, 2]", f"activation = {json.dumps([hidden, out])}",
                                 f'loss = "{loss}"', "bias = true", "skip = [[0, 2]]"]) + "\n")
    d = derive(build_network(spec))
    net = d.network
    saturating = {a for l in range(1, net.depth + 1) if net.activation(l) == "sigmoid" for a in net.a[l]}
    saturating |= set(net.a[net.depth]) if out == "softmax" else set()
    targets = set(net.y)
    templates = [node.template for eq in stable_forms.matrix_equations(net, d.matrix.equations)
                 for node in sp.preorder_traversal(eq.expr) if isinstance(node, Elementwise)]
    assert not [t for t in templates if _cancelling_sums(t, saturating, targets)], templates
    table = stable_forms.substitutions(net)
    scalar = [stable_forms.stable(net.loss_stable, table)]
    if not (out == "softmax" and loss in SQUARED):  # its Jacobian a_i(δ_ij − a_j) keeps 1 − a (see the module doc)
        scalar += [stable_forms.stable(d.delta_expr[s], table) for l in range(1, net.depth + 1) for s in net.delta[l]]
    assert not [e for e in scalar if _cancelling_sums(e, saturating, targets)], scalar
