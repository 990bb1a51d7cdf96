"""Worked numbers: every z, a, δ, gradient and updated parameter, from the spec's decimals.

The numbers are the derivation's own scalar formulas (the worksheet's formulas) evaluated in exact
and high-precision arithmetic: the numbers the spec gives are read as the decimals the lecturer
wrote (0.1 is 1/10, not the nearest binary float), the affine parts (z = Σ w a + b, ReLU, identity)
stay exact fractions as long as their inputs are, and everything else is computed with mpmath at
`DIGITS` significant digits. So a pre-activation that is 0 in the spec's decimals is exactly 0 and
gets ReLU′(0) = 0, where binary floats give 2.8e−17 and ReLU′ = 1. The same numbers are then
cross-checked against the generated module (gradients.py) in floats.

A saturated unit is computed exactly too: σ(200) is 1 − 1.38·10⁻⁸⁷, and at DIGITS digits 1 − σ(200)
would be 0 (δ = ŷ − y = 0 for a target of 1, ln(1 − ŷ) = −∞ in the loss). So an output of σ, tanh
or softmax within 10⁻²⁰ of ±1 is held as the exact fraction ±(1 − c), its gap c computed directly
(σ(−z), 2σ(−2|z|), the other units' share) to DIGITS digits, and every sum and product over it stays
exact; ln of a fraction near 1 goes through log1p. Past MAX_GAP_DIGITS digits the gap is dropped
(forward_pass reports it): no binary64 answer can hold it, and a sheet refuses to print it.
"""
from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import mpmath
import numpy as np
import sympy as sp

from ..code.codegen import load_module, module_source
from ..engine import activations
from ..engine.derivation import Derivation
from ..engine.spec import Values

DIGITS = 50  # working precision of the transcendental parts (significant digits)
# An activation this close to ±1 is held as an exact fraction ±(1 − c) (see the module's docstring).
PINNED_GAP = mpmath.mpf(10) ** -20
# The longest gap kept: σ(z) for z up to ~23,000, tanh to ~11,500. Exact sums over such fractions
# cost milliseconds; at 10⁵ digits they would cost seconds each.
MAX_GAP_DIGITS = 10_000
_NEAR_BOUND = 1 - mpmath.mpf(10) ** -15  # only an activation past this is looked at again
_TINY = mpmath.mpf(10) ** -MAX_GAP_DIGITS
# Above this many example × parameter products the exact evaluation would take seconds; the numbers
# then come from the generated module in binary floats (answers.json says which).
MAX_EXACT_WORK = 400_000
LAYOUT_NOTE = "canonical (out, in): W<l>[j][k] is the weight into unit j of layer l from unit k of the layer feeding it"

Number = Fraction | mpmath.mpf


def example_arrays(values: Values) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    params = {k: np.array(v, dtype=float) for k, v in values.params.items()}
    return params, np.array(values.x, dtype=float), np.array(values.y, dtype=float)


def as_written(value: float) -> Fraction:
    """The decimal a spec's number was written as: TOML's 0.1 is read back as exactly 1/10.

    `repr(float)` is the shortest decimal that reads back to the same float, which is what the
    lecturer typed (or an equal, shorter spelling of it)."""
    return Fraction(Decimal(repr(float(value))))


# -- evaluating the derivation's formulas --------------------------------------------------------

def _mp(v: Number) -> mpmath.mpf:
    return v if isinstance(v, mpmath.mpf) else mpmath.mpf(v.numerator) / v.denominator


def _combine(values: list[Number], exact, inexact) -> Number:
    if all(isinstance(v, Fraction) for v in values):
        return exact(values)
    return inexact([_mp(v) for v in values])


def _sum(vals):
    total = vals[0]
    for v in vals[1:]:
        total = total + v
    return total


def _prod(vals):
    total = vals[0]
    for v in vals[1:]:
        total = total * v
    return total


def add(a: Number, b: Number) -> Number:
    return _combine([a, b], _sum, _sum)


def sub(a: Number, b: Number) -> Number:
    return _combine([a, b], lambda v: v[0] - v[1], lambda v: v[0] - v[1])


def to_mpf(v: Number) -> mpmath.mpf:
    """A worked number as an mpmath number (at the working precision in force)."""
    return _mp(v)


def mul(a: Number, b: Number) -> Number:
    return _combine([a, b], _prod, _prod)


