"""L2 regularization: J = loss + c·ΣW² (c from the spec's l2_scale), in the derivation, the proof, the
generated module and the independent reference, checked against hand computations, finite differences
and deeplearning.ai's published test case."""
import json

import numpy as np
import pytest
from conftest import spec_text

from derive.cli import main
from derive.code.codegen import load_module, module_source
from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.proof import prove
from derive.engine.spec import L2_SCALES, parse_spec
from derive.numbers import reference
from derive.numbers.check import check_module

C = {"1/(2m)": lambda lam, m: lam / (2 * m), "1/m": lambda lam, m: lam / m, "1/2": lambda lam, m: lam / 2, "1": lambda lam, m: lam}


def _spec(l2=None, scale=None, bias=True, skip=None, activation=("tanh", "relu", "sigmoid"), loss="bce_mean", layers=(3, 4, 3, 2)):
    text = spec_text(list(layers), list(activation), loss, bias=bias, skip=skip, name="r")
    lines = text.splitlines()
    at = lines.index("[network]") + 1
    extra = ([f"l2 = {l2}"] if l2 is not None else []) + ([f'l2_scale = "{scale}"'] if scale is not None else [])
    return parse_spec("\n".join(lines[:at] + extra + lines[at:]) + "\n")


def _module(spec):
    return load_module(module_source(derive(build_network(spec))))


@pytest.mark.parametrize("scale", L2_SCALES)
@pytest.mark.parametrize("bias", [True, False], ids=["biases", "no-biases"])
@pytest.mark.parametrize("skip", [None, [[0, 2], [1, 3]]], ids=["dense", "skips"])
def test_regularized_loss_and_gradients_match_the_reference_and_finite_differences(scale, bias, skip):
    spec = _spec(0.7, scale, bias, skip)
    plain = _spec(None, None, bias, skip)
    module = _module(spec)
    report = check_module(spec, module, seed=3)  # module vs the reference backprop and finite differences
    assert report.ok, report.lines()
    params, X, Y = reference.random_problem(spec, 3, examples=4)
    m = len(X)
    c = C[scale](0.7, m)
    weights = [n for n in spec.parameter_shapes() if n.startswith("W")]
    assert len(weights) == 3 + (2 if skip else 0)
    # The reference's own term, against this file's hand computation: + c·ΣW², and + 2c·W on weights only.
    penalty = c * sum(np.sum(params[n] ** 2) for n in weights)
    np.testing.assert_allclose(reference.loss(spec, params, X, Y), reference.loss(plain, params, X, Y) + penalty, rtol=1e-13)
    _, g, deltas = reference.backprop(spec, params, X, Y)
    _, g0, deltas0 = reference.backprop(plain, params, X, Y)
    for name in spec.parameter_shapes():
        want = g0[name] + (2 * c * params[name] if name.startswith("W") else 0)
        np.testing.assert_allclose(g[name], want, rtol=1e-13, atol=1e-15)
    # The generated module: loss, both gradient forms, and δ unchanged by the term.
    np.testing.assert_allclose(module.loss(params, X, Y), reference.loss(spec, params, X, Y), rtol=1e-12)
    for form in (module.gradients, module.gradients_scalar):
        got = form(params, X, Y)
        for name in spec.parameter_shapes():
            np.testing.assert_allclose(got[name], g[name], rtol=1e-11, atol=1e-14)
    fd = reference.finite_differences(spec, params, X, Y)
    for name in weights:
        np.testing.assert_allclose(module.gradients(params, X, Y)[name], fd[name], rtol=1e-7, atol=1e-10)
    back = module.backward(params, X, Y)
    for l in range(1, 4):
        np.testing.assert_allclose(back[f"delta{l}"], deltas0[f"delta{l}"], rtol=1e-12, atol=1e-15)
    trace = module.trace_scalar(params, X, Y)
    np.testing.assert_allclose(trace["loss"], reference.loss(spec, params, X, Y), rtol=1e-12)


