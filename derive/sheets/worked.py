"""The answer sheet's worked numbers, as data first: every line is a `WorkedLine` (what it computes,
the expression it prints, its printed operands and its printed result), and only then LaTeX.

Three steps, each its own module: `lines` (every quantity's exact value and the line computing it),
`settle` (the precision policy: how many figures each number is printed to so that every line can be
redone from its printed operands) and `worked_tex` (the settled lines as the templates' LaTeX pieces).
A test re-evaluates every line of every sheet from the printed operands (tests/test_worked_lines.py).
"""
from __future__ import annotations

from . import lines, worked_tex
from .fdcheck import check as fd_check
from .typeset import Typesetter


def worked(ts: Typesetter, numbers: dict, render: bool = True) -> dict:
    """Everything the exercise and answer sheets print from the spec's numbers.

    With `render` False only {"lines": [WorkedLine, ...]} (the data, settled, without its LaTeX):
    what `derive class` needs for a student whose sheet is not typeset."""
    plan = lines.Plan.of(ts)
    pv, l2 = lines.precise_numbers(ts, numbers, plan)
    sheet = lines.sheet(ts, pv, l2, plan)
    sheet.settle()
    if not render:
        return {"lines": sheet.worked_lines()}
    out = worked_tex.pieces(ts, sheet, pv, plan)
    # The finite-difference question checks one weight (the steepest: see fdcheck.check).
    out["finite_difference"] = fd_check(ts.d, pv["params"], pv["gradients"],
                                        [p.key for p in ts.d.parameters if p.source is not None], ts.precision)
    return out
