"""The derivation: local derivatives, chain-rule paths, δ terms and gradients, as plain data.

`derive(network)` never differentiates the nested loss. It writes down the local derivative of
every edge of the computation graph (∂J/∂a, ∂a/∂z, ∂z/∂a, ∂z/∂w), counts the chain-rule paths
from each parameter to J by dynamic programming, and defines one δ placeholder per unit, so its
cost grows with the number of weights while the number of paths grows with the product of widths.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Iterator

import sympy as sp

from . import activations
from .matrix_form import MatrixForm, build_matrix_form
from .network import Network, Parameter, symbol_product


@dataclass(frozen=True)
class Factor:
    """One local derivative ∂numerator/∂denominator and its value over placeholders."""

    numerator: sp.Symbol
    denominator: sp.Symbol
    value: sp.Expr


@dataclass(frozen=True)
class PathCount:
    paths: int
    factors: int


@dataclass(frozen=True)
class OutputDelta:
    """How δ of one output unit comes out of the loss: the chain, and what it simplifies to."""

    chain: sp.Expr  # Σ_i ∂J/∂a_i · ∂a_i/∂z_j, as the local factors multiply out
    value: sp.Expr  # the simplified δ
    simplified: bool  # True when cancelling gave a shorter form (σ with bce, softmax with cross-entropy)
    used_target_sum: bool  # True when the one-hot constraint Σ_k y_k = 1 was applied


@dataclass(frozen=True)
class Derivation:
    network: Network
    factors: dict[tuple[sp.Symbol, sp.Symbol], Factor]
    successors: dict[sp.Symbol, tuple[sp.Symbol, ...]]  # node -> nodes one step closer to J
    delta: dict[sp.Symbol, sp.Symbol]  # z placeholder -> its δ placeholder
    delta_expr: dict[sp.Symbol, sp.Expr]  # δ placeholder -> definition over later δ, W, a, y, m
    output_delta: dict[sp.Symbol, OutputDelta]  # output δ placeholder -> how it was derived
    gradient: dict[str, sp.Expr]  # parameter key -> one example's ∂J/∂p = δ · (input activation)
    path_count: dict[str, PathCount]
    matrix: MatrixForm
    # weight key -> ∂(L2 term)/∂w, added once per batch to the examples' sum of `gradient` (network.l2)
    regularization: dict[str, sp.Expr] = field(default_factory=dict)

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        return self.network.parameters

    @property
    def total_paths(self) -> int:
        return sum(c.paths for c in self.path_count.values())

    @property
    def total_factors(self) -> int:
        return sum(c.factors for c in self.path_count.values())

    @cached_property
    def _parameters_by_key(self) -> dict[str, Parameter]:
        return {p.key: p for p in self.network.parameters}

    def parameter(self, key: str) -> Parameter:
        return self._parameters_by_key[key]

    def paths(self, key: str) -> Iterator[tuple[Factor, ...]]:
        """Every chain-rule path from parameter `key` to J, factors ordered from J down to the parameter."""
        start = self.parameter(key).symbol
        J = self.network.J

        def walk(node: sp.Symbol) -> Iterator[tuple[Factor, ...]]:
            if node == J:
                yield ()
                return
            for nxt in self.successors[node]:
                step = self.factors[(nxt, node)]
                for rest in walk(nxt):
                    yield rest + (step,)

        yield from walk(start)

    def path_sum(self, key: str) -> sp.Expr:
        """Σ over paths of the product of the evaluated local factors."""
        return sp.Add(*(sp.Mul(*(f.value for f in path)) for path in self.paths(key)))

    def expanded_delta(self, expr: sp.Expr) -> sp.Expr:
        """`expr` with every δ placeholder replaced by its definition, recursively, down to a, W, y."""
        subs: dict[sp.Symbol, sp.Expr] = {}
        for l in range(self.network.depth, 0, -1):
            for z in self.network.z[l]:
                d = self.delta[z]
                subs[d] = self.delta_expr[d].xreplace(subs)
        return expr.xreplace(subs)


def derive(network: Network) -> Derivation:
    spec, L = network.spec, network.depth
    factors: dict[tuple[sp.Symbol, sp.Symbol], Factor] = {}
    successors: dict[sp.Symbol, list[sp.Symbol]] = {}

    def edge(num: sp.Symbol, den: sp.Symbol, value: sp.Expr) -> None:
        factors[(num, den)] = Factor(num, den, value)
        successors.setdefault(den, []).append(num)

    # Which layers read layer l's activations: the next layer, then every skip out of l.
    readers: dict[int, list[int]] = {l: [] for l in range(L + 1)}
    for l in range(1, L + 1):
        for src in spec.sources_of(l):
            readers[src].append(l)

    regularization: dict[str, sp.Expr] = {}
    for p in network.parameters:
        z = network.z[p.layer][p.index[0]]
        edge(z, p.symbol, p.source if p.source is not None else sp.Integer(1))
        if network.l2 is not None and p.source is not None:
            # The L2 term reads every weight directly: one more path to J, of one factor.
            regularization[p.key] = network.l2.slope(p.symbol)
            edge(network.J, p.symbol, regularization[p.key])
    weights = {(p.matrix, p.index): p.symbol for p in network.parameters}
    for l in range(1, L + 1):
        act = network.activation(l)
        zs, as_ = network.z[l], network.a[l]
        for j, z in enumerate(zs):
            if act == "softmax":
                for i, a in enumerate(as_):
                    edge(a, z, activations.softmax_jacobian(list(as_), i, j))
            else:
                edge(as_[j], z, activations.derivative_from_output(act, as_[j], z))
        for k, a in enumerate(as_):
            for dst in sorted(readers[l]):
                name = spec.weight_name(dst, l)
                for j, zj in enumerate(network.z[dst]):
                    edge(zj, a, weights[(name, (j, k))])
    for a in network.a[L]:
        slope = _loss_slope(network.loss_expr, a)
        if network.loss.kind == "squared":
            slope = sp.factor_terms(sp.cancel(slope))  # ½·2(a − y) written as (a − y), as every course does
        edge(network.J, a, slope)

    delta = {z: d for l in range(1, L + 1) for z, d in zip(network.z[l], network.delta[l])}

    delta_expr: dict[sp.Symbol, sp.Expr] = {}
    output_delta: dict[sp.Symbol, OutputDelta] = {}
    for j, z in enumerate(network.z[L]):
        out = _output_delta(network, factors, successors, z, j)
        output_delta[delta[z]] = out
        delta_expr[delta[z]] = out.value
    for l in range(L - 1, 0, -1):
        for j, z in enumerate(network.z[l]):
            a = network.a[l][j]
            local = factors[(a, z)].value
            back = sp.Add(*(symbol_product(factors[(zk, a)].value, delta[zk]) for zk in successors[a]))
            delta_expr[delta[z]] = local * back

    gradient = {}
    for p in network.parameters:
        d = delta[network.z[p.layer][p.index[0]]]
        gradient[p.key] = symbol_product(d, p.source) if p.source is not None else d

    return Derivation(network, factors, {k: tuple(v) for k, v in successors.items()}, delta, delta_expr,
                      output_delta, gradient, _count_paths(network, successors), build_matrix_form(network, output_delta, delta),
                      regularization)



def data_term(derivation: Derivation) -> Derivation:
    """The derivation of the loss alone, without the L2 term's direct edges W → J (itself when there are none).

    One example's term Jₙ of the loss is what the chain-rule paths, δ and the fill-in exercise follow;
    the L2 term belongs to the batch's J, and a sheet states it on its own."""
    if not derivation.regularization:
        return derivation
    J = derivation.network.J
    direct = {(J, derivation.parameter(key).symbol) for key in derivation.regularization}
    factors = {edge: f for edge, f in derivation.factors.items() if edge not in direct}
    successors = {node: tuple(n for n in nxt if (n, node) not in direct) for node, nxt in derivation.successors.items()}
    return replace(derivation, factors=factors, successors=successors, regularization={},
                   path_count=_count_paths(derivation.network, successors))


