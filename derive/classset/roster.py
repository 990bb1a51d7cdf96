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

from ..errors import SpecError

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
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise SpecError(source, "file", "no such file") from None
    except IsADirectoryError:
        raise SpecError(source, "file", "is a folder, expected a CSV roster") from None
    except OSError as exc:
        raise SpecError(source, "file", f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_ROSTER_BYTES:
        raise SpecError(source, "file", f"is {len(raw)} bytes; a roster is at most {MAX_ROSTER_BYTES}")
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
        name = cells.get("name", "")
        if len(name) > MAX_NAME:
            raise SpecError(source, f"line {number}: name", f"is {len(name)} characters long; at most {MAX_NAME}")
        if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name):
            raise SpecError(source, f"line {number}: name", "contains a control character or line break")
        extra = tuple((k, cells.get(k, "")) for k in header if k not in ("id", "name"))
        students.append(Student(sid, name, extra))
    if not students:
        raise SpecError(source, "file", "lists no students (only a header)")
    if len(students) > MAX_STUDENTS:
        raise SpecError(source, "file", f"lists {len(students)} students; at most {MAX_STUDENTS}")
    return students


def _shown(text: str) -> str:
    """A user string quoted on one line, shortened, for a message."""
    text = text if len(text) <= 40 else text[:37] + "..."
    return repr(text).encode("ascii", "backslashreplace").decode()
