"""Moodle XML (question/format/xml): one category per question, one numerical question per student.

Each question's category holds every student's variant of it, so a quiz draws a "random question"
from each category; the worked line is the general feedback.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from .questions import decimal_text
from .variant import Variant, feedback_html, number, question_html


def moodle_xml(spec_name: str, spec_title: str, variants: list[Variant], examples: int) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    keys = [q.key for q in variants[0].questions]
    for index, key in enumerate(keys):
        lines += ["  <question type=\"category\">",
                  f"    <category><text>{escape(f'$course$/top/derive/{spec_name}/{index + 1:03d} {key}')}</text></category>",
                  "  </question>"]
        for variant in variants:
            q = variant.questions[index]
            assert q.key == key  # every variant asks the same questions in the same order
            sid = variant.student.id
            lines += [
                "  <question type=\"numerical\">",
                f"    <name><text>{escape(f'{spec_name} {key} {sid}')}</text></name>",
                f"    <questiontext format=\"html\"><text>{escape(question_html(spec_title, variant, q, examples))}</text></questiontext>",
                f"    <generalfeedback format=\"html\"><text>{escape(feedback_html(q))}</text></generalfeedback>",
                "    <defaultgrade>1</defaultgrade>",
                "    <penalty>0</penalty>",
                "    <hidden>0</hidden>",
                f"    <idnumber>{escape(f'{spec_name}/{sid}/{key}')}</idnumber>",
                f"    <answer fraction=\"100\" format=\"moodle_auto_format\">",
                f"      <text>{number(q.value) if q.symmetric else decimal_text(q.centre)}</text>",
                f"      <tolerance>{decimal_text(q.half_width)}</tolerance>",
                "      <feedback format=\"html\"><text></text></feedback>",
                "    </answer>",
                "    <unitgradingtype>0</unitgradingtype>",
                "    <unitpenalty>0</unitpenalty>",
                "    <showunits>3</showunits>",
                "    <unitsleft>0</unitsleft>",
                "  </question>",
            ]
    lines.append("</quiz>")
    return ("\n".join(lines) + "\n").encode("utf-8")
