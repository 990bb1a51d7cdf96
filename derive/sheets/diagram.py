"""The network as a TikZ picture: units in columns, every weight an edge, and optionally the paths
of one parameter highlighted in colour with the parameter's own edge drawn thick."""
from __future__ import annotations

from ..engine.derivation import Factor
from ..notation.names import Names
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
             r"edge/.style={draw=black!30,thin},skip/.style={draw=pathteal!80!black,densely dashed,thin,rounded corners=3pt},"
             r"bias/.style={draw=black!30,thin,densely dotted}]" % size]
    drawn: set[str] = set()
    pos: dict[str, tuple[float, float]] = {}
    for l, column in enumerate(units):
        for i, j in enumerate(column):
            y = ((len(column) - 1) / 2 - i) * dy
            if j is None:
                lines.append(rf"\node at ({l * dx:.2f},{y:.2f}) {{$\vdots$}};")
                continue
            drawn.add(f"(n{l}-{j})")
            pos[f"(n{l}-{j})"] = (l * dx, y)
            label = ts.names.unit("a", l, j)
            lines.append(rf"\node[unit] (n{l}-{j}) at ({l * dx:.2f},{y:.2f}) {{${label}$}};")
    top = max(y for _, y in pos.values())
    bottom = min(y for _, y in pos.values())
    # Bias units (where the profile draws them): a unit "1" above the layer whose output it joins.
    bias_units = []
    if ts.p.bias_drawn_as_unit:
        for l in range(1, ts.L + 1):
            if ts.spec.biases[l - 1]:
                node = f"(b{l - 1})"
                pos[node] = ((l - 1) * dx, top + dy)
                bias_units.append(bias_unit_label(ts, l - 1))
                lines.append(rf"\node[unit,fill=black!5] (b{l - 1}) at ({(l - 1) * dx:.2f},{top + dy:.2f}) {{${bias_units[-1]}$}};")
                for j in (j for j in units[l] if j is not None):
                    lines.append(rf"\draw[bias] {node} -- (n{l}-{j});")
        if bias_units:
            top += dy
    lines.append(rf"\node[unit,rectangle] (J) at ({(len(widths) - 1) * dx + dx * 0.8:.2f},0) {{${ts.p.cost}$}};")
    skip_level = {name: n for n, name in enumerate(n for n in ts.weight_matrices if "_" in n)}
    routes: dict[tuple[str, str], str] = {}
    for name in ts.weight_matrices:
        dst, src = Names._matrix_layers(name)
        for j in (j for j in units[dst] if j is not None):
            for k in (k for k in units[src] if k is not None):
                a, b = f"(n{src}-{k})", f"(n{dst}-{j})"
                if src == dst - 1:
                    routes[(a, b)] = f"{a} -- {b}"
                    lines.append(rf"\draw[edge] {a} -- {b};")
                else:
                    routes[(a, b)] = _arch(a, b, pos, bottom, skip_level[name], dx, dy, k, j)
                    lines.append(rf"\draw[skip] {routes[(a, b)]};")
    for j in (j for j in units[ts.L] if j is not None):
        lines.append(rf"\draw[edge] (n{ts.L}-{j}) -- (J);")
        routes[(f"(n{ts.L}-{j})", "(J)")] = f"(n{ts.L}-{j}) -- (J)"
    drawn.add("(J)")
    for i, (colour, path) in enumerate(highlight or []):
        shift = (i - (len(highlight) - 1) / 2) * 1.8  # side by side where paths share an edge
        for f in path:
            edge = _edge(ts, f)
            if edge is None or not {edge[0], edge[1]} <= drawn:
                continue
            lines.append(rf"\draw[{colour},very thick,->,rounded corners=3pt,transform canvas={{yshift={shift:.1f}pt}}] {routes[edge]};")
    legend = []
    if skip_level:
        legend.append(r"dashed: skip connections")
    if bias_units:
        legend.append(f"${'$, $'.join(bias_units)}$: bias units, always $1$")
    if legend:
        lines.append(rf"\node[font=\footnotesize,anchor=north] at ({(len(widths) - 1) * dx / 2:.2f},{bottom - 0.6 * dy - 0.3 * len(skip_level) - 0.3:.2f}) "
                     rf"{{{'; '.join(legend)}}};")
    if parameter is not None:
        p = ts.d.parameter(parameter)
        if p.source is not None:
            info = ts.net.info[p.symbol]
            j, k = p.index
            a, b = f"(n{info.source}-{k})", f"(n{p.layer}-{j})"
            route = routes.get((a, b), f"{a} -- {b}")
            label = rf"node[pos=0.35,fill=white,inner sep=1pt,font=\scriptsize] {{${ts.pname(parameter)}$}}"
            lines.append(rf"\draw[black,ultra thick,->] {route.replace(b, label + ' ' + b, 1) if ' -- ' in route else route};")
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
        return (f"(n{ts.L}-{info_d.index[0]})", "(J)")
    if info_n.kind == "z" and info_d.kind in ("a", "x"):
        src = 0 if info_d.kind == "x" else info_d.layer
        return (f"(n{src}-{info_d.index[0]})", f"(n{info_n.layer}-{info_n.index[0]})")
    return None


def _arch(a: str, b: str, pos: dict, bottom: float, level: int, dx: float, dy: float, k: int, j: int) -> str:
    """A skip edge routed around the layers it jumps: out of its unit into the gap beside it, down
    below every unit, across, and up into the gap before its target (never across a unit). Each skip
    matrix runs a little lower than the one before; the units' edges are spread across the gaps."""
    (xa, ya), (xb, yb) = pos[a], pos[b]
    low = bottom - 0.6 * dy - 0.3 * level - 0.08 * (k + j)
    ga, gb = 0.2 * dx + 0.06 * k, 0.2 * dx + 0.06 * j
    return (f"{a} -- ({xa + ga:.2f},{ya:.2f}) -- ({xa + ga:.2f},{low:.2f}) -- ({xb - gb:.2f},{low:.2f}) "
            f"-- ({xb - gb:.2f},{yb:.2f}) -- {b}")


def bias_unit_label(ts: Typesetter, l: int) -> str:
    """The bias unit of canonical layer l, as the course writes it: x_0, a^{(2)}_0."""
    if l == 0:
        return ts.p.input + "_{0}"
    sup = f"^{{({ts.names.layer(l)})}}" if ts.p.parens else f"^{{{ts.names.layer(l)}}}"
    return ts.p.activation_letter + sup + "_{0}"

