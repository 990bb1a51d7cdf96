"""The roster: students' ids and names from a CSV (`id,name`, other columns kept), or N numbered ones.

An id becomes part of question names and, on request, of file names, so it is checked against one
safe pattern first; every refusal is one line naming the file, the line and the field.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SpecError, shown_characters, xml_unsafe
from ..files import Unreadable, read_small_file

# Like a spec's name (lowercase letters, digits, hyphens, at most 64), but it may start with a digit:
# student numbers do. No dot, slash or upper case, so an id is a safe file name on every system.
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
MAX_NAME = 200
RESERVED_COLUMNS = ("question", "value", "low", "high")  # answers.csv adds these after the roster's columns
MAX_STUDENTS = 5000
MAX_ROSTER_BYTES = 2_000_000


@dataclass(frozen=True)
class Student:
    id: str
    name: str = ""
    extra: tuple[tuple[str, str], ...] = field(default=())  # the roster's other columns, in order


def numbered(count: int) -> list[Student]:
    """`--students N`: ids s001 … sN (zero-padded so they sort), no names."""
    if not 1 <= count <= MAX_STUDENTS:
        raise SpecError("--students", "count", f"expected 1 to {MAX_STUDENTS} students, got {count}")
    width = max(3, len(str(count)))
    return [Student(f"s{i:0{width}d}") for i in range(1, count + 1)]


def load_roster(path: Path) -> list[Student]:
    """The roster at `path`, read as a spec is: a regular file of at most MAX_ROSTER_BYTES, never waiting
    on a FIFO or reading a device without end."""
    source = str(path)
    try:
        raw = read_small_file(path, MAX_ROSTER_BYTES)
    except Unreadable as why:
        problem = {"missing": "no such file", "folder": "is a folder, expected a CSV roster",
                   "special": "is not a regular file (a FIFO, device or socket); expected a CSV roster",
                   "too_big": f"is {why.detail} bytes; a roster is at most {MAX_ROSTER_BYTES}",
                   "grew": f"grew past {MAX_ROSTER_BYTES} bytes while being read; a roster is at most {MAX_ROSTER_BYTES}",
                   }.get(why.reason, f"cannot be read ({why.detail})")
        raise SpecError(source, "file", problem) from None
    try:
        text = raw.decode("utf-8-sig")  # spreadsheets often save a byte-order mark
    except UnicodeDecodeError as exc:
        raise SpecError(source, "file", f"is not UTF-8 text (bad byte at offset {exc.start})") from None
    return parse_roster(text, source)


def parse_roster(text: str, source: str = "<roster>") -> list[Student]:
    text = text.removeprefix("\ufeff")  # a byte-order mark, as spreadsheets save one
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise SpecError(source, "file", f"is not valid CSV ({exc})") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise SpecError(source, "line 1", "expected a header row with an id column, e.g. id,name")
    header = [cell.strip().lower() for cell in rows[0]]
    if "id" not in header:
        raise SpecError(source, "line 1", f"has no id column (columns: {', '.join(map(_shown, header))})")
    for i, column in enumerate(header):
        _check_text(column, source, f"line 1: column {i + 1}")
        if header.index(column) != i:
            raise SpecError(source, "line 1", f"column {_shown(column)} appears twice")
        if column in RESERVED_COLUMNS:
            raise SpecError(source, "line 1", f"column {_shown(column)} is a column of answers.csv; rename it")
    students: list[Student] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines, as spreadsheets leave at the end
        if len(row) > len(header):
            raise SpecError(source, f"line {number}", f"has {len(row)} fields but the header has {len(header)}")
        cells = dict(zip(header, (c.strip() for c in row)))
        sid = cells.get("id", "")
        if not ID_PATTERN.fullmatch(sid):
            raise SpecError(source, f"line {number}: id", f"{_shown(sid)} is not allowed; use 1-64 lowercase letters, "
                                                          "digits and hyphens, starting with a letter or digit")
        if sid in seen:
            raise SpecError(source, f"line {number}: id", f"{sid!r} is already the id on line {seen[sid]}; each student needs their own")
        seen[sid] = number
        for column in header:
            if column != "id":
                _check_text(cells.get(column, ""), source, f"line {number}: {_shown(column)[1:-1]}")
        name = cells.get("name", "")
        extra = tuple((k, cells.get(k, "")) for k in header if k not in ("id", "name"))
        students.append(Student(sid, name, extra))
    if not students:
        raise SpecError(source, "file", "lists no students (only a header)")
    if len(students) > MAX_STUDENTS:
        raise SpecError(source, "file", f"lists {len(students)} students; at most {MAX_STUDENTS}")
    return students


def _check_text(text: str, source: str, where: str) -> None:
    """A name, another column's cell or a column's name: one line that every export can carry.

    It reaches answers.csv, variants.json and (names) the LMS exports, so no control character, line
    break or character XML 1.0 cannot hold (a non-character such as U+FFFF), and at most MAX_NAME long.
    """
    if len(text) > MAX_NAME:
        raise SpecError(source, where, f"is {len(text)} characters long; at most {MAX_NAME}")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text):
        raise SpecError(source, where, "contains a control character or line break")
    if unsafe := xml_unsafe(text):
        raise SpecError(source, where, f"contains {shown_characters(unsafe)}, which no XML export can carry")


def _shown(text: str) -> str:
    """A user string quoted on one line, shortened, for a message."""
    text = text if len(text) <= 40 else text[:37] + "..."
    return repr(text).encode("ascii", "backslashreplace").decode()
