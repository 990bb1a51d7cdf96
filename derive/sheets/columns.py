"""The lab sheet's "columns" reading of the path products (seed 000, Appendix A): the paths of the
weights into the output layer laid out one factor per column (error term, activation derivative,
input), so that the columns the weights of one unit share stand out, and their product is δ; then
the paths of one hidden-layer weight (error term, activation derivative, weight, activation
derivative, input), whose first columns are the output units' shared columns again.

Everything said about which columns are shared is computed from the derivation's paths: the
sentences are built from the groups found (`shared`), and tests compare them with the paths.
"""
from __future__ import annotations

from ..engine.derivation import Factor
from .scope import one_example
from .typeset import Typesetter

MAX_ROWS = 8  # rows of one table (paths); more weights are left out, and the text says how many are shown
MAX_UNITS = 2  # output units (and inputs) whose weights are laid out
MAX_HIDDEN_PATHS = 6
MAX_PATHS_PER_WEIGHT = 3  # a weight with more paths (a softmax output) shows two and a row of dots


def role(ts: Typesetter, f: Factor) -> str:
    """What a factor of a path is, in the lab sheet's words."""
    num, den = ts.net.info[f.numerator], ts.net.info[f.denominator]
    if num.kind == "J":
        return "error term"
    if num.kind == "a" and den.kind == "z":
        return "activation derivative"
    if den.kind in ("W", "b"):
        return "input"
    return "weight"


def columns(ts: Typesetter) -> dict | None:
    ts = one_example(ts)
    out = _output_table(ts)
    if out is None:
        return None
    hidden = _hidden_table(ts, out)
    return {"output": out, "hidden": hidden}


def _table(ts: Typesetter, rows: list[tuple[str, tuple[Factor, ...]]]) -> tuple[list[str], str]:
    """The array's header (roles of the first row's factors) and body: one row per path."""
    roles = [role(ts, f) for f in rows[0][1]]  # the first row is always a path
    head = r"& " + " & ".join(rf"\text{{\footnotesize {r}}}" for r in roles)
    body = []
    last_key = None
    for key, path in rows:
        lead = rf"{ts.dcost(ts.pname(key))} =" if key != last_key else "+"
        last_key = key
        if path is None:  # the weight's other paths, left out
            body.append(rf"+ & \multicolumn{{{len(roles)}}}{{c}}{{\cdots}}")
            continue
        body.append(r"\displaystyle " + lead + " & " + " & ".join(r"\displaystyle " + ts.partial(f.numerator, f.denominator) for f in path))
    spec = "r" + "c" * len(roles)
    # \noalign, not \\[1ex]: the latter only deepens the row's strut, which a display fraction is deeper than already
    tex = (rf"\begin{{array}}{{{spec}}} {head} \\ \noalign{{\vskip 0.5ex}} " + r" \\ \noalign{\vskip 1ex} ".join(body) + r" \end{array}")
    return roles, tex


