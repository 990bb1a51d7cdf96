"""LaTeX worksheets: a handout, an exercise sheet and a worked-answer sheet, in one notation profile.

Everything here turns the derivation (plain data) into printed pieces: LaTeX strings made by
`sympy.latex` with the profile's `symbol_names`, and small lists of them. The Jinja2 templates in
`templates/` only place these pieces on the page. Numbers on the answer sheet come from
`compute_answers` (the generated code); this module only formats them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import sympy as sp
from sympy.printing.latex import LatexPrinter

from . import activations
from .derivation import Derivation, Factor
from .notation import Names, Profile, get_profile, symbol_names, vector_names

DOCUMENTS = ("handout", "exercises", "answers")
PATH_COLOURS = ("pathblue", "pathorange", "pathgreen", "pathred", "pathviolet", "pathbrown", "pathteal", "pathmagenta")
MAX_SMALL_PATHS = 64  # above this (or MAX_SMALL_MATRIX entries in one matrix) only representatives are written out
MAX_SMALL_MATRIX = 16
MAX_PATHS_SHOWN = 8  # paths written out for one representative parameter
MAX_UNITS_LISTED = 4  # scalar equations listed per layer before "and so on"
MAX_STEP_LINES = 16
MAX_DIAGRAM_UNITS = 7  # a wider layer is drawn as a few units and a vertical ellipsis
MAX_TERMS = 5  # a longer sum is written as its first three terms, \cdots and its last term


def default_template_dir() -> Path:
    import derive

    return Path(derive.__file__).resolve().parent.parent / "templates"


# ---------------------------------------------------------------------------------------------
# Templates


_ESCAPES = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&",
    "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}",
    "|": r"\textbar{}", "\u2013": "--", "\u2014": "---", "\u2018": "`", "\u2019": "'", "\u201c": "``", "\u201d": "''",
}


def escape_latex(text: str) -> str:
    """Any user string as literal text: TeX specials escaped, characters pdflatex lacks become '?'."""
    out = []
    for ch in str(text):
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 32 or 127 <= ord(ch) < 160 or ord(ch) > 255:
            out.append("?")
        else:
            out.append(ch)
    return "".join(out)


def make_env(template_dir: Path | None = None) -> jinja2.Environment:
    folder = Path(template_dir) if template_dir is not None else default_template_dir()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        block_start_string="((*", block_end_string="*))",
        variable_start_string="(((", variable_end_string=")))",
        comment_start_string="((=", comment_end_string="=))",
        line_statement_prefix=None, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
    )
    env.filters["escape_latex"] = escape_latex
    return env


def render_worksheets(derivation: Derivation, numbers: dict | None, notation: str,
                      template_dir: Path | None = None, precision: int = 4, proofs=None) -> dict[str, str]:
    """The three documents as LaTeX text: {"handout.tex", "exercises.tex", "answers.tex"}.

    `proofs` is what `derive.proof.prove(derivation)` returns; when given, the handout's counting
    section states that the path sum equals the δ form for every parameter, and how that was checked.
    """
    context = Worksheet(derivation, numbers, get_profile(notation), precision).context()
    context["proof"] = proof_sentence(proofs) if proofs is not None else ""
    env = make_env(template_dir)
    return {f"{doc}.tex": env.get_template(f"{doc}.tex.j2").render(**context) for doc in DOCUMENTS}


# ---------------------------------------------------------------------------------------------
# Printing helpers


class _Printer(LatexPrinter):
    """SymPy's LaTeX printer, with the step function written as ReLU' (SymPy prints θ(z), which
    would read as a weight in the θ notation)."""

    def _print_Heaviside(self, expr, exp=None):
        body = rf"\operatorname{{ReLU}}'\left({self._print(expr.args[0])}\right)"
        return rf"{body}^{{{exp}}}" if exp else body

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


def _latex(expr, **settings) -> str:
    return _Printer(settings).doprint(expr)


def _sum(terms: list[str], limit: int = MAX_TERMS) -> str:
    """Terms joined by +; a long sum keeps its first three terms and its last around \\cdots."""
    if len(terms) > limit:
        terms = terms[:3] + [r"\cdots"] + terms[-1:]
    return " + ".join(terms)


def proof_sentence(proofs) -> str:
    """One sentence (LaTeX text) saying, per method, for how many parameters path sum = δ form was proved."""
    by_method: dict[str, int] = {}
    for proof in proofs:
        by_method[proof.method] = by_method.get(proof.method, 0) + 1
    total = len(proofs)
    parts = []
    if by_method.get("symbolic"):
        parts.append(f"{_count(by_method['symbolic'], 'parameter')} symbolically (the difference cancels to 0)")
    if by_method.get("numeric"):
        parts.append(f"{_count(by_method['numeric'], 'parameter')} by exact rational arithmetic at random points "
                     "(both sides are rational functions of the local derivatives)")
    checked = total - by_method.get("skipped", 0)
    if checked == 0:
        return (f"The path sums were not compared with the $\\delta$ form: all {total} exceed the proof's limit "
                "on the number of paths.")
    if checked == total:
        lead = f"For every one of the {total} parameters, the sum over its paths equals its $\\delta$ form; this was proved "
    else:
        lead = f"For {checked} of the {total} parameters, the sum over the paths equals the $\\delta$ form; this was proved "
    text = lead + " and ".join(parts) + "."
    if by_method.get("skipped"):
        n = by_method["skipped"]
        text += f" The other {n} {'has' if n == 1 else 'have'} too many paths to enumerate and {'was' if n == 1 else 'were'} not compared."
    return text


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


class _Prime(sp.Function):
    """f'(v) for display in the line-by-line derivation: args are (v,) and the name is in `name`."""

    name = "f"

    def _latex(self, printer, exp=None):
        return rf"{self.name}'\left({printer._print(self.args[0])}\right)"


