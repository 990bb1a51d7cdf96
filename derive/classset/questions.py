"""The gradable quantities of one variant: the loss, the outputs and every δ of the first example,
every gradient and every updated parameter, each with its exact value, the range of answers marked
right (exact decimals [low, high], from the precision its printed number on that student's answer
sheet has), the precision rule in words, and its worked line in the course's notation (the LMS's
feedback). The exports read the range from here and never compute a bound themselves.

Values are read from the answers object (`compute_answers`, the generated code), never recomputed;
`path` says where, so a test can compare every export with variants.json entry by entry.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, Rounded

import numpy as np

from ..engine import activations
from ..sheets import regularization
from ..sheets.typeset import Typesetter, tex_number, tidy_brackets

FIGURES = 4  # significant figures of a result on the sheets (`derive build` prints them so), asked of an answer


@dataclass(frozen=True)
class Question:
    key: str  # canonical and stable across students: "loss", "delta2[1]", "gradient W1[0,1]", ...
    path: tuple  # where the value sits in the answers object
    label: str  # LaTeX of the quantity in the course's notation
    value: float  # the exact value rounded to binary64, as answers.json holds it
    printed: str  # as this student's answer sheet prints it (Decimal syntax: its exponent is its precision)
    low: Decimal  # the answers marked right are [low, high], both included: exact decimals, not floats
    high: Decimal
    rule: str  # the precision asked, in words, as every LMS question states it
    feedback: str  # the worked line, LaTeX, with the numbers the sheet prints

    @property
    def exact(self) -> Decimal:
        """The value as the exports write it (the shortest decimal that reads back to the same double)."""
        return Decimal(repr(float(self.value)))

    @property
    def centre(self) -> Decimal:
        return EXACT.divide(EXACT.add(self.low, self.high), 2)

    @property
    def half_width(self) -> Decimal:
        """Half the range: the tolerance of a symmetric range (Moodle's, the only kind it stores)."""
        return EXACT.divide(EXACT.subtract(self.high, self.low), 2)

    @property
    def symmetric(self) -> bool:
        return self.centre == self.exact


# Decimal arithmetic that raises rather than round: every bound is the exact sum it says it is.
EXACT = Context(prec=400, traps=[Inexact, Rounded])


def accepted_range(value: float, tolerance: Decimal) -> tuple[Decimal, Decimal]:
    """[value − tolerance, value + tolerance] in exact decimals, value as its shortest decimal."""
    exact = Decimal(repr(float(value)))
    return EXACT.subtract(exact, tolerance), EXACT.add(exact, tolerance)


def decimal_text(d: Decimal) -> str:
    """An exact decimal as positional text (0.00000005, -0.31189), as every LMS parses a number."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def rule_text(figures: int) -> str:
    return f"Give it to at least {figures} significant figures"


def tolerance_of(printed: str) -> float:
    """Half a unit in the last digit of a number as the sheet prints it ("0.2984", "3.1\\times 10^{-5}")."""
    match = _PRINTED.fullmatch(printed.strip())
    if not match:
        raise ValueError(f"cannot read the precision of the printed number {printed!r}")
    decimals = len(match["frac"] or "")
    exponent = int(match["exp"] or 0)
    return 0.5 * 10.0 ** (exponent - decimals)


_PRINTED = re.compile(r"-?[0-9]+(?:\.(?P<frac>[0-9]+))?(?:\\times 10\^\{(?P<exp>-?[0-9]+)\})?")


def tolerance_for(printed: str, value: float, figures: int) -> Decimal:
    """The tolerance of an answer the sheet prints as `printed` (Decimal text), exact value `value`.

    Half a unit in the `figures`-th significant figure: the sheets' rule gives every result to
    `figures` significant figures (the exercise sheet tells the student so), and the extra figures a
    sheet prints on a value that later lines use are for those lines, not demanded of the answer.
    Where the student's sheet prints fewer figures (a result whose operands cancel keeps only the
    figures they support), half a unit in the last figure printed. An exact 0: half a unit of the
    `figures`-th decimal. An exact decimal (5·10ⁿ), never a float."""
    d = Decimal(printed)
    if d == 0 and value == 0:
        return Decimal(5).scaleb(-figures - 1)
    shown = len(d.as_tuple().digits)
    exact = float(d) == value  # a short decimal printed exactly (z = 1.3): not rounded at all
    return Decimal(5).scaleb(d.adjusted() - (figures if exact else min(shown, figures)))


def lookup(answers: dict, path: tuple) -> float:
    value = answers
    for step in path:
        value = value[step]
    return float(value)


class QuestionSet:
    """The questions of every variant of one class: same keys, labels and formulas, other numbers.

    Each question is a line of the student's worked answer sheet (`derive.sheets.settle`'s WorkedLine
    data): its value is read from the answers object, its printed form and precision from the
    line's printed result, and its feedback is the sheet's formula with the numbers the sheet
    prints in it, so an LMS marks exactly what the printed sheet shows.
    """

    def __init__(self, ts: Typesetter, examples: int):
        self.ts, self.examples = ts, examples
        net, d = ts.net, ts.d
        self.by_name = {s.name: s for s in net.info}
        multi = examples > 1
        self.asked = []  # (key, path, label, the worked line's `what`, formula, how to substitute)
        if net.l2 is not None:  # J with its L2 term: the sheet's line J = Σₙ Jₙ + c·Σw²
            self.asked.append(("loss", ("loss",), ts.p.cost, "l2 loss",
                               rf"\sum_{{n}} {ts.p.cost}_{{n}} + {regularization.coefficient(ts)} \sum w^{{2}}", "l2 loss"))
        else:
            self.asked.append(("loss", ("loss",), ts.p.cost, "loss" if multi else "loss #0",
                               ts.loss_formula() if multi else ts.loss_rhs(), "loss"))
        L = ts.L
        act = net.activation(L)
        for j, (z, a) in enumerate(zip(net.z[L], net.a[L])):
            f = activations.apply(act, z) if act != "softmax" else net.a_expr[a]
            self.asked.append((f"a{L}[{j}]", ("forward", f"a{L}", 0, j), ts.s(a), f"a {a.name} #0", ts.tex(f), ("expr", f)))
        for l in range(L, 0, -1):
            for j, z in enumerate(net.z[l]):
                dsym = d.delta[z]
                if l < L:
                    formula, how = ts.hidden_delta(z), ("hidden", z)
                elif d.output_delta[dsym].simplified:
                    formula, how = ts.tex(d.delta_expr[dsym]), ("expr", d.delta_expr[dsym])
                else:
                    formula, how = ts.output_chain(z), ("chain", z)
                self.asked.append((f"delta{l}[{j}]", ("delta", f"delta{l}", 0, j), ts.s(dsym), f"delta {dsym.name} #0", formula, how))
        for p in d.parameters:
            g = d.gradient[p.key]
            formula = rf"\sum_{{n=1}}^{{m}} {ts.tex(g)}" if multi else ts.tex(g)
            how = ("gradient", g)
            if net.l2 is not None and p.symbol in net.l2.weights:  # + 2c·w, as the sheet's line adds it
                formula += rf" + {regularization.slope(ts)}\, {ts.pname(p.key)}"
                how = ("l2 gradient", (g, p.symbol))
            self.asked.append((f"gradient {p.key}", ("gradients", p.matrix, *p.index), ts.dcost(ts.pname(p.key)),
                               f"gradient {p.key}", formula, how))

    def questions(self, numbers: dict, lines) -> list[Question]:
        """This student's questions from their sheet's worked lines (`worked(...)["lines"]`)."""
        ts = self.ts
        by_what = {ln.what: ln for ln in lines}
        valued = self._valued(lines)
        out = []
        for key, path, label, what, formula, how in self.asked:
            line = by_what[what]
            out.append(self._question(numbers, key, path, label, [label, formula, self._substituted(how, line, valued)], line))
        if numbers.get("learning_rate") is not None:
            for p in ts.d.parameters:
                line = by_what[f"update {p.key}"]
                name = ts.pname(p.key)
                printed = {s.name: _number(t) for s, t in line.operands.items()}
                out.append(self._question(numbers, f"updated {p.key}", ("updated", p.matrix, *p.index),
                                          rf"{name}\ \text{{(updated)}}",
                                          [rf"{name} \leftarrow {name} - \eta\, {ts.dcost(name)}",
                                           rf"{printed[p.symbol.name]} - {printed['eta']} \cdot {printed['grad']}"], line))
        return out

    def _valued(self, lines) -> dict[int, dict]:
        """Per example n, the profile's symbol names with the numbers the sheet prints for example n."""
        out: dict[int, dict] = {}
        for ln in lines:
            kind, _, rest = ln.what.partition(" ")
            name, _, n = rest.partition(" #")
            if not n:
                continue
            names = out.setdefault(int(n), dict(self.ts.sym))
            for s, t in ln.operands.items():
                names[s] = _number(t)
            if kind in ("z", "a", "delta"):
                names[self.by_name[name]] = _number(ln.result)
        return out

    def _substituted(self, how, line, valued: dict) -> str:
        ts = self.ts
        v0 = valued[0]
        if how == "loss":
            if self.examples == 1:
                return ts.loss_rhs(v0, dot=True)
            terms = [_number(line.operands[s]) for s in sorted(line.operands, key=lambda s: int(s.name.rsplit("__", 1)[1]))]
            return _join(terms, self.examples)
        if how == "l2 loss":
            printed = {s.name: _number(t) for s, t in line.operands.items()}
            return f"{printed['l2data']} + {printed['l2penalty']}"
        kind, arg = how
        if kind == "l2 gradient":
            g, w = arg
            printed = {s.name: _number(t) for s, t in line.operands.items()}
            data = self._substituted(("gradient", g), line, valued)
            return (data + " + " if data else "") + rf"{printed['l2slope']} \cdot {printed[w.name]}"
        if kind == "expr":
            return _once(ts.tex(arg, v0, mul_symbol="dot"))
        if kind == "chain":
            return _once(ts.output_chain(arg, v0, dot=True))
        if kind == "hidden":
            return _once(ts.hidden_delta(arg, v0, dot=True))
        if arg.is_Symbol and self.examples == 1:
            return ""  # ∂J/∂b = δ: nothing to substitute
        return _join([_once(ts.tex(arg, valued[n], mul_symbol="dot")) for n in sorted(valued)], self.examples)

    def _question(self, numbers: dict, key: str, path: tuple, label: str, parts: list[str], line) -> Question:
        value = lookup(numbers, path)
        feedback = _LINE_BREAK.sub(" ", " = ".join(p for p in [*parts, tex_number(line.result)] if p))
        low, high = accepted_range(value, tolerance_for(line.result, value, self.ts.precision))
        return Question(key, path, label, value, line.result, low, high, rule_text(FIGURES), feedback)


def _number(text: str) -> str:
    """A printed operand as LaTeX, bracketed when negative (a factor or a function's argument)."""
    return _paren(tex_number(text))


def _join(terms: list[str], examples: int) -> str:
    """A sum over examples: every term, or the first two, \\cdots and the last of a long one."""
    if len(terms) > MAX_FEEDBACK_TERMS or examples > len(terms):
        terms = terms[:2] + [r"\cdots"] + ([terms[-1]] if examples == len(terms) else [])
    return " + ".join(terms)


def _once(text: str) -> str:
    # A negative number as a function's whole argument is bracketed once, σ(−0.1), as on the sheet.
    return tidy_brackets(text)


# The sheet breaks a long line inside an align environment (`\\ &\qquad`); feedback is one display.
_LINE_BREAK = re.compile(r"\s*\\\\\s*&(?:\\q?quad)?\s*")

MAX_FEEDBACK_TERMS = 4  # a batch gradient's feedback shows this many examples' terms before \cdots


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
