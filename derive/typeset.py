"""Printing one derivation's pieces as LaTeX in one notation profile.

`Typesetter` holds what every worksheet section needs (the derivation, the profile's names and
`symbol_names`, which parameters are written out) and prints symbols, partial derivatives and the
formulas that are written in the course's order rather than SymPy's. The section modules
(`equations`, `path_sums`, `diagram`, `stepwise`, `worked`) are functions of a `Typesetter`.
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter

from . import activations
from .derivation import Derivation, Factor
from .notation import Names, Profile, symbol_names, vector_names

MAX_SMALL_PATHS = 64  # above this (or MAX_SMALL_MATRIX entries in one matrix) only representatives are written out
MAX_SMALL_MATRIX = 16
MAX_UNITS_LISTED = 4  # scalar equations listed per layer before "and so on"
MAX_TERMS = 5  # a longer sum is written as its first three terms, \cdots and its last term


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer, with the step function written as ReLU' (SymPy prints θ(z), which
    would read as a weight in the θ notation)."""

    functions: dict = {}  # activation class -> the name this document writes it with (g, f), where not its own

    def _print(self, expr, **kwargs):
        name = self.functions.get(type(expr))
        if name is None:
            return super()._print(expr, **kwargs)
        body = rf"{name}\left({self._print(expr.args[0])}\right)"
        exp = kwargs.get("exp")
        return rf"{body}^{{{exp}}}" if exp else body

    def _print_Heaviside(self, expr, exp=None):
        body = rf"\operatorname{{ReLU}}'\left({self._print(expr.args[0])}\right)"
        return rf"{body}^{{{exp}}}" if exp else body

    def _print_Add(self, expr, order=None):
        # SymPy's canonical order can start a sum with a negative term, -a + y; write y - a instead.
        terms = list(self._as_ordered_terms(expr, order=order))
        if not terms[0].could_extract_minus_sign() or all(t.could_extract_minus_sign() for t in terms):
            return super()._print_Add(expr, order=order)
        terms = [t for t in terms if not t.could_extract_minus_sign()] + [t for t in terms if t.could_extract_minus_sign()]
        tex = ""
        for i, term in enumerate(terms):
            if i:
                if term.could_extract_minus_sign():
                    tex, term = tex + " - ", -term
                else:
                    tex += " + "
            text = self._print(term)
            tex += rf"\left({text}\right)" if self._needs_add_brackets(term) else text
        return tex


def _latex(expr, functions: dict | None = None, **settings) -> str:
    printer = _Printer(settings)
    if functions:
        printer.functions = functions
    return printer.doprint(expr)


def join_terms(terms: list[str], limit: int = MAX_TERMS) -> str:
    """Terms joined by +; a long sum keeps its first three terms and its last around \\cdots."""
    if len(terms) > limit:
        terms = terms[:3] + [r"\cdots"] + terms[-1:]
    return " + ".join(terms)


def listed(items: list) -> tuple[list, int]:
    """The items written out (the first MAX_UNITS_LISTED) and how many more there are."""
    return items[:MAX_UNITS_LISTED], max(0, len(items) - MAX_UNITS_LISTED)


