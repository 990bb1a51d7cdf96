"""Limits that follow the work: the engine takes 128 units a layer and 50,000 parameters, and the
classic assignment's two-layer net (5-50-7, ReLU/softmax) builds, checks and gives its published numbers."""
import json

import numpy as np
import pytest
from conftest import spec_text

from derive.cli import main
from derive.engine.spec import MAX_PARAMETERS, MAX_WIDTH, parse_spec
from derive.errors import SpecError
from derive.numbers import reference


def test_the_limits_are_128_units_and_50000_parameters():
    assert (MAX_WIDTH, MAX_PARAMETERS) == (128, 50_000)
    parse_spec(spec_text([3, 128, 2], "tanh"))
    with pytest.raises(SpecError, match="width 129 is over the limit of 128 units a layer"):
        parse_spec(spec_text([3, 129, 2], "tanh"))
    parse_spec(spec_text([128, 128, 128, 128], ["tanh", "tanh", "softmax"], "cross_entropy"))  # 49,536
    with pytest.raises(SpecError, match="at most 50000"):
        parse_spec(spec_text([128] * 5, "tanh"))  # 66,048


def two_layer_net_spec() -> str:
    """The classic assignment's TwoLayerNet loss test: N, D, H, C = 3, 5, 50, 7, parameters by linspace,
    W1 of shape (D, H) as the assignment stores it (layout "in_out")."""
    N, D, H, C = 3, 5, 50, 7
    W1 = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    b1 = np.linspace(-0.1, 0.9, num=H)
    W2 = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    b2 = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    Y = np.eye(C, dtype=int)[[0, 5, 1]]

    def toml(a) -> str:
        return json.dumps(np.asarray(a).tolist())

    return (spec_text([D, H, C], ["relu", "softmax"], "cross_entropy_mean", name="two-layer-net")
            + f'[values]\nlayout = "in_out"\nx = {toml(X)}\ny = {toml(Y)}\n'
            + f"W1 = {toml(W1)}\nb1 = {toml(b1)}\nW2 = {toml(W2)}\nb2 = {toml(b2)}\n")


# Published with the assignment (its scores test and its loss test without regularisation).
CORRECT_SCORES = np.asarray(
    [[11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765, 16.09215096],
     [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135, 16.18839143],
     [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506, 16.2846319]])
CORRECT_LOSS = 3.4702243556


def test_the_classic_two_layer_net_builds_checks_and_gives_the_published_numbers(tmp_path, capsys):
    spec_file = tmp_path / "two-layer-net.toml"
    spec_file.write_text(two_layer_net_spec())
    assert main(["build", str(spec_file), "--no-pdf", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "two-layer-net: wrote gradients.py, answers.json, handout.tex, exercises.tex, answers.tex" in printed
    folder = tmp_path / "out" / "two-layer-net"
    answers = json.loads((folder / "answers.json").read_text())
    assert abs(answers["loss"] - CORRECT_LOSS) < 1e-10
    assert np.abs(np.asarray(answers["forward"]["z2"]) - CORRECT_SCORES).sum() < 1e-6
    # The gradients on the answer sheet against the independent backprop (canonical W: (n_l, n_{l-1})).
    spec = parse_spec(two_layer_net_spec())
    params = {k: np.asarray(v) for k, v in spec.values.params.items()}
    _, grads, _ = reference.backprop(spec, params, np.asarray(spec.values.x), np.asarray(spec.values.y))
    for name, want in grads.items():
        np.testing.assert_allclose(answers["gradients"][name], want, rtol=1e-10, atol=1e-14)
    handout = (folder / "handout.tex").read_text()
    assert "For every one of the 657 parameters, the sum over its paths equals its $\\delta$ form" in handout


def test_finite_differences_of_a_large_problem_cover_an_even_sample_and_say_so():
    from derive.numbers.check import _sample_note, compare

    spec = parse_spec(spec_text([3, 4, 3, 2], ["tanh", "relu", "softmax"], "cross_entropy_mean", skip=[(0, 2), (1, 3)]))
    params, X, Y = reference.random_problem(spec, 5, examples=3)
    full = reference.finite_differences(spec, params, X, Y)
    assert all(np.isfinite(v).all() for v in full.values()) and _sample_note(full) == ""
    part = reference.finite_differences(spec, params, X, Y, budget=4000)
    done = sum(int(np.isfinite(v).sum()) for v in part.values())
    assert 0 < done < 56 and all(np.isfinite(v).any() for v in part.values())  # every matrix sampled
    for name, v in part.items():
        known = np.isfinite(v)
        np.testing.assert_array_equal(v[known], full[name][known])
    assert _sample_note(part) == f" (on {done} of 56 entries)"
    _, grads, _ = reference.backprop(spec, params, X, Y)
    assert compare("fd", grads, part, 1e-7, 1e-11).ok
    wrong = {k: v + 1e-3 for k, v in grads.items()}
    assert not compare("fd", wrong, part, 1e-7, 1e-11).ok  # the sampled entries still catch a wrong gradient
