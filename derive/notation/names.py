"""Names: how one notation profile writes the canonical symbols of one network.

The model names everything canonically (input is layer 0, `W2_1_0` is the weight from unit 0 of
layer 1 to unit 1 of layer 2). A profile (`derive/profile.py`, read from `derive/notation/profiles/*.toml`
or a lecturer's own file) only decides how those names are *displayed*; `Names` applies it to a
network, and `symbol_names` hands the result to `sympy.latex`. docs/notation.md shows the built-in
profiles side by side.

Weights: W{l}[j,k] (0-based, from unit k of canonical layer l−1 to unit j of layer l) is written
weight^{(l')}_{j+1,k+1} with columns, or weight^{(l')}_{k+1,j+1} (the displayed matrix transposed)
with rows, where l' is the displayed number of the layer the weight leaves ("source") or enters
("target"). Skip matrices W{dst}_{src} are written with an arrow in the superscript: θ^{(s→t)}.
A bias is b^{(l')}_{j+1}, or θ^{(l')}_{j+1,0} (the weight from a bias unit a_0 = 1).
A layer of one unit drops the unit subscript (ŷ, δ^{(3)}), as the seeds do.
δ is always ∂J/∂z in every profile.
"""
from __future__ import annotations

import sympy as sp

from ..engine.network import Network
from ..engine.spec import Spec
from .profile import BUILTIN, Profile, builtin, load_profile

__all__ = ["BUILTIN", "PROFILES", "Names", "Profile", "get_profile", "load_profile", "symbol_names", "vector_names"]

PROFILES: dict[str, Profile] = {name: builtin(name) for name in BUILTIN}


