"""The NumPy module: the derivation's expressions printed by a SymPy code printer, never hand-written.

Two forms of the same gradients are emitted:
- the matrix form, from the `MatrixForm` equations (a few matrix products per layer), each written
  by statements.py as NumPy calls that reuse the buffers they own, under a comment that prints
  the equation whole;
- the scalar form, one statement per z, a, δ and gradient entry, exactly the worksheet formulas,
  with every activation and δ computed once because the derivation already names them.
Both evaluate those formulas in the forms of stable_forms.py wherever floats would cancel (1 − σ(z)
as σ(−z), a − y of a saturated output, ln softmax), and take m as a number of the input's dtype.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.precedence import precedence

from ..engine.activations import Sigmoid
from ..engine.derivation import Derivation
from ..engine.matrix_form import Elementwise, MatrixEquation
from ..version import __version__
from . import stable_forms
from .guards import helper_lines, input_check_lines
from .statements import Constants, StatementWriter, matmul_parts


class StablePrinter(NumPyPrinter):
    """NumPy printer with overflow-free forms of σ, ln σ and log-sum-exp, and batch-aware matrices."""

    def __init__(self):
        super().__init__({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False})

    # Activations and stable logarithms ------------------------------------------------------
    def _print_Sigmoid(self, expr):
        # σ(z) through the module's `_sigmoid` (statements.py's σ rule): one exp that cannot overflow,
        # finite for every z and never NaN.
        return f"_sigmoid({self._print(expr.args[0])})"

    def _print_LogSigmoid(self, expr):
        return f"(-numpy.logaddexp(0, -({self._print(expr.args[0])})))"

    def _print_ReLU(self, expr):
        return f"numpy.maximum({self._print(expr.args[0])}, 0)"

    def _print_Heaviside(self, expr):
        # ReLU's slope H(z) with H(0) = 0, as a boolean mask: multiplying by it keeps float32 as
        # float32 (NumPyPrinter's numpy.select(..., default=numpy.nan) would promote to float64).
        if len(expr.args) == 2 and expr.args[1] == 0:
            return f"numpy.greater({self._print(expr.args[0])}, 0)"
        return super()._print_Heaviside(expr)

    def _print_LogSumExp(self, expr):
        items = ", ".join(self._print(a) for a in expr.args)
        return f"numpy.logaddexp.reduce(numpy.stack([{items}]), axis=0)"

    # Matrix form ------------------------------------------------------------------------------
    def _print_RowLogSumExp(self, expr):
        return f"numpy.logaddexp.reduce({self._print(expr.args[0])}, axis=1, keepdims=True)"

    def _print_RowSum(self, expr):
        # the ndarray method: numpy.sum(...) adds ~1.5 µs of Python-level dispatch (see _print_MatMul)
        return f"{self._wrap(expr.args[0])}.sum(axis=1, keepdims=True)"

    def _print_RowLogSoftmax(self, expr):
        return f"_log_softmax({self._print(expr.args[0])})"

    def _print_CappedExp(self, expr):
        return f"numpy.exp(numpy.minimum({self._print(expr.args[0])}, _exp_cap))"

    def _print_EntrySum(self, expr):
        return f"numpy.sum({self._print(expr.args[0])})"

    def _print_Elementwise(self, expr: Elementwise):
        names = {s: sp.Symbol(self._print(M)) for s, M in expr.pairs}
        return f"({self._print(expr.template.xreplace(names))})"

    def _print_MatMul(self, expr):
        coeff, mats, reduce_rows, reduce_cols = matmul_parts(expr)
        # ndarray.dot rather than `@`: the same BLAS product, but `@` is a generalized ufunc
        # whose set-up costs about 0.7 µs a call, the larger part of a product at one example.
        text = self._wrap(mats[0]) + "".join(f".dot({self._print(M)})" for M in mats[1:])
        # Reductions as ndarray methods: numpy.sum(...) adds ~1.5 µs of Python-level dispatch.
        if reduce_rows and reduce_cols:
            text = f"{text}.sum()"
        elif reduce_rows:
            text = f"{text}.sum(axis=0, keepdims=True)"
        elif reduce_cols:
            text = f"{text}.sum(axis=1, keepdims=True)"
        return text if coeff == 1 else f"{self._print(coeff)}*({text})"

    def _wrap(self, M) -> str:
        text = self._print(M)
        return text if isinstance(M, (sp.MatrixSymbol, sp.Transpose)) else f"({text})"

    # Sums: a positive term first, so "a - b" costs one NumPy pass where "-b + a" costs two, and
    # a whole-number term as a float literal, which NumPy converts ~0.2 µs faster than an int.
    def _print_Add(self, expr, order=None):
        if expr.is_Matrix:  # a MatAdd keeps NumPyPrinter's own printing
            return super()._print_Add(expr, order=order)
        terms = [(t, self._print_term(t)) for t in self._as_ordered_terms(expr, order=order)]
        if terms[0][1].startswith("-"):
            first = next((k for k, (_, text) in enumerate(terms) if not text.startswith("-")), 0)
            terms.insert(0, terms.pop(first))
        prec = precedence(expr)
        out = []
        for term, text in terms:
            sign = "+"
            if text.startswith("-") and not term.is_Add:
                sign, text = "-", text[1:]
            out += [sign, f"({text})" if precedence(term) < prec or term.is_Add else text]
        sign = out.pop(0)
        return ("" if sign == "+" else sign) + " ".join(out)

    def _print_term(self, term) -> str:
        return repr(float(term)) if term.is_Integer else self._print(term)


def module_source(derivation: Derivation) -> str:
    """The complete text of gradients.py for one derivation."""
    printer = StablePrinter()
    net = derivation.network
    spec = net.spec
    shapes = spec.parameter_shapes()
    lines = [
        f'"""Gradients of the {spec.name} network, generated by derive {__version__}. Do not edit by hand.',
        "",
        f"Network: layers {list(spec.layers)}, activations {list(spec.activations)}, loss {spec.loss}"
        + (f" + L2 term (lambda = {spec.l2!r}, scale {spec.l2_scale}) on every weight matrix." if spec.l2 else "."),
        "params: dict of NumPy arrays in canonical shapes (W<l>: (n_l, n_{l-1}), b<l>: (n_l,),",
        "W<dst>_<src>: skip weights (n_dst, n_src)); X: (m, n_0) and Y: (m, n_L), one row per example.",
        "Arguments of the wrong shape or kind raise one ValueError naming the argument.",
        "Helpers: init_params(seed), predict(params, X), step(params, X, Y, lr).",
        '"""',
        "import numpy",
        "",
        '__all__ = ["LAYERS", "PARAMETERS", "forward", "loss", "backward", "gradients", "trace_scalar", "gradients_scalar",',
        '           "init_params", "predict", "step"]',
        "",
        f"LAYERS = {tuple(spec.layers)!r}",
        f"PARAMETERS = {dict(shapes)!r}",
        "",
        "",
    ]
    lines += input_check_lines(spec)
    eqs = stable_forms.matrix_equations(net, derivation.matrix.equations)
    grads = [e for e in eqs if e.stage == "gradient"]
    L = net.depth
    writer = StatementWriter(printer, Constants(), net.m)
    activity = {f"{v}{l}" for l in range(1, L + 1) for v in "ZA"}
    lines += _matrix_function(writer, derivation, "forward", "(params, X)",
                              "z and a of every layer, one row per example (matrix form).", stable_forms.needed(eqs, activity),
                              "{" + ", ".join(f'"z{l}": Z{l}, "a{l}": A{l}' for l in range(1, L + 1)) + "}")
    lines += _matrix_function(writer, derivation, "loss", "(params, X, Y)",
                              "The loss J summed (or averaged, as the loss says) over the examples.",
                              stable_forms.needed(eqs, {"J"}), "J")
    lines += _matrix_function(writer, derivation, "backward", "(params, X, Y)",
                              "δ = ∂J/∂z of every layer, one row per example (matrix form).",
                              stable_forms.needed(eqs, {f"D{l}" for l in range(1, L + 1)}),
                              "{" + ", ".join(f'"delta{l}": D{l}' for l in range(1, L + 1)) + "}")
    result = "{" + ", ".join(f'"{e.parameter}": {_canonical(e)}' for e in grads) + "}"
    lines += _matrix_function(writer, derivation, "gradients", "(params, X, Y)",
                              "∂J/∂p for every parameter in its canonical shape (matrix form).",
                              stable_forms.needed(eqs, {e.name for e in grads}), result)
    lines += _scalar_function(printer, derivation)
    lines += [
        "def gradients_scalar(params, X, Y):",
        '    """∂J/∂p for every parameter, from the scalar (worksheet) form."""',
        "    return trace_scalar(params, X, Y, trace=False)",
        "",
        "",
    ]
    lines += helper_lines(spec)
    helper = _sigmoid_helper(writer) if any("_sigmoid(" in line for line in lines) else []
    helper += _sigmoid_pair_helper(writer) if any("_sigmoid_pair(" in line for line in lines) else []  # the scalar form's
    helper += stable_forms.helper_lines() if any("_log_softmax(" in line for line in lines) else []
    unpack = writer.constants.unpack()
    lines = [x for line in lines for x in (unpack if line == _CONSTANTS_HERE else [line])]
    at = next(k for k, line in enumerate(lines) if line.startswith("_SHAPES = "))
    lines[at:at] = writer.constants.module_lines() + helper
    at = lines.index("import numpy") + 1
    lines[at:at] = writer.import_line()
    return "\n".join(lines).rstrip() + "\n"


