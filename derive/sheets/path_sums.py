"""The counting section: each parameter's gradient as a sum over its chain-rule paths, how many
paths and factors that takes, and how grouping the paths makes δ appear; the fill-in-the-factor
exercise built on the same paths; and the sentence saying that path sum = δ form was proved.

A parameter with up to MAX_PATHS_SHOWN paths has them written out one by one and collected under
braces; one with more has the same collecting step written in grouped form (a sum over the units
that read its unit's activation), so the argument from paths to δ is on the page for every net.
Every sentence about which paths share which factors is built from the graph (`collecting`)."""
from __future__ import annotations

from itertools import islice

import sympy as sp

from ..engine.derivation import Derivation, Factor
from .diagram import network_diagram
from .scope import one_example, per_example
from .typeset import Typesetter, tex_width

PATH_COLOURS = ("pathblue", "pathorange", "pathgreen", "pathred", "pathviolet", "pathbrown", "pathteal", "pathmagenta")
MAX_PATHS_SHOWN = 8  # paths written out one by one for a parameter; more are collected in grouped form
MAX_PATHS_DRAWN = 4  # paths highlighted in a diagram; with more, one path per output unit (at most this many)
MAX_EXERCISE_PATHS = 12  # paths asked in the fill-in-the-factor exercise (one short line each)
MAX_EXERCISE_FACTORS = 9  # factors per path that fit one line beside a blank
MAX_UNITS_NAMED = 5  # units named in a sentence before "…"
MAX_FRACTIONS_PER_LINE = 9  # Leibniz fractions ∂u/∂v that fit across one line of the text block
MAX_FACTORS_LISTED = 11  # a longer path (a deep net) is too wide for a line: its paths are collected in grouped form


def path_counts(ts: Typesetter) -> dict[sp.Symbol, int]:
    """The number of chain-rule paths from every a and z to J, from the output layer back."""
    d, net = ts.d, ts.net
    count: dict[sp.Symbol, int] = {net.J: 1}
    for l in range(net.depth, 0, -1):
        for node in net.a[l] + net.z[l]:
            count[node] = sum(count[n] for n in d.successors[node])
    return count


def path_lengths(ts: Typesetter) -> dict[sp.Symbol, tuple[int, int]]:
    """The fewest and most factors on a path from every a and z to J (skips make them differ)."""
    d, net = ts.d, ts.net
    span: dict[sp.Symbol, tuple[int, int]] = {net.J: (0, 0)}
    for l in range(net.depth, 0, -1):
        for node in net.a[l] + net.z[l]:
            nxt = [span[n] for n in d.successors[node]]
            span[node] = (1 + min(lo for lo, _ in nxt), 1 + max(hi for _, hi in nxt))
    return span


def _first_paths(ts: Typesetter, key: str, limit: int) -> list[tuple[Factor, ...]]:
    return list(islice(ts.d.paths(key), limit))


def path_sum_lines(ts: Typesetter, key: str, coloured: bool, values: bool = False,
                   paths: list[tuple[Factor, ...]] | None = None) -> list[str]:
    """One line per path (all of them unless `paths` is given): Leibniz factors or their values."""
    paths = list(ts.d.paths(key)) if paths is None else paths
    lines = []
    for i, path in enumerate(paths):
        if values:  # a deep path's evaluated factors can run past the text block: broken between factors
            parts = ts.factor_value_parts(path)
            chunks = _packed(parts, [tex_width(t) for t in parts], MAX_EVALUATED_WIDTH)
            lines.append(r" \\ &\qquad\quad ".join(_colour(i, " ".join(c)) if coloured else " ".join(c) for c in chunks))
            continue
        body = ts.leibniz(path)
        lines.append(_colour(i, body) if coloured else body)
    return lines


# tex_width (an overestimate) of an evaluated path past which it is broken: 470 estimated points are
# about 380 printed (qbus's f(x, W) ran 22 pt past the block at 520), what is left beside ∂J/∂w and a "+"
MAX_EVALUATED_WIDTH = 470


