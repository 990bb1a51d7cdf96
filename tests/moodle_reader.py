"""Moodle's reading of a Moodle XML file's cloze questions, ported to Python line by line, so the suite
checks moodle.xml the way Moodle imports it (no PHP needed).

Followed: question/format/xml/format.php (readquestions: type "category" -> import_category, type
"cloze" -> import_multianswer: questiontext -> qtype_multianswer_extract_question, then
qtype_multianswer_validate_question, an error rejecting the question; name, idnumber,
generalfeedback, penalty) and question/type/multianswer/questiontype.php (the ANSWER_* regexes, their
group numbers, and the per-alternative loop with html_entity_decode and the two str_replace calls).
PCRE's lookbehind `(?<!\\\\|&|&amp;)` has branches of different lengths, which Python's re refuses:
it is written as the three lookbehinds it is equivalent to.
"""
from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

FRACTION = r"=|%(-?[0-9]+(?:[.,][0-9]*)?)%"
ANSWER = r".+?(?<!\\)(?<!&)(?<!&amp;)(?=[~#}]|$)"
FEEDBACK = r".*?(?<!\\)(?=[~}]|$)"
ALTERNATIVE = "(" + FRACTION + ")?" + "(" + ANSWER + ")" + "(#(" + FEEDBACK + "))?"
ALT_FRACTION, ALT_PERCENTILE, ALT_ANSWER, ALT_FEEDBACK = 1, 2, 3, 5
NUMBER = r"-?(([0-9]+[.,]?[0-9]*|[.,][0-9]+)([eE][-+]?[0-9]+)?)"
NUMERICAL_ALTERNATIVE = "^(" + NUMBER + ")(:" + NUMBER + ")?$"
NUMERICAL_CORRECT_ANSWER, NUMERICAL_ABS_ERROR_MARGIN = 1, 6
TYPES = ("(NUMERICAL|NM)|(MULTICHOICE|MC)|(MULTICHOICE_V|MCV)|(MULTICHOICE_H|MCH)|(SHORTANSWER|SA|MW)|"
         "(SHORTANSWER_C|SAC|MWC)|(MULTICHOICE_S|MCS)|(MULTICHOICE_VS|MCVS)|(MULTICHOICE_HS|MCHS)|"
         "(MULTIRESPONSE|MR)|(MULTIRESPONSE_H|MRH)|(MULTIRESPONSE_S|MRS)|(MULTIRESPONSE_HS|MRHS)")
START = r"\{([0-9]*):(" + TYPES + "):"
ANSWER_REGEX = START + "(" + ALTERNATIVE + "(~" + ALTERNATIVE + ")*)\\}"
NORM, TYPE_NUMERICAL, ALTERNATIVES = 1, 3, 16


@dataclass
class Sub:
    defaultmark: str
    qtype: str
    answer: list = field(default_factory=list)
    fraction: list = field(default_factory=list)
    feedback: list = field(default_factory=list)
    tolerance: list = field(default_factory=list)


@dataclass
class Cloze:
    category: str
    name: str
    idnumber: str
    questiontext: str  # with {#1}, {#2}, … where the parts were
    generalfeedback: str
    subs: list
    defaultmark: float


def _group(m: re.Match, i: int) -> str:
    return m.group(i) or ""  # PHP's preg_match gives "" for a group that took no part


def extract_question(text: str) -> tuple[str, list[Sub], float]:
    """qtype_multianswer_extract_question."""
    subs, mark, position = [], 0.0, 1
    while (m := re.search(ANSWER_REGEX, text, re.S)):
        sub = Sub(defaultmark=_group(m, NORM) or "1", qtype="numerical" if _group(m, TYPE_NUMERICAL) else "other")
        remaining = _group(m, ALTERNATIVES)
        while (alt := re.search("~?" + ALTERNATIVE, remaining, re.S)):
            if _group(alt, ALT_FRACTION) == "=":
                sub.fraction.append(1.0)
            elif (percentile := _group(alt, ALT_PERCENTILE)):
                sub.fraction.append(0.01 * float(percentile.replace(",", ".")))
            else:
                sub.fraction.append(0.0)
            if alt.group(ALT_FEEDBACK) is not None:
                feedback = html.unescape(alt.group(ALT_FEEDBACK))  # html_entity_decode(ENT_QUOTES, UTF-8)
                sub.feedback.append(feedback.replace("\\}", "}").replace("\\#", "#"))
            else:
                sub.feedback.append("")
            num = re.search(NUMERICAL_ALTERNATIVE, _group(alt, ALT_ANSWER), re.S) if sub.qtype == "numerical" else None
            if num:
                sub.answer.append(num.group(NUMERICAL_CORRECT_ANSWER))
                sub.tolerance.append(num.group(NUMERICAL_ABS_ERROR_MARGIN) if num.group(NUMERICAL_ABS_ERROR_MARGIN) is not None else "0")
            else:
                answer = html.unescape(_group(alt, ALT_ANSWER)).replace("\\}", "}").replace("\\#", "#")
                sub.answer.append(answer)
                sub.tolerance.append("0")
            remaining = remaining.split(alt.group(0), 1)[1]  # explode($altregs[0], $remainingalts, 2)[1]
        mark += float(sub.defaultmark)
        subs.append(sub)
        text = text.replace(m.group(0), f"{{#{position}}}", 1)
        position += 1
    return text, subs, mark


_VALID_NUMBER = re.compile(r"^[+-]?(\d+[.,]?\d*|[.,]\d+)([eE][-+]?\d+)?$")  # qtype_numerical::is_valid_number, roughly


def validate_question(subs: list[Sub]) -> list[str]:
    """qtype_multianswer_validate_question: the errors that make import_multianswer reject the question."""
    errors = [] if subs else ["questionsmissing"]
    for k, sub in enumerate(subs, 1):
        count, maxgrade = 0, False
        for answer, fraction in zip(sub.answer, sub.fraction):
            if answer.strip() != "":
                count += 1
                if sub.qtype == "numerical" and not (_VALID_NUMBER.match(answer.strip()) or answer.strip() == "*"):
                    errors.append(f"sub_{k}: answermustbenumberorstar")
                maxgrade = maxgrade or fraction == 1
        if count == 0:
            errors.append(f"sub_{k}: notenoughanswers")
        if not maxgrade:
            errors.append(f"sub_{k}: fractionsnomax")
    return errors


def read_quiz(data: bytes) -> list[Cloze]:
    """format.php readquestions over a whole file: categories and cloze questions (anything else fails)."""
    root = ET.fromstring(data)
    assert root.tag == "quiz"
    out, category = [], None
    for q in root:
        assert q.tag == "question"
        kind = q.get("type")
        if kind == "category":
            category = q.findtext("category/text")
            continue
        assert kind in ("cloze", "multianswer"), kind
        text, subs, mark = extract_question(q.findtext("questiontext/text") or "")
        errors = validate_question(subs)
        assert not errors, (q.findtext("name/text"), errors)  # Moodle: invalidmultianswerquestion, skipped
        out.append(Cloze(category, q.findtext("name/text"), q.findtext("idnumber"), text,
                         q.findtext("generalfeedback/text") or "", subs, mark))
    return out
