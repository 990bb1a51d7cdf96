"""The counting section: each parameter's gradient as a sum over its chain-rule paths, how many
paths and factors that takes, and how grouping the paths makes δ appear; the fill-in-the-factor
exercise built on the same paths; and the sentence saying that path sum = δ form was proved."""
from __future__ import annotations

import sympy as sp

from .derivation import Factor
from .diagram import network_diagram
from .typeset import Typesetter, chunked

PATH_COLOURS = ("pathblue", "pathorange", "pathgreen", "pathred", "pathviolet", "pathbrown", "pathteal", "pathmagenta")
MAX_PATHS_SHOWN = 8  # paths written out for one representative parameter


def _paths(ts: Typesetter, key: str, limit: int | None = None) -> tuple[list[tuple[Factor, ...]], int]:
    paths = []
    total = ts.d.path_count[key].paths
    for path in ts.d.paths(key):
        if limit is not None and len(paths) >= limit:
            break
        paths.append(path)
    return paths, total - len(paths)


def path_sum_lines(ts: Typesetter, key: str, coloured: bool, values: bool = False) -> list[str]:
    paths, more = _paths(ts, key, MAX_PATHS_SHOWN if (ts.large or coloured) else None)
    lines = []
    for i, path in enumerate(paths):
        body = ts.factor_values(path) if values else ts.leibniz(path)
        if coloured:
            body = _colour(i, body)
        lines.append(body)
    if more:
        lines.append(rf"\cdots \text{{ ({more} more paths)}}")
    return lines


def parameter_section(ts: Typesetter, key: str) -> dict:
    p = ts.d.parameter(key)
    theta = ts.pname(key)
    paths, more = _paths(ts, key, MAX_PATHS_SHOWN)
    colours = [PATH_COLOURS[i % len(PATH_COLOURS)] for i in range(len(paths))]
    count = ts.d.path_count[key]
    delta = ts.net.delta[p.layer][p.index[0]]
    z = ts.net.z[p.layer][p.index[0]]
    source = ts.s(p.source) if p.source is not None else "1"
    return {
        "name": theta,
        "key": key,
        "lhs": ts.dcost(theta),
        "leibniz": path_sum_lines(ts, key, coloured=True),
        "evaluated": path_sum_lines(ts, key, coloured=True, values=True),
        "paths": count.paths,
        "factors": count.factors,
        "colours": [c.replace("path", "") for c in colours],
        "diagram": network_diagram(ts, list(zip(colours, paths)), key) if len(paths) <= len(PATH_COLOURS) else None,
        "factoring": _factoring(ts, key, paths, more),
        "result": rf"{ts.dcost(theta)} = {ts.dcost(ts.s(z))}\,{ts.partial(z, p.symbol)} = {ts.s(delta)}\, {source}",
        "delta": ts.s(delta),
    }


