"""An independent, hand-written NumPy backpropagation, used to check the symbolic engine.

Nothing here knows about symbols: it is the textbook matrix recursion, written out by hand so
that the numbers the symbolic derivation produces can be compared with numbers obtained a
completely different way (and both with finite differences).

Conventions (the same as everywhere in derive):

* The input is layer 0; computing layers are 1..L with widths ``spec.layers``.
* Examples are rows: ``X`` has shape (m, n0), ``Y`` shape (m, nL).
* ``W{l}`` has shape (n_l, n_{l-1}) (row j feeds unit j), ``b{l}`` shape (n_l,), and a skip
  from layer s to layer l has weights ``W{l}_{s}`` of shape (n_l, n_s), so

      z_l = a_{l-1} @ W_l.T + sum_{skips s -> l} a_s @ W_{l}_{s}.T + b_l,   a_l = f_l(z_l).

* ``delta{l}`` is dJ/dz_l for every example row, including the 1/m of a mean loss.

Precision: all arithmetic is done in float64. float32 (or integer, or nested-list) inputs are
upcast, and every returned array is float64.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..engine.spec import Spec

__all__ = ["forward", "loss", "backprop", "finite_differences", "random_problem"]

SQUARED = ("half_sse", "sse", "half_mse", "mse")


# ---------------------------------------------------------------------------------------------
# Activations and their derivatives (stable for |z| up to 1000 and beyond)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 1/(1+e^-z) for z >= 0 and e^z/(1+e^z) for z < 0: exp only ever sees -|z| <= 0, so it
    # cannot overflow (it may underflow to 0, which is the correct limit).
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_sigmoid(z: np.ndarray) -> np.ndarray:
    """ln sigma(z) = -ln(1 + e^-z), finite for every finite z."""
    return -np.logaddexp(0.0, -z)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise z - logsumexp(z), finite for every finite z, and to every digit where a row's largest
    entry has softmax ≈ 1: ln Σ_j e^(z_j - top) = log1p(Σ over the other entries), the top entry's
    e^0 = 1 left out by its index (z - logsumexp(z) would keep only the digits of lse - top)."""
    rows, k = np.arange(z.shape[0]), z.argmax(axis=1)
    shifted = z - z[rows, k][:, None]
    e = np.exp(shifted)
    e[rows, k] = 0.0
    return shifted - np.log1p(e.sum(axis=1, keepdims=True))