def evaluate(expr: sp.Expr, env: dict[sp.Symbol, Number]) -> Number:
    """`expr` (a formula of the derivation) at the values in `env`: exact where it can be.

    Fractions stay fractions through sums, products, integer powers, ReLU, its step and identity;
    σ, tanh, exp and ln make mpmath numbers (call inside `mpmath.workdps`)."""
    fn = _COMPILED.get(expr)
    if fn is None:
        fn = _compile(expr)
        if len(_COMPILED) > 200_000:
            _COMPILED.clear()
        _COMPILED[expr] = fn
    return fn(env)


_COMPILED: dict[sp.Expr, object] = {}


def _compile(expr: sp.Expr):
    """`expr` as a Python closure over an env dict (walking SymPy's tree once, not per evaluation)."""
    if expr.is_Symbol:
        return lambda env: env[expr]
    if expr.is_Rational:
        const = Fraction(int(expr.p), int(expr.q))
        return lambda env: const
    if expr.is_Number:
        const = mpmath.mpf(str(expr))
        return lambda env: const
    parts = [_compile(a) for a in expr.args]
    if isinstance(expr, sp.Add):
        return lambda env: _combine([f(env) for f in parts], _sum, _sum)
    if isinstance(expr, sp.Mul):
        return lambda env: _combine([f(env) for f in parts], _prod, _prod)
    if isinstance(expr, sp.Pow):
        fb, fe = parts

        def power(env):
            base, exp = fb(env), fe(env)
            if isinstance(exp, Fraction) and exp.denominator == 1:
                if isinstance(base, Fraction):
                    return base ** exp.numerator
                return _mp(base) ** int(exp.numerator)
            return _mp(base) ** _mp(exp)
        return power
    if isinstance(expr, activations.ReLU):
        f = parts[0]
        return lambda env: max(f(env), Fraction(0), key=_mp)
    if isinstance(expr, sp.Max):
        return lambda env: max((g(env) for g in parts), key=_mp)
    if isinstance(expr, sp.Heaviside):
        # The step at 0 is its second argument: 0 (ReLU′(0) = 0) everywhere in derive.
        f, at0 = parts[0], (parts[1] if len(parts) > 1 else (lambda env: Fraction(1, 2)))

        def step(env):
            z = f(env)
            if z == 0:
                return at0(env)
            return Fraction(1) if z > 0 else Fraction(0)
        return step
    f = parts[0]
    if isinstance(expr, activations.Sigmoid):
        def sigmoid(env):
            z = f(env)
            return Fraction(1, 2) if z == 0 else 1 / (1 + mpmath.exp(-_mp(z)))
        return sigmoid
    if isinstance(expr, activations.LogSigmoid):
        return lambda env: -mpmath.log1p(mpmath.exp(-_mp(f(env))))
    if isinstance(expr, activations.LogSumExp):
        def lse(env):
            zs = [_mp(g(env)) for g in parts]
            top = max(zs)
            return top + mpmath.log(mpmath.fsum(mpmath.exp(z - top) for z in zs))
        return lse
    if isinstance(expr, sp.tanh):
        def tanh(env):
            z = f(env)
            return Fraction(0) if z == 0 else mpmath.tanh(_mp(z))
        return tanh
    if isinstance(expr, sp.exp):
        def exp(env):
            z = f(env)
            return Fraction(1) if z == 0 else mpmath.exp(_mp(z))
        return exp
    if isinstance(expr, sp.log):
        def log(env):
            z = f(env)
            if isinstance(z, Fraction):
                if z == 1:
                    return Fraction(0)
                if Fraction(1, 2) < z < Fraction(3, 2):  # ln(1 − c) of a saturated unit: c, not 1 − c rounded
                    return mpmath.log1p(_mp(z - 1))
            return mpmath.log(_mp(z))
        return log
    raise TypeError(f"cannot evaluate {type(expr).__name__} in worked numbers")


def forward_pass(net, params: dict, n: int, lost: list | None = None) -> dict:
    """Example n of the spec's [values] through the network: every z and a, exact where it can be,
    with the parameters `params`, the example's x and y as the spec wrote them, and m
    (call inside `mpmath.workdps`). A saturated activation is pinned (`_pin_saturated`); one whose
    gap is past MAX_GAP_DIGITS is appended to `lost` as (n, a, z, digits)."""
    values = net.spec.values
    env: dict[sp.Symbol, Number] = dict(params)
    env[net.m] = Fraction(len(values.x))
    env.update({x: as_written(v) for x, v in zip(net.x, values.x[n])})
    env.update({y: as_written(v) for y, v in zip(net.y, values.y[n])})
    for l in range(1, net.depth + 1):
        for z in net.z[l]:
            env[z] = evaluate(net.z_expr[z], env)
        for a in net.a[l]:
            env[a] = evaluate(net.a_expr[a], env)
        if net.activation(l) in ("sigmoid", "tanh", "softmax"):
            _pin_saturated(net, l, env, n, lost)
    return env