def test_each_weight_gains_one_path_of_one_factor_and_biases_none():
    spec, plain = _spec(0.7, skip=[[0, 2]]), _spec(None, skip=[[0, 2]])
    d, d0 = derive(build_network(spec)), derive(build_network(plain))
    for key, count in d.path_count.items():
        before = d0.path_count[key]
        extra = 1 if key.startswith("W") else 0
        assert (count.paths, count.factors) == (before.paths + extra, before.factors + extra), key
    direct = [path for path in d.paths("W2_0[1,2]") if len(path) == 1]
    assert len(direct) == 1 and direct[0][0].numerator == d.network.J
    # ∂J/∂w along that path: λ/m·w for the default 1/(2m)
    lam, m = d.network.l2.symbol, d.network.m
    w = d.parameter("W2_0[1,2]").symbol
    assert direct[0][0].value == lam * w / m
    assert len(d.regularization) == 4 * 3 + 3 * 4 + 3 * 3 + 2 * 3  # W1, W2, W2_0, W3: every weight, no bias
    assert d.total_paths == d0.total_paths + len(d.regularization)


@pytest.mark.parametrize("scale", L2_SCALES)
def test_the_proof_covers_the_term(scale):
    from derive.engine.proof import METHOD, ProofFailed

    d = derive(build_network(_spec(0.7, scale, skip=[[0, 2]])))
    proofs = prove(d)
    assert len(proofs) == len(d.parameters) and all(p.method == METHOD for p in proofs)
    # deeper: the direct path is one of 3·3·2 + 1, and a wrong L2 slope is caught
    deep = derive(build_network(_spec(0.7, scale, layers=(2, 3, 3, 3, 2), activation=("tanh", "tanh", "tanh", "sigmoid"))))
    assert deep.path_count["W1[0,0]"].paths == 3 * 3 * 2 + 1
    prove(deep, points=2)
    deep.regularization["W2[1,1]"] = 2 * deep.regularization["W2[1,1]"]
    with pytest.raises(ProofFailed, match=r"W2\[1,1\]"):
        prove(deep, points=2)


def test_without_l2_nothing_changes():
    assert module_source(derive(build_network(_spec(0, "1/m")))) == module_source(derive(build_network(_spec(None))))


def test_deeplearning_ai_backward_propagation_with_regularization():
    """deeplearning.ai, "Regularization", backward_propagation_with_regularization_test_case() with λ = 0.7:
    its 3-2-3-1 network (ReLU, ReLU, sigmoid, cross-entropy averaged over m = 5), its parameters (rounded
    to 8 decimals in the test case), and the dW it publishes."""
    X = np.array([[1.62434536, -0.61175641, -0.52817175, -1.07296862, 0.86540763],  # np.random.seed(1); randn(3, 5)
                  [-2.3015387, 1.74481176, -0.7612069, 0.3190391, -0.24937038],
                  [1.46210794, -2.06014071, -0.3224172, -0.38405435, 1.13376944]])
    Y = np.array([[1, 1, 0, 1, 0]])
    params = {"W1": [[-1.09989127, -0.17242821, -0.87785842], [0.04221375, 0.58281521, -1.10061918]],
              "b1": [1.14472371, 0.90159072],
              "W2": [[0.50249434, 0.90085595], [-0.68372786, -0.12289023], [-0.93576943, -0.26788808]],
              "b2": [0.53035547, -0.69166075, -0.39675353],
              "W3": [[-0.6871727, -0.84520564, -0.67124613]], "b3": [-0.0126646]}
    published = {"W1": [[-0.25604646, 0.12298827, -0.28297129], [-0.17706303, 0.34536094, -0.4410571]],
                 "W2": [[0.79276486, 0.85133918], [-0.0957219, -0.01720463], [-0.13100772, -0.03750433]],
                 "W3": [[-1.77691347, -0.11832879, -0.09397446]]}
    spec = _spec(0.7, "1/(2m)", True, None, ("relu", "relu", "sigmoid"), "bce_mean", (3, 2, 3, 1))
    module = _module(spec)
    P = {k: np.array(v) for k, v in params.items()}
    for form in (module.gradients, module.gradients_scalar):
        got = form(P, X.T, Y.T)
        for name, want in published.items():
            np.testing.assert_allclose(got[name], want, atol=2e-8)
    # its forward cache, too: A3 = [0.40682402, 0.01629284, 0.16722898, 0.10118111, 0.40682402]
    np.testing.assert_allclose(module.forward(P, X.T)["a3"][:, 0], [0.40682402, 0.01629284, 0.16722898, 0.10118111, 0.40682402], atol=1e-8)


