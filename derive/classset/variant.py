"""One student's variant as the exports read it: who, what is given, what is asked."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape

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


def intro_html(spec_title: str, variant: Variant) -> str:
    return f"<p>{escape(spec_title)}. Given {escape(_given_text(variant.givens))}.</p>"


def part_html(question: Question, examples: int) -> str:
    """What one part asks, as HTML with MathJax \\( \\) delimiters: the quantity, the precision, the range."""
    which = ""
    if examples > 1 and question.path[0] in ("forward", "delta"):
        which = " for the first example"
    elif examples > 1 and question.path[0] in ("loss", "gradients"):
        which = f" (a total over all {examples} examples)"
    label = r"\(" + question.label + r"\)"
    return f"Compute {escape(label)}{which}. {escape(accepted_text(question))}"


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


@lru_cache(maxsize=4)
def _given_text(givens: tuple[str, ...]) -> str:
    # The same for every question of a variant: joined once, not once per question.
    return ", ".join(rf"\({g}\)" for g in givens)


def feedback_html(question: Question) -> str:
    return "<p>" + escape(r"\[" + question.feedback + r"\]") + "</p>"
