"""Printing one derivation's pieces as LaTeX in one notation profile.

`Typesetter` holds what every worksheet section needs (the derivation, the profile's names and
`symbol_names`, which parameters are written out) and prints symbols, partial derivatives and the
formulas that are written in the course's order rather than SymPy's. The section modules
(`equations`, `path_sums`, `diagram`, `stepwise`, `worked`) are functions of a `Typesetter`.
"""
from __future__ import annotations

import re
from decimal import Context, Decimal

import sympy as sp
from sympy.printing.latex import LatexPrinter

from ..engine import activations
from ..engine.derivation import Derivation, Factor
from ..notation.names import Names, Profile, symbol_names, vector_names

MAX_SMALL_PATHS = 64  # above this (or MAX_SMALL_MATRIX entries in one matrix) only representatives are written out
MAX_SMALL_MATRIX = 16
MAX_UNITS_LISTED = 4  # scalar equations listed per layer before "and so on"
MAX_TERMS = 5  # a longer sum is written as its first three terms, \cdots and its last term


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer, with the step function written as ReLU' (SymPy prints θ(z), which
    would read as a weight in the θ notation)."""

    functions: dict = {}  # activation class -> the name this document writes it with (g, f), where not its own
    log_name = r"\ln"  # the natural logarithm as the course writes it (the lecture 004 writes log)

    def _print(self, expr, **kwargs):
        name = self.functions.get(type(expr))
        if name is None:
            return super()._print(expr, **kwargs)
        body = rf"{name}\left({self._print(expr.args[0])}\right)"
        exp = kwargs.get("exp")
        return rf"{body}^{{{exp}}}" if exp else body

    def _print_Heaviside(self, expr, exp=None):
        body = rf"\operatorname{{ReLU}}'\left({self._print(expr.args[0])}\right)"
        return rf"{body}^{{{exp}}}" if exp else body

    def _print_log(self, expr, exp=None):
        # ln (or the course's log), with its argument in brackets: ln a⁴ would read as ln of a power.
        body = rf"{self.log_name}\left({self._print(expr.args[0])}\right)"
        return rf"\left({body}\right)^{{{exp}}}" if exp else body

    def _print_Add(self, expr, order=None):
        # SymPy's canonical order can start a sum with a negative term, -a + y; write y - a instead.
        terms = list(self._as_ordered_terms(expr, order=order))
        if not terms[0].could_extract_minus_sign() or all(t.could_extract_minus_sign() for t in terms):
            return super()._print_Add(expr, order=order)
        terms = [t for t in terms if not t.could_extract_minus_sign()] + [t for t in terms if t.could_extract_minus_sign()]
        tex = ""
        for i, term in enumerate(terms):
            if i:
                if term.could_extract_minus_sign():
                    tex, term = tex + " - ", -term
                else:
                    tex += " + "
            text = self._print(term)
            tex += rf"\left({text}\right)" if self._needs_add_brackets(term) else text
        return tex


def _latex(expr, functions: dict | None = None, log_name: str | None = None, **settings) -> str:
    printer = _Printer(settings)
    if functions:
        printer.functions = functions
    if log_name:
        printer.log_name = log_name
    return printer.doprint(expr)


_PAIR_TOKEN = re.compile(r"\\left\(|\\right\)")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?(\\times 10\^\{-?[0-9]+\})?")


def tidy_brackets(tex: str) -> str:
    r"""One pair of brackets where two enclose the same thing, and none around a number that is a
    whole exponent: tanh((−0.55)) → tanh(−0.55), e^{(−0.41)} → e^{−0.41}.

    A number substituted for a symbol arrives bracketed when negative (it is a factor in most lines);
    SymPy then brackets it again as a function's argument. The pairs are matched, not pattern-guessed,
    so a bracket that holds more than the inner pair (σ((−0.5) · 2)) is kept."""
    if r"\left(" not in tex:
        return tex
    pairs, stack = [], []
    for m in _PAIR_TOKEN.finditer(tex):
        if m.group() == r"\left(":
            stack.append(m)
        elif stack:
            pairs.append((stack.pop(), m))
    spans = {(o.start(), c.end()) for o, c in pairs}
    drop: set[int] = set()  # start offsets of tokens to delete (with their length)
    for o, c in pairs:
        inner = tex[o.end():c.start()]
        lead = len(inner) - len(inner.lstrip())
        trail = len(inner.rstrip())
        if (o.end() + lead, o.end() + trail) in spans:
            drop.update({o.start(), c.start()})
        elif tex[max(0, o.start() - 2):o.start()] == "^{" and tex[c.end():c.end() + 1] == "}" and _NUMBER.fullmatch(inner.strip()):
            drop.update({o.start(), c.start()})
    if not drop:
        return tex
    out, i = [], 0
    for m in _PAIR_TOKEN.finditer(tex):
        if m.start() in drop:
            out.append(tex[i:m.start()])
            i = m.end()
    out.append(tex[i:])
    return "".join(out)


def join_terms(terms: list[str], limit: int = MAX_TERMS) -> str:
    """Terms joined by +; a long sum keeps its first three terms and its last around \\cdots."""
    if len(terms) > limit:
        terms = terms[:3] + [r"\cdots"] + terms[-1:]
    return " + ".join(terms)


def listed(items: list) -> tuple[list, int]:
    """The items written out (the first MAX_UNITS_LISTED) and how many more there are."""
    return items[:MAX_UNITS_LISTED], max(0, len(items) - MAX_UNITS_LISTED)


def chunked(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# -- numbers and long displays -------------------------------------------------------------------
# Widths are estimated in points at 11 pt (a digit is 5.5 pt), which is enough to decide where a
# line, a table or a matrix must be broken so that nothing runs off an A4 page with 2 cm margins.
PAGE_WIDTH = 470.0
MAX_BLOCK_ROWS = 24  # rows of one table or matrix display; more rows continue in another display
_COMMANDS = re.compile(r"\\(left|right|Bigl|Bigr|Big|bigl|bigr|big|quad|qquad|,|;|!|operatorname|mathbf|text)|[{}^_&]")


# A printed number of more figures than this, closer to ±1 than NEAR_ONE, is written 1 − d: only a saturated
# unit's value prints so many (σ(200) = 0.99…986161, 91 figures; every other computed number has at most 12).
GAP_FIGURES = 13
NEAR_ONE = Decimal("1e-6")


def tex_number(text: str) -> str:
    """A printed decimal (Decimal syntax, its exponent is its precision) as LaTeX.

    Plain positional notation from 0.001 up to 999999; otherwise d.ddd × 10^k with the same
    significant figures (1.882 × 10^{-4}, not 0.0002). A number of more than GAP_FIGURES figures within
    10^{-6} of ±1 is written (1 − d) or (1 + d), bracketed as one factor: σ(200) = 0.99…986161 (91
    figures) is (1 − 1.3839 × 10^{-87})."""
    d = Decimal(text)
    if d == 0:
        return "0"
    if d.adjusted() in (-1, 0) and len(d.as_tuple().digits) > GAP_FIGURES:
        gap = Context(prec=len(d.as_tuple().digits) + 2).subtract(Decimal(1), d.copy_abs())  # exact
        if gap != 0 and abs(gap) < NEAR_ONE:
            sign, op = "-" if d < 0 else "", "-" if gap > 0 else "+"
            return rf"{sign}\left(1 {op} {tex_number(str(abs(gap)))}\right)"
    sign, digits, exponent = d.as_tuple()
    adj = d.adjusted()
    if -3 <= adj < 6 and exponent <= 0:
        return format(d, "f")
    mantissa = "".join(map(str, digits))
    mantissa = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    return rf"{'-' if sign else ''}{mantissa}\times 10^{{{adj}}}"


def tex_width(tex: str) -> float:
    """A rough width in points of a line of math (overestimates rather than under)."""
    t = re.sub(r"\\cdot", "*", tex)
    t = re.sub(r"\\(times|sigma|ln|tanh|sum|delta|theta|Theta|eta|hat|partial|leftarrow)", "x", t)
    t = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda mt: max(mt.group(1), mt.group(2), key=len), t)
    t = _COMMANDS.sub("", t).replace(" ", "")
    # a digit is 5.5 pt, a point 3 pt, a bracket 4.3 pt, a centred dot with its spaces 8 pt; 6 pt for the rest
    chars = 5.5 * sum(c.isdigit() for c in t) + 3.0 * t.count(".") + 4.5 * (t.count("(") + t.count(")")) + 8.0 * t.count("*")
    chars += 6.0 * (len(t) - sum(c.isdigit() for c in t) - t.count(".") - t.count("(") - t.count(")") - t.count("*"))
    return chars + 8.0 * (t.count("+") + t.count("=") + t.count("-") + t.count("x"))


def number_width(tex: str) -> float:
    """The width in points of one printed number (a matrix or table cell) with its column gap."""
    width = 5.6 * sum(c.isdigit() for c in tex) + 8.6 * tex.count("-") + 3.1 * tex.count(".")
    if r"\times" in tex:
        width += 22.0 - 5.5 * 2  # "× 10" and a small exponent, less the 10 counted as digits
    return width + 11.0


def wrap_terms(lhs: str, formula: str, terms: list[str], value: str, lead: str = "", tail: str = "") -> str:
    """`lhs &= formula = lead[t1 + t2 + …]tail = value` for an align, broken into lines that fit the page."""
    budget = PAGE_WIDTH - min(tex_width(lhs), 120.0) - 25.0
    bracket = bool((lead or tail) and len(terms) > 1)
    joined = " + ".join(terms)
    single = (rf"{lead}\left[{joined}\right]{tail}" if bracket else f"{lead}{joined}{tail}")
    parts = [formula] if formula else []
    one_line = " = ".join(parts + [single, value])
    if tex_width(one_line) <= budget:
        return f"{lhs} &= {one_line}"
    lines = [f"{lhs} &= " + r" \\ &\quad ".join(_split_sum(formula, budget))] if formula else []
    open_, close = (r"\Bigl[", r"\Bigr]") if bracket else ("", "")
    if tex_width(single) <= budget:
        chunks = [("", single)]
    else:
        # (operator, piece) in order: a term too long for a line is cut at its own top-level + and −.
        pieces = []
        for t in terms:
            parts = top_level_pieces(t) if tex_width(t) > budget - 30 else [("", t)]
            pieces += [(op or "+", text) for op, text in parts]
        chunks, current = [], ""
        for i, (op, t) in enumerate(pieces):
            piece = (lead + open_ + t) if i == 0 else t
            trial = piece if not current else f"{current} {op} {piece}"
            if current and tex_width(trial) > budget - 30:
                chunks.append((cur_op, current))
                current, cur_op = piece, op
            else:
                if not current:
                    cur_op = op
                current = trial
        if tail and tex_width(current + close + tail) > budget:
            chunks += [(cur_op, current + close), None]  # the factor after the bracket goes on a line of its own
        else:
            chunks.append((cur_op, current + close + tail))
    for i, c in enumerate(chunks):
        if c is None:
            lines.append(r"&\quad " + tail.strip())
        else:
            lines.append(("&= " if i == 0 else rf"&\quad {c[0]} ") + c[1])
    if tex_width(lines[-1] + value) <= budget:
        lines[-1] += f" = {value}"
    else:
        lines.append(f"&= {value}")
    if not formula:
        lines[0] = f"{lhs} " + lines[0]
    return " \\\\ ".join(lines)


def _split_sum(tex: str, budget: float) -> list[str]:
    r"""A long symbolic formula broken at its top-level + and − signs into lines that fit `budget`
    (every line after the first starts with its sign).

    A formula that is one bracketed sum, c \left( … \right) d, is broken inside the brackets, which
    become \Bigl( … \Bigr) so that they may span lines."""
    if tex_width(tex) <= budget:
        return [tex]
    pieces = top_level_pieces(tex)
    if len(pieces) == 1 and r"\left" in tex:
        i = tex.index(r"\left")
        j, depth = i, 0
        while j < len(tex):
            if tex.startswith(r"\left", j) and not tex[j + 5:j + 6].isalpha():
                depth += 1
            elif tex.startswith(r"\right", j) and not tex[j + 6:j + 7].isalpha():
                depth -= 1
                if depth == 0:
                    break
            j += 1
        inner = top_level_pieces(tex[i + 6:j])
        if j < len(tex) and len(inner) > 1:
            pieces = inner
            pieces[0] = ("", tex[:i] + r"\Bigl" + tex[i + 5] + pieces[0][1])
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + r"\Bigr" + tex[j + 6] + tex[j + 7:])
    lines, current = [], ""
    for op, piece in pieces:
        trial = piece if not current else f"{current} {op} {piece}"
        if current and tex_width(trial) > budget - 30:
            lines.append(current)
            current = f"{op} {piece}"
        else:
            current = trial
    lines.append(current)
    return lines


def top_level_pieces(tex: str) -> list[tuple[str, str]]:
    """A sum's terms with the sign before each ("" for the first), cut at the + and − outside every
    brace and \\left … \\right pair."""
    pieces, depth, start, op, i = [], 0, 0, "", 0
    while i < len(tex):
        if tex.startswith(r"\left", i) and not tex[i + 5:i + 6].isalpha():
            depth, i = depth + 1, i + 6
            continue
        if tex.startswith(r"\right", i) and not tex[i + 6:i + 7].isalpha():
            depth, i = depth - 1, i + 7
            continue
        ch = tex[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and i > start and tex.startswith((" + ", " - "), i):
            pieces.append((op, tex[start:i]))
            op, start, i = tex[i + 1], i + 3, i + 3
            continue
        i += 1
    pieces.append((op, tex[start:]))
    return pieces


def _blocks(count: int, widths: list[float], budget: float, later: float | None = None) -> list[tuple[int, int]]:
    """Split columns 0..count-1 into consecutive blocks whose widths fit `budget` (the first block)
    and `later` (every other block, whose display has only a short label before it)."""
    blocks, start, used = [], 0, 0.0
    for c in range(count):
        if c > start and used + widths[c] > (budget if not blocks or later is None else later):
            blocks.append((start, c))
            start, used = c, 0.0
        used += widths[c]
    blocks.append((start, count))
    return blocks


def matrix_blocks(head: str, rows: list[list[str]]) -> list[str]:
    """`head [matrix]` as displays; a matrix too wide or too tall for the page is split into blocks
    of columns and rows, each labelled with the columns and rows it holds (never silently dropped)."""
    ncols = len(rows[0])
    widths = [max(number_width(r[c]) for r in rows) for c in range(ncols)]
    # a later block is labelled only "columns 97--104:" (about 75 pt), not with the whole head
    first = PAGE_WIDTH - 0.75 * min(tex_width(head), 260.0) - 85.0
    if sum(widths) > first:
        first -= 60.0  # the first block's head is labelled "columns 1--7 of" too
    if len(rows) > MAX_BLOCK_ROWS:
        first -= 40.0  # and "rows 1--24,"
    col_blocks = _blocks(ncols, widths, first, PAGE_WIDTH - 110.0)
    row_blocks = [(r, min(r + MAX_BLOCK_ROWS, len(rows))) for r in range(0, len(rows), MAX_BLOCK_ROWS)]
    out = []
    split = len(col_blocks) > 1 or len(row_blocks) > 1
    for r0, r1 in row_blocks:
        for c0, c1 in col_blocks:
            body = r" \\ ".join(" & ".join(r[c0:c1]) for r in rows[r0:r1])
            label = ""
            if split:
                what = []
                if len(row_blocks) > 1:
                    what.append(f"rows {r0 + 1}--{r1}")
                if len(col_blocks) > 1:
                    what.append(f"columns {c0 + 1}--{c1}" if c1 - c0 > 1 else f"column {c0 + 1}")
                label = ", ".join(what)
            if (r0, c0) == (0, 0):
                lead = rf"\text{{{label} of }} {head}" if label else head
            else:
                lead = rf"\text{{{label}:}}\quad"
            out.append(rf"\[ {lead} \begin{{bmatrix}} {body} \end{{bmatrix}} \]")
    return out


def table_blocks(header: list[str], rows: list[list[str]], split: int | None = None) -> list[str]:
    """A table of one row per example n (n, then one column per header), in blocks that fit the page."""
    ncols = len(header)
    widths = [max([tex_width(header[c]) * 0.8 + 10.0] + [number_width(r[c]) for r in rows]) for c in range(ncols)]
    col_blocks = _blocks(ncols, widths, PAGE_WIDTH - 40.0)
    out = []
    for r0 in range(0, len(rows), MAX_BLOCK_ROWS):
        r1 = min(r0 + MAX_BLOCK_ROWS, len(rows))
        for c0, c1 in col_blocks:
            spec = "r|" + "".join("|c" if split is not None and c == split and c > c0 else "c" for c in range(c0, c1))
            lines = ["n & " + " & ".join(header[c0:c1]) + r" \\ \hline"]
            lines += [f"{n + 1} & " + " & ".join(rows[n][c0:c1]) + r" \\" for n in range(r0, r1)]
            out.append(rf"\[ \begin{{array}}{{{spec}}} " + "\n".join(lines) + r" \end{array} \]")
    return out


def _size(shape: tuple[int, ...]) -> int:
    out = 1
    for s in shape:
        out *= s
    return out


class Typesetter:
    """One derivation printed in one notation profile; worked numbers get `precision` significant figures."""

    def __init__(self, derivation: Derivation, profile: Profile, precision: int):
        self.d, self.p, self.precision = derivation, profile, precision
        self.net = derivation.network
        self.spec = self.net.spec
        self.names = Names(self.spec, profile)
        self.sym = symbol_names(self.net, profile)
        self.vec = vector_names(self.net, profile)
        # The activation classes printed with the profile's letter instead of their own name (σ → g).
        lettered = self.names.lettered()
        self.functions: dict[type, str] = {}
        if lettered:
            self.functions[activations.function_class(lettered)] = self.names.function(lettered)
            if lettered == "relu":  # ReLU's derivative is SymPy's step function
                self.functions[sp.Heaviside] = self.names.function(lettered) + "'"
        self.L = self.net.depth
        shapes = self.spec.parameter_shapes()
        self.large = derivation.total_paths > MAX_SMALL_PATHS or any(
            _size(s) > MAX_SMALL_MATRIX for s in shapes.values())
        self.matrices = list(shapes)
        self.weight_matrices = [n for n in shapes if n.startswith("W")]
        # Representative parameters: the first weight of every weight matrix.
        self.shown = [next(p.key for p in self.d.parameters if p.matrix == n) for n in self.weight_matrices]
        # The terms of every z in the course's order: weights unit by unit (next layer, then skips), bias last.
        self.z_terms: dict[sp.Symbol, list[tuple[sp.Symbol, sp.Symbol | None]]] = {}
        for p in derivation.parameters:
            self.z_terms.setdefault(self.net.z[p.layer][p.index[0]], []).append((p.symbol, p.source))

    # -- printing --------------------------------------------------------------------------------
    def tex(self, expr, names: dict | None = None, **kw) -> str:
        return _latex(expr, self.functions, self.p.log, symbol_names=names or self.sym, **kw)

    def sum_tex(self, expr: sp.Expr) -> str:
        """`tex(expr)`, but a sum of many terms is shortened to its first three terms, \\cdots and its last."""
        if not isinstance(expr, sp.Add) or len(expr.args) <= MAX_TERMS:
            return self.tex(expr)
        terms = _Printer({"symbol_names": self.sym})._as_ordered_terms(expr)
        terms = terms[:3] + [None] + terms[-1:]
        out = self.tex(terms[0])
        for t in terms[1:]:
            if t is None:
                out += r" + \cdots"
            elif t.could_extract_minus_sign():
                out += " - " + self.tex(-t)
            else:
                out += " + " + self.tex(t)
        return out

    def s(self, symbol: sp.Symbol) -> str:
        return self.sym[symbol]

    def partial(self, num: sp.Symbol, den: sp.Symbol) -> str:
        return rf"\frac{{\partial {self.s(num)}}}{{\partial {self.s(den)}}}"

    def leibniz(self, path: tuple[Factor, ...]) -> str:
        return r" ".join(self.partial(f.numerator, f.denominator) for f in path)

    def factor_values(self, path: tuple[Factor, ...]) -> str:
        return " ".join(self.factor_value_parts(path))

    def factor_value_parts(self, path: tuple[Factor, ...]) -> list[str]:
        """The path's factors evaluated, one string each, in order (a line may break between them)."""
        # A factor equal to 1 (an identity unit's slope) is left out: "· 1 w" would read as "1w".
        kept = tuple(f for f in path if f.value != 1) or path[:1]
        path = kept
        parts = [self._factor_value(f) for f in path]
        return [rf"\cdot {t}" if i and f.value.is_Number else t for i, (f, t) in enumerate(zip(path, parts))]

    def _factor_value(self, f: Factor) -> str:
        # A profile that writes ∂J/∂ŷ as −(y − ŷ) writes it so in the path sums too, not as SymPy's (ŷ − y).
        if f.numerator == self.net.J and self.p.minus_y_first and self.net.loss.kind == "squared":
            return self.loss_gradient(self.net.a[self.L].index(f.denominator))
        return self.paren(f.value)

    def squared_order(self, expr: sp.Expr) -> sp.Expr:
        """The loss with (y − ŷ)² turned into (ŷ − y)² where the profile writes the error that way."""
        if self.p.target_first:
            return expr
        return expr.xreplace({(y - a) ** 2: sp.Add(a, -y, evaluate=False) ** 2
                              for a, y in zip(self.net.a[self.L], self.net.y)})

    def paren(self, expr: sp.Expr, names: dict | None = None) -> str:
        text = self.tex(expr, names)
        return rf"\left({text}\right)" if isinstance(expr, sp.Add) or (expr.could_extract_minus_sign()) else text

    def pname(self, key: str) -> str:
        return self.names.parameter(key)

    def dcost(self, what: str) -> str:
        return rf"\frac{{\partial {self.p.cost}}}{{\partial {what}}}"

    # -- displays built from the structure, in the course's order --------------------------------
    # SymPy sorts the terms of a sum and the factors of a product canonically, which prints
    # (-a + y)^2 and w a δ (1 - a). These build the same values in the order the seeds write them;
    # `names` is the symbol_names dict (numbers instead of symbols for the worked answers, `dot`).

    def pr(self, expr: sp.Expr, names: dict | None = None, dot: bool = False, paren: bool = False) -> str:
        text = self.tex(expr, names, mul_symbol="dot" if dot else None)
        if paren and (isinstance(expr, sp.Add) or expr.could_extract_minus_sign()):
            return rf"\left({text}\right)"
        return text

    def z_rhs(self, z: sp.Symbol, names: dict | None = None, dot: bool = False) -> str:
        names = names or self.sym
        mul = r" \cdot " if dot else " "
        matrix = {p.symbol: p.matrix for p in self.d.parameters}
        groups: dict[str, list[str]] = {}  # one per weight matrix feeding z (a skip's too) and its bias
        for w, a in self.z_terms[z]:
            groups.setdefault(matrix[w], []).append(names[w] if a is None else f"{names[w]}{mul}{names[a]}")
        weights = {matrix[w] for w, a in self.z_terms[z] if a is not None}
        total = sum(map(len, groups.values()))
        if len(weights) == 1 or total <= MAX_TERMS:
            return join_terms([t for g in groups.values() for t in g])
        if total <= MAX_TERMS + 2:  # a skip's few terms are written out
            return " + ".join(t for g in groups.values() for t in g)
        # a long sum is shortened within each matrix (its first term and ⋯), never by hiding one (a skip's)
        return " + ".join(" + ".join(g if len(g) == 1 else [g[0], r"\cdots"]) for g in groups.values())

    def loss_formula(self) -> str:
        """The loss over all examples, its placeholders filled in with the profile's symbols."""
        p = self.p
        out = self.names.output_symbol()
        error = f"({p.target} - {out})" if p.target_first else f"({out} - {p.target})"
        formula = self.net.loss.formula
        for token, text in (("<error>", error), ("<yhat>", out), ("<y>", p.target), ("<m>", p.examples)):
            formula = formula.replace(token, text)
        return formula.replace(r"\ln", p.log)

    def loss_rhs(self, names: dict | None = None, dot: bool = False, examples: list[dict] | None = None) -> str:
        """J for one example: ½ (y − ŷ)², −[y ln ŷ + (1 − y) ln(1 − ŷ)], −Σ y ln ŷ, with the loss's constant.

        With `examples` (one names dict per example, numbers substituted) the terms of every example
        are summed, so that the printed sum is the whole J of a batch."""
        net, loss = self.net, self.net.loss
        names = names or self.sym
        mul = r" \cdot " if dot else " "
        pairs = [(ex[a], ex[y]) for ex in (examples or [names]) for a, y in zip(net.a[self.L], net.y)]
        if loss.kind == "squared":
            terms = [rf"\left({y} - {a}\right)^{{2}}" if self.p.target_first else rf"\left({a} - {y}\right)^{{2}}" for a, y in pairs]
        elif loss.kind == "binary":
            terms = [rf"{y}{mul}{self.p.log} {a} + \left(1 - {y}\right){mul}{self.p.log}\left(1 - {a}\right)" for a, y in pairs]
        else:
            terms = [rf"{y}{mul}{self.p.log} {a}" for a, y in pairs]
        names = examples[0] if examples else names  # the batch's m is a number too
        per_line = 1 if loss.kind == "binary" else 3
        if examples and len(terms) > per_line:
            # A batch's sum is long: a few terms to a line of the align, in brackets that may span lines.
            if len(terms) > MAX_TERMS:
                terms = terms[:3] + [r"\cdots"] + terms[-1:]
            lines = [" + ".join(terms[i:i + per_line]) for i in range(0, len(terms), per_line)]
            body = r"\Bigl[" + r" \\ &\qquad + ".join(lines) + r"\Bigr]"
        else:
            body = join_terms(terms)
            if len(terms) > 1 or loss.kind == "binary":
                body = rf"\left[{body}\right]"
        scale = loss.scale(net.m)
        lead = "" if scale == 1 else self.pr(scale, names, dot) + " "
        return ("" if loss.kind == "squared" else "-") + lead + body

    def loss_terms(self, names: dict | None = None, dot: bool = False) -> list[str]:
        """One example's loss as a list of per-output terms (to be summed), without its constant."""
        net, loss = self.net, self.net.loss
        names = names or self.sym
        mul = r" \cdot " if dot else " "
        pairs = [(names[a], names[y]) for a, y in zip(net.a[self.L], net.y)]
        if loss.kind == "squared":  # in the order the profile writes the error, as the loss's formula does
            return [rf"\left({y} - {a}\right)^{{2}}" if self.p.target_first else rf"\left({a} - {y}\right)^{{2}}"
                    for a, y in pairs]
        if loss.kind == "binary":
            terms = [rf"{y}{mul}{self.p.log} {a} + \left(1 - {y}\right){mul}{self.p.log}\left(1 - {a}\right)" for a, y in pairs]
            return [rf"\left[{t}\right]" for t in terms] if len(terms) == 1 else terms
        return [rf"{y}{mul}{self.p.log} {a}" for a, y in pairs]

    def loss_lead(self, names: dict | None = None, dot: bool = False) -> str:
        """What multiplies the bracketed sum of `loss_terms`: the loss's constant and its sign."""
        net, loss = self.net, self.net.loss
        scale = loss.scale(net.m)
        lead = "" if scale == 1 else self.pr(scale, names or self.sym, dot) + " "
        return ("" if loss.kind == "squared" else "-") + lead

    def loss_gradient(self, j: int, names: dict | None = None, dot: bool = False) -> str:
        """∂J/∂ŷ_j: (a − y) times the loss's constant, or −(y − ŷ) in the Welch profile."""
        net, loss = self.net, self.net.loss
        names = names or self.sym
        a_sym = net.a[self.L][j]
        if loss.kind != "squared":
            return self.pr(self.d.factors[(net.J, a_sym)].value, names, dot, paren=True)
        a, y = names[a_sym], names[net.y[j]]
        c = 2 * loss.scale(net.m)
        lead = "" if c == 1 else self.pr(c, names, dot) + (r" \cdot " if dot else " ")
        if self.p.minus_y_first:
            return rf"-{lead}\left({y} - {a}\right)"
        return rf"{lead}\left({a} - {y}\right)"

    def output_chain(self, z: sp.Symbol, names: dict | None = None, dot: bool = False) -> str:
        """δ of an output unit as ∂J/∂ŷ times the activation's slope, before any cancelling."""
        succ = self.d.successors[z]
        if len(succ) != 1:  # softmax: every output depends on this z
            return self.pr(self.d.output_delta[self.d.delta[z]].chain, names, dot)
        a = succ[0]
        grad = self.loss_gradient(self.net.a[self.L].index(a), names, dot)
        slope = self.d.factors[(a, z)].value
        if slope == 1:
            return grad
        return grad + (r" \cdot " if dot else r"\, ") + self.pr(slope, names, dot, paren=True)

    def hidden_delta(self, z: sp.Symbol, names: dict | None = None, dot: bool = False) -> str:
        """δ of a hidden unit: (Σ w δ of the units it feeds) times its activation's slope."""
        names = names or self.sym
        mul = r" \cdot " if dot else r"\, "
        info = self.net.info[z]
        a = self.net.a[info.layer][info.index[0]]
        terms = [f"{self.pr(self.d.factors[(zn, a)].value, names, dot, paren=True)}{mul}{names[self.d.delta[zn]]}"
                 for zn in self.d.successors[a]]
        body = join_terms(terms)
        slope = self.d.factors[(a, z)].value
        if slope == 1:
            return body
        inner = rf"\left({body}\right)" if len(terms) > 1 else body
        return f"{inner}{mul}{self.pr(slope, names, dot, paren=True)}"