def _output_table(ts: Typesetter) -> dict | None:
    d, net, L = ts.d, ts.net, ts.L
    name = ts.spec.weight_name(L, L - 1)
    weights = [p for p in d.parameters if p.matrix == name and p.index[0] < MAX_UNITS and p.index[1] < MAX_UNITS]
    rows, used = [], []
    all_paths = {}
    for p in weights:
        paths = list(d.paths(p.key))
        all_paths[p.key] = paths
        shown = paths if len(paths) <= MAX_PATHS_PER_WEIGHT else paths[:2] + [None]  # a softmax output: every output's path
        if used and len(rows) + len(shown) > MAX_ROWS:
            break
        rows += [(p.key, path) for path in shown]
        used.append(p)
    if not rows or len({len(path) for _, path in rows if path is not None}) != 1:
        return None
    roles, tex = _table(ts, rows)
    # Group the weights by the unit they feed; within a group, compare the paths' factors but the last.
    groups = []
    for j in sorted({p.index[0] for p in used}):
        members = [p for p in used if p.index[0] == j]
        prefixes = [[path[:-1] for path in all_paths[p.key]] for p in members]
        same = all(pr == prefixes[0] for pr in prefixes)
        z = net.z[L][j]
        groups.append({"unit": z, "weights": [p.key for p in members], "shared": same, "paths": len(prefixes[0]),
                       "prefix": prefixes[0]})
    inputs = [{"key": p.key, "input": ts.d.factors[(net.z[L][p.index[0]], p.symbol)].value} for p in used]
    sentences = []
    ncols = len(roles)
    shared_cols = "the first column" if ncols == 2 else ("the first two columns" if ncols == 3 else f"the first {ncols - 1} columns")
    for g in groups:
        if len(g["weights"]) < 2 or not g["shared"]:
            continue
        names = ", ".join(f"${ts.pname(k)}$" for k in g["weights"])
        product = " ".join(ts.partial(f.numerator, f.denominator) for f in g["prefix"][0])
        delta = ts.s(ts.d.delta[g["unit"]])
        if g["paths"] == 1:
            sentences.append(rf"The rows of {names} (the weights into ${ts.s(g['unit'])}$) have {shared_cols} in common, "
                             rf"${product}$, which is ${ts.dcost(ts.s(g['unit']))} = {delta}$.")
        else:
            sentences.append(rf"The rows of {names} (the weights into ${ts.s(g['unit'])}$) have {shared_cols} in common, "
                             rf"path for path; summed over their {g['paths']} paths these give ${ts.dcost(ts.s(g['unit']))} = {delta}$.")
    last = ", ".join(rf"${ts.partial(net.z[L][p.index[0]], p.symbol)} = {ts.tex(v['input'])}$" for p, v in zip(used, inputs))
    return {"tex": tex, "roles": roles, "groups": groups, "weights": [p.key for p in used],
            "left_out": len([p for p in d.parameters if p.matrix == name]) - len(used),
            "sentences": sentences, "last_column": last, "matrix": ts.names.matrix(name)}


def _hidden_table(ts: Typesetter, out: dict) -> dict | None:
    """The paths of the first weight into the last hidden layer, and which of their columns repeat."""
    d, net, L = ts.d, ts.net, ts.L
    if L < 2:
        return None
    name = ts.spec.weight_name(L - 1, L - 2)
    p = next(q for q in d.parameters if q.matrix == name)
    paths = list(d.paths(p.key))
    if len(paths) > MAX_HIDDEN_PATHS or len({len(path) for path in paths}) != 1 or len(paths[0]) > 7:
        return None
    roles, tex = _table(ts, [(p.key, path) for path in paths])
    # The longest run of final columns that every path shares.
    n = len(paths[0])
    common = 0
    while common < n and all(path[n - 1 - common] == paths[0][n - 1 - common] for path in paths):
        common += 1
    # The first two columns of each path: the shared columns of the output unit it passes through.
    through = []
    for path in paths:
        z_out = path[1].denominator
        feeding = next((q for q in d.parameters if q.layer == L and net.z[L][q.index[0]] == z_out), None)
        prefix = [other[:-1] for other in d.paths(feeding.key)] if feeding is not None else []
        through.append(z_out if prefix == [path[:2]] else None)
    shared_tail = " ".join(ts.partial(f.numerator, f.denominator) for f in paths[0][n - common:])
    sentences = []
    if common and len(paths) > 1:
        sentences.append(rf"Every row ends with the same {common} columns, ${shared_tail}$: they belong to the weight's own unit.")
    if all(t is not None for t in through):
        deltas = ", ".join(f"${ts.s(ts.d.delta[t])}$" for t in dict.fromkeys(through))
        sentences.append(rf"Each row starts with the two columns an output unit's weights share above, that is with {deltas}; "
                         r"collecting the rows by those columns is the step below.")
    return {"tex": tex, "roles": roles, "key": p.key, "name": ts.pname(p.key), "paths": len(paths),
            "common": common, "through": through, "sentences": sentences}
