"""The matrix form as NumPy statements: what they say, and that they only ever write into their own buffers."""
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp
from conftest import EXAMPLES, ROOT, spec_text
from test_derivation import CASES

from derive.code import stable_forms
from derive.code.codegen import StablePrinter, load_module, module_source
from derive.code.statements import Constants, StatementWriter
from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import parse_spec
from derive.numbers import reference


def module_of(text):
    return load_module(module_source(derive(build_network(parse_spec(text)))))


def equation_lines(text, name):
    """The statements that compute one equation of the module's matrix form (stable_forms'), as the writer emits them."""
    d = derive(build_network(parse_spec(text)))
    writer = StatementWriter(StablePrinter(), Constants(), d.network.m)
    (eq,) = [e for e in stable_forms.matrix_equations(d.network, d.matrix.equations) if e.name == name]
    return [line.strip() for line in writer.equation(eq.name, eq.expr)]


WELCH = (EXAMPLES / "welch-231.toml").read_text()


def test_a_sigmoid_layer_is_one_capped_exp_for_sigma_and_its_complement():
    assert equation_lines(WELCH, "E1") == ["# E1 = numpy.exp(numpy.minimum(Z1, _exp_cap))",
                                           "E1 = minimum(Z1, _exp_cap)", "exp(E1, E1)"]
    assert equation_lines(WELCH, "U1") == ["U1 = add(_one, E1)"]
    assert equation_lines(WELCH, "A1") == ["A1 = divide(E1, U1)"]  # σ(z) = e^z/(1 + e^z); 1 − σ(z) is 1/U1


def test_a_hidden_delta_is_one_product_and_two_passes():
    # σ′ = a(1 − a) = σ(z)σ(−z) = A1/U1, never 1 − A1
    assert equation_lines(WELCH, "D1") == [
        "# D1 = numpy.multiply(D2.dot(W2), (A1/U1))",
        "D1 = D2.dot(W2)",
        "_t2 = divide(A1, U1)",
        "multiply(D1, _t2, D1)",
    ]


def test_a_sigmoid_outputs_residual_is_written_without_one_minus_a():
    # ½(y − a)² through σ: δ = a(1 − a)(a − y) = a·c·(a(1 − y) − y·c) with c = 1 − a = 1/U2
    assert equation_lines(WELCH, "D2") == [
        "# D2 = A2*(A2*(1.0 - Y) - Y/U2)/U2",
        "D2 = subtract(_one, Y)",
        "multiply(A2, D2, D2)",
        "_t2 = divide(Y, U2)",
        "subtract(D2, _t2, D2)",
        "multiply(A2, D2, D2)",
        "divide(D2, U2, D2)",
    ]


def test_a_single_product_needs_no_comment_and_a_bias_is_only_read():
    text = spec_text([2, 3, 1], bias=True)
    assert equation_lines(text, "Z1") == ["# Z1 = X.dot(W1.T) + b1.T", "Z1 = X.dot(W1.T)", "add(Z1, b1.T, Z1)"]
    assert equation_lines(text, "dW2") == ["dW2 = D2.T.dot(A1)"]


def test_an_identity_layer_is_a_name_for_its_input():
    assert equation_lines(spec_text([2, 3, 1], ["sigmoid", "identity"]), "A2") == ["A2 = Z2"]


def read_only(params, X, Y):
    frozen = [np.array(v) for v in (X, Y, *params.values())]
    for v in frozen:
        v.flags.writeable = False
    return dict(zip(params, frozen[2:])), frozen[0], frozen[1]


@pytest.mark.parametrize("layers,acts,loss,bias,skip", CASES, ids=lambda v: str(v).replace(" ", ""))
def test_generated_code_never_writes_into_its_arguments(layers, acts, loss, bias, skip):
    spec = parse_spec(spec_text(layers, acts, loss, bias, skip))
    module = load_module(module_source(derive(build_network(spec))))
    params, X, Y = reference.random_problem(spec, 5, examples=3)
    frozen = read_only(params, X, Y)  # a write into any of these raises
    inputs = [frozen[1], frozen[2], *frozen[0].values()]
    for name in ("forward", "loss", "backward", "gradients", "gradients_scalar", "trace_scalar"):
        args = frozen[:2] if name == "forward" else frozen
        got = getattr(module, name)(*args)
        want = getattr(module, name)(*((params, X) if name == "forward" else (params, X, Y)))
        np.testing.assert_equal(got, want)
    grads = module.gradients(*frozen)
    for k, g in grads.items():
        assert g.flags.writeable and not any(np.shares_memory(g, v) for v in inputs), k
        assert not any(np.shares_memory(g, h) for j, h in grads.items() if j != k), k


def test_float32_stays_float32_through_every_constant():
    module = module_of(spec_text([3, 4, 2], ["relu", "sigmoid"], "bce_mean"))
    spec = parse_spec(spec_text([3, 4, 2], ["relu", "sigmoid"], "bce_mean"))
    params, X, Y = reference.random_problem(spec, 2, examples=5)
    single = {k: v.astype(np.float32) for k, v in params.items()}
    got = module.gradients(single, X.astype(np.float32), Y.astype(np.float32))
    assert {g.dtype for g in got.values()} == {np.dtype(np.float32)}
    want = module.gradients(params, X, Y)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=2e-4, atol=1e-6)


def test_complex_numbers_are_refused_in_one_line():
    module = module_of(WELCH)
    with pytest.raises(ValueError, match="X: expected real floating or integer numbers, got dtype complex128"):
        module.gradients({"W1": np.ones((3, 2)), "W2": np.ones((1, 3))}, np.ones((1, 2)) + 0j, np.ones((1, 1)))


def test_the_module_source_is_the_same_bytes_under_any_hash_seed(tmp_path):
    # Sets and dicts of SymPy objects must not leak their hash order into the generated text.
    script = ("import sys; from derive.code.codegen import module_source; from derive.engine.derivation import derive;"
              "from derive.engine.network import build_network; from derive.engine.spec import load_spec;"
              "sys.stdout.write(''.join(module_source(derive(build_network(load_spec(p)))) for p in sys.argv[1:]))")
    specs = [str(EXAMPLES / f"{n}.toml") for n in ("iris-423", "classification-231", "regression-231")]
    odd = tmp_path / "odd.toml"
    odd.write_text(spec_text([2, 3, 3, 2], ["relu", "tanh", "softmax"], "half_mse", True, [(0, 3)]))
    outputs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", script, *specs, str(odd)], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=300, check=True)
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1] == outputs[2] and "def gradients(" in outputs[0]


def test_a_number_is_one_constant_however_often_it_is_used():
    c = Constants()
    assert c.number(sp.Integer(1)) == c.number(sp.Float(1.0)) == "_one"
    assert c.number(sp.Rational(1, 3)) == "_c1" and c.number(sp.Rational(1, 3)) == "_c1"
    assert c.unpack() == ["    _one, _c1, = _CONSTANTS[X.dtype.char]"]