def _complement(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """1 - a of an output layer, to full relative precision also where a is near 1.

    sigmoid: 1 - sigma(z) = sigma(-z). softmax: a row's largest entry has 1 - a_k = the sum of the
    other entries' a_j; every other entry has a <= 1/2, whose 1 - a loses nothing."""
    if name == "sigmoid":
        return _sigmoid(-z)
    comp = 1.0 - a
    if name == "softmax":
        rows, k = np.arange(z.shape[0]), z.argmax(axis=1)
        others = a.copy()
        others[rows, k] = 0.0
        comp[rows, k] = others.sum(axis=1)
    return comp


def _residual(spec: Spec, z: np.ndarray, a: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """a - Y of the output layer. Where a > 1/2 it is (1 - y) - (1 - a), with 1 - a from `_complement`:
    a saturated a = 1 - 2e-9 is held to 16 digits, and a - y would keep only the 8 that 1 - a has."""
    out = spec.activations[-1]
    if out not in ("sigmoid", "softmax"):
        return a - Y
    return np.where(a > 0.5, (1.0 - Y) - _complement(out, z, a), a - Y)


def _activate(name: str, z: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return _sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "identity":
        return z.copy()
    if name == "softmax":
        return _softmax(z)
    raise ValueError(f"unknown activation {name!r}")


def _backward_through(name: str, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
    """dJ/dz from dJ/da for one layer: elementwise f'(z) * grad, or the softmax Jacobian product."""
    if name == "sigmoid":
        # sigma'(z) = sigma(z) (1 - sigma(z)) = sigma(z) sigma(-z): no cancellation for large z.
        return grad_a * a * _sigmoid(-z)
    if name == "tanh":
        return grad_a * (1.0 - a * a)
    if name == "relu":
        return grad_a * (z > 0)  # derivative taken as 0 at z = 0
    if name == "identity":
        return grad_a.copy()
    if name == "softmax":
        # J = diag(a) - a a^T per row, symmetric, so J^T g = a * (g - <a, g>).
        return a * (grad_a - (a * grad_a).sum(axis=1, keepdims=True))
    raise ValueError(f"unknown activation {name!r}")


# ---------------------------------------------------------------------------------------------
# Inputs


def _matrix(values, width: int, what: str, rows: int | None = None) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    if arr.ndim == 1:
        # A flat list is one example (width numbers) or, for one unit, one number per example.
        if rows is not None and arr.size == rows * width:
            arr = arr.reshape(rows, width)
        elif arr.size % width == 0:
            arr = arr.reshape(-1, width)
    if arr.ndim != 2 or arr.shape[1] != width or (rows is not None and arr.shape[0] != rows):
        want = f"({rows if rows is not None else 'm'}, {width})"
        raise ValueError(f"{what} has shape {np.shape(values)}, expected {want}")
    return arr


def _params(spec: Spec, params: Mapping[str, object]) -> dict[str, np.ndarray]:
    shapes = spec.parameter_shapes()
    missing = [n for n in shapes if n not in params]
    extra = [n for n in params if n not in shapes]
    if missing or extra:
        raise ValueError(f"parameters do not match the spec: missing {missing}, unexpected {extra}")
    out = {}
    for name, shape in shapes.items():
        arr = np.asarray(params[name], dtype=np.float64)
        if arr.shape != shape:
            raise ValueError(f"parameter {name} has shape {arr.shape}, expected {shape}")
        out[name] = arr
    return out


def _inputs(spec: Spec, params, X, Y=None):
    P = _params(spec, params)
    Xm = _matrix(X, spec.layers[0], "X")
    if Y is None:
        return P, Xm, None
    Ym = _matrix(Y, spec.layers[-1], "Y", rows=Xm.shape[0])
    return P, Xm, Ym


# ---------------------------------------------------------------------------------------------
# Forward pass and loss


def _forward(spec: Spec, P: dict[str, np.ndarray], X: np.ndarray) -> tuple[list, list]:
    """Lists zs, acts with acts[0] = X and zs[0] = None, indexed by layer."""
    zs: list = [None]
    acts: list = [X]
    for l in range(1, spec.depth + 1):
        z = acts[l - 1] @ P[f"W{l}"].T
        for skip in spec.skips_into(l):
            z = z + acts[skip.src] @ P[skip.name].T
        if spec.biases[l - 1]:
            z = z + P[f"b{l}"]
        zs.append(z)
        acts.append(_activate(spec.activations[l - 1], z))
    return zs, acts


def forward(spec: Spec, params: Mapping[str, object], X) -> dict[str, np.ndarray]:
    """Pre-activations and activations of every computing layer: keys "z1", "a1", ..., "zL", "aL"."""
    P, Xm, _ = _inputs(spec, params, X)
    zs, acts = _forward(spec, P, Xm)
    out: dict[str, np.ndarray] = {}
    for l in range(1, spec.depth + 1):
        out[f"z{l}"] = zs[l]
        out[f"a{l}"] = acts[l]
    return out


def _scale(spec: Spec, m: int) -> float:
    """The constant in front of the sum over examples and output units."""
    return {
        "half_sse": 0.5,
        "sse": 1.0,
        "half_mse": 0.5 / m,
        "mse": 1.0 / m,
        "bce": 1.0,
        "bce_mean": 1.0 / m,
        "cross_entropy": 1.0,
        "cross_entropy_mean": 1.0 / m,
    }[spec.loss]


def _loss_value(spec: Spec, z: np.ndarray, a: np.ndarray, Y: np.ndarray) -> float:
    return float(_scale(spec, Y.shape[0]) * np.sum(_loss_terms(spec, z, a, Y)))


def _loss_terms(spec: Spec, z: np.ndarray, a: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Each example's and output unit's term of the loss, before the constant in front of the sum."""
    out = spec.activations[-1]
    if spec.loss in SQUARED:
        return _residual(spec, z, a, Y) ** 2
    if spec.loss.startswith("bce"):
        if out != "sigmoid":
            raise ValueError(f"{spec.loss} needs a sigmoid output layer, got {out}")
        # ln yhat = ln sigma(z), ln(1 - yhat) = ln sigma(-z)
        return -(Y * _log_sigmoid(z) + (1.0 - Y) * _log_sigmoid(-z))
    if spec.loss.startswith("cross_entropy"):
        if out == "softmax":
            return -(Y * _log_softmax(z))
        if out == "sigmoid":
            return -(Y * _log_sigmoid(z))
        raise ValueError(f"{spec.loss} needs a softmax or sigmoid output layer, got {out}")
    raise ValueError(f"unknown loss {spec.loss!r}")


# L2 regularization, J += c·ΣW² over every weight matrix (skips too, not biases), by hand:
# the number c multiplies λ with, for each `network.l2_scale`.
_L2_FACTOR = {"1/(2m)": lambda m: 0.5 / m, "1/m": lambda m: 1.0 / m, "1/2": lambda m: 0.5, "1": lambda m: 1.0}


def _l2_penalty(spec: Spec, P: dict[str, np.ndarray], m: int) -> float:
    if not spec.l2:
        return 0.0
    c = spec.l2 * _L2_FACTOR[spec.l2_scale](m)
    return float(c * sum(np.sum(P[name] ** 2) for name in spec.parameter_shapes() if name.startswith("W")))


def loss(spec: Spec, params: Mapping[str, object], X, Y) -> float:
    """The loss J of the whole batch (with its L2 term), as a Python float."""
    P, Xm, Ym = _inputs(spec, params, X, Y)
    zs, acts = _forward(spec, P, Xm)
    return _loss_value(spec, zs[-1], acts[-1], Ym) + _l2_penalty(spec, P, Xm.shape[0])


# ---------------------------------------------------------------------------------------------
# Backpropagation


def _output_delta(spec: Spec, z: np.ndarray, a: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dJ/dz_L, derived by hand for the matched pairs and by the chain rule otherwise."""
    c = _scale(spec, Y.shape[0])
    out = spec.activations[-1]
    if spec.loss in SQUARED:
        # dJ/dyhat = 2c (yhat - y), then through the output activation (softmax: full Jacobian).
        return _backward_through(out, z, a, 2.0 * c * _residual(spec, z, a, Y))
    if spec.loss.startswith("bce") and out == "sigmoid":
        # d/dz [-y ln s - (1-y) ln(1-s)] = -y (1-s) + (1-y) s = s - y
        return c * _residual(spec, z, a, Y)
    if spec.loss.startswith("cross_entropy"):
        if out == "softmax":
            # d/dz_k [-sum_j y_j (z_j - lse(z))] = -y_k + s_k sum_j y_j = (s - y) + s (sum_j y_j - 1)
            return c * (_residual(spec, z, a, Y) + a * (Y.sum(axis=1, keepdims=True) - 1.0))
        if out == "sigmoid":
            # d/dz [-y ln s(z)] = -y (1 - s(z)) = -y s(-z)
            return -c * Y * _sigmoid(-z)
    raise ValueError(f"loss {spec.loss!r} cannot follow a {out} output layer")


def backprop(spec: Spec, params: Mapping[str, object], X, Y):
    """(loss, gradients by canonical parameter name and shape, deltas "delta1".."deltaL" of shape (m, n_l))."""
    P, Xm, Ym = _inputs(spec, params, X, Y)
    zs, acts = _forward(spec, P, Xm)
    L = spec.depth
    J = _loss_value(spec, zs[L], acts[L], Ym) + _l2_penalty(spec, P, Xm.shape[0])

    deltas: list = [None] * (L + 1)
    # grad_a[l] accumulates dJ/da_l from every layer that layer l feeds (the next one and skips).
    grad_a = [np.zeros_like(a) for a in acts]
    deltas[L] = _output_delta(spec, zs[L], acts[L], Ym)
    grads: dict[str, np.ndarray] = {}
    for l in range(L, 0, -1):
        if l < L:
            deltas[l] = _backward_through(spec.activations[l - 1], zs[l], acts[l], grad_a[l])
        d = deltas[l]
        for src in spec.sources_of(l):
            name = spec.weight_name(l, src)
            grads[name] = d.T @ acts[src]
            if spec.l2:  # d(c·ΣW²)/dW = 2c·W; δ itself does not change
                grads[name] = grads[name] + 2.0 * spec.l2 * _L2_FACTOR[spec.l2_scale](Xm.shape[0]) * P[name]
            grad_a[src] += d @ P[name]
        if spec.biases[l - 1]:
            grads[f"b{l}"] = d.sum(axis=0)

    ordered = {name: grads[name] for name in spec.parameter_shapes()}
    return J, ordered, {f"delta{l}": deltas[l] for l in range(1, L + 1)}


# ---------------------------------------------------------------------------------------------
# Checks


FD_BATCH_FLOATS = 1 << 21  # rows × width of one batch of perturbed forward passes (16 MB of float64)
# Multiply-adds of all perturbed forward passes (about a second). Every entry costs a pass from its
# layer on for every example, so the total grows with parameters × weights × examples; past this
# budget an evenly spread sample of each matrix's entries is differenced and the rest are NaN.
FD_WORK_BUDGET = 1e9


def finite_differences(spec: Spec, params: Mapping[str, object], X, Y, rel_step: float = 1e-3,
                       budget: float = FD_WORK_BUDGET) -> dict[str, np.ndarray]:
    """dJ/dtheta for every parameter entry by Richardson-extrapolated central differences.

    With D(h) = (J(theta + h) - J(theta - h)) / 2h and h = rel_step * max(1, |theta|) / max(1, |X|),
    the combination (4 D(h/2) - D(h)) / 3 cancels the h^2 error term, leaving O(h^4) truncation
    error (about 1e-12 relative) plus rounding error of order 1e-16 * |J| / h. Dividing by the
    largest input keeps the step's effect on z at about rel_step when inputs are large.

    Each J(theta ± step) is a real forward pass of the perturbed network. Moving entry (j, k) of a
    matrix into layer l by t moves z_l[:, j] by t·a_src[:, k] and nothing before layer l, so the
    layers before l are computed once and the perturbed passes from layer l on run many at a time,
    stacked as rows (a batched forward pass, not a linearisation). When all of them would cost more
    than `budget` multiply-adds, an evenly spread sample of each matrix's entries (at least one) is
    differenced and the other entries are NaN.
    """
    P, Xm, Ym = _inputs(spec, params, X, Y)
    input_scale = max(1.0, float(np.max(np.abs(Xm)))) if Xm.size else 1.0
    zs, acts = _forward(spec, P, Xm)
    m = Xm.shape[0]
    c = _scale(spec, m)
    # Multiply-adds of one example's forward pass from layer l on, for every l.
    tail = [sum(P[spec.weight_name(k, s)].size for k in range(max(l, 1), spec.depth + 1) for s in spec.sources_of(k))
            for l in range(spec.depth + 2)]
    work = 4 * m * sum(P[name].size * tail[_layer_of(name)] for name in P)
    share = min(1.0, budget / work) if work else 1.0
    result: dict[str, np.ndarray] = {}
    for l in range(1, spec.depth + 1):
        for src in list(spec.sources_of(l)) + (["bias"] if spec.biases[l - 1] else []):
            name = f"b{l}" if src == "bias" else spec.weight_name(l, src)
            value = P[name]
            entries = list(np.ndindex(value.shape))
            chosen = np.arange(len(entries))
            if share < 1.0:
                chosen = np.unique(np.linspace(0, len(entries) - 1, max(1, int(share * len(entries)))).round().astype(int))
                entries = [entries[i] for i in chosen]
            h = rel_step * np.maximum(1.0, np.abs(value.reshape(-1)[chosen])) / input_scale
            steps = np.stack([h / 2.0, -h / 2.0, h, -h], axis=1)  # per entry: J at θ + each
            width = max(spec.layers[l:])
            chunk = max(1, FD_BATCH_FLOATS // (4 * m * width))
            J = np.empty((len(entries), 4))
            for start in range(0, len(entries), chunk):
                part = entries[start:start + chunk]
                J[start:start + len(part)] = _perturbed_losses(spec, P, zs, acts, Ym, l, src, part,
                                                               steps[start:start + len(part)], c)
            if spec.l2 and src != "bias":  # J's L2 term moves too: c·((θ + s)² − θ²) for the entry's weight
                theta = value.reshape(-1)[chosen][:, None]
                J += spec.l2 * _L2_FACTOR[spec.l2_scale](m) * (2.0 * theta * steps + steps ** 2)
            d_half = (J[:, 0] - J[:, 1]) / (2.0 * steps[:, 0])
            d_full = (J[:, 2] - J[:, 3]) / (2.0 * steps[:, 2])
            grad = np.full(value.size, np.nan)
            grad[chosen] = (4.0 * d_half - d_full) / 3.0
            result[name] = grad.reshape(value.shape)
    return {name: result[name] for name in spec.parameter_shapes()}


def _layer_of(name: str) -> int:
    """The layer a parameter matrix feeds: W3, W3_1 and b3 feed layer 3."""
    return int(name[1:].split("_")[0])


def _perturbed_losses(spec: Spec, P, zs, acts, Y, layer: int, src, entries, steps: np.ndarray, c: float) -> np.ndarray:
    """J for each entry and each of its steps: z_layer moved in one column, then forward to the loss."""
    m = Y.shape[0]
    batch = len(entries) * steps.shape[1]
    units = np.array([e[0] for e in entries])
    # z of the perturbed layer for every (entry, step, example): rows ordered entry-major
    z = np.broadcast_to(zs[layer], (batch, m, zs[layer].shape[1])).copy()
    moved = np.ones((len(entries), m)) if src == "bias" else acts[src][:, [e[1] for e in entries]].T
    t = (steps[:, :, None] * moved[:, None, :]).reshape(batch, m)
    z[np.arange(batch), :, np.repeat(units, steps.shape[1])] += t
    z = z.reshape(batch * m, -1)
    batched: dict[int, np.ndarray] = {layer: _activate(spec.activations[layer - 1], z)}

    def act(k: int) -> np.ndarray:
        # layers before the perturbed one are the same in every pass: repeat their rows
        return batched[k] if k in batched else np.tile(acts[k], (batch, 1))

    for l in range(layer + 1, spec.depth + 1):
        z = act(l - 1) @ P[f"W{l}"].T
        for skip in spec.skips_into(l):
            z = z + act(skip.src) @ P[skip.name].T
        if spec.biases[l - 1]:
            z = z + P[f"b{l}"]
        batched[l] = _activate(spec.activations[l - 1], z)
    terms = _loss_terms(spec, z, batched[spec.depth], np.tile(Y, (batch, 1)))
    return c * terms.reshape(batch, -1).sum(axis=1).reshape(len(entries), steps.shape[1])


def random_problem(spec: Spec, seed: int, examples: int = 3):
    """(params, X, Y): parameters uniform in [-1, 1], X standard normal, Y legal for the loss; float64.

    Y is one-hot rows for a softmax output, uniform in (0.01, 0.99) for bce / cross-entropy with a
    sigmoid output, and standard normal for the squared losses otherwise.
    """
    rng = np.random.default_rng(seed)
    params = {name: rng.uniform(-1.0, 1.0, size=shape) for name, shape in spec.parameter_shapes().items()}
    n_in, n_out = spec.layers[0], spec.layers[-1]
    X = rng.standard_normal((examples, n_in))
    if spec.activations[-1] == "softmax":
        Y = np.zeros((examples, n_out))
        Y[np.arange(examples), rng.integers(0, n_out, size=examples)] = 1.0
    elif spec.loss.startswith(("bce", "cross_entropy")):
        Y = rng.uniform(0.01, 0.99, size=(examples, n_out))
    else:
        Y = rng.standard_normal((examples, n_out))
    return params, X, Y
