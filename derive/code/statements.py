"""The matrix form written as NumPy statements that overwrite the temporaries they own.

At one example a gradient is some forty NumPy calls on arrays of a few entries, and what costs is
the call, not the arithmetic: printed as nested expressions, every call allocates its result and
converts any Python number it is given. Here each equation of the matrix form is evaluated one
operation at a time: a fresh intermediate result belongs to the equation and the next operation
writes into it (`numpy.exp(t, t)`), and numbers are 0-d arrays of the working dtype, made once per
module (`Constants`). Inputs, parameters and earlier equations' results are never written to.
The equations are the derivation's own (matrix_form.py); only the order of evaluation is spelled out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp

from ..engine.activations import LogSigmoid, ReLU, Sigmoid
from ..engine.matrix_form import Elementwise, EntrySum, Reduction, RowSum
from .stable_forms import CappedExp

SCALAR = ()  # the shape of a number: broadcasts against anything

_UNARY = {sp.exp: "exp", sp.log: "log", sp.tanh: "tanh"}
_NAMED = {0.0: "_zero", 1.0: "_one", 2.0: "_two", 0.5: "_half"}
# e^z's cap: ln(largest float) − 1, where σ is 1 to the last bit (see `_capped_exp`).
EXP_CAP = "_exp_cap", "numpy.log(numpy.finfo(c).max) - 1"


@dataclass(frozen=True)
class Operand:
    text: str  # a name: an input, a parameter, an earlier result, a constant, or a temporary
    shape: tuple  # symbolic (rows, cols), or SCALAR
    owned: bool = False  # a temporary this equation made and reads once: may be written over
    mask: bool = False  # booleans (ReLU's slope): never the output of arithmetic

    def shared(self) -> Operand:
        return Operand(self.text, self.shape, False, self.mask)


class Constants:
    """The module's numbers as 0-d arrays per float type: name -> source in terms of the type code c."""

    def __init__(self):
        self.sources: dict[str, str] = {}

    def number(self, value) -> str:
        source = f"numpy.array({float(value)!r}, c)"
        name = next((n for n, s in self.sources.items() if s == source), None)
        if name is None:
            name = _NAMED.get(float(value), f"_c{len(self.sources)}")
            self.sources[name] = source
        return name

    def ones(self, n: int) -> str:
        """A column of n ones: M.dot(ones) sums M's rows in ~0.4 µs, M.sum(axis=1, keepdims=True) in ~1.4 µs."""
        name = f"_ones{n}"
        self.sources.setdefault(name, f"numpy.ones(({n}, 1), c)")
        return name

    def exp_cap(self) -> str:
        self.sources.setdefault(EXP_CAP[0], f"numpy.array({EXP_CAP[1]}, c)")
        return EXP_CAP[0]

    def module_lines(self) -> list[str]:
        if not self.sources:
            return []
        return ["# The module's numbers as 0-d arrays of each float type: NumPy converts a Python",
                "# number on every call (~0.25 µs), and a 0-d float64 would turn float32 into float64.",
                f'_CONSTANTS = {{c: ({", ".join(self.sources.values())},) for c in "efdg"}}', "", ""]

    def unpack(self, indent: str = "    ", of: str = "X") -> list[str]:
        if not self.sources:
            return []
        return [f"{indent}{', '.join(self.sources)}, = _CONSTANTS[{of}.dtype.char]"]


def broadcast(a: tuple, b: tuple) -> tuple:
    if a == SCALAR:
        return b
    if b == SCALAR:
        return a
    return tuple(x if y == 1 else y for x, y in zip(a, b))


def matmul_parts(expr: sp.MatMul):
    """(coefficient, matrices, sum over rows?, sum over columns?) with the ones vectors taken out.

    1ᵀ·M sums over examples; M·1 sums across units; a ones column or row on the other side only
    repeats its neighbour, which NumPy's broadcasting does for free.
    """
    coeff, mats = expr.as_coeff_matrices()
    mats = list(mats)
    reduce_rows = reduce_cols = False
    if mats and isinstance(mats[0], sp.OneMatrix):
        reduce_rows = mats[0].shape[0] == 1
        mats.pop(0)
    while len(mats) > 1 and isinstance(mats[-1], sp.OneMatrix):
        if mats[-1].shape[1] == 1:
            reduce_cols = True
        mats.pop()
    return coeff, mats, reduce_rows, reduce_cols


