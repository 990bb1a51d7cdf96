r"""The TeX that derive writes (a profile's names, the sheets' worked lines, the givens) as MathML 2
presentation markup, for the exports whose target reads MathML (QTI 2.1 items: imsqti_v2p1.xsd
imports MathML 2 and allows `m:math` in the item's text).

A small parser for the forms derive emits, not TeX at large: groups, `^`/`_`, `\frac`, `\left`/
`\right` delimiters, `\text`, font commands, accents (`\hat`), `\sum`, function names (`\log`,
`\operatorname{ReLU}`), Greek letters and the operators plaintext knows, spacing commands and
`bmatrix`. Anything else raises `Unsupported`, so a caller can keep that piece as TeX rather than
print it wrong. Elements carry the prefix `m:`; the caller declares xmlns:m.
"""
from __future__ import annotations

from functools import lru_cache
from xml.sax.saxutils import escape

from .plaintext import ACCENTS, SYMBOLS

MATHML_NS = "http://www.w3.org/1998/Math/MathML"


class Unsupported(ValueError):
    """TeX this converter does not read (the caller keeps it as TeX)."""


OPERATORS = {"cdot", "cdots", "ldots", "dots", "times", "odot", "circ", "otimes", "oplus", "ast", "star", "to",
             "rightarrow", "leftarrow", "mapsto", "pm", "mp", "le", "ge", "leq", "geq", "neq", "approx", "in",
             "colon", "vert", "mid", "lbrace", "rbrace", "langle", "rangle", "prod", "partial", "nabla", "prime"}
FUNCTIONS = {"log", "ln", "exp", "tanh", "sinh", "cosh", "sin", "cos", "tan", "max", "min", "arg", "det", "sgn"}
SPACES = {",": "0.167em", ";": "0.278em", ":": "0.222em", " ": "0.25em", "quad": "1em", "qquad": "2em"}
BOLD = {"mathbf", "boldsymbol", "bm"}
UPRIGHT = {"mathrm", "operatorname"}
TEXTS = {"text", "textrm", "mbox", "textup"}
DELIMITERS = set("()[]|.") | {"lbrace", "rbrace", "langle", "rangle", "vert"}
MINUS = "\u2212"


def math(tex: str, display: bool = False) -> str:
    """`tex` as one `<m:math>` element (inline, or display for a worked line)."""
    body = "<m:mo>=</m:mo>".join(_piece(p) for p in _sides(tex))
    mode = ' display="block"' if display else ""
    return f"<m:math{mode}><m:mrow>{body}</m:mrow></m:math>"


def _sides(tex: str) -> list[str]:
    """`tex` split at its outermost " = " (outside every group and environment): a worked line's label and
    formula are the same for every student, so each side is converted once (`_piece` caches)."""
    sides, depth, start = [], 0, 0
    for i, c in enumerate(tex):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "=" and depth == 0 and tex[i - 1:i] == " " and tex[i + 1:i + 2] == " " and "\\begin" not in tex[start:i]:
            sides.append(tex[start:i])
            start = i + 1
    return sides + [tex[start:]]


@lru_cache(maxsize=4096)
def _piece(tex: str) -> str:
    parser = _Parser(tex)
    body = parser.sequence(until=())
    if parser.i < len(tex):
        raise Unsupported(f"unbalanced braces in {tex!r}")
    return body


def _el(tag: str, content: str, attrs: str = "") -> str:
    return f"<m:{tag}{attrs}>{content}</m:{tag}>"


