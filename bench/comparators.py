"""Optional comparators: torch.autograd and jax.jit(jax.grad), when they are installed.

Each `make_*` returns None when its library is missing, else a function
prepare(params, X, Y) -> zero-argument callable that computes every gradient once (with the
inputs already converted, so the timing is only the gradient evaluation). Only the benchmark
networks' combinations are written out: sigmoid/tanh hidden layers, sigmoid output with a
½-squared error, softmax output with cross-entropy.
"""
from __future__ import annotations

import importlib.util


def available(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _loss_kind(spec) -> str:
    if spec.loss == "half_sse" and spec.activations[-1] == "sigmoid":
        return "half_sse"
    if spec.loss == "cross_entropy" and spec.activations[-1] == "softmax":
        return "cross_entropy"
    raise ValueError(f"comparators: {spec.loss} with {spec.activations[-1]} is not written out")


def _forward(spec, kind: str, acts: dict, P, X):
    """The last layer's z and a, in whichever library's arrays P and X are (both have @ and +).

    With a softmax output a stays the last hidden layer's: the loss reads z through log-softmax.
    """
    a = z = X
    for l in range(1, spec.depth + 1):
        z = a @ P[f"W{l}"].T
        if spec.biases[l - 1]:
            z = z + P[f"b{l}"]
        if l < spec.depth or kind == "half_sse":
            a = acts[spec.activations[l - 1]](z)
    return z, a


def make_torch(spec):
    if not available("torch"):
        return None
    import torch

    kind = _loss_kind(spec)
    names = list(spec.parameter_shapes())
    acts = {"sigmoid": torch.sigmoid, "tanh": torch.tanh}

    def prepare(params, X, Y):
        P = {n: torch.tensor(params[n], dtype=torch.float64, requires_grad=True) for n in names}
        Xt, Yt = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)
        leaves = [P[n] for n in names]

        def run():
            z, a = _forward(spec, kind, acts, P, Xt)
            if kind == "half_sse":
                J = 0.5 * ((a - Yt) ** 2).sum()
            else:
                J = -(Yt * torch.log_softmax(z, dim=1)).sum()
            return torch.autograd.grad(J, leaves)

        return run

    return prepare


def make_jax(spec):
    if not available("jax"):
        return None
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    kind = _loss_kind(spec)
    acts = {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh}

    def J(P, X, Y):
        z, a = _forward(spec, kind, acts, P, X)
        if kind == "half_sse":
            return 0.5 * jnp.sum((a - Y) ** 2)
        return -jnp.sum(Y * jax.nn.log_softmax(z, axis=1))

    grad = jax.jit(jax.grad(J))

    def prepare(params, X, Y):
        P = {n: jnp.asarray(v) for n, v in params.items()}
        Xj, Yj = jnp.asarray(X), jnp.asarray(Y)
        jax.block_until_ready(grad(P, Xj, Yj))  # compile outside the timing

        def run():
            return jax.block_until_ready(grad(P, Xj, Yj))

        return run

    return prepare