def parameter_section(ts: Typesetter, key: str) -> dict:
    """Everything the handout shows for one representative parameter: its paths (listed, or
    collected in grouped form when there are more than MAX_PATHS_SHOWN), the diagram and δ."""
    ts = one_example(ts)
    p = ts.d.parameter(key)
    theta = ts.pname(key)
    count = ts.d.path_count[key]
    listed = count.paths <= MAX_PATHS_SHOWN and count.factors <= MAX_FACTORS_LISTED * count.paths
    paths = list(ts.d.paths(key)) if listed else []
    drawn = drawn_paths(ts, key, paths)
    delta = ts.net.delta[p.layer][p.index[0]]
    z = ts.net.z[p.layer][p.index[0]]
    source = ts.s(p.source) if p.source is not None else "1"
    shortest, longest = (n + 1 for n in path_lengths(ts)[z])  # + ∂z/∂θ
    return {
        "shortest": shortest,
        "longest": longest,
        "name": theta,
        "key": key,
        "lhs": ts.dcost(theta),
        "listed": listed,
        "leibniz": path_sum_lines(ts, key, coloured=True, paths=paths) if listed else [],
        "evaluated": path_sum_lines(ts, key, coloured=True, values=True, paths=paths) if listed else [],
        "paths": count.paths,
        "factors": count.factors,
        "colours": [c.replace("path", "") for c in PATH_COLOURS[:len(paths)]] if len(paths) > 1 else [],
        "drawn": drawn,
        "drawn_note": _drawn_note(ts, drawn, count.paths),
        "diagram": network_diagram(ts, [(c, path) for _, c, path in drawn], key),
        "factoring": collecting(ts, key, paths),
        "result": rf"{ts.dcost(theta)} = {ts.dcost(ts.s(z))}\,{ts.partial(z, p.symbol)} = {ts.s(delta)}\, {source}",
        "delta": ts.s(delta),
    }


def drawn_paths(ts: Typesetter, key: str, listed: list[tuple[Factor, ...]]) -> list[tuple[int | None, str, tuple[Factor, ...]]]:
    """The paths highlighted in the diagram as (line number in the list or None, colour, path).

    All of them when there are at most MAX_PATHS_DRAWN (more arrows would stack on one another);
    otherwise one path through each output unit, at most MAX_PATHS_DRAWN of them."""
    if listed and len(listed) <= MAX_PATHS_DRAWN:
        return [(i, PATH_COLOURS[i], path) for i, path in enumerate(listed)]
    outputs = ts.net.a[ts.L][:MAX_PATHS_DRAWN]
    out = []
    for n, a in enumerate(outputs):
        path = _path_through(ts, key, a)
        if path is None:
            continue
        i = listed.index(path) if path in listed else None
        out.append((i, PATH_COLOURS[i if i is not None else n], path))
    return out


def _path_through(ts: Typesetter, key: str, target: sp.Symbol) -> tuple[Factor, ...] | None:
    """The first path (in `Derivation.paths` order) from parameter `key` to J through `target`."""
    d = ts.d
    reaches: dict[sp.Symbol, bool] = {}

    def reach(node) -> bool:
        if node not in reaches:
            reaches[node] = node == target or (node != ts.net.J and any(reach(n) for n in d.successors[node]))
        return reaches[node]

    node, steps = d.parameter(key).symbol, []
    while node != ts.net.J:
        nxt = next((n for n in d.successors[node] if reach(n) or (node == target)), None)
        if nxt is None:
            return None
        steps.append(d.factors[(nxt, node)])
        node = nxt
    return tuple(reversed(steps))


def _drawn_note(ts: Typesetter, drawn, total: int) -> str:
    if len(drawn) == total:
        return ""
    if len(drawn) == 1:
        return f"The diagram highlights one of the {total} paths; the others leave the same first edge towards other units."
    outputs = len(ts.net.a[ts.L])
    which = "one through each output unit" if len(drawn) == outputs else f"one through each of the first {len(drawn)} output units"
    return (f"The diagram highlights {len(drawn)} of the {total} paths, {which}; "
            f"the other {total - len(drawn)} run through other units of the same layers.")