def _prime_class(latex_name: str) -> type:
    return type(f"Prime_{abs(hash(latex_name)) % 10**8}", (_Prime,), {"name": latex_name})


_PRIMES = {name: _prime_class(tex) for name, tex in activations.LATEX_NAME.items()}


@dataclass(frozen=True)
class Step:
    rhs: str
    rule: str


class Worksheet:
    def __init__(self, derivation: Derivation, numbers: dict | None, profile: Profile, precision: int):
        self.d, self.numbers, self.p, self.precision = derivation, numbers, profile, precision
        self.net = derivation.network
        self.spec = self.net.spec
        self.names = Names(self.spec, profile)
        self.sym = symbol_names(self.net, profile)
        self.vec = vector_names(self.net, profile)
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
        return _latex(expr, symbol_names=names or self.sym, **kw)

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
        parts = [self._paren(f.value) for f in path]
        return r" ".join(rf"\cdot {t}" if i and f.value.is_Number else t for i, (f, t) in enumerate(zip(path, parts)))

    def _paren(self, expr: sp.Expr, names: dict | None = None) -> str:
        text = self.tex(expr, names)
        return rf"\left({text}\right)" if isinstance(expr, sp.Add) or (expr.could_extract_minus_sign()) else text

    def num(self, value: float) -> str:
        text = f"{value:.{self.precision}f}"
        if text.startswith("-") and float(text) == 0:
            text = text[1:]
        return text

    def pname(self, key: str) -> str:
        return self.names.parameter(key)

    def dcost(self, what: str) -> str:
        return rf"\frac{{\partial {self.p.cost}}}{{\partial {what}}}"

    # -- displays built from the structure, in the course's order --------------------------------
    # SymPy sorts the terms of a sum and the factors of a product canonically, which prints
    # (-a + y)^2 and w a δ (1 - a). These build the same values in the order the seeds write them;
    # `names` is the symbol_names dict (numbers instead of symbols for the worked answers, `dot`).

    def valued(self, vals: dict[sp.Symbol, float]) -> dict[sp.Symbol, str]:
        names = dict(self.sym)
        for s, v in vals.items():
            text = self.num(v) if s != self.net.m else str(int(v))
            names[s] = rf"\left({text}\right)" if text.startswith("-") else text
        return names

    def pr(self, expr: sp.Expr, names: dict | None = None, dot: bool = False, paren: bool = False) -> str:
        text = self.tex(expr, names, mul_symbol="dot" if dot else None)
        if paren and (isinstance(expr, sp.Add) or expr.could_extract_minus_sign()):
            return rf"\left({text}\right)"
        return text

    def z_rhs(self, z: sp.Symbol, names: dict | None = None, dot: bool = False) -> str:
        names = names or self.sym
        mul = r" \cdot " if dot else " "
        return _sum([names[w] if a is None else f"{names[w]}{mul}{names[a]}" for w, a in self.z_terms[z]])

    def loss_rhs(self, names: dict | None = None, dot: bool = False) -> str:
        """J for one example: ½ (y − ŷ)², −[y ln ŷ + (1 − y) ln(1 − ŷ)], −Σ y ln ŷ, with the loss's constant."""
        net, loss = self.net, self.net.loss
        names = names or self.sym
        mul = r" \cdot " if dot else " "
        pairs = [(names[a], names[y]) for a, y in zip(net.a[self.L], net.y)]
        if loss.kind == "squared":
            terms = [rf"\left({y} - {a}\right)^{{2}}" for a, y in pairs]
        elif loss.kind == "binary":
            terms = [rf"{y}{mul}\ln {a} + \left(1 - {y}\right){mul}\ln\left(1 - {a}\right)" for a, y in pairs]
        else:
            terms = [rf"{y}{mul}\ln {a}" for a, y in pairs]
        body = _sum(terms)
        if len(terms) > 1 or loss.kind == "binary":
            body = rf"\left[{body}\right]"
        scale = loss.scale(net.m)
        lead = "" if scale == 1 else self.pr(scale, names, dot) + " "
        return ("" if loss.kind == "squared" else "-") + lead + body

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
        body = _sum(terms)
        slope = self.d.factors[(a, z)].value
        if slope == 1:
            return body
        inner = rf"\left({body}\right)" if len(terms) > 1 else body
        return f"{inner}{mul}{self.pr(slope, names, dot, paren=True)}"

    # -- context -----------------------------------------------------------------------------------
    def context(self) -> dict:
        ctx = {
            "title": self.spec.title,
            "name": self.spec.name,
            "profile": self.p.name,
            "notation": self.p.description,
            "summary": self.summary(),
            "cost": self.p.cost,
            "cost_full": self.p.cost_full,
            "large": self.large,
            "diagram": self.diagram(),
            "forward": self.forward(),
            "forward_vector": self.forward_vector(),
            "loss": self.loss(),
            "shown": [self.parameter_section(k) for k in self.shown],
            "all_sums": self.all_sums(),
            "counts": self.counts(),
            "deltas": self.deltas(),
            "backward_vector": self.backward_vector(),
            "general": self.general(),
            "stepwise": self.stepwise(),
            "dimensions": self.dimensions(),
            "has_numbers": self.numbers is not None,
            "rounding": (f"Values are computed in double precision and rounded only for display to "
                         f"{self.precision} decimals."),
        }
        ctx["worked"] = self.worked() if self.numbers is not None else None
        ctx["chain_exercise"] = self.chain_exercise(self.shown[0])
        return ctx

    def summary(self) -> str:
        widths = ", ".join(str(w) for w in self.spec.layers)
        acts = sorted(set(self.spec.activations), key=self.spec.activations.index)
        act_text = ", ".join(f"${activations.LATEX_NAME[a]}$ ({a})" for a in acts)
        bias = "with biases" if all(self.spec.biases) else ("without biases" if not any(self.spec.biases) else "with biases in some layers")
        skips = ""
        if self.spec.skips:
            skips = "; skip connections " + ", ".join(
                f"${self.names.matrix(s.name)}$ from layer {self.names.layer(s.src)} to layer {self.names.layer(s.dst)}"
                for s in self.spec.skips)
        loss = self.net.loss
        return (f"Layer widths {widths} (input first), activation {act_text}, {bias}{skips}; "
                f"loss {loss.name.replace('_', ' ')}: ${self.p.cost_full} = {loss.formula}$.")

    # -- diagram ---------------------------------------------------------------------------------
    def diagram(self, highlight: list[tuple[str, tuple[Factor, ...]]] | None = None, parameter: str | None = None) -> str:
        widths = self.spec.layers
        touched = self._touched(highlight, parameter)
        units = [self._diagram_units(l, touched) for l in range(len(widths))]
        tallest = max(len(u) for u in units)
        dy = min(1.25, 8.0 / max(tallest - 1, 1))
        size = min(9.0, dy * 10 * 0.75)
        dx = 2.5 if len(widths) <= 4 else max(1.4, 10.0 / len(widths))
        lines = [r"\begin{tikzpicture}[unit/.style={circle,draw,fill=white,minimum size=%.1fmm,inner sep=0.5pt,font=\footnotesize},"
                 r"edge/.style={draw=black!30,thin}]" % size]
        drawn: set[str] = set()
        for l, column in enumerate(units):
            for i, j in enumerate(column):
                y = ((len(column) - 1) / 2 - i) * dy
                if j is None:
                    lines.append(rf"\node at ({l * dx:.2f},{y:.2f}) {{$\vdots$}};")
                    continue
                drawn.add(f"(n{l}-{j})")
                label = self.names.unit("a", l, j)
                lines.append(rf"\node[unit] (n{l}-{j}) at ({l * dx:.2f},{y:.2f}) {{${label}$}};")
        lines.append(rf"\node[unit,rectangle] (J) at ({(len(widths) - 1) * dx + dx * 0.8:.2f},0) {{${self.p.cost}$}};")
        for name in self.weight_matrices:
            dst, src = Names._matrix_layers(name)
            bend = "" if src == dst - 1 else "[bend left=18]"
            for j in (j for j in units[dst] if j is not None):
                for k in (k for k in units[src] if k is not None):
                    lines.append(rf"\draw[edge] (n{src}-{k}) to{bend} (n{dst}-{j});")
        for j in (j for j in units[self.L] if j is not None):
            lines.append(rf"\draw[edge] (n{self.L}-{j}) -- (J);")
        drawn.add("(J)")
        for i, (colour, path) in enumerate(highlight or []):
            shift = (i - (len(highlight) - 1) / 2) * 1.3
            for f in path:
                edge = self._diagram_edge(f)
                if edge is None or not {edge[0][0], edge[0][1]} <= drawn:
                    continue
                (src, dst), bend = edge
                lines.append(rf"\draw[{colour},very thick,->,transform canvas={{yshift={shift:.1f}pt}}] {src} to{bend} {dst};")
        if parameter is not None:
            p = self.d.parameter(parameter)
            if p.source is not None:
                info = self.net.info[p.symbol]
                j, k = p.index
                lines.append(rf"\draw[black,ultra thick,->] (n{info.source}-{k}) -- node[pos=0.35,fill=white,inner sep=1pt,font=\scriptsize] "
                             rf"{{${self.pname(parameter)}$}} (n{p.layer}-{j});")
        # redraw the units on top of the edges
        for l, column in enumerate(units):
            for j in (j for j in column if j is not None):
                lines.append(rf"\node[unit] at (n{l}-{j}) {{${self.names.unit('a', l, j)}$}};")
        lines.append(r"\end{tikzpicture}")
        return "\n".join(line for line in lines if line)

    def _touched(self, highlight, parameter) -> set[tuple[int, int]]:
        """(layer, unit) of every unit on the highlighted paths or at the ends of the parameter."""
        out: set[tuple[int, int]] = set()
        for _, path in highlight or []:
            for f in path:
                for s in (f.numerator, f.denominator):
                    info = self.net.info[s]
                    if info.kind in ("a", "z"):
                        out.add((info.layer, info.index[0]))
                    elif info.kind == "x":
                        out.add((0, info.index[0]))
        if parameter is not None:
            p = self.d.parameter(parameter)
            out.add((p.layer, p.index[0]))
            if p.source is not None:
                out.add((self.net.info[p.symbol].source, p.index[1]))
        return out

    def _diagram_units(self, l: int, touched: set[tuple[int, int]]) -> list[int | None]:
        """The units of layer l drawn in the diagram; None marks a gap drawn as a vertical ellipsis.

        A wide layer keeps its first three units, its last, and any unit a highlighted path uses."""
        w = self.spec.layers[l]
        if w <= MAX_DIAGRAM_UNITS:
            return list(range(w))
        keep = sorted({0, 1, 2, w - 1} | {j for (ll, j) in touched if ll == l})
        out: list[int | None] = []
        for i, j in enumerate(keep):
            if i and j > keep[i - 1] + 1:
                out.append(None)
            out.append(j)
        return out

    def _diagram_edge(self, f: Factor):
        info_n, info_d = self.net.info[f.numerator], self.net.info[f.denominator]
        if info_n.kind == "J":
            return (f"(n{self.L}-{info_d.index[0]})", "(J)"), ""
        if info_n.kind == "z" and info_d.kind in ("a", "x"):
            src = 0 if info_d.kind == "x" else info_d.layer
            bend = "" if info_n.layer == src + 1 else "[bend left=18]"
            return (f"(n{src}-{info_d.index[0]})", f"(n{info_n.layer}-{info_n.index[0]})"), bend
        return None

    # -- forward pass ------------------------------------------------------------------------------
    def _listed(self, items: list) -> tuple[list, int]:
        return items[:MAX_UNITS_LISTED], max(0, len(items) - MAX_UNITS_LISTED)

    def forward(self) -> list[dict]:
        layers = []
        for l in range(1, self.L + 1):
            zs, more = self._listed(list(self.net.z[l]))
            eqs = []
            for z in zs:
                eqs.append(rf"{self.s(z)} &= {self.z_rhs(z)}")
            act = self.net.activation(l)
            for z, a in zip(zs, self.net.a[l]):
                rhs = self.tex(activations.apply(act, z)) if act != "softmax" else self.tex(self.net.a_expr[a])
                eqs.append(rf"{self.s(a)} &= {rhs}")
            layers.append({"layer": self.names.layer(l), "equations": eqs, "more": more})
        return layers

    def _act_vector(self, l: int, arg: str) -> str:
        act = self.net.activation(l)
        return rf"{activations.LATEX_NAME[act]}\left({arg}\right)"

    def forward_vector(self) -> list[str]:
        n, eqs = self.names, []
        for l in range(1, self.L + 1):
            terms = []
            for src in self.spec.sources_of(l):
                M = n.matrix(self.spec.weight_name(l, src))
                a = n.vector("a", src)
                terms.append(f"{M} {a}" if self.p.columns else f"{a} {M}")
            if self.spec.biases[l - 1]:
                b = n.matrix(f"b{l}")
                terms.append(b if self.p.columns else rf"\mathbf{{1}}_m {b}")
            shape = self._vshape(l)
            eqs.append(rf"{n.vector('z', l)} &= {' + '.join(terms)} && {shape}")
            eqs.append(rf"{n.vector('a', l)} &= {self._act_vector(l, n.vector('z', l))} && {shape}")
        return eqs

    def _vshape(self, l: int) -> str:
        w = self.spec.layers[l]
        return rf"{w}\times 1" if self.p.columns else rf"m\times {w}"

    def loss(self) -> dict:
        y_hat = [self.s(a) for a in self.net.a[self.L]]
        return {"scalar": rf"{self.p.cost} = {self.loss_rhs()}",
                "general": rf"{self.p.cost_full} = {self.net.loss.formula}",
                "outputs": ", ".join(f"${v}$" for v in y_hat)}

    # -- paths -------------------------------------------------------------------------------------
    def _paths(self, key: str, limit: int | None = None) -> tuple[list[tuple[Factor, ...]], int]:
        paths = []
        total = self.d.path_count[key].paths
        for path in self.d.paths(key):
            if limit is not None and len(paths) >= limit:
                break
            paths.append(path)
        return paths, total - len(paths)

    def path_sum_lines(self, key: str, coloured: bool, values: bool = False) -> list[str]:
        paths, more = self._paths(key, MAX_PATHS_SHOWN if (self.large or coloured) else None)
        lines = []
        for i, path in enumerate(paths):
            body = self.factor_values(path) if values else self.leibniz(path)
            if coloured:
                body = rf"\textcolor{{{PATH_COLOURS[i % len(PATH_COLOURS)]}}}{{{body}}}"
            lines.append(body)
        if more:
            lines.append(rf"\cdots \text{{ ({more} more paths)}}")
        return lines

    def parameter_section(self, key: str) -> dict:
        p = self.d.parameter(key)
        theta = self.pname(key)
        paths, more = self._paths(key, MAX_PATHS_SHOWN)
        colours = [PATH_COLOURS[i % len(PATH_COLOURS)] for i in range(len(paths))]
        count = self.d.path_count[key]
        delta = self.net.delta[p.layer][p.index[0]]
        z = self.net.z[p.layer][p.index[0]]
        source = self.s(p.source) if p.source is not None else "1"
        return {
            "name": theta,
            "key": key,
            "lhs": self.dcost(theta),
            "leibniz": self.path_sum_lines(key, coloured=True),
            "evaluated": self.path_sum_lines(key, coloured=True, values=True),
            "paths": count.paths,
            "factors": count.factors,
            "colours": [c.replace("path", "") for c in colours],
            "diagram": self.diagram(list(zip(colours, paths)), key) if len(paths) <= len(PATH_COLOURS) else None,
            "factoring": self.factoring(key, paths, more),
            "result": rf"{self.dcost(theta)} = {self.dcost(self.s(z))}\,{self.partial(z, p.symbol)} = {self.s(delta)}\, {source}",
            "delta": self.s(delta),
        }

    def factoring(self, key: str, paths: list[tuple[Factor, ...]], more: int) -> dict:
        """Group the paths by the unit they pass through just after the parameter's unit: δ appears."""
        p = self.d.parameter(key)
        z = self.net.z[p.layer][p.index[0]]
        delta = self.net.delta[p.layer][p.index[0]]
        last = self.partial(z, p.symbol)
        lines = []
        if more:
            return {"lines": [], "repeat": "", "delta_line": ""}
        if p.layer == self.L:
            # every path is (∂J/∂a)(∂a/∂z) then ∂z/∂θ: the prefix sum is δ itself
            body = " + ".join(self._colour(i, self.leibniz(path[:-1])) for i, path in enumerate(paths))
            lines.append(rf"&= \underbrace{{\left({body}\right)}}_{{{self.s(delta)}}} {last}")
            repeat = (rf"The factors before ${last}$ are ${self.dcost(self.s(z))}$: "
                      rf"by definition, ${self.s(delta)}$.")
            return {"lines": lines, "repeat": repeat, "delta_line": ""}
        a = self.net.a[p.layer][p.index[0]]
        groups: dict[sp.Symbol, list[int]] = {}
        for i, path in enumerate(paths):
            groups.setdefault(path[-3].numerator, []).append(i)
        local = self.partial(a, z)
        terms = []
        for znext, idx in groups.items():
            body = " + ".join(self._colour(i, self.leibniz(paths[i][:-3])) for i in idx)
            terms.append(rf"\underbrace{{\left({body}\right)}}_{{{self.s(self.d.delta[znext])}}} {self.partial(znext, a)}")
        chunks = _chunk(terms, 2)
        for n, chunk in enumerate(chunks):
            lead = "&= \\Big[" if n == 0 else "&\\qquad + "
            tail = rf"\Big]\, {local}\, {last}" if n == len(chunks) - 1 else ""
            lines.append(lead + " + ".join(chunk) + tail)
        inner = " + ".join(rf"{self.s(self.d.delta[zn])}\, {self.partial(zn, a)}" for zn in groups)
        lines.append(rf"&= \underbrace{{\left({inner}\right) {local}}}_{{{self.s(delta)}}}\; {last}")
        first = paths[0][:-3]
        repeat = (rf"Look at the leading factors: ${self.leibniz(first)}$ starts every path through "
                  rf"${self.s(first[-1].denominator)}$; together they are "
                  rf"${self.dcost(self.s(first[-1].denominator))} = {self.s(self.d.delta[first[-1].denominator])}$. "
                  "Collecting the paths by the unit they pass through next gives:")
        delta_line = rf"{self.s(delta)} = {self.hidden_delta(z)}"
        return {"lines": lines, "repeat": repeat, "delta_line": delta_line}

    def _colour(self, i: int, body: str) -> str:
        return rf"\textcolor{{{PATH_COLOURS[i % len(PATH_COLOURS)]}}}{{{body}}}"

    def all_sums(self) -> list[dict]:
        keys = self.shown if self.large else [p.key for p in self.d.parameters]
        out = []
        for key in keys:
            lines = self.path_sum_lines(key, coloured=False)
            out.append({"lhs": self.dcost(self.pname(key)), "lines": lines, "paths": self.d.path_count[key].paths})
        return out

    def counts(self) -> dict:
        rows = []
        for name in self.matrices:
            pcs = [self.d.path_count[p.key] for p in self.d.parameters if p.matrix == name]
            rows.append({"name": self.names.matrix(name), "parameters": len(pcs),
                         "paths": _span([c.paths for c in pcs]), "factors": _span([c.factors for c in pcs]),
                         "total_paths": sum(c.paths for c in pcs), "total_factors": sum(c.factors for c in pcs)})
        return {"rows": rows, "total_paths": self.d.total_paths, "total_factors": self.d.total_factors,
                "parameters": len(self.d.parameters), "edges": len(self.d.factors),
                "units": sum(self.spec.layers[1:])}

    # -- δ -----------------------------------------------------------------------------------------
    def deltas(self) -> dict:
        out_lines = []
        L = self.L
        zs, more_out = self._listed(list(self.net.z[L]))
        for z in zs:
            d = self.d.delta[z]
            od = self.d.output_delta[d]
            chain = _sum([rf"{self.partial(self.net.J, f)}\,{self.partial(f, z)}" for f in self.d.successors[z]])
            line = rf"{self.s(d)} &= {self.dcost(self.s(z))} = {chain} = {self.output_chain(z)}"
            if od.simplified:
                line += rf" \\ &= {self.tex(od.value)}"
            out_lines.append(line)
        hidden = []
        for l in range(L - 1, 0, -1):
            zs, more = self._listed(list(self.net.z[l]))
            eqs = []
            for z in zs:
                d = self.d.delta[z]
                a = self.net.a[l][self.net.z[l].index(z)]
                succ = self.d.successors[a]
                inner = _sum([rf"{self.partial(zn, a)}\,{self.s(self.d.delta[zn])}" for zn in succ])
                inner = rf"\left({inner}\right)" if len(succ) > 1 else inner
                gap = r" \\ &" if len(succ) > 2 else " "
                eqs.append(rf"{self.s(d)} &= {inner} {self.partial(a, z)}{gap}= {self.hidden_delta(z)}")
            hidden.append({"layer": self.names.layer(l), "equations": eqs, "more": more})
        notes = []
        if any(od.simplified for od in self.d.output_delta.values()):
            notes.append("The output $\\delta$ simplifies: the derivative of the activation cancels against the loss.")
        if any(od.used_target_sum for od in self.d.output_delta.values()):
            notes.append("The simplification uses that the targets are one-hot (they sum to 1).")
        return {"output": out_lines, "output_more": more_out, "hidden": hidden, "notes": notes,
                "definition": (rf"\delta_j^{{(l)}} := {self.dcost('z_j^{(l)}')}" if self.p.parens
                               else rf"\delta_j^{{l}} := {self.dcost('z_j^{l}')}")}

    def _output_delta_vector(self) -> str:
        """δ of the output layer as an element-wise vector/matrix formula."""
        n, L = self.names, self.L
        a0, y0, z0 = self.net.a[L][0], self.net.y[0], self.net.z[L][0]
        act = self.net.activation(L)
        od = self.d.output_delta[self.d.delta[z0]]
        had = rf" {self.p.hadamard} "
        if act == "softmax" or od.simplified:
            if od.value.free_symbols <= {a0, y0, z0, self.net.m}:
                return self.tex(od.value, self.vec, mul_symbol=had)
            return rf"\left(\frac{{\partial {n.vector('a', L)}}}{{\partial {n.vector('z', L)}}}\right)^T \nabla_{{{n.vector('a', L)}}}{self.p.cost}"
        grad = sp.diff(self.net.loss_expr, a0)
        if self.net.loss.kind == "squared":
            grad_tex = self.loss_gradient(0, self.vec)
        else:
            grad_tex = self._paren(grad, self.vec) if isinstance(grad, sp.Add) else self.tex(grad, self.vec, mul_symbol=had)
        return rf"{grad_tex}{had}{self.p.activation}'\left({n.vector('z', L)}\right)"

    def backward_vector(self) -> dict:
        n, L, had = self.names, self.L, rf" {self.p.hadamard} "
        lines = []
        lines.append(rf"{n.vector('delta', L)} &= {self._output_delta_vector()} && {self._vshape(L)}")
        for l in range(L - 1, 0, -1):
            terms = []
            for dst in range(l + 1, L + 1):
                if l in self.spec.sources_of(dst):
                    M = n.matrix(self.spec.weight_name(dst, l))
                    d = n.vector("delta", dst)
                    terms.append(rf"\left({M}\right)^T {d}" if self.p.columns else rf"{d} \left({M}\right)^T")
            lines.append(rf"{n.vector('delta', l)} &= \left({' + '.join(terms)}\right){had}{self.p.activation}'\left({n.vector('z', l)}\right) && {self._vshape(l)}")
        grads = []
        for name in self.matrices:
            shape = n.matrix_shape(name)
            if name.startswith("b"):
                l = int(name[1:])
                rhs = n.vector("delta", l) if self.p.columns else rf"\mathbf{{1}}_m^T {n.vector('delta', l)}"
            else:
                dst, src = Names._matrix_layers(name)
                a, d = n.vector("a", src), n.vector("delta", dst)
                rhs = rf"{d} \left({a}\right)^T" if self.p.columns else rf"\left({a}\right)^T {d}"
            grads.append(rf"{self.dcost(n.matrix(name))} &= {rhs} && {shape[0]}\times {shape[1]}")
        slopes = []
        for l in range(1, L + 1):
            act = self.net.activation(l)
            if act == "softmax":
                continue
            a0, z0 = self.net.a[l][0], self.net.z[l][0]
            slope = self.tex(activations.derivative_from_output(act, a0, z0), self.vec, mul_symbol=had)
            slopes.append(rf"{self.p.activation}'\left({n.vector('z', l)}\right) = {slope}")
        shapes_text = ("one example, column vectors" if self.p.columns else "$m$ examples, one per row")
        return {"lines": lines, "gradients": grads, "slopes": slopes, "shapes": shapes_text,
                "activation": self.p.activation}

    def general(self) -> dict:
        rules = []
        for name in self.matrices:
            M = self.names.matrix(name)
            if name.startswith("b"):
                l = int(name[1:])
                rules.append(rf"{self.dcost(M + '_{i}' if self.p.bias_letter else M.replace('_{0}', '') + '_{i0}')} = {self.names.vector('delta', l)}_i")
                continue
            dst, src = Names._matrix_layers(name)
            d, a = self.names.vector("delta", dst), self.names.vector("a", src)
            if self.p.columns:
                rules.append(rf"{self.dcost(M + '_{ij}')} = {d}_i\, {a}_j")
            else:
                rules.append(rf"{self.dcost(M + '_{ki}')} = {a}_k\, {d}_i")
        every = []
        if not self.large:
            for p in self.d.parameters:
                every.append(rf"{self.dcost(self.pname(p.key))} &= {self.tex(self.d.gradient[p.key])}")
        rows = [r",\qquad ".join(chunk) for chunk in _chunk(rules, 2)]
        return {"rules": rules, "rule_rows": rows, "every": _chunk(every, 2)}

    # -- one gradient, one rule per line ---------------------------------------------------------
    def stepwise(self) -> dict | None:
        layer1 = [p for p in self.d.parameters if p.layer == 1 and p.source is not None]
        candidates = sorted(layer1, key=lambda p: (self.d.path_count[p.key].factors, self.d.parameters.index(p)))[:1]
        last = [p for p in self.d.parameters if p.layer == self.L and p.source is not None][:1]
        for p in candidates + last:
            steps = _Stepper(self, p).run()
            if steps is not None:
                return {"name": self.pname(p.key), "lhs": self.dcost(self.pname(p.key)), "steps": steps,
                        "first_layer": p.layer == 1}
        return None

    # -- exercises and answers ------------------------------------------------------------------
    def dimensions(self) -> list[dict]:
        rows = []
        for name in self.matrices:
            r, c = self.names.matrix_shape(name)
            rows.append({"name": self.names.matrix(name), "gradient": self.dcost(self.names.matrix(name)),
                         "rows": r, "cols": c})
        return rows

    def chain_exercise(self, key: str) -> dict:
        paths, more = self._paths(key, MAX_PATHS_SHOWN)
        lines, answers = [], []
        blank = r"\underline{\hspace{2.2cm}}"
        for path in paths:
            hide = len(path) // 2
            parts = [self.partial(f.numerator, f.denominator) if i != hide else blank for i, f in enumerate(path)]
            lines.append(r"\;".join(parts))
            answers.append(self.partial(path[hide].numerator, path[hide].denominator))
        count = self.d.path_count[key]
        return {"name": self.pname(key), "lhs": self.dcost(self.pname(key)), "lines": lines, "answers": answers,
                "more": more, "paths": count.paths, "factors": count.factors,
                "full": self.path_sum_lines(key, coloured=True)}

    def _example_values(self, e: int = 0) -> dict[sp.Symbol, float]:
        nb, net = self.numbers, self.net
        vals: dict[sp.Symbol, float] = {net.m: float(nb["examples"])}
        for k, x in enumerate(net.x):
            vals[x] = nb["inputs"]["x"][e][k]
        for j, y in enumerate(net.y):
            vals[y] = nb["inputs"]["y"][e][j]
        for p in self.d.parameters:
            arr = nb["parameters"][p.matrix]
            vals[p.symbol] = arr[p.index[0]][p.index[1]] if len(p.index) == 2 else arr[p.index[0]]
        for l in range(1, self.L + 1):
            for j in range(self.spec.layers[l]):
                vals[net.z[l][j]] = nb["forward"][f"z{l}"][e][j]
                vals[net.a[l][j]] = nb["forward"][f"a{l}"][e][j]
                vals[net.delta[l][j]] = nb["delta"][f"delta{l}"][e][j]
        return vals

    def substituted(self, expr: sp.Expr, vals: dict[sp.Symbol, float]) -> str:
        names = {}
        for s in expr.free_symbols:
            if s in vals:
                text = self.num(vals[s]) if s != self.net.m else str(int(vals[s]))
                names[s] = rf"\left({text}\right)" if text.startswith("-") else text
        return _latex(expr, symbol_names={**self.sym, **names}, mul_symbol="dot")

    def matrix_tex(self, name: str, arr) -> str:
        rows = [list(r) for r in arr] if isinstance(arr[0], list) else [[v] for v in arr]
        if len(self.spec.parameter_shapes()[name]) == 1 and not self.p.columns:
            rows = [[r[0] for r in rows]]
        elif len(self.spec.parameter_shapes()[name]) == 2 and not self.p.columns:
            rows = [list(c) for c in zip(*rows)]
        if max(len(r) for r in rows) > 8:
            return ""
        body = r" \\ ".join(" & ".join(self.num(v) for v in r) for r in rows)
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"

    @staticmethod
    def _line(lhs: str, formula: str, subs: str, value: str) -> str:
        if len(formula) + len(subs) > 110:
            return rf"{lhs} &= {formula} \\ &= {subs} = {value}"
        return rf"{lhs} &= {formula} = {subs} = {value}"

    def worked(self) -> dict:
        nb, net = self.numbers, self.net
        vals = self._example_values(0)
        valued = self.valued(vals)
        forward = []
        for l in range(1, self.L + 1):
            eqs = []
            zs, more = self._listed(list(net.z[l]))
            act = net.activation(l)
            for z in zs:
                eqs.append(self._line(self.s(z), self.z_rhs(z), self.z_rhs(z, valued, dot=True), self.num(vals[z])))
            for z, a in zip(zs, net.a[l]):
                f = activations.apply(act, z) if act != "softmax" else net.a_expr[a]
                eqs.append(self._line(self.s(a), self.tex(f), self.substituted(f, vals), self.num(vals[a])))
            forward.append({"layer": self.names.layer(l), "equations": eqs, "more": more})
        loss = self._line(self.p.cost, self.loss_rhs(), self.loss_rhs(valued, dot=True), self.num(nb["loss"]))
        deltas = []
        for l in range(self.L, 0, -1):
            zs, more = self._listed(list(net.z[l]))
            eqs = []
            for z in zs:
                d = self.d.delta[z]
                if l < self.L:
                    formula, subs = self.hidden_delta(z), self.hidden_delta(z, valued, dot=True)
                elif self.d.output_delta[d].simplified:
                    expr = self.d.delta_expr[d]
                    formula, subs = self.tex(expr), self.substituted(expr, vals)
                else:
                    formula, subs = self.output_chain(z), self.output_chain(z, valued, dot=True)
                end = r" \\ &= " if len(subs) > 140 else " = "  # a long substitution gets the value on its own line
                eqs.append(rf"{self.s(d)} &= {formula} \\ &= {subs}{end}{self.num(vals[d])}")
            deltas.append({"layer": self.names.layer(l), "equations": eqs, "more": more})
        grads = []
        rate = nb.get("learning_rate")
        for name in self.matrices:
            params = [p for p in self.d.parameters if p.matrix == name]
            listed, more = params[:MAX_UNITS_LISTED], max(0, len(params) - MAX_UNITS_LISTED)
            eqs = []
            for p in listed:
                g = self.d.gradient[p.key]
                total = nb["gradients"][name][p.index[0]][p.index[1]] if len(p.index) == 2 else nb["gradients"][name][p.index[0]]
                eqs.append(self._line(self.dcost(self.pname(p.key)), self.tex(g), self.substituted(g, vals), self.num(total)))
            upd = []
            if rate is not None:
                for p in listed:
                    old = vals[p.symbol]
                    g = nb["gradients"][name][p.index[0]][p.index[1]] if len(p.index) == 2 else nb["gradients"][name][p.index[0]]
                    new = nb["updated"][name][p.index[0]][p.index[1]] if len(p.index) == 2 else nb["updated"][name][p.index[0]]
                    upd.append(rf"{self.pname(p.key)} &\leftarrow {self.pname(p.key)} - \eta\, {self.dcost(self.pname(p.key))} "
                               rf"= {self.num(old)} - {self.num(rate)} \cdot {_pn(self.num(g))} = {self.num(new)}")
            grads.append({"name": self.names.matrix(name), "equations": eqs, "more": more,
                          "matrix": self.matrix_tex(name, nb["gradients"][name]),
                          "updated": upd, "updated_matrix": self.matrix_tex(name, nb["updated"][name]) if rate is not None else "",
                          "lhs": self.dcost(self.names.matrix(name)),
                          "given": self.matrix_tex(name, nb["parameters"][name])})
        given, row, width = [], [], 0
        for g in grads:  # the given matrices, a few to a row so that a row fits the page
            if not g["given"]:
                continue
            cols = max(self.names.matrix_shape(n)[1] for n in self.matrices if self.names.matrix(n) == g["name"])
            if row and width + cols + 1 > 8:
                given.append(r",\qquad ".join(row))
                row, width = [], 0
            row.append(f"{g['name']} = {g['given']}")
            width += cols + 1  # the name and the gap count about one column
        if row:
            given.append(r",\qquad ".join(row))
        return {"forward": forward, "loss": loss, "deltas": deltas, "gradients": grads, "given": given,
                "examples": nb["examples"], "rate": self.num(rate) if rate is not None else None,
                "inputs": self._inputs_tex(vals)}

    def _inputs_tex(self, vals) -> str:
        parts = [f"${self.s(x)} = {self.num(vals[x])}$" for x in self.net.x]
        parts += [f"${self.s(y)} = {self.num(vals[y])}$" for y in self.net.y]
        return ", ".join(parts)