@pytest.mark.parametrize("line, message", [
    ("l2 = -0.5", "network.l2: must be at least 0"),
    ('l2 = "0.7"', "network.l2: expected a number, got a string"),
    ('l2_scale = "1/(3m)"', "network.l2_scale: '1/(3m)' is not one of 1/(2m), 1/m, 1/2, 1"),
    ('l2_scale = "__import__(\'os\')"', "network.l2_scale: "),
    ("l2_scale = 2", "network.l2_scale: expected a string"),
    ("l2 = inf", "network.l2: must be a finite number"),
])
def test_bad_l2_fields_are_one_line(tmp_path, capsys, line, message):
    path = tmp_path / "s.toml"
    path.write_text(spec_text([2, 2, 1], name="s").replace("[network]\n", f"[network]\n{line}\n"))
    assert main(["paths", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_paths_answers_and_build_say_so(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(spec_text([2, 2, 1], name="s", extra="[values]\nx = [[0.5, -1.0], [1.0, 2.0]]\ny = [0.2, 0.9]\nseed = 1\nlearning_rate = 0.5\n")
                    .replace("[network]\n", '[network]\nl2 = 0.25\nl2_scale = "1/m"\n'))
    assert main(["paths", str(path)]) == 0
    assert "6 weights reach J directly, 1 more path of 1 factor each" in capsys.readouterr().out
    assert main(["answers", str(path), "--json"]) == 0
    numbers = json.loads(capsys.readouterr().out)
    assert numbers["l2"] == {"lambda": 0.25, "scale": "1/m", "weights": ["W1", "W2"]}
    spec = parse_spec(path.read_text())
    P = {k: np.array(v) for k, v in spec.values.params.items()}
    J, grads, _ = reference.backprop(spec, P, np.array(spec.values.x), np.array(spec.values.y))
    assert numbers["loss"] == pytest.approx(J, rel=1e-12)
    np.testing.assert_allclose(numbers["updated"]["W1"], P["W1"] - 0.5 * grads["W1"], rtol=1e-12)
    out = tmp_path / "out"
    assert numbers["arithmetic"].startswith("exact decimals")  # λ = 0.25 is the decimal the spec wrote
    assert main(["build", str(path), "--out", str(out), "--no-pdf"]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in (out / "s").iterdir()) == [".derive-manifest.json", "answers.json", "answers.tex",
                                                             "exercises.tex", "gradients.py", "handout.tex"]


def test_training_with_l2_steps_on_the_regularized_loss(tmp_path, capsys):
    path = tmp_path / "s.toml"
    values = "[values]\nx = [[0.5, -1.0], [1.0, 2.0], [-0.3, 0.8]]\ny = [0.2, 0.9, 0.4]\nseed = 1\nlearning_rate = 0.5\n"
    path.write_text(spec_text([2, 3, 1], name="s", loss="half_mse", extra=values).replace("[network]\n", "[network]\nl2 = 0.1\n"))
    assert main(["train", str(path), "--epochs", "20", "--batch-size", "2", "--json", "--no-pdf", "--out", str(tmp_path / "o")]) == 0
    out = json.loads(capsys.readouterr().out)
    spec = parse_spec(path.read_text())
    P = {k: np.array(v) for k, v in spec.values.params.items()}
    X, Y = np.array(spec.values.x), np.array(spec.values.y).reshape(-1, 1)
    for epoch in out["epochs"]:
        for rows in ([0, 1], [2]):  # each batch's J has its own m: λ/(2·2) and then λ/(2·1)
            _, g, _ = reference.backprop(spec, P, X[rows], Y[rows])
            P = {k: P[k] - 0.5 * g[k] for k in P}
        assert epoch["loss"] == pytest.approx(reference.loss(spec, P, X, Y), rel=1e-11)