def _sigmoid_helper(writer: StatementWriter) -> list[str]:
    """`_sigmoid(z)` for the scalar form, written by the writer's own σ rule (the matrix form's)."""
    z = sp.Symbol("z")
    body = writer.equation("s", Elementwise(Sigmoid(z), ((z, sp.MatrixSymbol("z", 1, 1)),)))
    return ["def _sigmoid(z):",
            '    """σ(z) = e^z / (1 + e^z), z capped where σ is 1 to the last bit, so nothing overflows."""',
            *writer.constants.unpack(of="z"), *(line for line in body if not line.lstrip().startswith("#")),
            "    return s", "", ""]


def _sigmoid_pair_helper(writer: StatementWriter) -> list[str]:
    """`_sigmoid_pair(z)` for the scalar form: σ(z) and 1 − σ(z), from the matrix form's own equations."""
    body = []
    u = sp.Symbol("u", real=True)
    complement = MatrixEquation("c", Elementwise(1 / u, ((u, sp.MatrixSymbol("u", 1, 1)),)), "forward", 0)
    for eq in stable_forms.sigmoid_equations("", sp.MatrixSymbol("z", 1, 1), names=("e", "u", "a")) + [complement]:
        body += [line for line in writer.equation(eq.name, eq.expr) if not line.lstrip().startswith("#")]
    return ["def _sigmoid_pair(z):",
            '    """σ(z) and 1 - σ(z) = σ(-z) = 1/(1 + e^z), from one capped e^z: 1 - σ keeps its digits where σ is near 1."""',
            *writer.constants.unpack(of="z"), *body, "    return a, c", "", ""]