def chunked(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _size(shape: tuple[int, ...]) -> int:
    out = 1
    for s in shape:
        out *= s
    return out


class Typesetter:
    """One derivation printed in one notation profile, with `precision` decimals for numbers."""

    def __init__(self, derivation: Derivation, profile: Profile, precision: int):
        self.d, self.p, self.precision = derivation, profile, precision
        self.net = derivation.network
        self.spec = self.net.spec
        self.names = Names(self.spec, profile)
        self.sym = symbol_names(self.net, profile)
        self.vec = vector_names(self.net, profile)
        # The activation classes printed with the profile's letter instead of their own name (σ → g).
        lettered = self.names.lettered()
        self.functions: dict[type, str] = {}
        if lettered:
            self.functions[activations.function_class(lettered)] = self.names.function(lettered)
            if lettered == "relu":  # ReLU's derivative is SymPy's step function
                self.functions[sp.Heaviside] = self.names.function(lettered) + "'"
        self.L = self.net.depth
        shapes = self.spec.parameter_shapes()
        self.large = derivation.total_paths > MAX_SMALL_PATHS or any(
            _size(s) > MAX_SMALL_MATRIX for s in shapes.values())
        self.matrices = list(shapes)
        self.weight_matrices = [n for n in shapes if n.startswith("W")]
        # Representative parameters: the first weight of every weight matrix.
        self.shown = [next(p.key for p in self.d.parameters if p.matrix == n) for n in self.weight_matrices]
        # The terms of every z in the course's order: weights unit by unit (next layer, then skips), bias last.
        self.z_terms: dict[sp.Symbol, list[tuple[sp.Symbol, sp.Symbol | None]]] = {}
        for p in derivation.parameters:
            self.z_terms.setdefault(self.net.z[p.layer][p.index[0]], []).append((p.symbol, p.source))

    # -- printing --------------------------------------------------------------------------------
    def tex(self, expr, names: dict | None = None, **kw) -> str:
        return _latex(expr, self.functions, symbol_names=names or self.sym, **kw)

    def sum_tex(self, expr: sp.Expr) -> str:
        """`tex(expr)`, but a sum of many terms is shortened to its first three terms, \\cdots and its last."""
        if not isinstance(expr, sp.Add) or len(expr.args) <= MAX_TERMS:
            return self.tex(expr)
        terms = _Printer({"symbol_names": self.sym})._as_ordered_terms(expr)
        terms = terms[:3] + [None] + terms[-1:]
        out = self.tex(terms[0])
        for t in terms[1:]:
            if t is None:
                out += r" + \cdots"
            elif t.could_extract_minus_sign():
                out += " - " + self.tex(-t)
            else:
                out += " + " + self.tex(t)
        return out

    def s(self, symbol: sp.Symbol) -> str:
        return self.sym[symbol]

    def partial(self, num: sp.Symbol, den: sp.Symbol) -> str:
        return rf"\frac{{\partial {self.s(num)}}}{{\partial {self.s(den)}}}"

    def leibniz(self, path: tuple[Factor, ...]) -> str:
        return r" ".join(self.partial(f.numerator, f.denominator) for f in path)

    def factor_values(self, path: tuple[Factor, ...]) -> str:
        parts = [self._factor_value(f) for f in path]
        return r" ".join(rf"\cdot {t}" if i and f.value.is_Number else t for i, (f, t) in enumerate(zip(path, parts)))

    def _factor_value(self, f: Factor) -> str:
        # A profile that writes ∂J/∂ŷ as −(y − ŷ) writes it so in the path sums too, not as SymPy's (ŷ − y).
        if f.numerator == self.net.J and self.p.minus_y_first and self.net.loss.kind == "squared":
            return self.loss_gradient(self.net.a[self.L].index(f.denominator))
        return self.paren(f.value)

    def squared_order(self, expr: sp.Expr) -> sp.Expr:
        """The loss with (y − ŷ)² turned into (ŷ − y)² where the profile writes the error that way."""
        if self.p.target_first:
            return expr
        return expr.xreplace({(y - a) ** 2: sp.Add(a, -y, evaluate=False) ** 2
                              for a, y in zip(self.net.a[self.L], self.net.y)})

    def paren(self, expr: sp.Expr, names: dict | None = None) -> str:
        text = self.tex(expr, names)
        return rf"\left({text}\right)" if isinstance(expr, sp.Add) or (expr.could_extract_minus_sign()) else text

    def num(self, value: float) -> str:
        if value != 0 and abs(value) < 0.5 * 10.0 ** -self.precision:
            # It would print as 0.0000: show two significant figures instead of a false zero.
            mantissa, exponent = f"{value:.1e}".split("e")
            return rf"{mantissa}\times 10^{{{int(exponent)}}}"
        text = f"{value:.{self.precision}f}"
        if text.startswith("-") and float(text) == 0:
            text = text[1:]
        return text

    def pname(self, key: str) -> str:
        return self.names.parameter(key)

    def dcost(self, what: str) -> str:
        return rf"\frac{{\partial {self.p.cost}}}{{\partial {what}}}"

    # -- displays built from the structure, in the course's order --------------------------------
    # SymPy sorts the terms of a sum and the factors of a product canonically, which prints
    # (-a + y)^2 and w a δ (1 - a). These build the same values in the order the seeds write them;
    # `names` is the symbol_names dict (numbers instead of symbols for the worked answers, `dot`).

    def pr(self, expr: sp.Expr, names: dict | None = None, dot: bool = False, paren: bool = False) -> str:
        text = self.tex(expr, names, mul_symbol="dot" if dot else None)
        if paren and (isinstance(expr, sp.Add) or expr.could_extract_minus_sign()):
            return rf"\left({text}\right)"
        return text

    def z_rhs(self, z: sp.Symbol, names: dict | None = None, dot: bool = False) -> str:
        names = names or self.sym
        mul = r" \cdot " if dot else " "
        return join_terms([names[w] if a is None else f"{names[w]}{mul}{names[a]}" for w, a in self.z_terms[z]])

    def loss_formula(self) -> str:
        """The loss over all examples, its placeholders filled in with the profile's symbols."""
        p = self.p
        out = self.names.output_symbol()
        error = f"({p.target} - {out})" if p.target_first else f"({out} - {p.target})"
        formula = self.net.loss.formula
        for token, text in (("<error>", error), ("<yhat>", out), ("<y>", p.target), ("<m>", p.examples)):
            formula = formula.replace(token, text)
        return formula

    def loss_rhs(self, names: dict | None = None, dot: bool = False, examples: list[dict] | None = None) -> str:
        """J for one example: ½ (y − ŷ)², −[y ln ŷ + (1 − y) ln(1 − ŷ)], −Σ y ln ŷ, with the loss's constant.

        With `examples` (one names dict per example, numbers substituted) the terms of every example
        are summed, so that the printed sum is the whole J of a batch."""
        net, loss = self.net, self.net.loss
        names = names or self.sym
        mul = r" \cdot " if dot else " "
        pairs = [(ex[a], ex[y]) for ex in (examples or [names]) for a, y in zip(net.a[self.L], net.y)]
        if loss.kind == "squared":
            terms = [rf"\left({y} - {a}\right)^{{2}}" if self.p.target_first else rf"\left({a} - {y}\right)^{{2}}" for a, y in pairs]
        elif loss.kind == "binary":
            terms = [rf"{y}{mul}\ln {a} + \left(1 - {y}\right){mul}\ln\left(1 - {a}\right)" for a, y in pairs]
        else:
            terms = [rf"{y}{mul}\ln {a}" for a, y in pairs]
        names = examples[0] if examples else names  # the batch's m is a number too
        per_line = 1 if loss.kind == "binary" else 3
        if examples and len(terms) > per_line:
            # A batch's sum is long: a few terms to a line of the align, in brackets that may span lines.
            if len(terms) > MAX_TERMS:
                terms = terms[:3] + [r"\cdots"] + terms[-1:]
            lines = [" + ".join(terms[i:i + per_line]) for i in range(0, len(terms), per_line)]
            body = r"\Big[" + r" \\ &\qquad + ".join(lines) + r"\Big]"
        else:
            body = join_terms(terms)
            if len(terms) > 1 or loss.kind == "binary":
                body = rf"\left[{body}\right]"
        scale = loss.scale(net.m)
        lead = "" if scale == 1 else self.pr(scale, names, dot) + " "
        return ("" if loss.kind == "squared" else "-") + lead + body

    def loss_gradient(self, j: int, names: dict | None = None, dot: bool = False) -> str:
        """∂J/∂ŷ_j: (a − y) times the loss's constant, or −(y − ŷ) in the Welch profile."""
        net, loss = self.net, self.net.loss
        names = names or self.sym
        a_sym = net.a[self.L][j]
        if loss.kind != "squared":
            return self.pr(self.d.factors[(net.J, a_sym)].value, names, dot, paren=True)
        a, y = names[a_sym], names[net.y[j]]
        c = 2 * loss.scale(net.m)
        lead = "" if c == 1 else self.pr(c, names, dot) + (r" \cdot " if dot else " ")
        if self.p.minus_y_first:
            return rf"-{lead}\left({y} - {a}\right)"
        return rf"{lead}\left({a} - {y}\right)"

    def output_chain(self, z: sp.Symbol, names: dict | None = None, dot: bool = False) -> str:
        """δ of an output unit as ∂J/∂ŷ times the activation's slope, before any cancelling."""
        succ = self.d.successors[z]
        if len(succ) != 1:  # softmax: every output depends on this z
            return self.pr(self.d.output_delta[self.d.delta[z]].chain, names, dot)
        a = succ[0]
        grad = self.loss_gradient(self.net.a[self.L].index(a), names, dot)
        slope = self.d.factors[(a, z)].value
        if slope == 1:
            return grad
        return grad + (r" \cdot " if dot else r"\, ") + self.pr(slope, names, dot, paren=True)

    def hidden_delta(self, z: sp.Symbol, names: dict | None = None, dot: bool = False) -> str:
        """δ of a hidden unit: (Σ w δ of the units it feeds) times its activation's slope."""
        names = names or self.sym
        mul = r" \cdot " if dot else r"\, "
        info = self.net.info[z]
        a = self.net.a[info.layer][info.index[0]]
        terms = [f"{self.pr(self.d.factors[(zn, a)].value, names, dot, paren=True)}{mul}{names[self.d.delta[zn]]}"
                 for zn in self.d.successors[a]]
        body = join_terms(terms)
        slope = self.d.factors[(a, z)].value
        if slope == 1:
            return body
        inner = rf"\left({body}\right)" if len(terms) > 1 else body
        return f"{inner}{mul}{self.pr(slope, names, dot, paren=True)}"

