"""The proof that every path sum equals its δ form: it passes on correct derivations, catches every
kind of corruption of the δ form, agrees with explicit enumeration, and never lists a path."""
import dataclasses

import pytest
import sympy as sp
from conftest import spec_text

from derive.engine import derivation as derivation_module
from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.proof import PRIME, ParameterProof, ProofFailed, bits, failure_bound, prove
from derive.engine.spec import parse_spec


def derivation_of(*args, **kwargs):
    return derive(build_network(parse_spec(spec_text(*args, **kwargs))))


NETS = [
    ([2, 2, 2], "sigmoid", "half_sse", {}),
    ([2, 3, 1], "sigmoid", "bce", {"skip": [(0, 2)]}),  # the σ' cancels in the output δ
    ([2, 3, 3], ["tanh", "softmax"], "cross_entropy_mean", {}),  # Σ y = 1 used in the output δ
    ([2, 3, 2], ["relu", "sigmoid"], "cross_entropy", {"bias": False}),  # Heaviside factors
    ([3, 4, 3, 2], ["tanh", "relu", "softmax"], "half_sse", {"skip": [(0, 3), (1, 3)]}),
    ([2, 3, 2, 2], ["identity", "sigmoid", "tanh"], "mse", {}),
]


@pytest.mark.parametrize("layers,acts,loss,kw", NETS)
def test_every_parameter_is_proved_with_the_stated_method_and_bound(layers, acts, loss, kw):
    d = derivation_of(layers, acts, loss, **kw)
    proofs = prove(d, seed=1)
    assert [p.key for p in proofs] == [p.key for p in d.parameters]
    assert {p.method for p in proofs} == {"polynomial identity test"}
    assert all(p.points == 2 and p.prime == PRIME for p in proofs)
    assert failure_bound(proofs) < 2.0**-60 and bits(failure_bound(proofs)) >= 60


@pytest.mark.parametrize("layers,acts,loss,kw", NETS[:4])
def test_the_proof_agrees_with_enumerating_the_paths_symbolically(layers, acts, loss, kw):
    """An independent route on small nets: list every path, add the products, cancel against the δ form."""
    d = derivation_of(layers, acts, loss, **kw)
    prove(d, seed=2)
    y = d.network.y
    constraint = {y[-1]: 1 - sp.Add(*y[:-1])} if any(o.used_target_sum for o in d.output_delta.values()) else {}
    for p in d.parameters:
        difference = (d.path_sum(p.key) - d.expanded_delta(d.gradient[p.key])).xreplace(constraint)
        assert sp.cancel(difference) == 0, p.key


# --- Corruptions: a wrong δ form, factor, gradient or graph must be caught ---------------------

def corrupted(d, **changes):
    return dataclasses.replace(d, **changes)


def test_a_wrong_hidden_delta_is_caught():
    d = derivation_of([2, 3, 2, 2], "sigmoid", "half_sse")
    net = d.network
    target = net.delta[1][1]
    bad = dict(d.delta_expr)
    w_right, w_wrong = sp.Symbol("W2_0_1", real=True), sp.Symbol("W2_1_1", real=True)
    assert w_right in bad[target].free_symbols
    bad[target] = bad[target].xreplace({w_right: w_wrong})  # one weight's index swapped
    with pytest.raises(ProofFailed, match=r"W1\[1,"):
        prove(corrupted(d, delta_expr=bad), seed=3)


def test_a_delta_off_by_a_factor_or_a_term_is_caught():
    d = derivation_of([2, 3, 2], "tanh", "half_sse")
    target = d.network.delta[1][0]
    for change in (lambda e: 2 * e, lambda e: e + d.network.a[1][0] * 0 + sp.Rational(1, 10**9),
                   lambda e: e.xreplace({d.network.delta[2][1]: d.network.delta[2][0]})):
        bad = dict(d.delta_expr)
        bad[target] = change(bad[target])
        with pytest.raises(ProofFailed):
            prove(corrupted(d, delta_expr=bad), seed=4)


