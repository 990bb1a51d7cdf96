"""The matrix form of the derivation, as SymPy matrix expressions over a batch of m examples.

Examples are rows: X is m × n_0, Z_l and A_l are m × n_l, δ_l (D_l) is m × n_l, W_l keeps its
canonical n_l × n_{l−1} shape and biases are n_l × 1 columns. Element-wise steps are written as one
scalar template applied entry by entry (`Elementwise`), taken from the same scalar derivation, so
the matrix form and the scalar form cannot drift apart.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from . import activations
from .network import Network


class Elementwise(sp.MatrixExpr):
    """A scalar `template` applied entry by entry; `pairs` maps its scalar symbols to matrices.

    Matrices of one column (or one row) broadcast across the others, as they do in NumPy.
    """

    def __new__(cls, template: sp.Expr, pairs: tuple[tuple[sp.Symbol, sp.MatrixExpr], ...]):
        return super().__new__(cls, template, sp.Tuple(*(sp.Tuple(s, M) for s, M in pairs)))

    @property
    def template(self) -> sp.Expr:
        return self.args[0]

    @property
    def pairs(self) -> tuple[tuple[sp.Symbol, sp.MatrixExpr], ...]:
        return tuple((p[0], p[1]) for p in self.args[1])

    @property
    def shape(self):
        rows = max((M.shape[0] for _, M in self.pairs), key=lambda r: r != 1)
        cols = max((M.shape[1] for _, M in self.pairs), key=lambda c: c != 1)
        return (rows, cols)


class Reduction(sp.MatrixExpr):
    """One matrix (the only argument) reduced row by row to an m × 1 column, unless `shape` says otherwise."""

    def __new__(cls, M: sp.MatrixExpr):
        return super().__new__(cls, M)

    @property
    def shape(self):
        return (self.args[0].shape[0], sp.Integer(1))


class RowLogSumExp(Reduction):
    """ln Σ_k e^{Z_ik} for every row i."""


class RowSum(Reduction):
    """Σ_k M_ik for every row i."""


class EntrySum(Reduction):
    """The sum of every entry of a matrix: a 1 × 1 result (the loss over all examples and units)."""

    @property
    def shape(self):
        return (sp.Integer(1), sp.Integer(1))


@dataclass(frozen=True)
class MatrixEquation:
    name: str  # the variable it defines: Z1, A1, J, D2, dW1, db1
    expr: sp.MatrixExpr
    stage: str  # forward, loss, backward or gradient
    layer: int
    parameter: str | None = None  # for gradients: the canonical matrix name

    @property
    def shape(self) -> tuple:
        return tuple(self.expr.shape)


@dataclass(frozen=True)
class MatrixForm:
    m: sp.Symbol
    X: sp.MatrixSymbol
    Y: sp.MatrixSymbol
    parameters: dict[str, sp.MatrixSymbol]  # canonical name -> symbol (biases as columns)
    equations: tuple[MatrixEquation, ...]


def build_matrix_form(network: Network, output_delta, delta) -> MatrixForm:
    spec, m, L = network.spec, network.m, network.depth
    n = spec.layers
    X = sp.MatrixSymbol("X", m, n[0])
    Y = sp.MatrixSymbol("Y", m, n[-1])
    params: dict[str, sp.MatrixSymbol] = {}
    for name, shape in spec.parameter_shapes().items():
        params[name] = sp.MatrixSymbol(name, shape[0], shape[1] if len(shape) == 2 else 1)
    equations: list[MatrixEquation] = []
    Z: dict[int, sp.MatrixSymbol] = {}
    A: dict[int, sp.MatrixExpr] = {0: X}

    def define(name: str, expr, stage: str, layer: int, parameter: str | None = None) -> sp.MatrixSymbol:
        equations.append(MatrixEquation(name, expr, stage, layer, parameter))
        return sp.MatrixSymbol(name, *expr.shape)

    for l in range(1, L + 1):
        terms = [A[src] * params[spec.weight_name(l, src)].T for src in spec.sources_of(l)]
        if spec.biases[l - 1]:
            terms.append(sp.OneMatrix(m, 1) * params[f"b{l}"].T)
        Z[l] = define(f"Z{l}", sp.MatAdd(*terms), "forward", l)
        act = network.activation(l)
        z0, a0 = network.z[l][0], network.a[l][0]
        if act == "softmax":
            lse = sp.Symbol("lse", real=True)
            A[l] = define(f"A{l}", Elementwise(sp.exp(z0 - lse), ((z0, Z[l]), (lse, RowLogSumExp(Z[l])))), "forward", l)
        else:
            A[l] = define(f"A{l}", Elementwise(activations.apply(act, z0), ((z0, Z[l]),)), "forward", l)

    out_z, out_a, y0 = network.z[L][0], network.a[L][0], network.y[0]
    unit = ((out_a, A[L]), (y0, Y), (out_z, Z[L]))
    lse = sp.Symbol("lse", real=True)
    term = network.loss.stable_form(network.loss.per_example([out_a], [y0], m), [out_a], [out_z], network.activation(L), lse)
    loss_pairs = unit + (((lse, RowLogSumExp(Z[L])),) if term.has(lse) else ())
    entries = Elementwise(term, loss_pairs)
    l2 = network.l2
    weights = [name for name in params if name.startswith("W")]
    if l2 is None:
        define("J", EntrySum(entries), "loss", L)
    else:
        # J = the loss + c·ΣW² over every weight matrix; w stands for any one entry of W.
        w = sp.Symbol("w", real=True)
        penalty = [EntrySum(Elementwise(l2.numeric(l2.coefficient) * w ** 2, ((w, params[name]),))) for name in weights]
        define("J", sp.MatAdd(EntrySum(entries), *penalty), "loss", L)

    D: dict[int, sp.MatrixSymbol] = {}
    first = output_delta[delta[out_z]].value
    if first.free_symbols <= {out_a, y0, out_z, m}:
        D[L] = define(f"D{L}", Elementwise(first, unit), "backward", L)
    else:
        # Softmax with a loss that does not cancel: δ = A ∘ (G − rowsum(G ∘ A)), G = ∂J/∂A entry-wise.
        G = Elementwise(sp.diff(network.loss_expr, out_a), unit)
        g, s = sp.Symbol("g", real=True), sp.Symbol("s", real=True)
        pairs = ((out_a, A[L]), (g, G), (s, RowSum(sp.HadamardProduct(G, A[L]))))
        D[L] = define(f"D{L}", Elementwise(out_a * (g - s), pairs), "backward", L)
    for l in range(L - 1, 0, -1):
        back = sp.MatAdd(*(D[dst] * params[spec.weight_name(dst, l)] for dst in range(l + 1, L + 1) if l in spec.sources_of(dst)))
        act = network.activation(l)
        z0, a0 = network.z[l][0], network.a[l][0]
        if act == "identity":
            D[l] = define(f"D{l}", back, "backward", l)
        else:
            slope = Elementwise(activations.derivative_from_output(act, a0, z0), ((a0, A[l]), (z0, Z[l])))
            D[l] = define(f"D{l}", sp.HadamardProduct(back, slope), "backward", l)

    for l in range(1, L + 1):
        for src in spec.sources_of(l):
            name = spec.weight_name(l, src)
            data = D[l].T * A[src]
            # With an L2 term: + 2c·W, once for the batch (λ/m·W for the default scale).
            define(f"d{name}", data if l2 is None else sp.MatAdd(data, l2.numeric(l2.slope(sp.Integer(1))) * params[name]),
                   "gradient", l, name)
        if spec.biases[l - 1]:
            define(f"db{l}", (sp.OneMatrix(1, m) * D[l]).T, "gradient", l, f"b{l}")
    return MatrixForm(m, X, Y, params, tuple(equations))
