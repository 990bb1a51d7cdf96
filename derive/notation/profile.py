"""Notation profiles as data: a small TOML file per notation, read, validated and frozen into a `Profile`.

A profile says how a course writes the canonical quantities: the letters of units, matrices, the
cost, the number of examples and the learning rate; how layers are numbered; whether one example
is a column or examples are the rows of X; the sign in which ∂J/∂ŷ is written; how biases are shown.
The built-in profiles are the files in `derive/notation/profiles/` (package data, read with importlib.resources);
a lecturer copies one, edits it and passes its path (`--notation my.toml`, or `[notation] style =
"my.toml"` in a spec, relative to the spec). Code never decides a displayed symbol; it reads a Profile.

Trust model: the LaTeX strings of a profile are TeX written by the lecturer and land verbatim in the
.tex files, which derive compiles with shell escape off, in a private temporary folder, under a time
limit. The strings are never evaluated by Python nor parsed as SymPy input; they are checked to be
short, one line, brace-balanced and free of the TeX that reads or writes files or redefines macros, so
that a typo fails here, in one line naming the field, rather than deep inside a LaTeX log.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ArgumentError, ArgumentTypeError, ProfileError, shown_characters, xml_unsafe
from ..files import Unreadable, read_small_file

BUILTIN = ("ng", "nielsen", "welch", "qbus")
MAX_PROFILE_BYTES = 64_000
MAX_SYMBOL = 80  # characters of one LaTeX symbol
MAX_DESCRIPTION = 600


@dataclass(frozen=True)
class Profile:
    """Everything a renderer may ask about how a course writes things. Built only from a TOML file."""

    name: str
    description: str  # LaTeX text: one or two sentences printed on every sheet
    source: str  # the file it was read from (for messages)
    # [layers]
    first_layer: int  # the number the input layer is shown with (0 or 1)
    weight_by_target: bool  # True: W^{l} goes into layer l (nielsen); False: W^{(l)} leaves layer l
    parens: bool  # layer superscripts in parentheses: a^{(2)} rather than a^{2}
    # [examples]
    columns: bool  # True: one example is a column vector; False: examples are the rows of X, W shown in × out
    examples: str  # the number of examples: m, N
    # [symbols]: one unit of one example
    input: str
    target: str
    preactivation: str
    activation_letter: str
    output: str  # "" : the output units are written as activations of the last layer
    delta: str
    weight_letter: str
    index_letters: str  # two letters: (row, column) subscripts of a weight in the general rules
    # [matrices]: a whole layer (with rows: all examples)
    input_matrix: str
    target_matrix: str
    preactivation_matrix: str
    activation_matrix: str
    output_matrix: str
    delta_matrix: str
    matrix_letter: str
    # [bias]
    bias_unit: bool  # True: the bias is the weight from a bias unit a_0 = 1, column 0 of the weight matrix
    bias_letter: str  # entries b_j (unused with a bias unit)
    bias_matrix: str  # the whole vector b (unused with a bias unit)
    bias_drawn_as_unit: bool  # True: the diagram draws a bias unit "1" (x_0, a_0) above a layer; False: b is a term of z only
    # [loss]
    cost: str  # the cost as it appears in ∂cost/∂…
    cost_full: str  # the cost in a definition, J(\theta)
    target_first: bool  # the squared loss written (y − ŷ)² (True) or (ŷ − y)² (False)
    minus_y_first: bool  # ∂J/∂ŷ of a squared loss written −(y − ŷ) (True) or (ŷ − y) (False)
    # [operators]
    hadamard: str  # the element-wise product
    learning_rate: str
    activation: str  # the letter of an unspecified activation, in rules that hold for every activation
    # True: the network's activation is written with that letter everywhere (g(z), g'(z)) when its
    # element-wise layers share one function; False: σ, tanh, ReLU by their own names.
    activation_by_letter: bool
    # [handout]
    four_equations: bool  # True: the handout ends its δ section with the four equations of backpropagation (BP1–BP4)
    log: str = r"\ln"  # the natural logarithm: \ln, or \log as the lecture (004) writes it

    @property
    def output_hat(self) -> bool:
        """True when the output layer has a name of its own (ŷ, f(x, W)) rather than a^{(L)}."""
        return bool(self.output)


# ---------------------------------------------------------------------------------------------
# The file format: every table and key, what it holds, and how it maps onto Profile's fields.

def _latex(kind: str = "symbol"):
    return ("latex", kind)


SCHEMA: dict[str, dict[str, tuple]] = {
    "": {"name": ("name",), "description": ("latex", "text")},
    "layers": {"input": ("int01",), "weight_superscript": ("choice", ("source", "target")),
               "parentheses": ("bool",)},
    "examples": {"orientation": ("choice", ("columns", "rows")), "count": _latex()},
    "symbols": {k: _latex() for k in ("input", "target", "preactivation", "activation", "delta", "weight")}
               | {"output": ("latex", "optional"), "index_letters": ("letters",)},
    "matrices": {k: _latex() for k in ("input", "target", "preactivation", "activation", "delta", "weight")}
                | {"output": ("latex", "optional")},
    "bias": {"shown": ("choice", ("vector", "unit")), "symbol": _latex(), "vector": _latex(),
             "drawn": ("choice", ("unit", "term"))},
    "loss": {"cost": _latex(), "cost_full": _latex(), "squared_error": ("choice", ("target_minus_output", "output_minus_target")),
             "output_gradient": ("choice", ("output_minus_target", "minus_target_minus_output"))},
    "operators": {"elementwise": _latex(), "learning_rate": _latex(), "activation": _latex(),
                  "activation_names": ("choice", ("own", "letter")), "log": ("choice", ("ln", "log"))},
    "handout": {"summary": ("choice", ("none", "four_equations"))},
}

# Keys added after profiles were first published, with the value that keeps an older copy's sheets
# as they were: a lecturer's edited profile from before them still builds.
DEFAULTS: dict[str, dict[str, Any]] = {"bias": {"drawn": "term"}, "handout": {"summary": "none"},
                                       "operators": {"log": "ln"}}

# TeX that reads or writes files, runs code or changes how TeX reads the rest of the document.
_FORBIDDEN = re.compile(
    r"\\(input|include|openin|openout|read|readline|write|immediate|special|csname|catcode|def|edef|gdef|xdef|let|"
    r"futurelet|newcommand|renewcommand|providecommand|DeclareRobustCommand|usepackage|RequirePackage|documentclass|"
    r"begin|end|makeatletter|directlua|latelua|pdfprimitive|primitive|scantokens|endinput|newwrite|newread|"
    r"pdfobj|pdfliteral|pdfximage|includegraphics|verbatiminput|lstinputlisting|errmessage|batchmode|nonstopmode|"
    r"expandafter|uppercase|lowercase|everymath|everypar|output|shipout)(?![A-Za-z])")


def load_profile(name_or_path: str | Path, base: Path | None = None) -> Profile:
    """A built-in profile by name, or a profile file by path (relative to `base`, if given)."""
    text = str(name_or_path)
    if text in BUILTIN and not isinstance(name_or_path, Path):
        return builtin(text)
    path = Path(text)
    if base is not None and not path.is_absolute():
        path = base / path
    return read_profile(path)


def builtin(name: str) -> Profile:
    try:
        return _BUILTIN_CACHE[name]
    except KeyError:
        pass
    if name not in BUILTIN:
        raise ProfileError(name, "name", f"unknown notation {name!r}; expected one of {', '.join(BUILTIN)} or a path to a .toml profile")
    data = resources.files("derive.notation").joinpath("profiles", f"{name}.toml").read_bytes()
    profile = parse_profile(data, f"derive/notation/profiles/{name}.toml")
    _BUILTIN_CACHE[name] = profile
    return profile


_BUILTIN_CACHE: dict[str, Profile] = {}


def read_profile(path: Path) -> Profile:
    source = _one_line(str(path))
    try:
        raw = read_small_file(path, MAX_PROFILE_BYTES)
    except Unreadable as why:
        problem = {"missing": "no such file (a notation is ng, nielsen, welch, qbus or the path of a .toml profile)",
                   "folder": "is not a regular file, expected a .toml notation profile",
                   "special": "is not a regular file, expected a .toml notation profile",
                   "too_big": f"is {why.detail} bytes; a notation profile is at most {MAX_PROFILE_BYTES} bytes",
                   "grew": f"is larger than {MAX_PROFILE_BYTES} bytes, the most a notation profile may be",
                   "error": f"cannot be read ({why.detail})"}[why.reason]
        raise ProfileError(source, "file", problem) from None
    return parse_profile(raw, source)


def parse_profile(raw: bytes, source: str) -> Profile:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(source, "file", f"is not UTF-8 text (bad byte at offset {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(source, "file", f"is not valid TOML ({_one_line(str(exc))})") from None
    except (RecursionError, ValueError):
        raise ProfileError(source, "file", "is not valid TOML for a notation profile") from None
    return validate_profile(data, source)


def validate_profile(data: dict[str, Any], source: str) -> Profile:
    v = _Checker(source)
    data = dict(data)
    for table, defaults in DEFAULTS.items():
        if table not in data and set(defaults) == set(SCHEMA[table]):
            data[table] = {}
        if isinstance(data.get(table), dict):
            data[table] = {**defaults, **data[table]}
    tables = [t for t in SCHEMA if t]
    top_keys = list(SCHEMA[""]) + tables
    v.keys(data, "", top_keys)
    values: dict[str, dict[str, Any]] = {"": {k: v.value(data[k], k, SCHEMA[""][k]) for k in SCHEMA[""]}}
    for table in tables:
        raw = data[table]
        if not isinstance(raw, dict):
            v.fail(table, f"expected a table ([{table}]), got {_kind(raw)}")
        v.keys(raw, table, list(SCHEMA[table]))
        values[table] = {k: v.value(raw[k], f"{table}.{k}", SCHEMA[table][k]) for k in SCHEMA[table]}
    top, layers, ex, sym, mat, bias, loss, ops, handout = (values[t] for t in ("", "layers", "examples", "symbols", "matrices",
                                                                             "bias", "loss", "operators", "handout"))
    if sym["index_letters"][0] == sym["index_letters"][1]:
        v.fail("symbols.index_letters", f"needs two different letters (row, column), got {sym['index_letters']!r}")
    if bool(sym["output"]) != bool(mat["output"]):
        v.fail("matrices.output", 'must be "" exactly when symbols.output is "" (the output layer written as activations)')
    return Profile(
        name=top["name"], description=top["description"], source=source,
        first_layer=layers["input"], weight_by_target=layers["weight_superscript"] == "target",
        parens=layers["parentheses"],
        columns=ex["orientation"] == "columns", examples=ex["count"],
        input=sym["input"], target=sym["target"], preactivation=sym["preactivation"],
        activation_letter=sym["activation"], output=sym["output"], delta=sym["delta"],
        weight_letter=sym["weight"], index_letters=sym["index_letters"],
        input_matrix=mat["input"], target_matrix=mat["target"], preactivation_matrix=mat["preactivation"],
        activation_matrix=mat["activation"], output_matrix=mat["output"], delta_matrix=mat["delta"],
        matrix_letter=mat["weight"],
        bias_unit=bias["shown"] == "unit", bias_letter=bias["symbol"], bias_matrix=bias["vector"],
        bias_drawn_as_unit=bias["drawn"] == "unit",
        cost=loss["cost"], cost_full=loss["cost_full"], target_first=loss["squared_error"] == "target_minus_output",
        minus_y_first=loss["output_gradient"] == "minus_target_minus_output",
        hadamard=ops["elementwise"], learning_rate=ops["learning_rate"], activation=ops["activation"],
        activation_by_letter=ops["activation_names"] == "letter", log="\\" + ops["log"],
        four_equations=handout["summary"] == "four_equations",
    )


class _Checker:
    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, problem: str):
        raise ProfileError(self.source, where, problem)

    def keys(self, table: dict, where: str, allowed: list[str]):
        for key in table:
            if key not in allowed:
                import difflib

                close = [a for a in allowed if a.lower() == key.lower()] or difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(allowed)}"
                self.fail(_join(where, key), f"unknown key{hint}")
        for key in allowed:
            if key not in table:
                what = f"a table [{key}]" if not where and key in SCHEMA else "required"
                self.fail(_join(where, key), f"is missing; {what} (copy a built-in profile from derive/notation/profiles/ and edit it)")

    def value(self, raw: Any, where: str, rule: tuple) -> Any:
        kind = rule[0]
        if kind == "bool":
            if not isinstance(raw, bool):
                self.fail(where, f"expected true or false, got {_kind(raw)}")
            return raw
        if kind == "int01":
            if isinstance(raw, bool) or not isinstance(raw, int) or raw not in (0, 1):
                self.fail(where, f"expected 0 or 1 (the number of the input layer), got {_short(raw)}")
            return raw
        if not isinstance(raw, str):
            self.fail(where, f"expected a string, got {_kind(raw)}")
        if kind == "name":
            if not re.fullmatch(r"[a-z][a-z0-9-]{0,31}", raw):
                self.fail(where, f"{_short(raw)} is not allowed; use 1-32 lowercase letters, digits and hyphens")
            return raw
        if kind == "choice":
            if raw not in rule[1]:
                import difflib

                close = difflib.get_close_matches(raw, rule[1], n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.fail(where, f"{_short(raw)} is not one of {', '.join(rule[1])}{hint}")
            return raw
        if kind == "letters":
            if not re.fullmatch(r"[a-z]{2}", raw):
                self.fail(where, f"expected two lowercase letters such as \"ij\", got {_short(raw)}")
            return raw
        return self.latex(raw, where, rule[1])

    def latex(self, raw: str, where: str, kind: str) -> str:
        limit = MAX_DESCRIPTION if kind == "text" else MAX_SYMBOL
        if not raw and kind != "optional":
            self.fail(where, "is empty; give the LaTeX to print")
        if len(raw) > limit:
            self.fail(where, f"is {len(raw)} characters long; at most {limit}")
        if any(ord(c) < 32 or ord(c) == 127 for c in raw):
            self.fail(where, "contains a control character or line break; use one line of LaTeX")
        if unsafe := xml_unsafe(raw):  # the symbols reach the LMS exports' XML
            self.fail(where, f"contains {shown_characters(unsafe)}, which no XML export can carry (a non-character, "
                             "control or lone surrogate); use LaTeX for the symbol")
        depth = 0
        for c in raw.replace(r"\{", "").replace(r"\}", ""):
            depth += {"{": 1, "}": -1}.get(c, 0)
            if depth < 0:
                break
        if depth != 0:
            self.fail(where, f"has unbalanced braces {{ }} in {_short(raw)}")
        if kind == "text":
            bad = [c for c in "%#&" if c in raw.replace("\\" + c, "")]
            if raw.replace(r"\$", "").count("$") % 2:
                self.fail(where, "has an odd number of $ (every $ opening math needs one closing it)")
        else:
            bad = [c for c in "$%#&" if c in raw.replace("\\" + c, "")]
        if bad:
            self.fail(where, f"contains {bad[0]!r}, which would break the LaTeX around it (write \\{bad[0]} for the character)")
        if r"\\" in raw or "^^" in raw:
            self.fail(where, r"contains \\ or ^^, which would break the line or hide a character from this check")
        match = _FORBIDDEN.search(raw)
        if match:
            self.fail(where, f"uses {match.group(0)}, which a notation profile may not (it reads or writes files or "
                             "redefines TeX); use symbols only")
        return raw


def _join(where: str, key: str) -> str:
    shown = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _one_line(repr(key))
    return f"{where}.{shown}" if where else shown


def _one_line(text: str) -> str:
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def _kind(value: Any) -> str:
    names = {bool: "true/false", int: "a whole number", float: "a number", str: "a string", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = f'"{value}"' if isinstance(value, str) else str(value) if isinstance(value, (int, float)) else _kind(value)
    return _one_line(text if len(text) <= 60 else text[:57] + "...")


def resolve_notation(notation: str) -> Profile:
    """The profile `--notation` names: a built-in by name, or a profile file (relative to the working folder)."""
    if not isinstance(notation, (str, os.PathLike)):
        raise ArgumentTypeError("--notation", f"expected a profile's name or a .toml file, got {type(notation).__name__}")
    notation = os.fspath(notation)
    if notation in BUILTIN or notation.endswith(".toml") or Path(notation).is_file():
        return load_profile(notation)
    import difflib

    close = difflib.get_close_matches(notation, BUILTIN, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ArgumentError("--notation", f"{notation!r} is not one of {', '.join(BUILTIN)}{hint} nor a .toml profile file")
