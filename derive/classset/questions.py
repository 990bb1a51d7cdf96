"""The gradable quantities of one variant: the loss, the outputs and every δ of the first example,
every gradient and every updated parameter, each with its exact value, the tolerance its printed
precision allows, and its worked line in the course's notation (the LMS's feedback).

Values are read from the answers object (`compute_answers`, the generated code), never recomputed;
`path` says where, so a test can compare every export with variants.json entry by entry.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .. import activations
from ..typeset import Typesetter


@dataclass(frozen=True)
class Question:
    key: str  # canonical and stable across students: "loss", "delta2[1]", "gradient W1[0,1]", ...
    path: tuple  # where the value sits in the answers object
    label: str  # LaTeX of the quantity in the course's notation
    value: float  # exact (double precision), as answers.json holds it
    printed: str  # as the answer sheet prints it
    tolerance: float  # half a unit in the last printed digit
    feedback: str  # the worked line, LaTeX


def tolerance_of(printed: str) -> float:
    """Half a unit in the last digit of a number as the sheet prints it ("0.2984", "3.1\\times 10^{-5}")."""
    match = _PRINTED.fullmatch(printed.strip())
    if not match:
        raise ValueError(f"cannot read the precision of the printed number {printed!r}")
    decimals = len(match["frac"] or "")
    exponent = int(match["exp"] or 0)
    return 0.5 * 10.0 ** (exponent - decimals)


_PRINTED = re.compile(r"-?[0-9]+(?:\.(?P<frac>[0-9]+))?(?:\\times 10\^\{(?P<exp>-?[0-9]+)\})?")


def lookup(answers: dict, path: tuple) -> float:
    value = answers
    for step in path:
        value = value[step]
    return float(value)


class QuestionSet:
    """The questions of every variant of one class: same keys, labels and formulas, other numbers.

    A worked line's substituted form is the printed formula with numbers in the symbols' places,
    and where SymPy puts brackets and terms does not depend on the names it prints, so each line
    is printed once with a placeholder per symbol and each student's numbers go into the
    placeholders: no SymPy printing per student.
    """

    def __init__(self, ts: Typesetter, examples: int):
        self.ts, self.examples = ts, examples
        net = ts.net
        self.symbols = [net.m, *net.x, *net.y, *(p.symbol for p in ts.d.parameters)]
        for l in range(1, ts.L + 1):
            self.symbols += [*net.z[l], *net.a[l], *net.delta[l]]
        self.index = {sym: i for i, sym in enumerate(self.symbols)}
        self.lines = self._lines()

    def _slots(self, e: int) -> dict[sp.Symbol, str]:
        return {**self.ts.sym, **{s: f"\x00{e}.{i}\x00" for s, i in self.index.items()}}

    def _lines(self) -> list[tuple]:
        """(key, path, label, lhs, formula, substituted with placeholders) for every question."""
        ts, net, d = self.ts, self.ts.net, self.ts.d
        slots = self._slots(0)
        batch = [self._slots(e) for e in range(self.examples)] if self.examples > 1 else None
        lines = []
        if batch:
            lines.append(("loss", ("loss",), ts.p.cost, ts.p.cost, ts.loss_formula(), ts.loss_rhs(dot=True, examples=batch)))
        else:
            lines.append(("loss", ("loss",), ts.p.cost, ts.p.cost, ts.loss_rhs(), ts.loss_rhs(slots, dot=True)))
        L = ts.L
        act = net.activation(L)
        for j, (z, a) in enumerate(zip(net.z[L], net.a[L])):
            f = activations.apply(act, z) if act != "softmax" else net.a_expr[a]
            lines.append((f"a{L}[{j}]", ("forward", f"a{L}", 0, j), ts.s(a), ts.s(a), ts.tex(f), self._sub(f, slots)))
        for l in range(L, 0, -1):
            for j, z in enumerate(net.z[l]):
                dsym = d.delta[z]
                if l < L:
                    formula, subs = ts.hidden_delta(z), ts.hidden_delta(z, slots, dot=True)
                elif d.output_delta[dsym].simplified:
                    formula, subs = ts.tex(d.delta_expr[dsym]), self._sub(d.delta_expr[dsym], slots)
                else:
                    formula, subs = ts.output_chain(z), ts.output_chain(z, slots, dot=True)
                lines.append((f"delta{l}[{j}]", ("delta", f"delta{l}", 0, j), ts.s(dsym), ts.s(dsym), formula, subs))
        for p in d.parameters:
            g = d.gradient[p.key]
            lhs = ts.dcost(ts.pname(p.key))
            path = ("gradients", p.matrix, *p.index)
            if batch:
                terms = [self._sub(g, ex) for ex in batch]
                subs = " + ".join(terms) if len(terms) <= MAX_FEEDBACK_TERMS else " + ".join(terms[:2] + [r"\cdots", terms[-1]])
                lines.append((f"gradient {p.key}", path, lhs, lhs, rf"\sum_{{n=1}}^{{m}} {ts.tex(g)}", subs))
            else:
                lines.append((f"gradient {p.key}", path, lhs, lhs, ts.tex(g), "" if g.is_Symbol else self._sub(g, slots)))
        return lines

    def _sub(self, expr: sp.Expr, names: dict) -> str:
        return self.ts.tex(expr, names, mul_symbol="dot")

    def questions(self, numbers: dict) -> list[Question]:
        ts = self.ts
        texts = [self._texts(numbers, e) for e in range(self.examples if self.examples > 1 else 1)]

        def fill(template: str) -> str:
            text = _SLOT.sub(lambda m: texts[int(m[1])][int(m[2])], template)
            # A negative number as a function's whole argument is bracketed once, σ(−0.1), as on the sheet.
            return _DOUBLE_BRACKETS.sub(r"\\left(\1\\right)", text)

        out = []
        for key, path, label, lhs, formula, subs in self.lines:
            out.append(_question(ts, numbers, key, path, label, [lhs, formula, fill(subs)]))
        rate = numbers.get("learning_rate")
        if rate is not None:
            for p in ts.d.parameters:
                grad = lookup(numbers, ("gradients", p.matrix, *p.index))
                old = lookup(numbers, ("parameters", p.matrix, *p.index))
                name = ts.pname(p.key)
                out.append(_question(ts, numbers, f"updated {p.key}", ("updated", p.matrix, *p.index),
                                     rf"{name}\ \text{{(updated)}}",
                                     [rf"{name} \leftarrow {name} - \eta\, {ts.dcost(name)}",
                                      rf"{ts.num(old)} - {ts.num(rate)} \cdot {_paren(ts.num(grad))}"]))
        return out

    def _texts(self, numbers: dict, e: int) -> list[str]:
        vals = _example_values(self.ts, numbers, e)
        return [str(int(vals[s])) if s == self.ts.net.m else _paren(self.ts.num(vals[s])) for s in self.symbols]


_SLOT = re.compile("\x00([0-9]+)[.]([0-9]+)\x00")


_DOUBLE_BRACKETS = re.compile(r"\\left\(\\left\((-[0-9.]+)\\right\)\\right\)")
# The sheet breaks a long line inside an align environment (`\\ &\qquad`); feedback is one display.
_LINE_BREAK = re.compile(r"\s*\\\\\s*&(?:\\q?quad)?\s*")


def _question(ts: Typesetter, numbers: dict, key: str, path: tuple, label: str, parts: list[str]) -> Question:
    value = lookup(numbers, path)
    printed = ts.num(value)
    feedback = _LINE_BREAK.sub(" ", " = ".join(p for p in [*parts, printed] if p))
    return Question(key, path, label, value, printed, tolerance_of(printed), feedback)


def questions(ts: Typesetter, numbers: dict) -> list[Question]:
    """The questions of one variant (a class builds a QuestionSet once and reuses it)."""
    return QuestionSet(ts, numbers["examples"]).questions(numbers)


MAX_FEEDBACK_TERMS = 4  # a batch gradient's feedback shows this many examples' terms before \cdots


def _example_values(ts: Typesetter, numbers: dict, e: int) -> dict[sp.Symbol, float]:
    net = ts.net
    vals: dict[sp.Symbol, float] = {net.m: float(numbers["examples"])}
    vals.update({x: numbers["inputs"]["x"][e][k] for k, x in enumerate(net.x)})
    vals.update({y: numbers["inputs"]["y"][e][k] for k, y in enumerate(net.y)})
    for p in ts.d.parameters:
        vals[p.symbol] = lookup(numbers, ("parameters", p.matrix, *p.index))
    for l in range(1, ts.L + 1):
        for j in range(ts.spec.layers[l]):
            vals[net.z[l][j]] = numbers["forward"][f"z{l}"][e][j]
            vals[net.a[l][j]] = numbers["forward"][f"a{l}"][e][j]
            vals[net.delta[l][j]] = numbers["delta"][f"delta{l}"][e][j]
    return vals


def _paren(text: str) -> str:
    return rf"\left({text}\right)" if text.startswith("-") else text


def givens(ts: Typesetter, numbers: dict) -> list[str]:
    """What a student is given, as LaTeX: the inputs and targets, every parameter, the learning rate."""
    out = []
    X, Y = numbers["inputs"]["x"], numbers["inputs"]["y"]
    if len(X) == 1:
        out += [f"{ts.s(x)} = {exact(X[0][k])}" for k, x in enumerate(ts.net.x)]
        out += [f"{ts.s(y)} = {exact(Y[0][k])}" for k, y in enumerate(ts.net.y)]
    else:
        out.append(rf"X = {_bmatrix(X)}\ \text{{(one example per row)}}")
        out.append(rf"Y = {_bmatrix(Y)}")
    for p in ts.d.parameters:
        out.append(f"{ts.pname(p.key)} = {exact(lookup(numbers, ('parameters', p.matrix, *p.index)))}")
    if numbers.get("learning_rate") is not None:
        out.append(rf"\eta = {exact(numbers['learning_rate'])}")
    return out


def exact(value: float) -> str:
    """A given number exactly as drawn (shortest form that reads back to the same double)."""
    return np.format_float_positional(float(value), trim="-")


def _bmatrix(rows) -> str:
    return r"\begin{bmatrix} " + r" \\ ".join(" & ".join(exact(v) for v in r) for r in rows) + r" \end{bmatrix}"