def _canonical(eq: MatrixEquation) -> str:
    return f"d{eq.parameter}.reshape(-1)" if eq.parameter.startswith("b") else f"d{eq.parameter}"


def _unpack_parameters(spec, indent: str = "    ") -> list[str]:
    out = []
    for name, shape in spec.parameter_shapes().items():
        out.append(f'{indent}{name} = params["{name}"]' + (".reshape(-1, 1)" if len(shape) == 1 else ""))
    return out


_CONSTANTS_HERE = "    # <constants>"


def _matrix_function(writer: StatementWriter, derivation, name, signature, doc, equations, result) -> list[str]:
    spec = derivation.network.spec
    needs_y = "Y" in signature
    lines = [f"def {name}{signature}:", f'    """{doc}"""',
             f"    params, X, {'Y' if needs_y else '_'} = _arrays(params, X{', Y' if needs_y else ''})"]
    body = []
    for eq in equations:
        body += writer.equation(eq.name, eq.expr)
    lines += _m_line(body)
    lines.append(_CONSTANTS_HERE)  # filled in once every function has named its numbers
    lines += _unpack_parameters(spec)
    lines += body
    lines += [f"    return {result}", "", ""]
    return lines


def _m_line(body: list[str]) -> list[str]:
    """`m`, the number of examples, where a statement reads it: as a number of the working dtype,
    so that 1/m is never NumPy's integer reciprocal (0 for m ≥ 2) and float32 stays float32."""
    if any(re.search(r"\bm\b", line) for line in body if not line.lstrip().startswith("#")):
        return ["    m = X.dtype.type(X.shape[0])"]
    return []