class _Parser:
    def __init__(self, tex: str):
        self.tex, self.i = tex, 0

    def peek(self) -> str:
        return self.tex[self.i] if self.i < len(self.tex) else ""

    def sequence(self, until: tuple[str, ...]) -> str:
        """Items up to a closing brace, `&`, `\\\\`, `\\end` or the end; the stopper is not consumed."""
        out = []
        while self.i < len(self.tex):
            c = self.peek()
            if c == "}" or c == "&" or self.tex.startswith("\\\\", self.i) or self.tex.startswith("\\end", self.i):
                break
            item = self.scripted()
            if item:
                out.append(item)
        return "".join(out)

    def scripted(self) -> str:
        base, big = self.atom()
        if base is None:
            return ""
        sub = sup = None
        while self.peek() in ("^", "_"):
            mark = self.tex[self.i]
            self.i += 1
            arg = self.argument()
            if mark == "^":
                sup = arg
            else:
                sub = arg
        if sub is None and sup is None:
            return base
        if big:  # a sum's limits: under and over
            if sub is not None and sup is not None:
                return _el("munderover", base + sub + sup)
            return _el("munder", base + sub) if sub is not None else _el("mover", base + sup)
        if sub is not None and sup is not None:
            return _el("msubsup", base + sub + sup)
        return _el("msub", base + sub) if sub is not None else _el("msup", base + sup)

    def argument(self) -> str:
        """The argument of ^, _ or a command, as one element."""
        while self.peek() == " ":
            self.i += 1
        if self.peek() == "{":
            return _el("mrow", self.group())
        item, _ = self.atom()
        if item is None:
            raise Unsupported(f"a missing argument in {self.tex!r}")
        return item

    def group(self) -> str:
        assert self.peek() == "{"
        self.i += 1
        inner = self.sequence(until=("}",))
        if self.peek() != "}":
            raise Unsupported(f"an unclosed group in {self.tex!r}")
        self.i += 1
        return inner

    def raw_group(self) -> str:
        """A group's text as it is (for \\text and \\operatorname)."""
        while self.peek() == " ":
            self.i += 1
        if self.peek() != "{":
            raise Unsupported(f"a text command without braces in {self.tex!r}")
        end = self.tex.find("}", self.i)
        if end < 0 or "{" in self.tex[self.i + 1:end] or "\\" in self.tex[self.i + 1:end]:
            raise Unsupported(f"text that is not plain in {self.tex!r}")
        text, self.i = self.tex[self.i + 1:end], end + 1
        return text

    def atom(self) -> tuple[str | None, bool]:
        """One element and whether it is a large operator (its scripts are limits)."""
        c = self.peek()
        if c == " " or c == "\n":
            self.i += 1
            return None, False
        if c == "{":
            return _el("mrow", self.group()), False
        if c.isdigit() or (c == "." and self.tex[self.i + 1:self.i + 2].isdigit()):
            j = self.i
            while j < len(self.tex) and (self.tex[j].isdigit() or self.tex[j] == "."):
                j += 1
            number, self.i = self.tex[self.i:j], j
            return _el("mn", number), False
        if c.isalpha():
            self.i += 1
            return _el("mi", escape(c)), False
        if c == "\\":
            return self.command()
        if c in "+-=()[]<>,/|!;:*":
            self.i += 1
            return _el("mo", escape(MINUS if c == "-" else c)), False
        if c == "'":
            self.i += 1
            return _el("mo", "\u2032"), False
        if c == "~":
            self.i += 1
            return _el("mspace", "", ' width="0.25em"'), False
        raise Unsupported(f"{c!r} in {self.tex!r}")

    def command(self) -> tuple[str | None, bool]:
        j = self.i + 1
        while j < len(self.tex) and self.tex[j].isalpha():
            j += 1
        if j == self.i + 1:  # a control symbol
            symbol = self.tex[j:j + 1]
            self.i = j + 1
            if symbol in SPACES:
                return _el("mspace", "", f' width="{SPACES[symbol]}"'), False
            if symbol == "!":
                return None, False
            if symbol in "{}_%#$&":
                return _el("mo" if symbol in "{}" else "mi", escape(symbol)), False
            raise Unsupported(f"\\{symbol} in {self.tex!r}")
        name, self.i = self.tex[self.i + 1:j], j
        while self.peek() == " ":
            self.i += 1
        if name == "frac":
            top = self.argument()
            return _el("mfrac", top + self.argument()), False
        if name in ("left", "right", "bigl", "bigr", "Bigl", "Bigr", "big", "Big"):
            return self.delimiter(), False
        if name in TEXTS:
            return _el("mtext", escape(self.raw_group())), False
        if name in UPRIGHT:
            if name == "operatorname":
                return _el("mi", escape(self.raw_group()), ' mathvariant="normal"'), False
            return self.styled("normal"), False
        if name in BOLD:
            return self.styled("bold"), False
        if name in ACCENTS:
            base = self.argument()
            mark = {"hat": "^", "widehat": "^", "bar": "\u00af", "overline": "\u00af", "tilde": "~", "widetilde": "~",
                    "vec": "\u2192", "dot": "\u02d9", "ddot": "\u00a8", "check": "\u02c7", "breve": "\u02d8"}.get(name)
            if mark is None:
                raise Unsupported(f"\\{name} in {self.tex!r}")
            return _el("mover", base + _el("mo", escape(mark)), ' accent="true"'), False
        if name == "sum":
            return _el("mo", "\u2211"), True
        if name in FUNCTIONS:
            return _el("mi", name), False
        if name in SPACES:
            return _el("mspace", "", f' width="{SPACES[name]}"'), False
        if name == "begin":
            return self.matrix(), False
        if name in SYMBOLS and SYMBOLS[name]:
            tag = "mo" if name in OPERATORS else "mi"
            return _el(tag, escape(SYMBOLS[name])), False
        raise Unsupported(f"\\{name} in {self.tex!r}")

    def styled(self, variant: str) -> str:
        """A font command: its letters as mi with that variant (derive's bold names are letters)."""
        while self.peek() == " ":
            self.i += 1
        if self.peek() == "{":
            text = self.raw_group()
        else:
            text, self.i = self.peek(), self.i + 1
        if not text.isalpha():
            raise Unsupported(f"a font command on {text!r} in {self.tex!r}")
        return _el("mi", escape(text), f' mathvariant="{variant}"')

    def delimiter(self) -> str:
        c = self.peek()
        if c == "\\":
            j = self.i + 1
            while j < len(self.tex) and self.tex[j].isalpha():
                j += 1
            name, self.i = self.tex[self.i + 1:j], j
            if name not in DELIMITERS:
                raise Unsupported(f"a delimiter \\{name} in {self.tex!r}")
            return _el("mo", escape(SYMBOLS[name]))
        if c not in DELIMITERS:
            raise Unsupported(f"a delimiter {c!r} in {self.tex!r}")
        self.i += 1
        return "" if c == "." else _el("mo", escape(c))

    def matrix(self) -> str:
        env = self.raw_group()
        if env not in ("bmatrix", "pmatrix", "matrix"):
            raise Unsupported(f"the environment {env} in {self.tex!r}")
        rows, cells = [], []
        while True:
            cells.append(_el("mtd", self.sequence(until=())))
            if self.peek() == "&":
                self.i += 1
            elif self.tex.startswith("\\\\", self.i):
                self.i += 2
                rows.append(_el("mtr", "".join(cells)))
                cells = []
            elif self.tex.startswith("\\end", self.i):
                self.i += 4
                if self.raw_group() != env:
                    raise Unsupported(f"a mismatched \\end in {self.tex!r}")
                rows.append(_el("mtr", "".join(cells)))
                break
            else:
                raise Unsupported(f"an unclosed {env} in {self.tex!r}")
        table = _el("mtable", "".join(rows))
        fences = {"bmatrix": ("[", "]"), "pmatrix": ("(", ")"), "matrix": ("", "")}[env]
        left, right = (_el("mo", f) if f else "" for f in fences)
        return _el("mrow", left + table + right)
