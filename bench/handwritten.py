"""The reference speed: a hand-written NumPy matrix backprop, as tight as plain NumPy gets.

Examples are rows (X: m × n_0), W_l keeps derive's canonical (n_l, n_{l-1}) shape, b_l is (n_l,).
Everything the spec fixes (activations, loss, names) is decided once in `make_backprop`, so a
call is only the textbook recursion: z = a W.T (+ b), a = f(z), δ_L from the loss,
δ_l = (δ_{l+1} W_{l+1}) ∘ f'(a_l), dW_l = δ_lᵀ a_{l-1}, db_l = Σ_rows δ_l. Temporaries are
reused in place where that saves an allocation, products are `ndarray.dot` (the same BLAS call
as `@` without the generalized-ufunc set-up, ~0.7 µs a product at one example) and ufuncs take
their output positionally. It trusts its inputs (float64 arrays of the right shapes): no
validation, no dtype handling, no overflow guards (the textbook 1/(1 + e^{−z}) sigmoid), which
is what makes it the lower bound the generated code is held to.

Supported: sigmoid / tanh / identity hidden layers; sigmoid, identity or softmax output;
the squared losses and cross-entropy (with softmax) — enough for every benchmark network.
"""
from __future__ import annotations

import numpy as np


def make_backprop(spec):
    """A function (params, X, Y) -> {name: gradient} for one spec, without skips."""
    if spec.skips:
        raise ValueError("the hand-written baseline does not do skip connections")
    L = spec.depth
    acts = spec.activations
    W_names = [f"W{l}" for l in range(1, L + 1)]
    b_names = [f"b{l}" if spec.biases[l - 1] else None for l in range(1, L + 1)]
    order = list(spec.parameter_shapes())
    loss, out = spec.loss, acts[-1]
    if loss in ("half_sse", "sse", "half_mse", "mse"):
        scale_of = {"half_sse": lambda m: 1.0, "sse": lambda m: 2.0, "half_mse": lambda m: 1.0 / m, "mse": lambda m: 2.0 / m}[loss]
        if out not in ("sigmoid", "identity", "tanh"):
            raise ValueError(f"baseline: squared loss with a {out} output is not written out")
    elif loss in ("cross_entropy", "cross_entropy_mean") and out == "softmax":
        scale_of = (lambda m: 1.0) if loss == "cross_entropy" else (lambda m: 1.0 / m)
    else:
        raise ValueError(f"baseline: {loss} with a {out} output is not written out")
    for act in acts[:-1]:
        if act not in ("sigmoid", "tanh", "identity"):
            raise ValueError(f"baseline: hidden activation {act} is not written out")

    exp, tanh, reciprocal, negative, multiply, subtract, add, divide = (
        np.exp, np.tanh, np.reciprocal, np.negative, np.multiply, np.subtract, np.add, np.divide)
    one = np.array(1.0)  # a 0-d float64: NumPy converts a Python float on every call

    def activate(act, z):
        # In place on the fresh z: a = 1/(1 + e^{-z}), tanh z, or a row softmax.
        if act == "sigmoid":
            negative(z, z)
            exp(z, z)
            add(z, one, z)
            return reciprocal(z, z)
        if act == "tanh":
            return tanh(z, z)
        if act == "softmax":
            subtract(z, z.max(axis=1, keepdims=True), z)
            exp(z, z)
            divide(z, z.sum(axis=1, keepdims=True), z)
            return z
        return z

    def slope_times(act, a, back):
        # back ∘ f'(z), f' written from the output a, into back.
        if act == "sigmoid":
            multiply(back, a, back)
            subtract(back, multiply(back, a), back)  # back·a − back·a² = back·a(1 − a)
            return back
        if act == "tanh":
            s = multiply(a, a)
            subtract(one, s, s)
            multiply(back, s, back)
            return back
        return back

    def backprop(params, X, Y):
        m = X.shape[0]
        Ws = [params[n] for n in W_names]
        A = [X]
        a = X
        for l in range(L):
            z = a.dot(Ws[l].T)
            if b_names[l] is not None:
                add(z, params[b_names[l]], z)
            a = activate(acts[l], z)
            A.append(a)
        scale = scale_of(m)
        d = subtract(a, Y)  # softmax + cross-entropy: δ = A − Y; squared: ∂J/∂A = (A − Y) · scale
        if scale != 1.0:
            multiply(d, scale, d)
        if out != "softmax":
            d = slope_times(out, a, d)
        grads = {}
        for l in range(L, 0, -1):
            grads[W_names[l - 1]] = d.T.dot(A[l - 1])
            if b_names[l - 1] is not None:
                grads[b_names[l - 1]] = d.sum(axis=0)
            if l > 1:
                d = slope_times(acts[l - 2], A[l - 1], d.dot(Ws[l - 1]))
        return {n: grads[n] for n in order}

    return backprop