def collecting(ts: Typesetter, key: str, paths: list[tuple[Factor, ...]]) -> dict:
    """The step from the sum over paths to δ: group the paths by the unit they enter right after the
    parameter's own unit, and name each group's sum.

    `paths` holds every path when they are written out one by one (grouped by braces), and is
    empty when there are too many (the same grouping is then written as a sum over units). The
    returned `groups` says, for every unit entered next, how many paths go through it: the
    sentences are printed from these numbers, and tests compare them with the enumerated paths."""
    p = ts.d.parameter(key)
    z = ts.net.z[p.layer][p.index[0]]
    delta = ts.net.delta[p.layer][p.index[0]]
    last = ts.partial(z, p.symbol)
    counts = path_counts(ts)
    if p.layer == ts.L:
        return _collect_output(ts, z, delta, last, counts, paths)
    a = ts.net.a[p.layer][p.index[0]]
    readers = list(ts.d.successors[a])
    groups = [{"through": zk, "paths": counts[zk]} for zk in readers]
    local = ts.partial(a, z)
    shared = rf"\frac{{\partial u}}{{\partial {ts.s(a)}}}\,{local}\,{last}"
    per = _group_counts(ts, groups)
    repeat = (rf"Every path leaves ${ts.pname(key)}$ through ${ts.s(z)}$ and ${ts.s(a)}$, then enters "
              + (rf"the one unit that reads ${ts.s(a)}$, ${ts.s(readers[0])}$. " if len(readers) == 1 else
                 rf"one of the {len(readers)} units that read ${ts.s(a)}$: {_units(ts, readers)}. ")
              + rf"The paths through one such unit $u$ share their last three factors ${shared}$; their leading factors are "
              rf"exactly the paths from $u$ to ${ts.p.cost}$ ({per}), and these add up to "
              rf"$\frac{{\partial {ts.p.cost}}}{{\partial u}}$, which is the $\delta$ of $u$. ")
    lines = []
    by_unit: dict[sp.Symbol, list[int]] = {}
    for i, path in enumerate(paths):
        by_unit.setdefault(path[-3].numerator, []).append(i)
    # Width of each group's bracket in fractions: the leading factors of its paths, and ∂u/∂a.
    widths = [sum(len(paths[i]) - 3 for i in by_unit.get(zk, [])) + 1 for zk in readers]
    if paths and max(widths) <= MAX_FRACTIONS_PER_LINE:
        repeat += "Collecting the paths by the unit they enter after " + rf"${ts.s(a)}$:"
        terms = []
        for zk in readers:
            idx = by_unit[zk]
            body = " + ".join(_colour(i, ts.leibniz(paths[i][:-3])) for i in idx)
            if len(idx) > 1:
                body = rf"\left({body}\right)"
            terms.append(rf"\underbrace{{{body}}}_{{{ts.s(ts.d.delta[zk])}}} {ts.partial(zk, a)}")
        chunks = _packed(terms, widths, MAX_FRACTIONS_PER_LINE)
        for n, chunk in enumerate(chunks):
            # Brackets sized by what they hold (stacked fractions and braces); a bracket that spans
            # lines is closed with an invisible \right. on each line and sized by that line.
            lead = r"&= \left[" if n == 0 else r"&\qquad \left. + "
            tail = rf"\right]\, {local}\, {last}" if n == len(chunks) - 1 else r"\right."
            lines.append(lead + " + ".join(chunk) + tail)
    else:
        lead = ("The paths above are too long to collect under braces" if paths else
                f"Its {ts.d.path_count[key].paths} paths are too many to write out one by one")
        repeat = (rf"{lead}; write $\Sigma_{{u\to {ts.p.cost}}}$ for the sum, over the paths from a unit $u$ to ${ts.p.cost}$, "
                  "of the product of their factors. " + repeat + "Collecting the paths by that unit:")
        sums = _reader_sums(ts, a, readers)
        lines.append(r"&= \left[" + " + ".join(rf"{s}\bigl(\Sigma_{{{u} \to {ts.p.cost}}}\bigr) \frac{{\partial {u}}}{{\partial {ts.s(a)}}}"
                                              for s, u, _ in sums) + rf"\right]\, {local}\, {last}")
        lines.append(r"&= \left[" + " + ".join(rf"{s}{ts.dcost(u)}\,\frac{{\partial {u}}}{{\partial {ts.s(a)}}}"
                                              for s, u, _ in sums) + rf"\right]\, {local}\, {last}")
    inner = _delta_sum(ts, a, readers)
    lines.append(rf"&= \underbrace{{\left({inner}\right) {local}}}_{{{ts.s(delta)}}}\; {last}")
    delta_line = rf"{ts.s(delta)} = {ts.hidden_delta(z)}"
    return {"lines": lines, "repeat": repeat, "delta_line": delta_line, "groups": groups, "shared": shared}


