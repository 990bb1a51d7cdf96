"""The symbolic network: SymPy symbols for every input, target, parameter, z and a, and the loss.

Each unit's z is written over *placeholder* symbols of the activations that feed it (a1_0, x_1, …),
never over the nested expression, so the size of everything here grows with the number of weights.
`nested()` substitutes the placeholders away for the small networks where a handout or a test
wants the whole composition.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cmp_to_key

import sympy as sp
from sympy.core.basic import Basic

from . import activations
from .losses import LOSSES, Loss
from .regularization import L2Term, l2_term
from .spec import Spec


@dataclass(frozen=True)
class SymbolInfo:
    """What a symbol stands for: kind is x, y, W, b, z, a, delta, m or lambda; index is 0-based."""

    kind: str
    layer: int | None = None
    index: tuple[int, ...] = ()
    matrix: str | None = None  # the canonical parameter matrix (W1, W2_0, b1) for W and b
    source: int | None = None  # for W: the layer the weight reads from


@dataclass(frozen=True)
class Parameter:
    """One scalar parameter: `key` is its canonical name like W1[0,1] or b2[0]."""

    key: str
    matrix: str
    index: tuple[int, ...]
    symbol: sp.Symbol
    layer: int  # the layer whose z it enters
    source: sp.Symbol | None  # the activation it multiplies (None for a bias)


@dataclass(frozen=True)
class Network:
    spec: Spec
    m: sp.Symbol
    x: tuple[sp.Symbol, ...]
    y: tuple[sp.Symbol, ...]
    z: tuple[tuple[sp.Symbol, ...], ...]  # z[l][j]; z[0] is empty
    a: tuple[tuple[sp.Symbol, ...], ...]  # a[0] is x
    delta: tuple[tuple[sp.Symbol, ...], ...]  # δ placeholders, δ = ∂J/∂z; delta[0] is empty
    z_expr: dict[sp.Symbol, sp.Expr]  # z placeholder -> linear expression over feeding placeholders
    a_expr: dict[sp.Symbol, sp.Expr]  # a placeholder -> f(z) (softmax written out)
    parameters: tuple[Parameter, ...]
    loss: Loss
    loss_expr: sp.Expr  # one example's J over the output placeholders a[L], y and m
    loss_stable: sp.Expr  # the same, with logarithms in stable z form
    info: dict[sp.Symbol, SymbolInfo]
    J: sp.Symbol
    l2: L2Term | None = None  # the L2 term of J, when the spec has network.l2 > 0

    @property
    def depth(self) -> int:
        return len(self.z) - 1

    def activation(self, layer: int) -> str:
        return self.spec.activations[layer - 1]

    def nested(self, expr: sp.Expr) -> sp.Expr:
        """`expr` with every a and z placeholder replaced by the full composition of x and parameters."""
        subs: dict[sp.Symbol, sp.Expr] = {}
        for l in range(1, self.depth + 1):
            for z in self.z[l]:
                subs[z] = self.z_expr[z].xreplace(subs)
            for a in self.a[l]:
                subs[a] = self.a_expr[a].xreplace(subs)
        return expr.xreplace(subs)


_CANONICAL = cmp_to_key(Basic.compare)  # the order Mul.flatten sorts commutative factors into


def symbol_product(a: sp.Expr, b: sp.Expr) -> sp.Expr:
    """a·b, the same expression SymPy builds; for two distinct symbols (one per weight: W·a, W·δ, δ·a)
    built directly in canonical order, without Mul's general flattening, which costs ~5× as much."""
    if type(a) is sp.Symbol and type(b) is sp.Symbol and a != b:
        return sp.Mul._from_args(tuple(sorted((a, b), key=_CANONICAL)))
    return a * b


def build_network(spec: Spec) -> Network:
    info: dict[sp.Symbol, SymbolInfo] = {}

    def symbol(name: str, meta: SymbolInfo, **assumptions) -> sp.Symbol:
        s = sp.Symbol(name, real=True, **assumptions)
        info[s] = meta
        return s

    m = symbol("m", SymbolInfo("m"), positive=True, integer=True)
    J = symbol("J", SymbolInfo("J"))
    widths = spec.layers
    x = tuple(symbol(f"x_{k}", SymbolInfo("x", 0, (k,))) for k in range(widths[0]))
    y = tuple(symbol(f"y_{k}", SymbolInfo("y", spec.depth, (k,))) for k in range(widths[-1]))
    z: list[tuple[sp.Symbol, ...]] = [()]
    a: list[tuple[sp.Symbol, ...]] = [x]
    delta: list[tuple[sp.Symbol, ...]] = [()]
    z_expr: dict[sp.Symbol, sp.Expr] = {}
    a_expr: dict[sp.Symbol, sp.Expr] = {}
    parameters: list[Parameter] = []

    for l in range(1, spec.depth + 1):
        zs = tuple(symbol(f"z{l}_{j}", SymbolInfo("z", l, (j,))) for j in range(widths[l]))
        as_ = tuple(symbol(f"a{l}_{j}", SymbolInfo("a", l, (j,))) for j in range(widths[l]))
        # Terms collected in lists and added once: `+=` on a SymPy sum re-sorts it, quadratic in the width.
        terms: list[list[sp.Expr]] = [[] for _ in range(widths[l])]
        for src in spec.sources_of(l):
            name = spec.weight_name(l, src)
            for j in range(widths[l]):
                for k in range(widths[src]):
                    w = symbol(f"{name}_{j}_{k}", SymbolInfo("W", l, (j, k), name, src))
                    parameters.append(Parameter(f"{name}[{j},{k}]", name, (j, k), w, l, a[src][k]))
                    terms[j].append(symbol_product(w, a[src][k]))
        if spec.biases[l - 1]:
            for j in range(widths[l]):
                b = symbol(f"b{l}_{j}", SymbolInfo("b", l, (j,), f"b{l}"))
                parameters.append(Parameter(f"b{l}[{j}]", f"b{l}", (j,), b, l, None))
                terms[j].append(b)
        for j in range(widths[l]):
            z_expr[zs[j]] = sp.Add(*terms[j])
        act = spec.activations[l - 1]
        outs = activations.softmax(list(zs)) if act == "softmax" else [activations.apply(act, zj) for zj in zs]
        a_expr.update(zip(as_, outs))
        z.append(zs)
        a.append(as_)
        delta.append(tuple(symbol(f"delta{l}_{j}", SymbolInfo("delta", l, (j,))) for j in range(widths[l])))

    # Keep parameters in canonical order: matrix by matrix as parameter_shapes lists them.
    order = {name: i for i, name in enumerate(spec.parameter_shapes())}
    parameters.sort(key=lambda p: (order[p.matrix], p.index))

    loss = LOSSES[spec.loss]
    loss_expr = loss.per_example(list(a[-1]), list(y), m)
    loss_stable = loss.stable_form(loss_expr, list(a[-1]), list(z[-1]), spec.activations[-1])
    l2 = None
    if spec.l2 > 0:
        lam = symbol("lambda", SymbolInfo("lambda"), positive=True)
        l2 = l2_term(spec.l2, spec.l2_scale, lam, m, [p.symbol for p in parameters if p.source is not None])
    return Network(spec, m, x, y, tuple(z), tuple(a), tuple(delta), z_expr, a_expr, tuple(parameters), loss,
                   loss_expr, loss_stable, info, J, l2)
