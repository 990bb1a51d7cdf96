"""Where floats cancel: the generated module's formulas in an order of evaluation that keeps every digit.

A saturated σ unit holds a = 1 − 2.06·10⁻⁹ to 16 digits, so 1 − a keeps 8 of them, and y − a,
σ′ = a(1 − a) and every δ made of them keep as few: σ(20) with target 1 gave a loss of 2.1·10⁻¹⁸
eight digits off, σ(30) three. Softmax's ln a = z − lse loses as many in its subtraction. The
derivation's formulas are right, and the sheets print them as they are; only the code evaluates them
in another, equal form:

* a σ unit gets its complement c = 1 − a = σ(−z) = 1/(1 + e^z), from the same capped e^z and
  1 + e^z as a = e^z/(1 + e^z), and 1 − a is read as c (σ′ = a·c, in the matrix form a/(1 + e^z));
* a σ output's residual a − y is written a(1 − y) − y·c: for targets in [0, 1] two terms that cancel
  only where a ≈ y (where no form can help: a itself is rounded), outside [0, 1] two terms of one sign;
* a softmax output's residual, for the one-hot targets the module insists on, is n − y·q with
  n = a(1 − y), the other classes' probabilities, and q = Σ n = 1 − a at the target;
* softmax's ln a is each row's log-softmax (z − max) − ln(1 + the others' Σ e^{z − max}), so the
  largest entry's ln a is the log1p of small numbers, never lse − z.

`matrix_equations` applies this to the matrix form; `substitutions` and `stable` do the same to the
scalar form's per-unit formulas (codegen.py); `helper_lines` are the module functions it calls.
"""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from ..engine.matrix_form import Elementwise, MatrixEquation, Reduction, RowSum
from ..engine.network import Network


class CappedExp(sp.Function):
    """e^{min(z, ln(largest float) − 1)}: e^z wherever σ(z) is not yet 1 to the last bit, never overflowing."""

    nargs = 1


class RowLogSoftmax(Reduction):
    """ln softmax of every row, entry by entry (the shape of its argument)."""

    @property
    def shape(self):
        return self.args[0].shape


def complement(a: sp.Symbol) -> sp.Symbol:
    """c = 1 − a of a σ unit, named after it (a2_0 → c2_0)."""
    return sp.Symbol("c" + a.name[1:], real=True)


def others(a: sp.Symbol) -> sp.Symbol:
    """n = a(1 − y) of a softmax output unit: its probability unless it is the target (n2_0)."""
    return sp.Symbol("n" + a.name[1:], real=True)


def others_sum(layer: int) -> sp.Symbol:
    """q = Σ n = 1 − a at the target, one per example (q2)."""
    return sp.Symbol(f"q{layer}", real=True)


def log_output(a: sp.Symbol) -> sp.Symbol:
    """ln a of a softmax output unit, from the row's log-softmax (la2_0)."""
    return sp.Symbol("la" + a.name[1:], real=True)


def substitutions(network: Network, units: int | None = None, lse: sp.Expr | None = None) -> dict:
    """{formula: its stable form} to `xreplace` into a template or a per-unit formula.

    `units` limits every layer to its first so many units (the matrix form's templates are written
    over unit 0); `lse` is what stands for ln Σ e^z in the softmax loss (the matrix form's symbol,
    or by default the scalar form's LogSumExp of the output's z)."""
    table: dict = {}
    L = network.depth
    pick = (lambda seq: seq[:units]) if units is not None else (lambda seq: seq)
    for l in range(1, L + 1):
        if network.activation(l) == "sigmoid":
            for a in pick(network.a[l]):
                c = complement(a)
                table[1 - a], table[a - 1] = c, -c
    out = network.activation(L)
    if out not in ("sigmoid", "softmax"):
        return table
    if out == "softmax":
        from ..engine.activations import LogSumExp

        lse = LogSumExp(*network.z[L]) if lse is None else lse
    for a, y, z in zip(pick(network.a[L]), pick(network.y), pick(network.z[L])):
        r = a * (1 - y) - y * complement(a) if out == "sigmoid" else others(a) - y * others_sum(L)
        table[a - y], table[y - a] = r, -r
        if out == "softmax":
            table[z - lse], table[lse - z] = log_output(a), -log_output(a)
    return table


