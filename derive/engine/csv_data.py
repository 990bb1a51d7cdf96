"""Examples from a CSV file named by a spec: `[values] data = "iris.csv"`, `inputs = [...]`, `target = "..."`.

The file is found relative to the spec's own folder and must stay inside it (no absolute paths, no
`..`, no link that leads out), and must be a plain file (never a FIFO or a device, which could block
or never end); it is read once, up to the spec size limit. Input columns are numbers as written;
a target column of numbers is taken as it is, a target column of names becomes one-hot rows with
the class names in sorted order (or 0/1 for one output unit and two classes). Every refusal is one
`SpecError` naming the spec, the field, the CSV file and, where it applies, the line and column.
"""
from __future__ import annotations

import csv
import math
import os
import re
from pathlib import Path, PurePosixPath

from ..errors import SpecError
from ..files import Unreadable, read_small_file
from .magnitudes import SMALLEST_MAGNITUDE, underflow_problem, written_nonzero

# Plain decimal numbers only: Python's float() would also take "nan", "inf", "1_000" and " 5 ".
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MAX_CELL_SHOWN = 24


def read_examples(source: str, folder: Path | None, data: str, inputs: list[str] | None, target: list[str],
                  n_in: int, n_out: int, max_bytes: int, max_examples: int, max_magnitude: float):
    """(x rows, y rows, class names or None) from the CSV file `data` next to the spec."""
    fail = lambda where, problem: _raise(source, where, problem)
    label = data if data.isprintable() else repr(data)  # the name as the message shows it, on one line
    path = _resolve(fail, folder, data, label)
    raw = _read_plain_file(fail, path, label, max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail("values.data", f"{label}: is not UTF-8 text (bad byte at offset {exc.start})")
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        rows = [(n, row) for n, row in enumerate(csv.reader(text.splitlines(), strict=True), start=1) if row]
    except csv.Error as exc:
        fail("values.data", f"{label}: is not a valid CSV file ({exc})")
    if not rows:
        fail("values.data", f"{label}: is empty; expected a header line of column names, then one line per example")
    header = [name.strip() for name in rows[0][1]]
    for k, name in enumerate(header):
        if not name:
            fail("values.data", f"{label}: column {k + 1} of the header line has no name")
        if header.index(name) != k:
            fail("values.data", f"{label}: column {_shown(name)} appears twice in the header line")
    for name in target:
        if name not in header:
            fail("values.target", f"{label} has no column {_shown(name)}; its columns are {_names(header)}")
    if inputs is None:
        inputs = [name for name in header if name not in target]
    for i, name in enumerate(inputs):
        if name not in header:
            fail(f"values.inputs[{i}]", f"{label} has no column {_shown(name)}; its columns are {_names(header)}")
        if name in target:
            fail(f"values.inputs[{i}]", f"column {_shown(name)} is also the target")
    if len(inputs) != n_in:
        fail("values.inputs", f"names {len(inputs)} columns but the input layer has {n_in} units")
    body = rows[1:]
    if not body:
        fail("values.data", f"{label}: has a header line but no examples")
    if len(body) > max_examples:
        fail("values.data", f"{label}: has {len(body)} examples; at most {max_examples}")
    for line, row in body:
        if len(row) != len(header):
            fail("values.data", f"{label} line {line}: has {len(row)} fields but the header line has {len(header)}")

    def number(line: int, column: str, cell: str) -> float:
        cell = cell.strip()
        if not cell:
            fail("values.data", f"{label} line {line}, column {_shown(column)}: is empty, expected a number")
        if not NUMBER.fullmatch(cell):
            fail("values.data", f"{label} line {line}, column {_shown(column)}: {_shown(cell)} is not a number")
        value = float(cell)
        if abs(value) < SMALLEST_MAGNITUDE and written_nonzero(cell):
            fail("values.data", f"{label} line {line}, column {_shown(column)}: {underflow_problem(cell)}")
        if not math.isfinite(value) or abs(value) > max_magnitude:
            fail("values.data", f"{label} line {line}, column {_shown(column)}: {_shown(cell)} is too large; "
                                f"keep magnitudes at most {max_magnitude:g}")
        return value

    where = [header.index(name) for name in inputs]
    x = tuple(tuple(number(line, header[k], row[k]) for k in where) for line, row in body)
    y, classes = _targets(fail, label, body, header, target, n_out, number)
    return x, y, classes


def _targets(fail, label, body, header, target, n_out, number):
    columns = [header.index(name) for name in target]
    cells = [[row[k].strip() for k in columns] for _, row in body]
    if len(target) == 1 and any(not NUMBER.fullmatch(c[0]) for c in cells):
        # A column of class names: one-hot in sorted order, so the encoding never depends on row order.
        classes = sorted({c[0] for c in cells})
        if "" in classes:
            line = body[[c[0] for c in cells].index("")][0]
            fail("values.data", f"{label} line {line}, column {_shown(target[0])}: is empty, expected a class name")
        if n_out == 1 and len(classes) == 2:
            return tuple((float(c[0] == classes[1]),) for c in cells), tuple(classes)
        if len(classes) != n_out:
            fail("values.target", f"column {_shown(target[0])} of {label} has {len(classes)} classes "
                                  f"({', '.join(_shown(c) for c in classes[:8])}{', ...' if len(classes) > 8 else ''}) "
                                  f"but the output layer has {n_out} units (one per class)")
        return tuple(tuple(float(c[0] == name) for name in classes) for c in cells), tuple(classes)
    if len(target) != n_out:
        fail("values.target", f"names {len(target)} numeric columns but the output layer has {n_out} units")
    return tuple(tuple(number(line, header[k], row[k]) for k in columns) for line, row in body), None


def _resolve(fail, folder: Path | None, data: str, label: str) -> Path:
    """The CSV file's path: relative to the spec's folder and inside it, even through links."""
    if folder is None:
        fail("values.data", "needs the spec's folder to find the file; load the spec from a file")
    if not data or "\x00" in data or "\\" in data:
        fail("values.data", f"{label} is not a usable file name")
    pure = PurePosixPath(data)
    if pure.is_absolute() or ".." in pure.parts:
        fail("values.data", f"{label}: name a file in the spec's folder (or below it), without '..' or a leading '/'")
    path = Path(folder) / pure
    try:
        inside = Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))
    except (OSError, ValueError):
        inside = False
    if not inside:
        fail("values.data", f"{label}: leads outside the spec's folder (through a link); copy the file next to the spec")
    return path


def _read_plain_file(fail, path: Path, label: str, max_bytes: int) -> bytes:
    try:
        return read_small_file(path, max_bytes)
    except Unreadable as why:
        fail("values.data", f"{label}: " + {
            "missing": "no such file next to the spec",
            "folder": "is a folder, expected a CSV file",
            "special": "is not a regular file (a device, pipe or socket), expected a CSV file",
            "too_big": f"is {why.detail} bytes; a data file is at most {max_bytes} bytes",
            "grew": f"is larger than {max_bytes} bytes, the most a data file may be",
            "error": f"cannot be read ({why.detail})"}[why.reason])


def _names(header: list[str]) -> str:
    return ", ".join(name if name.isprintable() else repr(name) for name in header)


def _shown(text: str) -> str:
    """A file's text quoted for a one-line message, cut short and with control characters escaped."""
    short = text if len(text) <= MAX_CELL_SHOWN else text[:MAX_CELL_SHOWN] + "..."
    return repr(short)  # repr escapes line breaks and every other character that is not printable


def _raise(source: str, where: str, problem: str):
    raise SpecError(source, where, problem)