def saturation_gap(activation: str, zs: list, j: int) -> tuple[int, mpmath.mpf] | None:
    """(bound, gap) of unit j of a layer with pre-activations `zs` if its activation nears ±1:
    σ(z) = 1 − σ(−z), tanh z = ±(1 − 2σ(−2|z|)), softmax's top unit 1 − (the others' share);
    None where no bound is near (a value near 0 keeps its own relative precision)."""
    z = _mp(zs[j])
    if activation == "sigmoid":
        return (1, 1 / (1 + mpmath.exp(z))) if z > 0 else None
    if activation == "tanh":
        return ((1 if z > 0 else -1), 2 / (1 + mpmath.exp(2 * abs(z)))) if z != 0 else None
    others = [_mp(v) - z for k, v in enumerate(zs) if k != j]
    if any(d >= 0 for d in others):  # not the one top unit: at most 1/2
        return None
    share = mpmath.fsum(mpmath.exp(d) for d in others)
    return 1, share / (1 + share)


def _pin_saturated(net, l: int, env: dict, n: int, lost: list | None) -> None:
    """Hold layer l's activations within PINNED_GAP of ±1 as exact fractions ±(1 − c)."""
    act = net.activation(l)
    zs = [env[z] for z in net.z[l]]
    for j, a in enumerate(net.a[l]):
        value = env[a]
        if isinstance(value, Fraction):
            continue
        size = abs(_mp(value))
        if size < _NEAR_BOUND:  # far from ±1 (the gap's own evaluation, below, is needed only near it)
            if act != "tanh" and lost is not None and 0 < size < _TINY:
                # near σ's or softmax's 0, whose 1 − a a sheet's lines hold exactly: as long as a gap
                lost.append((n, a, zs[j], -int(mpmath.floor(mpmath.log10(size)))))
            continue
        found = saturation_gap(act, zs, j)
        if found is None:
            continue
        bound, gap = found
        if gap >= PINNED_GAP:
            continue
        digits = -int(mpmath.floor(mpmath.log10(gap)))
        if digits > MAX_GAP_DIGITS:
            env[a] = Fraction(bound)
            if lost is not None:
                lost.append((n, a, zs[j], digits))
            continue
        c = Fraction(Decimal(mpmath.nstr(gap, DIGITS, min_fixed=1, max_fixed=0)))
        env[a] = bound * (1 - c)


def _spread_digits(net, env: dict) -> int:
    """The digits a softmax layer's smallest output lies below its largest: the δ of tied top units
    (four outputs at z = 700, one at −700) cancels down to that smallest output, e⁻¹⁴⁰⁰, so the
    example is evaluated with that many more digits (at most MAX_GAP_DIGITS; past that the output
    is lost to a sheet anyway, and to binary64 long before)."""
    extra = 0
    for l in range(1, net.depth + 1):
        if net.activation(l) == "softmax":
            zs = [_mp(env[z]) for z in net.z[l]]
            spread = int(mpmath.ceil((max(zs) - min(zs)) / mpmath.log(10)))
            if spread > DIGITS // 2:  # below this, DIGITS already keep the smallest output's share
                extra = max(extra, min(spread, MAX_GAP_DIGITS) + 10)
    return extra


def example_loss(net, env: dict) -> Number:
    """One example's J at `env` (a forward pass), in the form that keeps its digits: the squared
    error as written, a sigmoid output's logarithms as ln σ(±z) (ln(1 − ŷ) of a ŷ = 10⁻⁸⁷ is not
    ln 1), a softmax output's as ln ŷ_k (its top unit pinned, ln(1 − c) through log1p; its z − ln Σ e^z
    form cancels). Call inside `mpmath.workdps`."""
    if net.loss.kind == "squared" or net.activation(net.depth) == "softmax":
        return evaluate(net.loss_expr, env)
    return evaluate(net.loss_stable, env)