def _scalar_function(printer, derivation: Derivation) -> list[str]:
    net = derivation.network
    spec = net.spec
    L = net.depth
    p = lambda e: printer.doprint(e)
    lines = ["def trace_scalar(params, X, Y, trace=True):",
             '    """Every z, a, δ, the loss and the gradients from the scalar (worksheet) formulas.',
             "",
             "    With trace=False only the gradients: no loss, and no stacking of every z, a and δ.",
             '    """',
             "    params, X, Y = _arrays(params, X, Y)",
             _SCALAR_M]
    lines += [f"    {x.name} = X[:, {k}]" for k, x in enumerate(net.x)]
    lines += [f"    {y.name} = Y[:, {k}]" for k, y in enumerate(net.y)]
    for prm in net.parameters:
        index = ", ".join(map(str, prm.index))
        lines.append(f'    {prm.symbol.name} = params["{prm.matrix}"][{index}]')
    for l in range(1, L + 1):
        for z in net.z[l]:
            lines.append(f"    {z.name} = {p(net.z_expr[z])}")
        if net.activation(l) == "softmax":
            lines.append(f"    lse{l} = {p(_lse(net.z[l]))}")
            lines += [f"    {a.name} = numpy.exp({z.name} - lse{l})" for a, z in zip(net.a[l], net.z[l])]
        elif net.activation(l) == "sigmoid":  # σ and its complement 1 − σ (stable_forms)
            lines += [f"    {a.name}, {stable_forms.complement(a).name} = _sigmoid_pair({z.name})" for a, z in zip(net.a[l], net.z[l])]
        else:
            lines += [f"    {a.name} = {p(net.a_expr[a])}" for a in net.a[l]]
    # The worksheet's formulas, evaluated in the stable forms of stable_forms (1 − a as c, a − y as
    # a residual that does not cancel, ln a of a softmax from its log-softmax).
    table = stable_forms.substitutions(net)
    deltas = {d: stable_forms.stable(derivation.delta_expr[d], table) for l in range(L, 0, -1) for d in net.delta[l]}
    loss = stable_forms.stable(net.loss_stable, table)
    used = set().union(loss.free_symbols, *(e.free_symbols for e in deltas.values()))
    ns = [stable_forms.others(a) for a in net.a[L]]
    if used & {*ns, stable_forms.others_sum(L)}:  # a softmax output's other classes, and their sum 1 − a_target
        lines += [f"    {n.name} = {p(a * (1 - y))}" for n, a, y in zip(ns, net.a[L], net.y)]
        lines.append(f"    {stable_forms.others_sum(L).name} = {p(sp.Add(*ns))}")
    for d, e in deltas.items():
        lines.append(f"    {d.name} = {p(e)}")
    grads = {}
    for prm in net.parameters:
        # Σ over the examples (one entry each): numpy.add.reduce is numpy.sum on these 1-D arrays,
        # without numpy.sum's Python-level argument handling, which cost more than the sum itself.
        grads.setdefault(prm.matrix, {})[prm.index] = f"numpy.add.reduce({p(derivation.gradient[prm.key])})" + (
            f" + {p(net.l2.numeric(derivation.regularization[prm.key]))}" if prm.key in derivation.regularization else "")
    lines.append("    gradients = {")
    for name, shape in spec.parameter_shapes().items():
        entries = grads[name]
        if len(shape) == 1:
            body = ", ".join(entries[(j,)] for j in range(shape[0]))
        else:
            body = ", ".join("[" + ", ".join(entries[(j, k)] for k in range(shape[1])) + "]" for j in range(shape[0]))
        lines.append(f'        "{name}": numpy.array([{body}]),')
    lines += ["    }", "    if not trace:", "        return gradients"]
    logs = [stable_forms.log_output(a) for a in net.a[L]]
    if used & set(logs):
        stack = "numpy.stack([" + ", ".join(z.name for z in net.z[L]) + "], axis=1)"
        lines.append(f"    la{L} = _log_softmax({stack})")
        lines += [f"    {la.name} = la{L}[:, {k}]" for k, la in enumerate(logs)]
    lines.append(f"    J = numpy.sum({p(loss)})" + (f" + {p(net.l2.numeric(net.l2.expr))}" if net.l2 else ""))
    stack = lambda syms: "numpy.stack([" + ", ".join(s.name for s in syms) + "], axis=1)"
    lines.append("    return {")
    lines.append('        "loss": J,')
    lines.append('        "forward": {' + ", ".join(f'"z{l}": {stack(net.z[l])}, "a{l}": {stack(net.a[l])}' for l in range(1, L + 1)) + "},")
    lines.append('        "delta": {' + ", ".join(f'"delta{l}": {stack(net.delta[l])}' for l in range(1, L + 1)) + "},")
    lines.append('        "gradients": gradients,')
    lines += ["    }", "", ""]
    if not _m_line(lines[lines.index(_SCALAR_M) + 1:]):
        lines.remove(_SCALAR_M)
    return lines


_SCALAR_M = "    m = X.dtype.type(X.shape[0])"


def _lse(zs):
    from ..engine.activations import LogSumExp

    return LogSumExp(*zs)


def load_module(source: str, name: str = "derive_generated"):
    """Import generated source (derive's own printer output, never user text) as a module.

    Its text is registered with `linecache` under a name made of the module's name and a digest of
    the text, so `inspect.getsource` (Jupyter's `??`) and tracebacks show the generated lines, and
    two different modules of the same name never show each other's.
    """
    import hashlib
    import linecache
    import types

    filename = f"<derive {name}.py {hashlib.sha256(source.encode()).hexdigest()[:12]}>"
    # mtime None: linecache.checkcache keeps the entry (there is no file to compare it with)
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    module = types.ModuleType(name)
    exec(compile(source, filename, "exec"), module.__dict__)
    return module