def _output_delta(network: Network, factors, successors, z: sp.Symbol, j: int) -> OutputDelta:
    chain = sp.Add(*(factors[(network.J, a)].value * factors[(a, z)].value for a in successors[z]))
    value, simplified, used = chain, False, False
    categorical_softmax = network.loss.kind == "categorical" and network.activation(network.depth) == "softmax"
    if network.activation(network.depth) == "softmax":
        # The chain is a sum over all n outputs with no denominator but m: cancelling it would only
        # expand it (and costs O(n²) per unit); the one simplification there is Σ y = 1, below.
        pass
    else:
        cancelled = sp.cancel(chain)
        # Keep the cancelled form only when it is a real simplification (σ with bce: the σ' cancels).
        if 2 * sp.count_ops(cancelled) <= sp.count_ops(chain):
            value, simplified = cancelled, True
    if categorical_softmax:
        # expand_mul term by term: the same sum as expand(), without its other hints walking every term
        expanded = sp.Add(*(sp.expand_mul(t) for t in sp.Add.make_args(value)))
        value, used = _use_target_sum(expanded, network.y, j), True
        simplified = True
    if simplified:
        value = sp.factor(value)
    return OutputDelta(chain, value, simplified, used)


def _use_target_sum(expr: sp.Expr, y: tuple[sp.Symbol, ...], j: int) -> sp.Expr:
    """Apply Σ_k y_k = 1 (one-hot targets): remove the multiple of (Σ_k y_k − 1) that expr contains."""
    # The coefficient of every y_k in one pass over the terms (expr.coeff(y_k) per k is O(n²) per unit).
    targets = set(y)
    parts: dict[sp.Symbol, list[sp.Expr]] = {yk: [] for yk in y}
    for term in sp.Add.make_args(expr):
        found = [f for f in sp.Mul.make_args(term) if f in targets]
        if len(found) > 1 or any(f.is_Pow and f.base in targets for f in sp.Mul.make_args(term)):
            return expr  # not linear in the targets: nothing to remove
        if found:
            parts[found[0]].append(term.as_independent(found[0], as_Add=False)[0])
    coefficient = sp.Add(*parts[y[1] if j == 0 else y[0]])
    if any(sp.expand_mul(sp.Add(*parts[yk]) - coefficient) != 0 for k, yk in enumerate(y) if k != j):
        return expr
    return sp.expand_mul(expr - coefficient * (sp.Add(*y) - 1))


