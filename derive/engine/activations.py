"""Activation functions as SymPy functions, each with its own local derivative rule.

Every element-wise activation knows two derivatives: `fdiff` (what SymPy uses when it differentiates
a nested expression, in terms of z) and `derivative_from_output(a, z)` (the form backprop uses, in
terms of the unit's own activation a where that is the textbook form: σ' = a(1 − a), tanh' = 1 − a²).
Softmax couples the units of a layer and is handled by `softmax_jacobian`.
"""
from __future__ import annotations

import sympy as sp


class Sigmoid(sp.Function):
    """σ(z) = 1 / (1 + e^{−z})."""

    nargs = 1

    def fdiff(self, argindex=1):
        s = Sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.Rational(1, 2)
        return None

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _eval_evalf(self, prec):
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        body = rf"\sigma\left({printer._print(self.args[0])}\right)"
        return rf"{body}^{{{exp}}}" if exp else body


class ReLU(sp.Function):
    """max(0, z); its derivative is the step function with value 0 at 0."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)

    @classmethod
    def eval(cls, z):
        if z.is_number and z.is_real:
            return sp.Max(z, 0)
        return None

    def _eval_evalf(self, prec):
        return sp.Max(self.args[0], 0)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        body = rf"\operatorname{{ReLU}}\left({printer._print(self.args[0])}\right)"
        return rf"{body}^{{{exp}}}" if exp else body


class LogSigmoid(sp.Function):
    """ln σ(z), kept whole so that generated code can evaluate it stably for |z| up to 1000."""

    nargs = 1

    def fdiff(self, argindex=1):
        return 1 - Sigmoid(self.args[0])

    def _eval_evalf(self, prec):
        return sp.log(Sigmoid(self.args[0]))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        return getattr(printer, "log_name", r"\ln") + rf"\sigma\left({printer._print(self.args[0])}\right)"


class LogSumExp(sp.Function):
    """ln Σ_k e^{z_k}, the stable normaliser of softmax."""

    def fdiff(self, argindex=1):
        zs = self.args
        return sp.exp(zs[argindex - 1]) / sum(sp.exp(z) for z in zs)

    def _eval_evalf(self, prec):
        return sp.log(sum(sp.exp(z) for z in self.args))._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        return getattr(printer, "log_name", r"\ln") + r"\sum_k e^{" + printer._print(self.args[0]).split("_")[0] + "_k}"


def apply(name: str, z: sp.Expr) -> sp.Expr:
    """a = f(z) for an element-wise activation."""
    return _APPLY[name](z)


def function_class(name: str) -> type:
    """The SymPy function class of an element-wise activation (identity has none)."""
    return _APPLY[name]


def derivative_from_output(name: str, a: sp.Symbol, z: sp.Symbol) -> sp.Expr:
    """f'(z) written as backprop evaluates it, in terms of the unit's activation a (or z for ReLU)."""
    return _DERIVATIVE[name](a, z)


def softmax(zs: list[sp.Expr]) -> list[sp.Expr]:
    total = sum(sp.exp(z) for z in zs)
    return [sp.exp(z) / total for z in zs]


def softmax_jacobian(a: list[sp.Symbol], i: int, j: int) -> sp.Expr:
    """∂a_i/∂z_j = a_i(δ_ij − a_j) for a softmax layer."""
    return a[i] * ((1 if i == j else 0) - a[j])


_APPLY = {
    "sigmoid": Sigmoid,
    "tanh": sp.tanh,
    "relu": ReLU,
    "identity": lambda z: z,
}

_DERIVATIVE = {
    "sigmoid": lambda a, z: a * (1 - a),
    "tanh": lambda a, z: 1 - a**2,
    "relu": lambda a, z: sp.Heaviside(z, 0),
    "identity": lambda a, z: sp.Integer(1),
}

# How each activation is named in formulas: f(z) and f'(z) in the handout's general rules.
LATEX_NAME = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\operatorname{ReLU}", "identity": r"\operatorname{id}", "softmax": r"\operatorname{softmax}"}