def precise(derivation: Derivation, examples: int | None = None, totals: bool = True) -> dict:
    """Every worked number of the spec's [values], exact or to DIGITS digits.

    Returns {"values": [per example {symbol: number}], "params": {symbol: number}, "m": Fraction,
    "loss": number, "gradients": {key: number}, "updated": {key: number} or None, "rate": Fraction
    or None, "lost": [(n, a, z, digits)] (saturated units whose gap was dropped)}. `examples` limits
    the per-example values kept; the sums run over every example unless `totals` is False (then only
    the kept examples are evaluated, and loss and gradients are None)."""
    net = derivation.network
    spec = net.spec
    values = spec.values
    m = len(values.x)
    params: dict[sp.Symbol, Number] = {}
    for p in derivation.parameters:
        arr = values.params[p.matrix]
        params[p.symbol] = as_written(arr[p.index[0]][p.index[1]] if len(p.index) == 2 else arr[p.index[0]])
    grads = {p.key: Fraction(0) for p in derivation.parameters}
    loss: Number = Fraction(0)
    kept, lost = [], []
    top = DIGITS  # the most digits an example has needed so far: the sums (and the updates) keep them
    for n in range(m if totals or examples is None else min(m, examples)):
        with mpmath.workdps(top):
            env = forward_pass(net, params, n, lost)
        digits = max(top, DIGITS + _spread_digits(net, env))
        with mpmath.workdps(digits):
            if digits > top:
                env = forward_pass(net, params, n)
            loss = add(loss, example_loss(net, env))
            for l in range(net.depth, 0, -1):
                for z in net.z[l]:
                    d = derivation.delta[z]
                    env[d] = evaluate(derivation.delta_expr[d], env)
            for p in derivation.parameters:
                grads[p.key] = add(grads[p.key], evaluate(derivation.gradient[p.key], env))
        if examples is None or n < examples:
            kept.append(env)
        top = digits
    with mpmath.workdps(top):
        l2 = l2_numbers(derivation, params, Fraction(m)) if totals else None
        if l2 is not None:
            # J and each weight's gradient gain the L2 term's part; δ and the examples' sums do not change.
            l2["loss"], l2["gradients"] = loss, dict(grads)  # the loss's own parts, before the term
            loss = add(loss, l2["penalty"])
            grads = {key: add(g, mul(l2["slope"], params[l2["weights"][key]])) if key in l2["weights"] else g
                     for key, g in grads.items()}
        rate = as_written(values.learning_rate) if values.learning_rate is not None else None
        updated = None
        if rate is not None:
            updated = {p.key: add(params[p.symbol], mul(-rate, grads[p.key])) for p in derivation.parameters}
    if not totals:
        loss, grads, updated = None, None, None
    return {"values": kept, "params": params, "m": Fraction(m), "loss": loss, "gradients": grads,
            "updated": updated, "rate": rate, "l2": l2, "lost": lost}


def l2_numbers(derivation: Derivation, params: dict[sp.Symbol, Number], m: Fraction) -> dict | None:
    """The L2 term's numbers, exact (the spec's λ and weights are decimals, m a whole number), or None.

    {"lambda": λ, "coefficient": c (J gains c·Σw²), "slope": 2c (each weight's gradient gains 2c·w),
    "squares": Σw² over every weight (never a bias), "penalty": c·Σw², "weights": {key: weight symbol}};
    `precise` adds "loss" and "gradients": the examples' sums before the term."""
    net = derivation.network
    if net.l2 is None:
        return None
    env = {net.l2.symbol: Fraction(int(net.l2.value.p), int(net.l2.value.q)), net.m: m}
    coefficient = evaluate(net.l2.coefficient, env)
    read = set(net.l2.weights)
    weights = {p.key: p.symbol for p in derivation.parameters if p.symbol in read}
    squares = Fraction(0)
    for w in weights.values():
        squares = add(squares, mul(params[w], params[w]))
    return {"lambda": env[net.l2.symbol], "coefficient": coefficient, "slope": 2 * coefficient, "squares": squares,
            "penalty": mul(coefficient, squares), "weights": weights}


def exact_work(derivation: Derivation) -> bool:
    """Whether the exact evaluation is cheap enough for every example of this spec."""
    return len(derivation.network.spec.values.x) * len(derivation.parameters) <= MAX_EXACT_WORK


def to_float(v: Number) -> float:
    return float(v)


# -- the answers object --------------------------------------------------------------------------

