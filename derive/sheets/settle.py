"""The precision policy of the answer sheet: how many significant figures every computed number is
printed to, so that every line can be redone by hand from the numbers printed in it.

The rule, stated on the sheet (`statement`, `gap_statement`):

* numbers the spec gives are printed as written (1, 0.5, 0.15);
* a computed number that is an exact short decimal (z = 1.3) is printed exactly;
* every other computed number is rounded to `precision` significant figures (FIGURES unless asked), and a value that is
  used again in a later line (z, a, δ, one example's loss) carries GUARD figures more
  (`starting_figures`); an updated parameter gets enough that its step shows (`update_figures`);
* if a line's printed operands would not give its printed result to the printed precision, the
  operands get more figures until they do (`Sheet.settle`), up to MAX_FIGURES each;
* a value so near ±1 that even MAX_FIGURES figures print ±1 (σ(200) = 1 − 1.38·10⁻⁸⁷),
  where a later line needs its difference from 1 (1 − ŷ, ln(1 − ŷ), ŷ − y), is printed as 1 − d
  (or 1 + d) with d rounded to the value's figures: the same exact decimal, written so that its
  figures can be read.

Every choice of that rule is made in this module; a change to it is a change here (and its words
in `statement`). The class set's tolerances follow the figures printed (`classset.questions`).
A test re-evaluates every line of every sheet from the printed operands (tests/test_worked_lines.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction

import mpmath
import sympy as sp

from ..numbers.answers import DIGITS, Number, evaluate, to_mpf
from . import line_values as lv
from .decimals import gap_of, printed_decimal, to_decimal

FIGURES = 4  # significant figures of a computed result on the sheets (`derive build`'s and the class sets')
MAX_FIGURES = 12  # the most significant figures an operand is given to make its line reproducible
CHECK_DIGITS = 30  # working digits when a line is re-evaluated from its printed operands (> MAX_FIGURES + margin)
GUARD = 1  # guard figures of a value that later lines use


def starting_figures(precision: int, reused: bool) -> int:
    """The figures a computed value starts with, before its lines are settled."""
    return precision + (GUARD if reused else 0)


def update_figures(precision: int, old: Number, new: Number) -> int | None:
    """Figures of an updated parameter, enough that the step itself shows (to two figures), not just
    the old value again; None where the step or the new value is 0."""
    with mpmath.workdps(DIGITS):  # in mpmath: a step of 10⁻⁴⁰⁰ is not a binary64's 0
        step = abs(to_mpf(new) - to_mpf(old))
        size = abs(to_mpf(new))
        if not (step > 0 and size > 0):
            return None
        extra = int(mpmath.floor(mpmath.log10(size)) - mpmath.floor(mpmath.log10(step))) + 2
    return min(MAX_FIGURES, max(precision, extra))


def statement(precision: int) -> str:
    """The rule in words, as the answer sheet states it."""
    return (f"Numbers given in the spec are printed as written. Every computed number is exact when it is a "
            f"short decimal, and otherwise rounded to {precision} significant figures "
            f"({starting_figures(precision, True)} for a value that later lines use, more where a later line "
            f"needs them), so that every line gives its printed result, to the figures printed, from the "
            f"numbers printed in it.")


def gap_statement() -> str:
    """The 1 − d form in words, for a sheet that uses it."""
    return (f"A value so near $1$ (or $-1$) that {MAX_FIGURES} figures would print $1$, where a later "
            f"line needs the difference, is written $1 - d$ (or $1 + d$), $d$ rounded as above.")


@dataclass(frozen=True)
class WorkedLine:
    """One line of arithmetic on the sheet: `result` = `expr` evaluated at `operands`.

    `operands` maps every free symbol of `expr` to the decimal text printed for it (Decimal syntax:
    its exponent is its printed precision); `result` likewise. `shown` is False for a line whose
    result appears only in a table or matrix (its operands are all on the page); `complete` is False
    for a sum over more examples than the sheet prints (m > MAX_EXAMPLES_WORKED)."""

    what: str
    expr: sp.Expr
    operands: dict = field(hash=False)
    result: str = ""
    shown: bool = False
    complete: bool = True


def reproduces(expr: sp.Expr, operands: dict, result: str) -> bool:
    """Whether `expr` at the printed operands, rounded to the printed precision of `result`, is `result`."""
    return _rounds_to(expr, {s: Fraction(Decimal(t)) for s, t in operands.items()}, result)


def _rounds_to(expr: sp.Expr, env: dict, result: str) -> bool:
    # As many working digits as the result prints, and a margin: 1 − 1.3839·10⁻⁸⁷ prints 91.
    digits = max(CHECK_DIGITS, len(Decimal(result).as_tuple().digits) + 10)
    with mpmath.workdps(digits):
        try:
            value = evaluate(expr, env)
        except ZeroDivisionError:  # 1/(1 − ŷ) at a printed ŷ of 1: this line cannot be redone from these operands
            return False
        if not isinstance(value, Fraction) and not mpmath.isfinite(value):  # ln 0
            return False
    with localcontext() as ctx:
        ctx.prec = digits + 10
        value = to_decimal(value, digits)
    return lv.rounds_to(value, result)


class Sheet:
    """The quantities of one sheet (values, printed figures) and the lines that compute them.

    A quantity has a key ("z2_0#0", "W2_0_0", "J", "g:<key>"); a line computes one quantity from
    others, by key, so that settling can change a value's figures and every line that prints it follows."""

    def __init__(self, precision: int):
        self.precision = precision
        self.value: dict[str, Number] = {}
        self.given: set[str] = set()
        self.figures: dict[str, int] = {}
        self.lines: list[tuple[str, str, sp.Expr, dict[sp.Symbol, str], bool, bool]] = []  # (what, key, expr, operand keys, shown, complete)
        self._texts: dict[str, str] = {}
        self._exact: dict[str, Fraction] = {}  # the printed text's exact value, read once per figure count
        self._symbols: dict[sp.Expr, frozenset] = {}  # free symbols of each part of a line, found once
        self._value_decimals: dict[str, Decimal] = {}  # a value itself as a Decimal (exact, or to 60 digits)
        self._decimals: dict[str, Decimal] = {}  # the printed text as a Decimal, per figure count
        self.ceiling: dict[str, int] = {}  # figures a value may not exceed (its operands cancel)
        self.gaps: set[str] = set()  # values printed as ±(1 − d); their figures are d's
        self._budget = 0

    def add(self, key: str, value: Number, given: bool = False, guard: bool = False) -> None:
        self.value[key] = value
        if given:
            self.given.add(key)
        else:
            self.figures[key] = starting_figures(self.precision, guard)

    def add_update(self, key: str, value: Number, old: Number) -> None:
        """An updated parameter (`value`, from `old`): figures enough that its step shows."""
        self.add(key, value)
        figures = update_figures(self.precision, old, value)
        if figures is not None:
            self.figures[key] = figures

    def line(self, what: str, key: str, expr: sp.Expr, operands: dict[sp.Symbol, str], shown: bool = False,
             complete: bool = True) -> None:
        self.lines.append((what, key, expr, operands, shown, complete))

    def text(self, key: str) -> str:
        cached = self._texts.get(key)
        if cached is None:
            cached = printed_decimal(self.value[key], None if key in self.given else self.figures[key], key in self.gaps)
            self._texts[key] = cached
        return cached

    def exact(self, key: str) -> Fraction:
        cached = self._exact.get(key)
        if cached is None:
            cached = self._exact[key] = Fraction(self.decimal(key))
        return cached

    def decimal(self, key: str) -> Decimal:
        cached = self._decimals.get(key)
        if cached is None:
            cached = self._decimals[key] = Decimal(self.text(key))
        return cached

    def _operands(self, ops: dict, arith: lv.Arithmetic) -> dict:
        """The line's operands as printed, exactly, in the arithmetic that evaluates the line."""
        if arith is lv.DECIMALS:
            return {s: self.decimal(k) for s, k in ops.items()}
        return {s: self.exact(k) for s, k in ops.items()}

    def _exact_value(self, key: str, arith: lv.Arithmetic):
        if arith is not lv.DECIMALS:
            return self.value[key]
        cached = self._value_decimals.get(key)
        if cached is None:
            cached = self._value_decimals[key] = lv.decimal(self.value[key])
        return cached

    def _reproduces(self, expr: sp.Expr, printed: dict, result: str, arith: lv.Arithmetic) -> bool:
        if arith is lv.DECIMALS:
            return lv.rounds_to(lv.polynomial(expr)(printed), result)
        return _rounds_to(expr, printed, result)

    def settle(self) -> None:
        """Give operands more figures until every complete line reproduces its printed result.

        A failing line gets one more figure on the operand whose rounding moves its value most
        (the others keep theirs), until it reproduces. Lines are taken consumers first (updates,
        gradients, δ from the input side, then the forward pass backwards), so a value's figures
        are settled by every line that uses it before its own line is checked; a pass then checks
        again only the lines whose operands or result changed figures, until a pass changes nothing."""
        lines = [ln for ln in self.lines if ln[5]]
        producing: dict[str, list[int]] = {}
        using: dict[str, list[int]] = {}
        for i, (what, key, expr, ops, shown, complete) in enumerate(lines):
            producing.setdefault(key, []).append(i)
            for k in sorted(set(ops.values())):
                using.setdefault(k, []).append(i)
        self._budget = 50 * len(lines) + 100  # each bump is one more figure on one value: this always ends
        todo = set(range(len(lines)))
        arithmetic = [lv.DECIMALS if lv.is_decimal_polynomial(ln[2]) else lv.FRACTIONS for ln in lines]
        while todo and self._budget > 0:
            changed: set[str] = set()
            for i in sorted(todo, reverse=True):  # the sheet's order is the order values are computed in
                arithmetic[i] = self._settle_line(lines[i], arithmetic[i], changed)
            todo = {j for k in changed for j in producing.get(k, []) + using.get(k, [])}

    def _settle_line(self, line: tuple, arith: lv.Arithmetic, changed: set[str]) -> lv.Arithmetic:
        """Change figures until `line` reproduces (or nothing more can be done, or the budget is spent);
        adds the keys whose figures changed to `changed` and returns the arithmetic the line needs."""
        what, key, expr, ops, shown, complete = line
        while self._budget > 0:
            self._budget -= 1
            printed = self._operands(ops, arith)
            try:
                if self._reproduces(expr, printed, self.text(key), arith):
                    break
                k = self._worst_operand(expr, ops, printed, arith)
            except lv.NOT_EXACT:  # digits past the exact context: the line goes the slower way
                arith = lv.FRACTIONS
                continue
            k = self._refigure(key, ops, k)
            if k is None:
                break
            changed.add(k)
        return arith

    def _refigure(self, key: str, ops: dict, worst: str | None) -> str | None:
        """One step for a line of result `key` that does not reproduce: one more figure on its `worst`
        operand, or that operand (or another at its most figures) printed as 1 − d, or, when no operand can
        do better, one figure less on the result. Returns the key whose printing changed, or None."""
        k = worst if worst is not None else self._gap_operand(ops)
        if k is None:
            # Every operand is exact or at its most figures (a sum that cancels): the result
            # keeps only the figures its operands support, and may never get more again.
            if key in self.given or self.figures[key] <= 1:
                return None
            k = key
            self.figures[k] -= 1
            self.ceiling[k] = self.figures[k]
        elif self.figures[k] >= MAX_FIGURES and k not in self.gaps:
            # Its most figures read 1.00000000000: printed as 1 − d, its d to its own figures.
            self.gaps.add(k)
            self.figures[k] = starting_figures(self.precision, True)
            self.ceiling.pop(k, None)
        else:
            self.figures[k] += 1
        self._texts.pop(k, None)
        self._exact.pop(k, None)
        self._decimals.pop(k, None)
        return k

    def _gap_operand(self, ops: dict) -> str | None:
        """An operand at its most figures whose difference from ±1 those figures do not show at all (ŷ = σ(200)
        printed 1.00000000000 where the line needs 1 − ŷ), to be printed as 1 − d instead; or None."""
        for k in sorted(set(ops.values())):
            if k in self.given or k in self.gaps or self.figures[k] < MAX_FIGURES:
                continue
            if abs(self.decimal(k)) == 1 and gap_of(self.value[k]) != 0:
                return k
        return None

    def _worst_operand(self, expr: sp.Expr, ops: dict, printed: dict, arith: lv.Arithmetic) -> str | None:
        """The rounded operand whose exact value changes the line's value most (`printed`: the operands as printed, exactly).

        Each sum and product in the line is evaluated once; trying an operand's exact value then
        re-evaluates only the terms on its way to the top (a δ's Σ_k w δ_k costs one term per δ_k, not 33)."""
        with mpmath.workdps(CHECK_DIGITS):
            memo: dict = {}
            base = lv.node_value(expr, printed, memo, arith)
            worst, size = None, None
            for s, k in sorted(ops.items(), key=lambda item: item[1]):
                if k in self.given or self.figures[k] >= self.ceiling.get(k, MAX_FIGURES):
                    continue
                exact = self._exact_value(k, arith)
                if printed[s] == exact:
                    continue
                change = arith.size(arith.minus(lv.with_operand(expr, s, exact, printed, memo, self._symbols, arith), base))
                if size is None or change > size:
                    worst, size = k, change
        return worst

    def worked_lines(self) -> list[WorkedLine]:
        return [WorkedLine(what, expr, {s: self.text(k) for s, k in ops.items()}, self.text(key), shown, complete)
                for what, key, expr, ops, shown, complete in self.lines]
