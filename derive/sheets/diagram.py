"""The network as a TikZ picture: units in columns, every weight an edge, and optionally the paths
of one parameter highlighted in colour with the parameter's own edge drawn thick."""
from __future__ import annotations

from ..derivation import Factor
from ..notation import Names
from .typeset import Typesetter

MAX_DIAGRAM_UNITS = 7  # a wider layer is drawn as a few units and a vertical ellipsis


def network_diagram(ts: Typesetter, highlight: list[tuple[str, tuple[Factor, ...]]] | None = None,
                    parameter: str | None = None) -> str:
    widths = ts.spec.layers
    touched = _touched(ts, highlight, parameter)
    units = [_units(ts, l, touched) for l in range(len(widths))]
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
            label = ts.names.unit("a", l, j)
            lines.append(rf"\node[unit] (n{l}-{j}) at ({l * dx:.2f},{y:.2f}) {{${label}$}};")
    lines.append(rf"\node[unit,rectangle] (J) at ({(len(widths) - 1) * dx + dx * 0.8:.2f},0) {{${ts.p.cost}$}};")
    for name in ts.weight_matrices:
        dst, src = Names._matrix_layers(name)
        bend = "" if src == dst - 1 else "[bend left=18]"
        for j in (j for j in units[dst] if j is not None):
            for k in (k for k in units[src] if k is not None):
                lines.append(rf"\draw[edge] (n{src}-{k}) to{bend} (n{dst}-{j});")
    for j in (j for j in units[ts.L] if j is not None):
        lines.append(rf"\draw[edge] (n{ts.L}-{j}) -- (J);")
    drawn.add("(J)")
    for i, (colour, path) in enumerate(highlight or []):
        shift = (i - (len(highlight) - 1) / 2) * 1.8  # side by side where paths share an edge
        for f in path:
            edge = _edge(ts, f)
            if edge is None or not {edge[0][0], edge[0][1]} <= drawn:
                continue
            (src, dst), bend = edge
            lines.append(rf"\draw[{colour},very thick,->,transform canvas={{yshift={shift:.1f}pt}}] {src} to{bend} {dst};")
    if parameter is not None:
        p = ts.d.parameter(parameter)
        if p.source is not None:
            info = ts.net.info[p.symbol]
            j, k = p.index
            lines.append(rf"\draw[black,ultra thick,->] (n{info.source}-{k}) -- node[pos=0.35,fill=white,inner sep=1pt,font=\scriptsize] "
                         rf"{{${ts.pname(parameter)}$}} (n{p.layer}-{j});")
    # redraw the units on top of the edges
    for l, column in enumerate(units):
        for j in (j for j in column if j is not None):
            lines.append(rf"\node[unit] at (n{l}-{j}) {{${ts.names.unit('a', l, j)}$}};")
    lines.append(r"\end{tikzpicture}")
    return "\n".join(line for line in lines if line)


def _touched(ts: Typesetter, highlight, parameter) -> set[tuple[int, int]]:
    """(layer, unit) of every unit on the highlighted paths or at the ends of the parameter."""
    out: set[tuple[int, int]] = set()
    for _, path in highlight or []:
        for f in path:
            for s in (f.numerator, f.denominator):
                info = ts.net.info[s]
                if info.kind in ("a", "z"):
                    out.add((info.layer, info.index[0]))
                elif info.kind == "x":
                    out.add((0, info.index[0]))
    if parameter is not None:
        p = ts.d.parameter(parameter)
        out.add((p.layer, p.index[0]))
        if p.source is not None:
            out.add((ts.net.info[p.symbol].source, p.index[1]))
    return out


def _units(ts: Typesetter, l: int, touched: set[tuple[int, int]]) -> list[int | None]:
    """The units of layer l drawn in the diagram; None marks a gap drawn as a vertical ellipsis.

    A wide layer keeps its first three units, its last, and any unit a highlighted path uses."""
    w = ts.spec.layers[l]
    if w <= MAX_DIAGRAM_UNITS:
        return list(range(w))
    keep = sorted({0, 1, 2, w - 1} | {j for (ll, j) in touched if ll == l})
    out: list[int | None] = []
    for i, j in enumerate(keep):
        if i and j > keep[i - 1] + 1:
            out.append(None)
        out.append(j)
    return out


def _edge(ts: Typesetter, f: Factor):
    info_n, info_d = ts.net.info[f.numerator], ts.net.info[f.denominator]
    if info_n.kind == "J":
        return (f"(n{ts.L}-{info_d.index[0]})", "(J)"), ""
    if info_n.kind == "z" and info_d.kind in ("a", "x"):
        src = 0 if info_d.kind == "x" else info_d.layer
        bend = "" if info_n.layer == src + 1 else "[bend left=18]"
        return (f"(n{src}-{info_d.index[0]})", f"(n{info_n.layer}-{info_n.index[0]})"), bend
    return None