def compute_answers(derivation: Derivation, module=None) -> dict:
    """The answers object of `derive answers --json`, for a spec with [values].

    Canonical layout throughout (W<l> is (units of layer l, units feeding it), examples are rows),
    whatever layout the spec wrote its values in; the "layout" field says so."""
    spec = derivation.network.spec
    if spec.values is None:
        raise ValueError("the spec has no [values]")
    module = module or load_module(module_source(derivation))  # the generated gradients.py, loaded
    params, X, Y = example_arrays(spec.values)
    trace = module.trace_scalar(params, X, Y)
    result = {
        "network": spec.name,
        "layout": LAYOUT_NOTE,
        "examples": int(X.shape[0]),
        "inputs": {"x": X.tolist(), "y": Y.tolist()},
        "parameters": {k: v.tolist() for k, v in params.items()},
    }
    if exact_work(derivation):
        result["arithmetic"] = "exact decimals of the spec; σ, tanh, exp, ln to 50 digits; rounded to binary64"
        result.update(_from_precise(derivation, precise(derivation)))
        _cross_check(derivation, result, trace)
    else:
        result["arithmetic"] = "binary64 (the generated module; too many examples for the exact evaluation)"
        result["loss"] = float(trace["loss"])
        result["forward"] = {k: v.tolist() for k, v in trace["forward"].items()}
        result["delta"] = {k: v.tolist() for k, v in trace["delta"].items()}
        result["gradients"] = {k: v.tolist() for k, v in trace["gradients"].items()}
        rate = spec.values.learning_rate
        if rate is not None:
            result["learning_rate"] = rate
            result["updated"] = {k: (params[k] - rate * trace["gradients"][k]).tolist() for k in params}
    if spec.l2:
        # J and every weight's gradient include the L2 term (the generated code adds it); say which.
        result["l2"] = {"lambda": spec.l2, "scale": spec.l2_scale, "weights": [n for n in params if n.startswith("W")]}
    return result


def _from_precise(derivation: Derivation, pv: dict) -> dict:
    net = derivation.network
    spec = net.spec
    ex = pv["values"]
    out = {"loss": to_float(pv["loss"])}
    out["forward"] = {}
    for l in range(1, net.depth + 1):
        out["forward"][f"z{l}"] = [[to_float(e[z]) for z in net.z[l]] for e in ex]
        out["forward"][f"a{l}"] = [[to_float(e[a]) for a in net.a[l]] for e in ex]
    out["delta"] = {f"delta{l}": [[to_float(e[d]) for d in net.delta[l]] for e in ex] for l in range(net.depth, 0, -1)}

    def matrices(table: dict) -> dict:
        result = {}
        for name, shape in spec.parameter_shapes().items():
            if len(shape) == 1:
                result[name] = [to_float(table[f"{name}[{j}]"]) for j in range(shape[0])]
            else:
                result[name] = [[to_float(table[f"{name}[{j},{k}]"]) for k in range(shape[1])] for j in range(shape[0])]
        return result
    out["gradients"] = matrices(pv["gradients"])
    if pv["rate"] is not None:
        out["learning_rate"] = spec.values.learning_rate
        out["updated"] = matrices(pv["updated"])
    return out


def _cross_check(derivation: Derivation, result: dict, trace: dict) -> None:
    """The exact numbers against the generated module's floats: the same formulas, two arithmetics.

    They agree to rounding, except where a pre-activation sits exactly on ReLU's kink: there the
    floats may see 2.8e−17 instead of 0 and take the other side, so δ and the gradients are compared
    only for specs without an exact kink."""
    kink = any(v == 0 for layer in result["forward"] for row in result["forward"][layer] for v in row
               if layer.startswith("z")) and "relu" in derivation.network.spec.activations

    def close(a, b, what):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        scale = max(1.0, float(np.max(np.abs(a))) if a.size else 1.0)
        if a.shape != b.shape or not np.all(np.abs(a - b) <= 1e-9 * scale):
            raise RuntimeError(f"derive: internal error: worked numbers and gradients.py disagree on {what}")
    if math.isfinite(result["loss"]) and math.isfinite(float(trace["loss"])):
        close(result["loss"], trace["loss"], "the loss")
    for k, v in trace["forward"].items():
        close(result["forward"][k], v, k)
    if not kink:
        for k, v in trace["delta"].items():
            close(result["delta"][k], v, k)
        for k, v in trace["gradients"].items():
            close(result["gradients"][k], v, f"the gradient of {k}")
