"""Notation profiles: how a lecturer writes the canonical symbols.

The model names everything canonically (input is layer 0, `W2_1_0` is the weight from unit 0 of
layer 1 to unit 1 of layer 2). A profile only decides how those names are *displayed*; it is
handed to `sympy.latex` as `symbol_names`, and gives the names of whole vectors and matrices.

=========  =====================================  ==========================  =====================
profile    weight W{l}[j,k] (0-based)             units of canonical layer l   cost, vectors
=========  =====================================  ==========================  =====================
ng         θ^{(l)}_{j+1,k+1}, matrix Θ^{(l)}      a^{(l+1)}, z^{(l+1)}         J(θ), columns
nielsen    w^{l+1}_{j+1,k+1}, matrix w^{l+1}      a^{l+1}, z^{l+1} (input 1)  e, columns
welch      W^{(l)}_{k+1,j+1}, matrix W^{(l)}      a^{(l+1)}, z^{(l+1)}, ŷ      J, rows (batch X)
           shown TRANSPOSED (inputs × outputs)
=========  =====================================  ==========================  =====================

Biases: ng θ^{(l)}_{j+1,0} (the weight from the bias unit a_0 = 1), nielsen b^{l+1}_{j+1},
welch b^{(l)}_{j+1}. Skip matrices W{dst}_{src} connect displayed layers s = src+1 to t = dst+1
and are written with an arrow in the superscript: θ^{(s→t)}, w^{s→t}, W^{(s→t)}.
A layer of one unit drops the unit subscript (ŷ, δ^{(3)}), as the seeds do.
δ is always ∂J/∂z in every profile.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .network import Network
from .spec import Spec


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    cost: str  # the cost as it appears in ∂cost/∂…
    cost_full: str  # the cost in a definition, J(\theta)
    activation: str  # the generic activation letter used in the general rules
    hadamard: str
    columns: bool  # True: one example as a column vector; False: examples are rows of X
    parens: bool  # layer superscripts in parentheses: a^{(2)} rather than a^2
    weight_letter: str
    matrix_letter: str
    bias_letter: str | None  # None: the bias is column 0 of the weight matrix (Ng)
    output_hat: bool  # output activations shown as ŷ
    # How ∂J/∂ŷ of a squared loss is written: False "(a − y)" (ng, nielsen), True "−(y − ŷ)" as the
    # Welch worksheet does. Either way δ is ∂J/∂z; only the way the same value is written differs.
    minus_y_first: bool = False


PROFILES: dict[str, Profile] = {
    "ng": Profile("ng", "Andrew Ng's notation: layers counted from 1 (the input), "
                  r"$\theta^{(l)}_{ij}$ is the weight from unit $j$ of layer $l$ to unit $i$ of layer $l+1$, "
                  "one example is a column vector.",
                  "J", r"J(\theta)", "g", r"\odot", True, True, r"\theta", r"\Theta", None, False),
    "nielsen": Profile("nielsen", "Nielsen's notation: layers counted from 1 (the input), "
                       r"$w^{l}_{jk}$ is the weight from unit $k$ of layer $l-1$ to unit $j$ of layer $l$, "
                       "one example is a column vector.",
                       "e", "e", "g", r"\circ", True, False, "w", "w", "b", False),
    "welch": Profile("welch", "Welch Labs' notation: layers counted from 1 (the input), examples are the rows of "
                     r"$X$, $W^{(l)}$ has one row per unit of layer $l$ and one column per unit of layer $l+1$ "
                     r"(entry $W^{(l)}_{ki}$ goes from unit $k$ to unit $i$), the output is $\hat{y}$.",
                     "J", "J", "f", r"\odot", False, True, "W", "W", "b", True, True),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown notation {name!r}; expected one of {', '.join(PROFILES)}") from None


def _sup(p: Profile, text: str) -> str:
    return f"^{{({text})}}" if p.parens else f"^{{{text}}}"


def _sub(*idx: int) -> str:
    parts = [str(i) for i in idx]
    sep = "," if any(len(s) > 1 for s in parts) else ""
    return "_{" + sep.join(parts) + "}"


class Names:
    """Display names for one network in one profile (scalars, vectors, matrices, layers)."""

    def __init__(self, spec: Spec, profile: Profile):
        self.spec, self.p = spec, profile
        self.L = spec.depth

    # -- layers and units ---------------------------------------------------------------------
    def layer(self, l: int) -> int:
        """The displayed number of canonical layer l (all three profiles count the input as 1)."""
        return l + 1

    def width(self, l: int) -> int:
        return self.spec.layers[l]

    def _unit_index(self, l: int, j: int) -> str:
        return "" if self.width(l) == 1 else _sub(j + 1)

    def vector(self, kind: str, l: int | None = None) -> str:
        """The name of a whole layer: x, X, y, a^{(2)}, z^{(2)}, δ^{(2)}, ŷ."""
        p = self.p
        if kind == "x":
            return "x" if p.columns else "X"
        if kind == "y":
            return "y"
        if kind == "a" and l == 0:
            return self.vector("x")
        if kind == "a" and l == self.L and p.output_hat:
            return r"\hat{y}"
        letter = {"a": "a", "z": "z", "delta": r"\delta"}[kind]
        return letter + _sup(p, str(self.layer(l)))

    def unit(self, kind: str, l: int | None, j: int) -> str:
        if kind == "x":
            return "x" + self._unit_index(0, j)
        if kind == "y":
            return "y" + self._unit_index(self.L, j)
        if kind == "a" and l == 0:
            return self.unit("x", 0, j)
        base = self.vector(kind, l)
        idx = self._unit_index(l, j)
        if not idx:
            return base
        return base + idx

    # -- parameters ----------------------------------------------------------------------------
    def _arrow(self, src: int, dst: int) -> str:
        return rf"{self.layer(src)}\to {self.layer(dst)}"

    def matrix(self, name: str) -> str:
        """Display name of a canonical parameter matrix (W1, W3_1, b2)."""
        p = self.p
        if name.startswith("b"):
            l = int(name[1:])
            if p.bias_letter is None:
                return rf"\theta{_sup(p, str(l))}_{{0}}"
            return p.bias_letter + _sup(p, str(self._weight_layer(l)))
        dst, src = self._matrix_layers(name)
        if src == dst - 1:
            return p.matrix_letter + _sup(p, str(self._weight_layer(dst)))
        return p.matrix_letter + _sup(p, self._arrow(src, dst))

    def _weight_layer(self, dst: int) -> int:
        # ng and welch label W{l} by the layer it reads from (θ^{(1)} maps layer 1 to 2);
        # nielsen labels it by the layer it writes to (w^2 maps layer 1 to 2).
        return self.layer(dst) if self.p.name == "nielsen" else self.layer(dst - 1)

    @staticmethod
    def _matrix_layers(name: str) -> tuple[int, int]:
        body = name[1:]
        if "_" in body:
            dst, src = body.split("_")
            return int(dst), int(src)
        return int(body), int(body) - 1

    def matrix_shape(self, name: str) -> tuple[int, int]:
        """The shape of the matrix as displayed (welch shows weights transposed; biases as vectors)."""
        shape = self.spec.parameter_shapes()[name]
        if len(shape) == 1:
            return (1, shape[0]) if not self.p.columns else (shape[0], 1)
        return shape if self.p.columns else (shape[1], shape[0])

    def weight(self, name: str, j: int, k: int) -> str:
        p = self.p
        dst, src = self._matrix_layers(name)
        sup = _sup(p, str(self._weight_layer(dst)) if src == dst - 1 else self._arrow(src, dst))
        if p.columns:
            return p.weight_letter + sup + _sub(j + 1, k + 1)
        return p.weight_letter + sup + _sub(k + 1, j + 1)

    def bias(self, l: int, j: int) -> str:
        p = self.p
        if p.bias_letter is None:
            return rf"\theta{_sup(p, str(l))}{_sub(j + 1, 0)}"
        return p.bias_letter + _sup(p, str(self._weight_layer(l))) + _sub(j + 1)

    def parameter(self, key: str) -> str:
        """Display name of a parameter key such as W1[0,1] or b2[0]."""
        name, idx = key.rstrip("]").split("[")
        nums = [int(i) for i in idx.split(",")]
        if name.startswith("b"):
            return self.bias(int(name[1:]), nums[0])
        return self.weight(name, nums[0], nums[1])

    def activation(self, l: int) -> str:
        """The letter of the activation of layer l in general formulas: σ, tanh, … ."""
        from .activations import LATEX_NAME

        return LATEX_NAME[self.spec.activations[l - 1]]


def symbol_names(network: Network, profile: Profile | str) -> dict[sp.Symbol, str]:
    """`symbol_names` for `sympy.latex`: every canonical symbol of the network in this profile."""
    p = get_profile(profile) if isinstance(profile, str) else profile
    names = Names(network.spec, p)
    out: dict[sp.Symbol, str] = {}
    for s in sorted(network.info, key=lambda s: s.name):
        info = network.info[s]
        if info.kind == "W":
            out[s] = names.weight(info.matrix, *info.index)
        elif info.kind == "b":
            out[s] = names.bias(info.layer, info.index[0])
        elif info.kind in ("x", "y"):
            out[s] = names.unit(info.kind, None, info.index[0])
        elif info.kind in ("z", "a", "delta"):
            out[s] = names.unit(info.kind, info.layer, info.index[0])
        elif info.kind == "m":
            out[s] = "m"
        elif info.kind == "J":
            out[s] = p.cost
    return out


def vector_names(network: Network, profile: Profile) -> dict[sp.Symbol, str]:
    """`symbol_names` that print unit 0 of every layer as the whole layer (for element-wise rules)."""
    names = Names(network.spec, profile)
    out: dict[sp.Symbol, str] = {network.m: "m", network.J: profile.cost}
    out[network.y[0]] = names.vector("y")
    for l in range(1, network.depth + 1):
        out[network.a[l][0]] = names.vector("a", l)
        out[network.z[l][0]] = names.vector("z", l)
        out[network.delta[l][0]] = names.vector("delta", l)
    out[network.x[0]] = names.vector("x")
    return out