def get_profile(name: str | Profile) -> Profile:
    """A built-in profile by name (a Profile is returned as it is)."""
    if isinstance(name, Profile):
        return name
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
        """The displayed number of canonical layer l (the profile says what the input is shown as)."""
        return l + self.p.first_layer

    def width(self, l: int) -> int:
        return self.spec.layers[l]

    def _unit_index(self, l: int, j: int) -> str:
        return "" if self.width(l) == 1 else _sub(j + 1)

    def generic_layer(self) -> str:
        """The superscript of an unspecified layer l: ^{(l)} or ^{l}."""
        return _sup(self.p, "l")

    def _units_named_as_output(self) -> bool:
        # A function-style output name, f(x, W), names the network's whole output; with several output
        # units each is written as the last layer's activation, as the lecture writes a^{(5)} = f(X, W)
        # (f(x, W)_1 in every factor of a path would not fit a line).
        return self.p.output_hat and not ("(" in self.p.output and self.width(self.L) > 1)

    def output_symbol(self) -> str:
        """One output of one example without its unit subscript, as a loss formula writes it: ŷ, a^{(3)}."""
        if self._units_named_as_output():
            return self.p.output
        return self.p.activation_letter + _sup(self.p, str(self.layer(self.L)))

    def ones(self) -> str:
        """The column of ones that adds a bias row to every example: 1_m, 1_N."""
        count = self.p.examples
        return r"\mathbf{1}_" + (count if len(count) == 1 else "{" + count + "}")

    def vector(self, kind: str, l: int | None = None) -> str:
        """The name of a whole layer: x, X, y, a^{(2)}, z^{(2)}, δ^{(2)}, ŷ (with rows: all examples)."""
        p = self.p
        if kind == "x" or (kind == "a" and l == 0):
            return p.input_matrix
        if kind == "y":
            return p.target_matrix
        if kind == "a" and l == self.L and p.output_hat:
            return p.output_matrix
        letter = {"a": p.activation_matrix, "z": p.preactivation_matrix, "delta": p.delta_matrix}[kind]
        return letter + _sup(p, str(self.layer(l)))

    def one_example(self, kind: str, l: int) -> str:
        """A whole layer of one example: the layer's name where that already means one example (z^{(3)});
        where the layer's name is the stacked examples' matrix in another letter (the lecture's bold Z),
        example n's row in the unit's letter, z^{(3)}_n, as the lecture writes it for a single x_n."""
        p = self.p
        stacked = self.vector(kind, l)
        own = {"a": p.activation_letter, "z": p.preactivation, "delta": p.delta}[kind] + _sup(p, str(self.layer(l)))
        return stacked if p.columns or stacked == own else own + "_{n}"

    def unit(self, kind: str, l: int | None, j: int) -> str:
        """The name of one unit of one example: x_1, y_2, a^{(2)}_1, ŷ."""
        p = self.p
        if kind == "x" or (kind == "a" and l == 0):
            return p.input + self._unit_index(0, j)
        if kind == "y":
            return p.target + self._unit_index(self.L, j)
        if kind == "a" and l == self.L and self._units_named_as_output():
            return p.output + self._unit_index(l, j)
        letter = {"a": p.activation_letter, "z": p.preactivation, "delta": p.delta}[kind]
        return letter + _sup(p, str(self.layer(l))) + self._unit_index(l, j)

    def unit_of(self, kind: str, l: int, index: str) -> str:
        """Unit `index` (a letter: k, i) of layer l for one example, z^{(3)}_k: the unit's letter, not
        the stacked examples' matrix (qbus writes that one Z, its units z)."""
        p = self.p
        letter = {"a": p.activation_letter, "z": p.preactivation, "delta": p.delta}[kind]
        return letter + _sup(p, str(self.layer(l))) + "_{" + index + "}"

    # -- parameters ----------------------------------------------------------------------------
    def _arrow(self, src: int, dst: int) -> str:
        return rf"{self.layer(src)}\to {self.layer(dst)}"

    def _superscript(self, dst: int, src: int) -> str:
        return _sup(self.p, str(self._weight_layer(dst)) if src == dst - 1 else self._arrow(src, dst))

    def matrix(self, name: str) -> str:
        """Display name of a canonical parameter matrix (W1, W3_1, b2)."""
        p = self.p
        if name.startswith("b"):
            l = int(name[1:])
            if p.bias_unit:  # the bias is column 0 of the weight matrix (row 0 where the matrix is shown transposed)
                return p.matrix_letter + _sup(p, str(self._weight_layer(l))) + (r"_{\cdot 0}" if p.columns else r"_{0\cdot}")
            return p.bias_matrix + _sup(p, str(self._weight_layer(l)))
        dst, src = self._matrix_layers(name)
        return p.matrix_letter + self._superscript(dst, src)

    def _weight_layer(self, dst: int) -> int:
        # "source" profiles label W{l} by the layer it reads from (θ^{(1)} maps layer 1 to 2);
        # "target" profiles by the layer it writes to (nielsen's w^2 maps layer 1 to 2).
        return self.layer(dst) if self.p.weight_by_target else self.layer(dst - 1)

    @staticmethod
    def _matrix_layers(name: str) -> tuple[int, int]:
        body = name[1:]
        if "_" in body:
            dst, src = body.split("_")
            return int(dst), int(src)
        return int(body), int(body) - 1

    def matrix_shape(self, name: str) -> tuple[int, int]:
        """The shape of the matrix as displayed (rows profiles show weights transposed; biases as vectors)."""
        shape = self.spec.parameter_shapes()[name]
        if len(shape) == 1:
            return (1, shape[0]) if not self.p.columns else (shape[0], 1)
        return shape if self.p.columns else (shape[1], shape[0])

    def weight(self, name: str, j: int, k: int) -> str:
        p = self.p
        dst, src = self._matrix_layers(name)
        if p.columns:
            return p.weight_letter + self._superscript(dst, src) + _sub(j + 1, k + 1)
        return p.weight_letter + self._superscript(dst, src) + _sub(k + 1, j + 1)

    def bias(self, l: int, j: int) -> str:
        p = self.p
        if p.bias_unit:
            return p.weight_letter + _sup(p, str(self._weight_layer(l))) + (_sub(j + 1, 0) if p.columns else _sub(0, j + 1))
        return p.bias_letter + _sup(p, str(self._weight_layer(l))) + _sub(j + 1)

    def entry(self, name: str) -> str:
        """A general entry of a parameter matrix with the profile's index letters: θ^{(1)}_{ij}, b^{(2)}_{j}."""
        p = self.p
        row, col = p.index_letters
        if name.startswith("b"):
            l = int(name[1:])
            # A bias goes to the unit its weights go to: the row letter with columns, the column letter with rows.
            if p.bias_unit:
                return p.weight_letter + _sup(p, str(self._weight_layer(l))) + (f"_{{{row}0}}" if p.columns else f"_{{0{col}}}")
            return p.bias_letter + _sup(p, str(self._weight_layer(l))) + f"_{{{row if p.columns else col}}}"
        dst, src = self._matrix_layers(name)
        return p.weight_letter + self._superscript(dst, src) + f"_{{{p.index_letters}}}"

    def parameter(self, key: str) -> str:
        """Display name of a parameter key such as W1[0,1] or b2[0]."""
        name, idx = key.rstrip("]").split("[")
        nums = [int(i) for i in idx.split(",")]
        if name.startswith("b"):
            return self.bias(int(name[1:]), nums[0])
        return self.weight(name, nums[0], nums[1])

    def activation(self, l: int) -> str:
        """How the activation of layer l is written in every section: σ, tanh, … or the profile's g."""
        return self.function(self.spec.activations[l - 1])

    def function(self, activation: str) -> str:
        """How an activation function is written in this document, the same in every section.

        With the profile's letter (nielsen's g, welch's f), the network's element-wise activation is
        written g(z), g'(z) everywhere when its layers share one function; identity and softmax, and the
        layers of a network that mixes functions, are written by their own names (σ, tanh)."""
        from ..engine.activations import LATEX_NAME

        if activation == self.lettered():
            return self.p.activation
        return LATEX_NAME[activation]

    def lettered(self) -> str | None:
        """The activation written with the profile's letter in this document, if any."""
        if not self.p.activation_by_letter:
            return None
        shared = {a for a in self.spec.activations if a not in ("identity", "softmax")}
        return next(iter(shared)) if len(shared) == 1 else None


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
            out[s] = p.examples
        elif info.kind == "J":
            out[s] = p.cost
    return out


def vector_names(network: Network, profile: Profile) -> dict[sp.Symbol, str]:
    """`symbol_names` that print unit 0 of every layer as the whole layer (for element-wise rules)."""
    names = Names(network.spec, profile)
    out: dict[sp.Symbol, str] = {network.m: profile.examples, network.J: profile.cost}
    out[network.y[0]] = names.vector("y")
    for l in range(1, network.depth + 1):
        out[network.a[l][0]] = names.vector("a", l)
        out[network.z[l][0]] = names.vector("z", l)
        out[network.delta[l][0]] = names.vector("delta", l)
    out[network.x[0]] = names.vector("x")
    return out
