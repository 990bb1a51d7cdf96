"""One student's variant as the exports read it: who, what is given, what is asked."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .questions import Question
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


def question_html(spec_title: str, variant: Variant, question: Question, examples: int) -> str:
    """The question text as HTML with MathJax \\( \\) delimiters (Moodle's and Canvas's MathJax read them)."""
    from html import escape

    given = ", ".join(rf"\({g}\)" for g in variant.givens)
    which = ""
    if examples > 1 and question.path[0] in ("forward", "delta"):
        which = " for the first example"
    elif examples > 1 and question.path[0] in ("loss", "gradients", "updated"):
        which = f" (a total over all {examples} examples)"
    tol = number(question.tolerance)
    label = r"\(" + question.label + r"\)"
    return (f"<p>{escape(spec_title)}. Given {escape(given)}.</p>"
            f"<p>Compute {escape(label)}{which}. "
            f"Give the value to within {escape(tol)} (as many decimals as the answer sheet prints).</p>")


def feedback_html(question: Question) -> str:
    from html import escape

    return "<p>" + escape(r"\[" + question.feedback + r"\]") + "</p>"