def stable(expr: sp.Expr, table: dict) -> sp.Expr:
    """`expr` with the stable forms of `table` (`substitutions`) put in, also where a sum carries a
    common factor: 2a − 2y is 2(a − y) to the table."""
    expr = expr.xreplace(table)

    def refactored(node):
        common = sp.factor_terms(node)
        again = common.xreplace(table)
        return again if again != common else node
    # the sums that cancel have two terms (three with a constant): longer ones are left alone, unfactored
    return expr.replace(lambda e: isinstance(e, sp.Add) and len(e.args) <= 3, refactored)


def matrix_equations(network: Network, equations: tuple[MatrixEquation, ...]) -> list[MatrixEquation]:
    """The matrix form's equations with the stable forms: σ layers as E (capped e^Z), U = 1 + E and A;
    after the forward pass, N, Q and LA of a softmax output; every template rewritten to read them.
    The list holds what any function may need; `needed` takes each function's share."""
    L = network.depth
    lse = sp.Symbol("lse", real=True)  # matrix_form's name for the row's ln Σ e^z
    table = substitutions(network, units=1, lse=lse)
    shape = {e.name: e.expr.shape for e in equations}
    matrix = {}  # each symbol the table introduces -> the matrix whose entries it stands for
    # c = 1 − a is read as 1/u, u = 1 + e^z (the σ layer's U): σ′ = a/u and y·c = y/u are one division
    # each, with no pass to compute c itself
    over_u = {}
    for l in range(1, L + 1):
        if network.activation(l) == "sigmoid":
            u = sp.Symbol(f"u{l}_0", real=True)
            over_u[complement(network.a[l][0])] = 1 / u
            matrix[u] = sp.MatrixSymbol(f"U{l}", *shape[f"A{l}"])
    table = {k: v.xreplace(over_u) for k, v in table.items()}
    out_a = network.a[L][0]
    extra: list[MatrixEquation] = []
    if network.activation(L) == "softmax":
        A, Z, Y = (sp.MatrixSymbol(n, *shape[k]) for n, k in ((f"A{L}", f"A{L}"), (f"Z{L}", f"Z{L}"), ("Y", f"A{L}")))
        y = network.y[0]
        n = MatrixEquation(f"N{L}", Elementwise(out_a * (1 - y), ((out_a, A), (y, Y))), "target", L)
        q = MatrixEquation(f"Q{L}", RowSum(sp.MatrixSymbol(n.name, *n.shape)), "target", L)
        la = MatrixEquation(f"LA{L}", RowLogSoftmax(Z), "target", L)
        extra = [n, q, la]
        matrix.update({others(out_a): sp.MatrixSymbol(n.name, *n.shape), others_sum(L): sp.MatrixSymbol(q.name, *q.shape),
                       log_output(out_a): sp.MatrixSymbol(la.name, *la.shape)})
    result = []
    for eq in equations:
        if eq.stage == "forward" and eq.name.startswith("A") and network.activation(eq.layer) == "sigmoid":
            result += sigmoid_equations(eq.layer, sp.MatrixSymbol(f"Z{eq.layer}", *eq.shape))
        elif eq.stage == "forward":  # z and a softmax's a = e^{z − lse}: nothing cancels in them
            result.append(eq)
        else:
            result += _hoisted(replace(eq, expr=_rewritten(eq.expr, table, matrix)))
        if eq.name == f"A{L}":
            result += extra
    return result