def _loss_slope(loss: sp.Expr, a: sp.Symbol) -> sp.Expr:
    """∂J/∂a, differentiating only the terms of J that contain a (diff of the whole sum is O(n) per output)."""
    scale, body = loss.as_independent(a, as_Add=False) if loss.is_Mul else (sp.Integer(1), loss)
    if body.is_Add:
        body = sp.Add(*(t for t in body.args if t.has(a)))
    return sp.diff(scale * body, a)


def _count_paths(network: Network, successors: dict[sp.Symbol, list[sp.Symbol]]) -> dict[str, PathCount]:
    """Paths and factors from every parameter to J, by dynamic programming from J backwards."""
    paths: dict[sp.Symbol, int] = {network.J: 1}
    factors: dict[sp.Symbol, int] = {network.J: 0}
    # From the output layer back: a node's successors are always counted before the node itself.
    order = [node for l in range(network.depth, 0, -1) for node in network.a[l] + network.z[l]]
    for node in order:
        nxt = successors[node]
        paths[node] = sum(paths[n] for n in nxt)
        factors[node] = sum(factors[n] + paths[n] for n in nxt)
    result = {}
    for p in network.parameters:
        nxt = successors[p.symbol]  # its z, and J itself when an L2 term reads the weight
        result[p.key] = PathCount(sum(paths[n] for n in nxt), sum(factors[n] + paths[n] for n in nxt))
    return result