def _factoring(ts: Typesetter, key: str, paths: list[tuple[Factor, ...]], more: int) -> dict:
    """Group the paths by the unit they pass through just after the parameter's unit: δ appears."""
    p = ts.d.parameter(key)
    z = ts.net.z[p.layer][p.index[0]]
    delta = ts.net.delta[p.layer][p.index[0]]
    last = ts.partial(z, p.symbol)
    lines = []
    if more:
        return {"lines": [], "repeat": "", "delta_line": ""}
    if p.layer == ts.L:
        # every path is (∂J/∂a)(∂a/∂z) then ∂z/∂θ: the prefix sum is δ itself
        body = " + ".join(_colour(i, ts.leibniz(path[:-1])) for i, path in enumerate(paths))
        lines.append(rf"&= \underbrace{{\left({body}\right)}}_{{{ts.s(delta)}}} {last}")
        repeat = (rf"The factors before ${last}$ are ${ts.dcost(ts.s(z))}$: "
                  rf"by definition, ${ts.s(delta)}$.")
        return {"lines": lines, "repeat": repeat, "delta_line": ""}
    a = ts.net.a[p.layer][p.index[0]]
    groups: dict[sp.Symbol, list[int]] = {}
    for i, path in enumerate(paths):
        groups.setdefault(path[-3].numerator, []).append(i)
    local = ts.partial(a, z)
    terms = []
    for znext, idx in groups.items():
        body = " + ".join(_colour(i, ts.leibniz(paths[i][:-3])) for i in idx)
        terms.append(rf"\underbrace{{\left({body}\right)}}_{{{ts.s(ts.d.delta[znext])}}} {ts.partial(znext, a)}")
    chunks = chunked(terms, 2)
    for n, chunk in enumerate(chunks):
        lead = "&= \\Big[" if n == 0 else "&\\qquad + "
        tail = rf"\Big]\, {local}\, {last}" if n == len(chunks) - 1 else ""
        lines.append(lead + " + ".join(chunk) + tail)
    inner = " + ".join(rf"{ts.s(ts.d.delta[zn])}\, {ts.partial(zn, a)}" for zn in groups)
    lines.append(rf"&= \underbrace{{\left({inner}\right) {local}}}_{{{ts.s(delta)}}}\; {last}")
    first = paths[0][:-3]
    repeat = (rf"Look at the leading factors: ${ts.leibniz(first)}$ starts every path through "
              rf"${ts.s(first[-1].denominator)}$; together they are "
              rf"${ts.dcost(ts.s(first[-1].denominator))} = {ts.s(ts.d.delta[first[-1].denominator])}$. "
              "Collecting the paths by the unit they pass through next gives:")
    delta_line = rf"{ts.s(delta)} = {ts.hidden_delta(z)}"
    return {"lines": lines, "repeat": repeat, "delta_line": delta_line}


def _colour(i: int, body: str) -> str:
    return rf"\textcolor{{{PATH_COLOURS[i % len(PATH_COLOURS)]}}}{{{body}}}"


def all_sums(ts: Typesetter) -> list[dict]:
    keys = ts.shown if ts.large else [p.key for p in ts.d.parameters]
    out = []
    for key in keys:
        lines = path_sum_lines(ts, key, coloured=False)
        out.append({"lhs": ts.dcost(ts.pname(key)), "lines": lines, "paths": ts.d.path_count[key].paths})
    return out


def counts(ts: Typesetter) -> dict:
    rows = []
    for name in ts.matrices:
        pcs = [ts.d.path_count[p.key] for p in ts.d.parameters if p.matrix == name]
        rows.append({"name": ts.names.matrix(name), "parameters": len(pcs),
                     "paths": _span([c.paths for c in pcs]), "factors": _span([c.factors for c in pcs]),
                     "total_paths": sum(c.paths for c in pcs), "total_factors": sum(c.factors for c in pcs)})
    return {"rows": rows, "total_paths": ts.d.total_paths, "total_factors": ts.d.total_factors,
            "parameters": len(ts.d.parameters), "edges": len(ts.d.factors),
            "units": sum(ts.spec.layers[1:])}


def chain_exercise(ts: Typesetter, key: str) -> dict:
    paths, more = _paths(ts, key, MAX_PATHS_SHOWN)
    lines, answers = [], []
    blank = r"\underline{\hspace{2.2cm}}"
    for path in paths:
        hide = len(path) // 2
        parts = [ts.partial(f.numerator, f.denominator) if i != hide else blank for i, f in enumerate(path)]
        lines.append(r"\;".join(parts))
        answers.append(ts.partial(path[hide].numerator, path[hide].denominator))
    count = ts.d.path_count[key]
    return {"name": ts.pname(key), "lhs": ts.dcost(ts.pname(key)), "lines": lines, "answers": answers,
            "more": more, "paths": count.paths, "factors": count.factors,
            "full": path_sum_lines(ts, key, coloured=True)}


def proof_sentence(proofs) -> str:
    """A few sentences (LaTeX text) saying that, and how, path sum = δ form was proved for every parameter.

    `proofs` is what `derive.proof.prove` returns: one ParameterProof per parameter, each with the
    method, the number of random points and the prime, and a bound on the chance of a missed difference.
    """
    from .proof import bits, failure_bound

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
