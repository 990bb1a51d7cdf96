"""Checks that do not cry wolf: kinks are skipped and named, steep units are differenced with a small
enough step, and a real mismatch is one line per failing comparison naming the file and the entry."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import EXAMPLES

from derive.cli import main
from derive.code.codegen import load_module, module_source
from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import load_spec
from derive.numbers import reference
from derive.numbers.check import check_module, kink_aware_differences

RELU_AT_ZERO = """name = "relu-zero"
[network]
layers = [1, 1, 1]
activation = "relu"
loss = "half_sse"
[values]
x = [[1.0]]
y = [[1.0]]
W1 = [[0.5]]
b1 = [{b1}]
W2 = [[1.0]]
b2 = [0.0]
"""
TANH_STEEP = """name = "tanh-steep"
[network]
layers = [1, 1, 1]
activation = "tanh"
loss = "half_sse"
[values]
x = [[0.0]]
y = [[1.0]]
W1 = [[1.0]]
b1 = [0.0]
W2 = [[50.0]]
b2 = [0.0]
"""
# Issue 9: 0.5, -0.6, 0.1 sum to 2.8e-17 in binary floating point, not 0.
RELU_ROUNDING = """name = "relu-rounding"
[network]
layers = [3, 1, 1]
activation = ["relu", "identity"]
loss = "half_sse"
[values]
x = [[1.0, 1.0, 1.0]]
y = [[1.0]]
W1 = [[0.5, -0.6, 0.1]]
b1 = [0.0]
W2 = [[2.0]]
b2 = [0.1]
"""


def _report(tmp_path, text):
    path = tmp_path / "spec.toml"
    path.write_text(text)
    spec = load_spec(path)
    return spec, check_module(spec, load_module(module_source(derive(build_network(spec)))))


@pytest.mark.parametrize("text,skipped", [
    (RELU_AT_ZERO.format(b1="-0.5"), {"W1[0,0]", "b1[0]", "b2[0]"}),
    (RELU_AT_ZERO.format(b1="-0.4999"), {"W1[0,0]", "b1[0]", "b2[0]"}),
    (RELU_ROUNDING, {"W1[0,0]", "W1[0,1]", "W1[0,2]", "b1[0]"}),
    (TANH_STEEP, set()),
], ids=["relu-z-exactly-0", "relu-step-straddles-kink", "relu-z-2.8e-17", "tanh-steep"])
def test_valid_specs_pass_and_the_kinked_parameters_are_named(tmp_path, text, skipped):
    spec, report = _report(tmp_path, text)
    assert report.ok, report.lines()
    fd = report.comparisons[2]
    assert set(fd.skipped) == skipped
    if skipped:
        assert any("not differenced" in line and sorted(skipped)[0] in line for line in report.lines())


def test_the_steep_step_is_accurate_against_the_closed_form(tmp_path):
    spec = load_spec(EXAMPLES / "toy-111.toml")
    path = tmp_path / "s.toml"
    path.write_text(TANH_STEEP)
    spec = load_spec(path)
    params = {k: np.array(v, dtype=float) for k, v in spec.values.params.items()}
    grads, skipped, _ = kink_aware_differences(spec, params, np.array([[0.0]]), np.array([[1.0]]))
    # J = ½(tanh(50 tanh(b1)) − 1)²: dJ/db1 at b1 = 0 is (0 − 1)·1·50·1 = −50 exactly.
    assert grads["b1"][0] == pytest.approx(-50.0, rel=1e-10)
    assert not any(mask.any() for mask in skipped.values())


def test_differences_away_from_kinks_agree_with_the_reference_ones():
    spec = load_spec(EXAMPLES / "iris-423.toml")
    params, X, Y = reference.random_problem(spec, 3)
    mine, skipped, _ = kink_aware_differences(spec, params, X, Y)
    theirs = reference.finite_differences(spec, params, X, Y)
    for name in theirs:
        assert np.allclose(mine[name], theirs[name], rtol=1e-6, atol=1e-9)


def _corrupt(monkeypatch):
    import derive.builder

    real = derive.builder.module_source

    def wrong(derivation):
        source = real(derivation)
        if derivation.network.spec.name != "toy-111":
            return source
        return source + ("\n_right = gradients\n\ndef gradients(params, X, Y):\n    g = _right(params, X, Y)\n"
                         "    g['W2'] = g['W2'] * 1.01\n    return g\n")

    monkeypatch.setattr(derive.builder, "module_source", wrong)


def test_a_real_mismatch_is_one_line_per_comparison_exit_1_and_the_other_specs_are_written(tmp_path, capsys, monkeypatch):
    _corrupt(monkeypatch)
    out = tmp_path / "out"
    code = main(["build", str(EXAMPLES / "toy-111.toml"), str(EXAMPLES / "mazur-222.toml"), "--out", str(out), "--no-pdf"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert err == [
        f"derive: error: {EXAMPLES / 'toy-111.toml'}: check: gradients (matrix form) vs backprop: W2[0,0] differs by 1.00e-02 relative (tolerance 1e-12)",
        f"derive: error: {EXAMPLES / 'toy-111.toml'}: check: gradients (matrix form) vs finite diff.: W2[0,0] differs by 1.00e-02 relative (tolerance 1e-07)",
    ]
    assert (out / "mazur-222" / "gradients.py").is_file()
    assert not (out / "toy-111").exists()


def test_derive_check_exits_0_at_a_kink_and_1_with_one_line_per_mismatch(tmp_path, capsys, monkeypatch):
    path = tmp_path / "ok.toml"
    path.write_text(RELU_AT_ZERO.format(b1="-0.5"))
    assert main(["check", str(path), "--no-proof"]) == 0
    assert "not differenced" in capsys.readouterr().out
    import derive.code.codegen

    real = derive.code.codegen.module_source
    monkeypatch.setattr(derive.code.codegen, "module_source", lambda d: real(d) + (
        "\n_right = gradients_scalar\n\ndef gradients_scalar(params, X, Y):\n    g = _right(params, X, Y)\n"
        "    g['b2'] = g['b2'] + 0.5\n    return g\n"))
    assert main(["check", str(path), "--no-proof"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"derive: error: {path}: check: gradients_scalar vs backprop: b2[0] differs by 5.00e-01 where every entry should be 0"]