def sigmoid_equations(layer, Z: sp.MatrixSymbol, names=("E{}", "U{}", "A{}")) -> list[MatrixEquation]:
    """E = e^Z capped, U = 1 + E and A = E/U = σ(Z); 1 − σ(Z) = σ(−Z) = 1/U from the same exp.
    (A = E/U rather than E∘(1/U): where σ rounds to 1, E/U is 1 exactly, as the textbook σ is.)"""
    z, e, u = (sp.Symbol(s, real=True) for s in "zeu")
    E, U, A = (sp.MatrixSymbol(n.format(layer), *Z.shape) for n in names)
    return [MatrixEquation(E.name, Elementwise(CappedExp(z), ((z, Z),)), "forward", layer),
            MatrixEquation(U.name, Elementwise(1 + e, ((e, E),)), "forward", layer),
            MatrixEquation(A.name, Elementwise(e / u, ((e, E), (u, U))), "forward", layer)]


def _hoisted(eq: MatrixEquation) -> list[MatrixEquation]:
    """`eq`, after an equation of its own for an entry-by-entry part it reads twice (softmax's δ =
    A∘(G − rowsum(G∘A)) reads G = ∂J/∂A twice), so that part is computed once."""
    inner = [M for node in sp.preorder_traversal(eq.expr) if isinstance(node, Elementwise)
             for _, M in node.pairs for M in sp.preorder_traversal(M) if isinstance(M, Elementwise)]
    twice = sorted({M for M in inner if inner.count(M) > 1}, key=str)
    if not twice:
        return [eq]
    names = {M: sp.MatrixSymbol(f"G{eq.layer}" + (f"_{k}" if len(twice) > 1 else ""), *M.shape) for k, M in enumerate(twice)}
    parts = [MatrixEquation(n.name, M, eq.stage, eq.layer) for M, n in names.items()]
    return parts + [replace(eq, expr=eq.expr.xreplace(names))]


def _rewritten(expr, table: dict, matrix: dict):
    """`expr` with every Elementwise template rewritten by `table`, reading the matrices it then names."""
    if isinstance(expr, Elementwise):
        template = stable(expr.template, table)
        pairs = [(s, _rewritten(M, table, matrix)) for s, M in expr.pairs]
        used = template.free_symbols
        pairs = [(s, M) for s, M in pairs if s in used] or pairs[:1]  # an unread pair (lse) costs a pass
        pairs += [(s, matrix[s]) for s in sorted(used - {s for s, _ in pairs}, key=str) if s in matrix]
        return Elementwise(template, tuple(pairs))
    if not getattr(expr, "args", ()) or isinstance(expr, (sp.MatrixSymbol, sp.Symbol, sp.Number)):
        return expr
    args = [_rewritten(a, table, matrix) for a in expr.args]
    return expr.func(*args) if any(a is not b for a, b in zip(args, expr.args)) else expr


def needed(equations: list[MatrixEquation], results: set[str]) -> list[MatrixEquation]:
    """The equations that `results` depend on, in their order: a function computes nothing it does not read."""
    wanted, kept = set(results), []
    for eq in reversed(equations):
        if eq.name in wanted:
            kept.append(eq)
            wanted |= {s.name for s in eq.expr.atoms(sp.MatrixSymbol)}
    return kept[::-1]


def helper_lines() -> list[str]:
    """`_log_softmax(Z)`, which RowLogSoftmax prints as."""
    return [
        "def _log_softmax(Z):",
        '    """ln softmax(Z) row by row: (Z - max) - log1p(the other entries\' sum of e^(Z - max)), never lse - z."""',
        "    shifted = Z - Z.max(axis=1, keepdims=True)",
        "    e = numpy.exp(shifted)",
        "    # A row's largest entry has e = 1 exactly, which is log1p's 1: the others are summed without",
        "    # it (so a sum of 1 + 1e-20 never rounds to 1), and of tied largest entries each but one counts.",
        "    ties = (e == 1).sum(axis=1, keepdims=True, dtype=Z.dtype)",
        "    return shifted - numpy.log1p((e * (e < 1)).sum(axis=1, keepdims=True) + (ties - 1))",
        "",
        "",
    ]