class StatementWriter:
    """Writes `name = expr` for matrix-form equations as a list of statements."""

    def __init__(self, printer, constants: Constants, m: sp.Symbol, indent: str = "    "):
        self.printer, self.constants, self.m, self.indent = printer, constants, m, indent
        self.ufuncs: set[str] = set()  # every NumPy function called by name, for `import_line`

    def import_line(self) -> list[str]:
        # Module globals, not numpy.<name>: the attribute lookup costs ~45 ns on each of ~40 calls.
        return [f"from numpy import {', '.join(sorted(self.ufuncs))}"] if self.ufuncs else []

    def equation(self, name: str, expr: sp.MatrixExpr) -> list[str]:
        self.lines: list[str] = []
        self.count = 0
        result = self._matrix(expr)
        if result.owned and re.fullmatch(r"_t\d+", result.text):
            # The result's buffer takes the equation's name (no extra assignment at run time).
            self.lines = [_rename(line, result.text, name) for line in self.lines]
        else:
            self.lines.append(f"{self.indent}{name} = {result.text}")
        if len(self.lines) == 1:
            return self.lines
        # The equation as one NumPy expression, above the statements that evaluate it.
        whole = self.printer.doprint(expr)
        whole = whole[1:-1] if isinstance(expr, Elementwise) else whole  # the printer's own brackets
        return [f"{self.indent}# {name} = {whole}"] + self.lines

    # Matrices --------------------------------------------------------------------------------
    def _matrix(self, expr) -> Operand:
        if isinstance(expr, sp.MatrixSymbol):
            return Operand(expr.name, tuple(expr.shape))
        if isinstance(expr, sp.Transpose):
            inner = self._matrix(expr.arg)
            return Operand(f"{inner.text}.T", tuple(expr.shape), inner.owned, inner.mask)
        if isinstance(expr, sp.MatAdd):
            return self._fold("add", [self._matrix(t) for t in expr.args])
        if isinstance(expr, sp.HadamardProduct):
            return self._fold("multiply", [self._matrix(t) for t in expr.args])
        if isinstance(expr, Elementwise):
            env = {s: self._matrix(M).shared() for s, M in expr.pairs}
            return self._scalar(expr.template, env)
        if isinstance(expr, RowSum) and expr.args[0].shape[1].is_Integer:
            arg = self._matrix(expr.args[0])
            return self._fresh(f"{arg.text}.dot({self.constants.ones(int(expr.args[0].shape[1]))})", tuple(expr.shape))
        if isinstance(expr, Reduction):
            arg = self._matrix(expr.args[0])
            stand_in = sp.MatrixSymbol(arg.text, *expr.args[0].shape)
            # A sum of every entry is a NumPy scalar, not an array: never an output buffer (SCALAR).
            shape = SCALAR if isinstance(expr, EntrySum) else tuple(expr.shape)
            return self._fresh(self.printer.doprint(type(expr)(stand_in)), shape)
        if isinstance(expr, sp.MatMul):
            matrices = sp.MatMul(*(a for a in expr.args if a.is_Matrix))
            coeff = sp.Mul(*(a for a in expr.args if not a.is_Matrix))
            _, mats, rows, cols = matmul_parts(matrices)
            if len(mats) == 1 and not (rows or cols):
                # Only a ones vector taken out: the operand itself, broadcast later by NumPy.
                result = self._matrix(mats[0])
            else:
                result = self._fresh(self.printer.doprint(matrices), tuple(expr.shape))
            return result if coeff == 1 else self._binary("multiply", result, self._scalar(coeff, {}))
        return self._fresh(self.printer.doprint(expr), tuple(expr.shape))

    def _fold(self, ufunc: str, operands: list[Operand]) -> Operand:
        acc = operands[0]
        for op in operands[1:]:
            acc = self._binary(ufunc, acc, op)
        return acc

    # Entry-by-entry templates ------------------------------------------------------------------
    def _scalar(self, e: sp.Expr, env: dict) -> Operand:
        if e in env:
            return env[e]
        if e == self.m:
            return Operand("m", SCALAR)
        if e.is_Number:
            return self._number(e)
        if e.is_Add:
            return self._sum(e, env)
        if e.is_Mul:
            return self._product(e, env)
        if e.is_Pow:
            return self._power(e, env)
        head = type(e)
        if head in _UNARY:
            return self._unary(_UNARY[head], self._scalar(e.args[0], env))
        if head is CappedExp:
            return self._capped_exp(self._scalar(e.args[0], env))
        if head is Sigmoid:
            # σ(z) = e^z / (1 + e^z) with e^z capped (below). Within 2 ulp of σ, one exp: as fast as the
            # textbook 1/(1 + e^{−z}) (which overflows) and three times faster than exp(−logaddexp(0, −z))
            # at many examples. (The module's σ layers also want 1 − σ: stable_forms.sigmoid_equations.)
            t = self._capped_exp(self._scalar(e.args[0], env))
            return self._binary("divide", t, self._binary("add", t.shared(), self._number(sp.S.One)))
        if head is LogSigmoid:
            # ln σ(z) = −ln(1 + e^{−z}), finite for every z.
            n = self._unary("negative", self._scalar(e.args[0], env))
            return self._unary("negative", self._binary("logaddexp", self._number(sp.S.Zero), n))
        if head is ReLU:
            return self._binary("maximum", self._scalar(e.args[0], env), self._number(sp.S.Zero))
        if head is sp.Heaviside and len(e.args) == 2 and e.args[1] == 0:
            # The step with H(0) = 0 as a boolean mask: multiplying by it keeps float32 float32.
            x = self._scalar(e.args[0], env)
            self.ufuncs.add("greater")
            return self._fresh(f"greater({x.text}, {self._number(sp.S.Zero).text})", x.shape, mask=True)
        return self._printed(e, env)

    def _capped_exp(self, x: Operand) -> Operand:
        # e^z with z capped at ln(largest float) − 1, where σ already rounds to 1, so e^z never
        # overflows; far below zero e^z underflows towards 0, σ's limit, never NaN.
        return self._unary("exp", self._binary("minimum", x, Operand(self.constants.exp_cap(), SCALAR)))

    def _sum(self, e: sp.Add, env) -> Operand:
        plus, minus = [], []
        for term in sp.Add.make_args(e):
            (minus if term.as_coeff_Mul()[0].is_negative else plus).append(term)
        if plus:
            acc = self._scalar(plus[0], env)
            for term in plus[1:]:
                acc = self._binary("add", acc, self._scalar(term, env))
        else:
            acc = self._unary("negative", self._scalar(-minus.pop(0), env))
        for term in minus:
            acc = self._binary("subtract", acc, self._scalar(-term, env))
        return acc

    def _product(self, e: sp.Mul, env) -> Operand:
        coeff, rest = e.as_coeff_Mul()
        factors = sp.Mul.make_args(rest)
        above = [f for f in factors if not (f.is_Pow and f.exp.is_negative)]
        below = [f.base ** -f.exp for f in factors if f.is_Pow and f.exp.is_negative]
        acc = self._number(abs(coeff)) if not above else None
        for f in above:
            op = self._scalar(f, env)
            acc = op if acc is None else self._binary("multiply", acc, op)
        for f in below:
            acc = self._binary("divide", acc, self._scalar(f, env))
        if above and abs(coeff) != 1:
            acc = self._binary("multiply", acc, self._number(abs(coeff)))
        return self._unary("negative", acc) if coeff.is_negative else acc

    def _power(self, e: sp.Pow, env) -> Operand:
        base = self._scalar(e.base, env)
        if e.exp == 2:
            return self._unary("square", base)
        if e.exp == -1:
            return self._unary("reciprocal", base)
        if e.exp == sp.S.Half:
            return self._unary("sqrt", base)
        if e.exp.is_Number:
            return self._binary("power", base, self._number(e.exp))
        return self._printed(e, env)

    def _printed(self, e: sp.Expr, env) -> Operand:
        # Anything without a rule of its own: the printer's expression over the operands' names.
        names = {s: sp.Symbol(op.text) for s, op in env.items()}
        shape = SCALAR
        for s in e.free_symbols & set(env):
            shape = broadcast(shape, env[s].shape)
        return self._fresh(self.printer.doprint(e.xreplace(names)), shape)

    # One NumPy call each -------------------------------------------------------------------------
    def _number(self, value) -> Operand:
        return Operand(self.constants.number(value), SCALAR)

    def _fresh(self, text: str, shape: tuple, mask: bool = False) -> Operand:
        if re.fullmatch(r"[\w.]+", text):
            return Operand(text, shape, False, mask)  # a name or a view (W1.T): never written to
        self.count += 1
        name = f"_t{self.count}"
        self.lines.append(f"{self.indent}{name} = {text}")
        return Operand(name, shape, True, mask)

    def _unary(self, ufunc: str, x: Operand) -> Operand:
        self.ufuncs.add(ufunc)
        if x.owned and not x.mask:
            self.lines.append(f"{self.indent}{ufunc}({x.text}, {x.text})")
            return x
        return self._fresh(f"{ufunc}({x.text})", x.shape)

    def _binary(self, ufunc: str, a: Operand, b: Operand) -> Operand:
        self.ufuncs.add(ufunc)
        shape = broadcast(a.shape, b.shape)
        # (a SCALAR result is a NumPy number, which cannot be written into: L2's c·ΣW² terms add up such numbers)
        out = next((o for o in (a, b) if o.owned and not o.mask and o.shape == shape and shape != SCALAR), None)
        if out is None:  # two masks give a mask: a product of steps is still booleans
            return self._fresh(f"{ufunc}({a.text}, {b.text})", shape, mask=a.mask and b.mask)
        self.lines.append(f"{self.indent}{ufunc}({a.text}, {b.text}, {out.text})")
        return out


def _rename(line: str, old: str, new: str) -> str:
    return re.sub(rf"\b{re.escape(old)}\b", new, line)
