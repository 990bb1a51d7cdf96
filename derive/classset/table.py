"""answers.csv: one row per student and question (id, name, the roster's other columns, question,
value, and the range [low, high] marked right, exact decimals), for marking by hand or a spreadsheet."""
from __future__ import annotations

import csv
import io

from .questions import decimal_text
from .variant import Variant, number


def answers_csv(variants: list[Variant]) -> bytes:
    extra = [k for k, _ in variants[0].student.extra] if variants else []
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "name", *map(_safe, extra), "question", "value", "low", "high"])  # a header cell is a cell too
    for v in variants:
        cells = dict(v.student.extra)
        for q in v.questions:
            writer.writerow([v.student.id, _safe(v.student.name), *(_safe(cells.get(k, "")) for k in extra),
                             q.key, number(q.value), decimal_text(q.low), decimal_text(q.high)])
    return buffer.getvalue().encode("utf-8")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _safe(cell: str) -> str:
    # A spreadsheet runs a cell that starts with = + - @ (or a tab, or their full-width forms, which
    # some spreadsheets read as the same) as a formula (CSV injection): quote it as text.
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