def _collect_output(ts: Typesetter, z, delta, last: str, counts, paths) -> dict:
    outs = list(ts.d.successors[z])
    groups = [{"through": a, "paths": counts[a]} for a in outs]
    if len(outs) == 1:
        repeat = (rf"The factors before ${last}$ are the one path from ${ts.s(z)}$ to ${ts.p.cost}$: "
                  rf"${ts.dcost(ts.s(z))}$, by definition ${ts.s(delta)}$.")
    else:
        repeat = (rf"Every one of the {len(outs)} paths ends with ${last}$, and enters ${ts.p.cost}$ through a different "
                  rf"output ({_units(ts, outs)}: the softmax couples them); the factors before ${last}$ are the "
                  rf"{len(outs)} paths from ${ts.s(z)}$ to ${ts.p.cost}$, and they add up to ${ts.dcost(ts.s(z))}$, "
                  rf"which is ${ts.s(delta)}$ by definition.")
    if paths and sum(len(path) - 1 for path in paths) <= MAX_FRACTIONS_PER_LINE:
        body = " + ".join(_colour(i, ts.leibniz(path[:-1])) for i, path in enumerate(paths))
        body = rf"\left({body}\right)" if len(paths) > 1 else body
    else:
        i = "i"
        a_i = rf"{ts.names.vector('a', ts.L)}_{{{i}}}"
        body = rf"\left(\sum_{{{i}=1}}^{{{len(outs)}}} {ts.dcost(a_i)}\, \frac{{\partial {a_i}}}{{\partial {ts.s(z)}}}\right)"
    lines = [rf"&= \underbrace{{{body}}}_{{{ts.s(delta)}}} {last}"]
    return {"lines": lines, "repeat": repeat, "delta_line": "", "groups": groups, "shared": last}


def _reader_sums(ts: Typesetter, a, readers) -> list[tuple[str, str, int]]:
    """(Σ_k prefix, the unit u_k as printed, layer) for each layer whose units read `a`.

    A dense layer reads `a` with every unit, so the units of one layer are summed over k; a layer
    of one unit is written without a sum."""
    out = []
    for layer in sorted({ts.net.info[zk].layer for zk in readers}):
        units = [zk for zk in readers if ts.net.info[zk].layer == layer]
        if len(units) == 1:
            out.append(("", ts.s(units[0]), layer))
        else:
            assert len(units) == len(ts.net.z[layer]), "a dense layer reads every activation with every unit"
            out.append((rf"\sum_{{k=1}}^{{{len(units)}}} ", ts.names.unit_of('z', layer, 'k'), layer))
    return out


def _delta_sum(ts: Typesetter, a, readers) -> str:
    """Σ δ_u ∂u/∂a over the units u that read `a`: written out for a few, as Σ_k for a layer of many."""
    if len(readers) <= MAX_UNITS_NAMED:
        return " + ".join(rf"{ts.s(ts.d.delta[zk])}\, {ts.partial(zk, a)}" for zk in readers)
    parts = []
    for s, u, layer in _reader_sums(ts, a, readers):
        d = ts.s(ts.d.delta[ts.net.z[layer][0]]) if not s else ts.names.unit_of('delta', layer, 'k')
        parts.append(rf"{s}{d}\, \frac{{\partial {u}}}{{\partial {ts.s(a)}}}")
    return " + ".join(parts)


def _units(ts: Typesetter, units) -> str:
    names = [f"${ts.s(u)}$" for u in units]
    if len(names) > MAX_UNITS_NAMED:
        names = names[:3] + [r"\ldots"] + names[-1:]
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]


def _group_counts(ts: Typesetter, groups: list[dict]) -> str:
    counts = [g["paths"] for g in groups]
    if len(set(counts)) == 1:
        n = counts[0]
        each = " each" if len(groups) > 1 else ""
        return f"{n} path{'' if n == 1 else 's'}{each}"
    parts = [f"{g['paths']} from ${ts.s(g['through'])}$" for g in groups]
    if len(parts) > MAX_UNITS_NAMED:
        parts = parts[:3] + [r"\ldots"] + parts[-1:]
    return ", ".join(parts)


def _packed(terms: list[str], widths: list[int], limit: int) -> list[list[str]]:
    """Terms in lines of at most `limit` fractions (a wider term gets a line of its own)."""
    lines: list[list[str]] = []
    used = limit + 1
    for term, width in zip(terms, widths):
        if used + width > limit:
            lines.append([])
            used = 0
        lines[-1].append(term)
        used += width
    return lines


def _colour(i: int, body: str) -> str:
    return rf"\textcolor{{{PATH_COLOURS[i % len(PATH_COLOURS)]}}}{{{body}}}"


def all_sums(ts: Typesetter) -> list[dict]:
    """Every parameter's path sum, path by path (small networks only: the template checks `large`)."""
    if ts.large:
        return []
    ts = one_example(ts)
    out = []
    for p in ts.d.parameters:
        lines = path_sum_lines(ts, p.key, coloured=False)
        out.append({"lhs": ts.dcost(ts.pname(p.key)), "lines": lines, "paths": ts.d.path_count[p.key].paths})
    return out