class _Stepper:
    """One gradient derived by differentiating the nested loss, one rule per line (seed 001 style)."""

    def __init__(self, ws: Worksheet, param):
        self.ws, self.p = ws, param
        self.theta = param.symbol

    def expression(self) -> sp.Expr:
        net, d = self.ws.net, self.ws.d
        reach, stack = set(), [self.theta]
        while stack:
            node = stack.pop()
            for nxt in d.successors.get(node, ()):
                if nxt not in reach:
                    reach.add(nxt)
                    stack.append(nxt)
        # Units the parameter reaches are written as f(z); each z is expanded only when it is
        # differentiated ("definition of z"), which keeps every line short.
        self.reach = reach
        self.subs = {a: net.a_expr[a] for l in range(1, net.depth + 1) for a in net.a[l] if a in reach}
        return net.loss_expr.xreplace(self.subs)

    def run(self) -> list[Step] | None:
        expr = self.expression()
        ws = self.ws
        if len(ws.tex(expr)) > 500 or ws.net.activation(ws.L) == "softmax":
            return None
        # a term is (coefficient, [factors], pending expression or None)
        terms = [(sp.Integer(1), [], expr)]
        steps = [Step(self.show(terms), "")]
        while any(t[2] is not None for t in terms):
            if len(steps) > MAX_STEP_LINES:
                return None
            i = next(i for i, t in enumerate(terms) if t[2] is not None)
            result = self.rule(*terms[i])
            if result is None:
                return None
            new, rule = result
            terms = terms[:i] + new + terms[i + 1:]
            steps.append(Step(self.show(terms), rule))
        return steps

    def rule(self, coeff, factors, u):
        theta = self.theta
        net = self.ws.net
        if isinstance(u, sp.Symbol) and u in self.reach and u in net.z_expr:
            return [(coeff, factors, net.z_expr[u].xreplace(self.subs))], rf"definition of ${self.ws.s(u)}$"
        if u == theta:
            return [(coeff, factors, None)], rf"$\partial {self.ws.pname(self.p.key)}/\partial {self.ws.pname(self.p.key)} = 1$"
        if isinstance(u, sp.Add):
            parts = [t for t in u.args if self.depends(t)]
            rule = "sum rule; constants drop out" if len(parts) < len(u.args) else "sum rule"
            return [(coeff, factors, t) for t in parts], rule
        if isinstance(u, sp.Mul):
            const = sp.Mul(*[t for t in u.args if not self.depends(t)])
            rest = [t for t in u.args if self.depends(t)]
            if len(rest) != 1:
                return None
            c, f = const.as_coeff_Mul()
            fs = factors + ([f] if f != 1 else [])
            return [(coeff * c, fs, rest[0])], "constant factor"
        if isinstance(u, sp.Pow) and not self.depends(u.exp):
            n, base = u.exp, u.base
            c = n
            f = base ** (n - 1)
            fs = factors + ([f] if f != 1 else [])
            return [(coeff * c, fs, base)], "power rule, chain rule"
        if isinstance(u, activations.Sigmoid):
            return [(coeff, factors + [_PRIMES["sigmoid"](u.args[0])], u.args[0])], r"derivative of $\sigma$, chain rule"
        if isinstance(u, sp.tanh):
            return [(coeff, factors + [_PRIMES["tanh"](u.args[0])], u.args[0])], r"derivative of $\tanh$, chain rule"
        if isinstance(u, activations.ReLU):
            return [(coeff, factors + [_PRIMES["relu"](u.args[0])], u.args[0])], "derivative of ReLU, chain rule"
        if isinstance(u, sp.log):
            return [(coeff, factors + [1 / u.args[0]], u.args[0])], r"derivative of $\ln$, chain rule"
        if isinstance(u, sp.exp):
            return [(coeff, factors + [u], u.args[0])], r"derivative of $e^x$, chain rule"
        return None

    def depends(self, expr: sp.Expr) -> bool:
        return bool(expr.free_symbols & (self.reach | {self.theta}))

    def show(self, terms) -> str:
        ws = self.ws
        theta = ws.pname(self.p.key)
        parts = []
        for coeff, factors, pending in terms:
            pieces = [ws._paren(f) for f in factors]
            if pending is not None:
                pieces.append(rf"\frac{{\partial}}{{\partial {theta}}}\left[{ws.sum_tex(pending)}\right]")
            body = r" ".join(pieces) or "1"
            c = coeff
            sign = "-" if c < 0 else "+"
            c = abs(c)
            if c != 1:
                body = ws.tex(c) + " " + body
            parts.append((sign, body))
        out = []
        for n, (sign, body) in enumerate(parts):
            if n == 0:
                out.append(("-" if sign == "-" else "") + body)
            else:
                out.append(rf"\\ &\qquad {sign} {body}")
        return " ".join(out)


def _chunk(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _span(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}--{hi}"


def _size(shape: tuple[int, ...]) -> int:
    out = 1
    for s in shape:
        out *= s
    return out


def _pn(text: str) -> str:
    return rf"\left({text}\right)" if text.startswith("-") else text