@pytest.mark.parametrize("layers,acts,loss,wrong", [
    ([2, 2, 1], "sigmoid", "bce_mean", lambda a, y, m: a - y),  # the 1/m dropped
    ([2, 2, 3], ["tanh", "softmax"], "cross_entropy", lambda a, y, m: y - a),  # sign flipped
    ([2, 2, 2], "sigmoid", "half_sse", lambda a, y, m: (a - y) * a),  # a(1 − a) written as a
])
def test_a_wrong_output_delta_is_caught(layers, acts, loss, wrong):
    d = derivation_of(layers, acts, loss)
    net = d.network
    bad = dict(d.delta_expr)
    out = net.delta[net.depth][0]
    bad[out] = wrong(net.a[net.depth][0], net.y[0], net.m)
    with pytest.raises(ProofFailed, match="output δ"):
        prove(corrupted(d, delta_expr=bad), seed=5)


def test_a_wrong_local_factor_is_caught():
    """The δ form is kept; one local derivative of the graph changes, so the path sums change."""
    d = derivation_of([2, 3, 2], "sigmoid", "half_sse", bias=False)
    net = d.network
    a, z = net.a[1][2], net.z[1][2]
    factors = dict(d.factors)
    factors[(a, z)] = derivation_module.Factor(a, z, a * (1 + a))
    with pytest.raises(ProofFailed, match=r"W1\[2,"):
        prove(corrupted(d, factors=factors), seed=6)


def test_a_wrong_gradient_or_a_missing_path_is_caught():
    d = derivation_of([2, 3, 2], "sigmoid", "half_sse")
    net = d.network
    gradient = dict(d.gradient)
    gradient["W1[0,1]"] = net.delta[1][0] * net.x[0]  # the wrong input activation
    with pytest.raises(ProofFailed, match=r"W1\[0,1\]"):
        prove(corrupted(d, gradient=gradient), seed=7)
    successors = dict(d.successors)
    a = net.a[1][0]
    successors[a] = successors[a][:-1]  # one edge out of a hidden unit lost
    with pytest.raises(ProofFailed, match=r"W1\[0,"):
        prove(corrupted(d, successors=successors), seed=7)


def test_a_relu_step_of_the_wrong_unit_is_caught():
    d = derivation_of([2, 2, 1], ["relu", "identity"], "half_sse", bias=False)
    net = d.network
    bad = dict(d.delta_expr)
    target = net.delta[1][0]
    bad[target] = bad[target].xreplace({sp.Heaviside(net.z[1][0], 0): sp.Heaviside(net.z[1][1], 0)})
    assert bad[target] != d.delta_expr[target]
    with pytest.raises(ProofFailed):
        prove(corrupted(d, delta_expr=bad), seed=8)


# --- Linear cost: no path is listed and nothing is cancelled per parameter --------------------

def test_a_wide_deep_net_is_proved_without_listing_paths_or_cancelling(monkeypatch):
    d = derivation_of([16, 16, 16, 16, 16, 4], ["tanh"] * 4 + ["softmax"], "cross_entropy_mean")
    assert d.total_paths > 10**6

    def refuse(*args, **kwargs):
        raise AssertionError("the proof must not enumerate paths or cancel")

    monkeypatch.setattr(derivation_module.Derivation, "paths", refuse)
    monkeypatch.setattr(derivation_module.Derivation, "path_sum", refuse)
    monkeypatch.setattr(sp, "cancel", refuse)
    monkeypatch.setattr(sp, "simplify", refuse)
    proofs = prove(d)
    assert len(proofs) == len(d.parameters) == 4 * (16 * 16 + 16) + (4 * 16 + 4)
    assert failure_bound(proofs) < 2.0**-60


def test_the_proof_sentence_states_the_method_and_the_bound():
    from derive.sheets.render import proof_sentence

    d = derivation_of([2, 2, 2], "sigmoid", "half_sse", bias=False)
    text = proof_sentence(prove(d))
    assert text.startswith("For every one of the 8 parameters, the sum over its paths equals its $\\delta$ form")
    assert "modulo the prime $2^{61}-1$, at 2 random points" in text
    k = bits(failure_bound(prove(d)))
    assert text.endswith(f"below $2^{{-{k}}}$.") and k >= 60
    assert text == proof_sentence(prove(d, seed=123))  # the text does not depend on the points
    with pytest.raises(ValueError):
        proof_sentence([ParameterProof("W1[0,0]", "skipped", "")])