def counts(ts: Typesetter, full: Derivation | None = None) -> dict:
    """Paths and factors per matrix and in total; from `full` (with an L2 term's direct paths) when given."""
    d = full if full is not None else ts.d
    rows = []
    for name in ts.matrices:
        pcs = [d.path_count[p.key] for p in d.parameters if p.matrix == name]
        rows.append({"name": ts.names.matrix(name), "parameters": len(pcs),
                     "paths": _span([c.paths for c in pcs]), "factors": _span([c.factors for c in pcs]),
                     "total_paths": sum(c.paths for c in pcs), "total_factors": sum(c.factors for c in pcs)})
    return {"rows": rows, "total_paths": d.total_paths, "total_factors": d.total_factors,
            "parameters": len(d.parameters), "edges": len(d.factors),
            "units": sum(ts.spec.layers[1:]), "per_example": per_example(ts)}


def chain_exercise_key(ts: Typesetter) -> str:
    """The parameter of the fill-in-the-factor exercise: the first representative (earliest layer
    first, so that δ has a recursion to give) whose paths can all be asked, else the weight with the
    fewest paths (of which the first MAX_EXERCISE_PATHS are asked, and the sheet says so)."""
    for key in ts.shown:
        count = ts.d.path_count[key]
        if count.paths <= MAX_EXERCISE_PATHS and count.factors <= MAX_EXERCISE_FACTORS * count.paths:
            return key
    weights = [p.key for p in ts.d.parameters if p.source is not None]
    return min(weights, key=lambda k: ts.d.path_count[k].paths)


def chain_exercise(ts: Typesetter, key: str | None = None) -> dict:
    """The exercise's lines (one blank per path) and the answer's lines: the same paths, so the
    blanks asked and the factors answered are the same in number and order."""
    key = key if key is not None else chain_exercise_key(ts)
    section = parameter_section(ts, key)
    ts = one_example(ts)
    paths = _first_paths(ts, key, MAX_EXERCISE_PATHS)
    count = ts.d.path_count[key]
    more = count.paths - len(paths)
    lines, answers = [], []
    blank = r"\underline{\hspace{2.2cm}}"
    for path in paths:
        hide = len(path) // 2
        parts = [ts.partial(f.numerator, f.denominator) if i != hide else blank for i, f in enumerate(path)]
        lines.append(r"\;".join(parts))
        answers.append(ts.partial(path[hide].numerator, path[hide].denominator))
    full = path_sum_lines(ts, key, coloured=True, paths=paths)
    if more:
        rest = rf"\cdots \text{{ (the other {more} path{'' if more == 1 else 's'})}}"
        lines.append(rest)
        full.append(rest)
    return {"name": ts.pname(key), "key": key, "lhs": ts.dcost(ts.pname(key)), "lines": lines, "answers": answers,
            "more": more, "paths": count.paths, "factors": count.factors, "full": full, "section": section}


def proof_sentence(proofs) -> str:
    """A few sentences (LaTeX text) saying that, and how, path sum = δ form was proved for every parameter.

    `proofs` is what `derive.proof.prove` returns: one ParameterProof per parameter, each with the
    method, the number of random points and the prime, and a bound on the chance of a missed difference.
    """
    from ..engine.proof import bits, failure_bound

    total = len(proofs)
    if total == 0:
        return ""
    methods = {p.method for p in proofs}
    points = min(p.points for p in proofs)
    prime = max(p.prime for p in proofs)
    modulus = f"2^{{{prime.bit_length()}}}-1" if prime == 2 ** prime.bit_length() - 1 else str(prime)
    if methods != {"polynomial identity test"}:
        raise ValueError(f"unknown proof method(s): {sorted(methods)}")
    every = "For the only parameter" if total == 1 else f"For every one of the {total} parameters"
    return (f"{every}, the sum over its paths equals its $\\delta$ form; this was proved without listing the paths. "
            "A sum over paths splits by the first step of the path, so the path sums were accumulated unit by unit "
            "from $J$ backwards, each local derivative used once. Both sides are polynomials in the local derivatives "
            "and the output $\\delta$'s, and each output $\\delta$ equals its chain through the loss as a rational "
            f"function; every one of these identities was tested exactly, in whole numbers modulo the prime ${modulus}$, "
            f"at {points} random points (a polynomial identity test). Had any two sides differed, all the tests "
            f"would have passed with a probability below $2^{{-{bits(failure_bound(proofs))}}}$.")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _span(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}--{hi}"
