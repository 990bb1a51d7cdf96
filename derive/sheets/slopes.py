"""The derivatives of the activations a network uses, derived on the handout (σ′ = σ(1 − σ) from
σ = 1/(1 + e^{−z}), tanh′ = 1 − tanh², ReLU′ defined, softmax's Jacobian), each written with the
function's name in this document (σ, or the profile's letter g).

Each derivation is a list of lines (LaTeX) with, beside each line, the SymPy expression it states
for f′(z): a test checks every line against SymPy's own derivative, so a typo in a line fails there.
"""
from __future__ import annotations

import sympy as sp

from .typeset import Typesetter

Z = sp.Symbol("z", real=True)


def activation_derivations(ts: Typesetter) -> list[dict]:
    """One entry per activation of the net (in the order the layers use them): its name, the lines of
    its derivation and, per line, the expression the line equals (None for a line that is a definition)."""
    used = list(dict.fromkeys(ts.spec.activations))
    out = []
    for act in used:
        make = _DERIVATIONS.get(act)
        if make is not None:
            out.append(make(ts))
    return out


def _letters(ts: Typesetter) -> tuple[str, str]:
    return ts.p.preactivation, ts.p.activation_letter


def _sigmoid(ts: Typesetter) -> dict:
    f = ts.names.function("sigmoid")
    z, a = _letters(ts)
    e = rf"e^{{-{z}}}"
    exact = 1 / (1 + sp.exp(-Z))
    s = exact
    lines = [
        (rf"{f}({z}) &= \frac{{1}}{{1 + {e}}} = \left(1 + {e}\right)^{{-1}}", None),
        (rf"{f}'({z}) &= -\left(1 + {e}\right)^{{-2}} \cdot \left(-{e}\right) = \frac{{{e}}}{{\left(1 + {e}\right)^{{2}}}}",
         sp.exp(-Z) / (1 + sp.exp(-Z)) ** 2),
        (rf"&= \frac{{1}}{{1 + {e}}} \cdot \frac{{{e}}}{{1 + {e}}} = \frac{{1}}{{1 + {e}}} \cdot \left(1 - \frac{{1}}{{1 + {e}}}\right)",
         s * (1 - s)),
        (rf"&= {f}({z})\,\bigl(1 - {f}({z})\bigr)", s * (1 - s)),
    ]
    return {"name": "sigmoid", "function": f, "lines": [t for t, _ in lines], "values": [v for _, v in lines],
            "exact": exact,
            "sentence": rf"the power rule and the chain rule, then $\frac{{{e}}}{{1 + {e}}} = 1 - \frac{{1}}{{1 + {e}}}$. "
                        rf"For a unit ${a} = {f}({z})$ this is ${a}(1 - {a})$: the slope is computed from the unit's own value."}


def _tanh(ts: Typesetter) -> dict:
    f = ts.names.function("tanh")
    z, a = _letters(ts)
    p, m = rf"e^{{{z}}}", rf"e^{{-{z}}}"
    exact = (sp.exp(Z) - sp.exp(-Z)) / (sp.exp(Z) + sp.exp(-Z))
    lines = [
        (rf"{f}({z}) &= \frac{{{p} - {m}}}{{{p} + {m}}}", None),
        (rf"{f}'({z}) &= \frac{{\left({p} + {m}\right)^{{2}} - \left({p} - {m}\right)^{{2}}}}{{\left({p} + {m}\right)^{{2}}}}",
         ((sp.exp(Z) + sp.exp(-Z)) ** 2 - (sp.exp(Z) - sp.exp(-Z)) ** 2) / (sp.exp(Z) + sp.exp(-Z)) ** 2),
        (rf"&= 1 - \left(\frac{{{p} - {m}}}{{{p} + {m}}}\right)^{{2}} = 1 - {f}^{{2}}({z})", 1 - exact ** 2),
    ]
    return {"name": "tanh", "function": f, "lines": [t for t, _ in lines], "values": [v for _, v in lines], "exact": exact,
            "sentence": rf"the quotient rule. For a unit ${a} = {f}({z})$ this is $1 - {a}^{{2}}$."}


def _relu(ts: Typesetter) -> dict:
    f = ts.names.function("relu")
    z, _ = _letters(ts)
    lines = [rf"{f}({z}) &= \max(0, {z})",
             rf"{f}'({z}) &= \begin{{cases}} 1 & {z} > 0 \\ 0 & {z} < 0 \end{{cases}}"]
    return {"name": "relu", "function": f, "lines": lines, "values": [None, None], "exact": None,
            "sentence": rf"its definition, piece by piece; at the kink ${z} = 0$ it has no derivative, and this sheet takes "
                        rf"${f}'(0) = 0$."}


def _identity(ts: Typesetter) -> dict:
    z, a = _letters(ts)
    return {"name": "identity", "function": r"\operatorname{id}", "lines": [rf"{a} &= {z}, \qquad \frac{{\partial {a}}}{{\partial {z}}} = 1"],
            "values": [None], "exact": None,
            "sentence": "its definition: the unit passes its input on, so its local derivative is 1 and drops out of every product."}


def _softmax(ts: Typesetter) -> dict:
    z, a = _letters(ts)
    S = rf"\sum_{{k}} e^{{{z}_k}}"
    lines = [
        rf"{a}_i &= \frac{{e^{{{z}_i}}}}{{{S}}}",
        rf"\frac{{\partial {a}_i}}{{\partial {z}_i}} &= \frac{{e^{{{z}_i}} {S} - e^{{{z}_i}} e^{{{z}_i}}}}{{\left({S}\right)^{{2}}}}"
        rf" = {a}_i\,(1 - {a}_i)",
        rf"\frac{{\partial {a}_i}}{{\partial {z}_j}} &= \frac{{0 - e^{{{z}_i}} e^{{{z}_j}}}}{{\left({S}\right)^{{2}}}} = -{a}_i\, {a}_j"
        rf" \qquad (j \ne i)",
    ]
    return {"name": "softmax", "function": r"\operatorname{softmax}", "lines": lines, "values": [None] * 3, "exact": None,
            "sentence": rf"the quotient rule: every output ${a}_i$ depends on every ${z}_j$ of its layer (a Jacobian, not one slope)."}


_DERIVATIONS = {"sigmoid": _sigmoid, "tanh": _tanh, "relu": _relu, "identity": _identity, "softmax": _softmax}

WORDS = {"sigmoid": "The sigmoid", "tanh": "The hyperbolic tangent", "relu": "The rectifier (ReLU)",
         "identity": "The identity", "softmax": "The softmax"}
