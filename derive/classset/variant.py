"""One student's variant as the exports read it: who, what is given, what is asked."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from ..notation import mathml
from ..notation.plaintext import plain
from .questions import Question, decimal_text
from .roster import Student


@dataclass(frozen=True)
class Variant:
    student: Student
    givens: tuple[str, ...]  # LaTeX, one given quantity each
    questions: tuple[Question, ...]


def number(value: float) -> str:
    """A float for an export: the shortest text that reads back to the same double."""
    return repr(float(value))


def slug(key: str) -> str:
    """A question key as an identifier part: "gradient W1[0,1]" -> "gradient-W1-0-1"."""
    return re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-")


def name(question: Question) -> str:
    """The quantity as the student's sheet writes it, in plain Unicode text (a⁽³⁾₁, not a3[0]): for titles."""
    return plain(question.label)


def tex_html(tex: str, display: bool = False) -> str:
    """Maths as TeX in MathJax's delimiters, HTML-escaped: Moodle's MathJax filter and Canvas read it."""
    return escape((r"\[" + tex + r"\]") if display else (r"\(" + tex + r"\)"))


def mathml_html(tex: str, display: bool = False) -> str:
    """Maths as MathML 2 (`m:` prefix) for QTI 2.1; TeX where the converter does not read the TeX."""
    try:
        return mathml.math(tex, display)
    except mathml.Unsupported:
        return tex_html(tex, display)


def intro_html(spec_title: str, variant: Variant, math=tex_html) -> str:
    return f"<p>{escape(spec_title)}. Given {_given_text(variant.givens, math)}.</p>"


def part_html(question: Question, examples: int, math=tex_html) -> str:
    """What one part asks, as HTML (maths through `math`): the quantity, the precision, the range."""
    which = ""
    if examples > 1 and question.path[0] in ("forward", "delta"):
        which = " for the first example"
    elif examples > 1 and question.path[0] in ("loss", "gradients"):
        which = f" (a total over all {examples} examples)"
    return f"Compute {math(question.label)}{which}. {escape(accepted_text(question))}"


def question_html(spec_title: str, variant: Variant, question: Question, examples: int) -> str:
    """One question alone: the variant's givens and the part (Moodle's and Canvas's MathJax read the TeX)."""
    return intro_html(spec_title, variant) + f"<p>{part_html(question, examples)}</p>"


def accepted_text(question: Question) -> str:
    """The precision rule and the range marked right, relative to the exact value (never the value itself)."""
    below, above = question.exact - question.low, question.high - question.exact
    if below == above:
        within = f"within ±{decimal_text(below)} of the exact value"
    else:
        within = f"from {decimal_text(below)} below to {decimal_text(above)} above the exact value"
    return f"{question.rule}: answers {within} are marked correct."


@lru_cache(maxsize=8)
def _given_text(givens: tuple[str, ...], math) -> str:
    # The same for every question of a variant: joined once, not once per question.
    return ", ".join(math(g) for g in givens)


def feedback_html(question: Question, math=tex_html) -> str:
    """The worked line as one display."""
    return "<p>" + math(question.feedback, True) + "</p>"
