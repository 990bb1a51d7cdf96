"""Moodle XML (question/format/xml): one cloze (multianswer) question per student, every question in
one category, so a quiz's "1 random question from the category" gives a student one network throughout.

Each part is a NUMERICAL sub-question `{1:NUMERICAL:=VALUE:TOLERANCE#FEEDBACK~%0%*#FEEDBACK}`: weight
1, the answer with Moodle's symmetric absolute tolerance (the centre and half-width of the question's
range), and the part's worked line as its feedback, for a right answer and for any other (`*`). The
general feedback is every worked line. Maths is TeX in \\( \\) and \\[ \\] for Moodle's MathJax filter.

Moodle's cloze reader (qtype_multianswer_extract_question) ends a feedback at the first `~` or `}`
not after a backslash and un-escapes only `\\}` and `\\#` after one html_entity_decode: so a part's
feedback is its HTML escaped once more with `\\`, `{`, `}` and `~` as numeric entities (`cloze_feedback`),
which the decode turns back into exactly the HTML written. (A feedback ending in a bare backslash
would escape the `~` or `}` that closes it.)
"""
from __future__ import annotations

import html
from xml.sax.saxutils import escape

from .questions import Question, decimal_text
from .variant import Variant, feedback_html, intro_html, name, number, part_html


def cloze_feedback(text: str) -> str:
    """`text` (HTML) as a cloze feedback that Moodle's reader gives back exactly as `text`."""
    if "\\}" in text or "\\#" in text:  # the reader would turn these into } and #, whatever the escaping
        raise ValueError(f"a cloze feedback cannot hold \\}} or \\#: {text!r}")
    escaped = html.escape(text, quote=True).replace("\\", "&#92;")  # no backslash before the closing ~ or }
    return escaped.replace("{", "&#123;").replace("}", "&#125;").replace("~", "&#126;")


def cloze_part(q: Question) -> str:
    """One NUMERICAL sub-question; the feedback is the part's worked line, inline maths."""
    answer = number(q.value) if q.symmetric else decimal_text(q.centre)
    fb = cloze_feedback(html.escape(f"\\({q.feedback}\\)"))
    return f"{{1:NUMERICAL:={answer}:{decimal_text(q.half_width)}#{fb}~%0%*#{fb}}}"


def cloze_text(spec_title: str, variant: Variant, examples: int) -> str:
    parts = "".join(f"<p>{part_html(q, examples)} {cloze_part(q)}</p>" for q in variant.questions)
    return intro_html(spec_title, variant) + parts


def moodle_xml(spec_name: str, spec_title: str, variants: list[Variant], examples: int) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>",
             "  <question type=\"category\">",
             f"    <category><text>{escape(f'$course$/top/derive/{spec_name}')}</text></category>",
             "  </question>"]
    for variant in variants:
        sid = variant.student.id
        solution = "".join(f"<p>{html.escape(name(q))}:</p>{feedback_html(q)}" for q in variant.questions)
        lines += [
            "  <question type=\"cloze\">",
            f"    <name><text>{escape(f'{spec_name} {sid}')}</text></name>",
            f"    <questiontext format=\"html\"><text>{escape(cloze_text(spec_title, variant, examples))}</text></questiontext>",
            f"    <generalfeedback format=\"html\"><text>{escape(solution)}</text></generalfeedback>",
            "    <penalty>0</penalty>",
            "    <hidden>0</hidden>",
            f"    <idnumber>{escape(f'{spec_name}/{sid}')}</idnumber>",
            "  </question>",
        ]
    lines.append("</quiz>")
    return ("\n".join(lines) + "\n").encode("utf-8")
