"""A finite-difference check of one gradient, as the answer sheet works it (seed 002 §2.4).

J(w + ε) and J(w − ε) are the derivation's own loss evaluated over every example of the spec, the
way `answers.precise` evaluates it: the spec's decimals exactly, σ, tanh, exp and ln to DIGITS
digits. The central difference (J(w + ε) − J(w − ε))/(2ε) is then compared with the backpropagated
gradient. The two J values are printed to one decimal place, fine enough that the quotient of the
*printed* values gives the quotient's printed figures (they differ only far down, by about 2ε·∂J/∂w).
Where they differ further down than DIGITS digits reach (J = 1.5 and ∂J/∂w = 10⁻⁸⁷, through a
saturated unit), J(w ± ε) are evaluated with as many more digits as that takes; where they differ
further down than MAX_PLACES decimal places, no student could do the check from the printed values
(and no page could hold them), so that weight is not offered, and without another, neither is the check.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

import mpmath

from ..engine.derivation import Derivation
from ..numbers.answers import (
    DIGITS,
    MAX_GAP_DIGITS,
    Number,
    add,
    evaluate,
    example_loss,
    forward_pass,
    l2_numbers,
    to_mpf,
)

EPSILON = Fraction(1, 10_000)
EPSILON_TEX = r"10^{-4}"
MAX_TRIES = 4  # weights tried (each costs two forward passes over the batch)
MAX_PLACES = 20  # decimal places a printed J may take (an ordinary sheet's take 4 to 8)


@dataclass(frozen=True)
class FiniteDifference:
    """One parameter's check: the printed values (Decimal text) and whether they agree."""

    key: str  # the parameter, e.g. "W1[0,0]"
    epsilon: Fraction
    j_plus: str  # J(w + ε), printed
    j_minus: str  # J(w − ε), printed
    quotient: str  # (J(w + ε) − J(w − ε)) / (2ε), from the printed J values, to `figures` significant figures
    gradient: str  # the backpropagated ∂J/∂w, to `figures` significant figures
    figures: int
    agree: bool  # |quotient − gradient| within half a unit of the gradient's last printed figure
    exact_quotient: Number  # the quotient of the exact J values (for tests)
    exact_gradient: Number


def loss_at(d: Derivation, params: dict, changed=None, digits: int = DIGITS) -> Number:
    """J over every example of the spec with `params` (symbol -> number), one of them changed by `changed`,
    σ, tanh, exp and ln to `digits` digits."""
    net = d.network
    values = net.spec.values
    env_params = dict(params)
    if changed is not None:
        symbol, step = changed
        env_params[symbol] = env_params[symbol] + step
    m = len(values.x)
    total: Number = Fraction(0)
    with mpmath.workdps(digits):
        for n in range(m):
            total = add(total, example_loss(net, forward_pass(net, env_params, n)))
        l2 = l2_numbers(d, env_params, Fraction(m))
        if l2 is not None:  # the batch's L2 term belongs to J too
            total = add(total, l2["penalty"])
    return total


def check(d: Derivation, params: dict, gradients: dict, candidates: list[str], figures: int) -> FiniteDifference | None:
    """The check for the steepest of `candidates` (parameter keys) whose gradient is not 0 and agrees
    with its finite difference; else the steepest that agrees at 0 or whose ±ε straddles a ReLU kink
    (which the sheet says spoils it); None if none can be printed (see the module's docstring) or none disagrees for that
    reason (a gradient of 10⁻⁶⁰⁹ beside a central difference's ε² term of 10⁻¹⁰ is no check at all)."""
    by_key = {p.key: p for p in d.parameters}
    first = None
    # The steepest weights first: J(w ± ε) then differ in fewer decimal places a student must keep,
    # and a weight whose gradient is 0 (a dead ReLU unit), whose check would show nothing, comes last.
    with mpmath.workdps(DIGITS):  # binary64's 0.0s (every gradient of a saturated net) by their exact size
        candidates = sorted(candidates, key=lambda k: (-abs(float(gradients[k])),
                                                       -abs(to_mpf(gradients[k])) if float(gradients[k]) == 0 else 0))[:MAX_TRIES]
    for key in candidates:
        p = by_key[key]
        gradient = gradients[key]
        if d.network.l2 is not None and p.source is not None:
            with mpmath.workdps(DIGITS):
                slope = d.network.l2.numeric(d.network.l2.slope(p.symbol))
                gradient = add(gradient, evaluate(slope, {**params, d.network.m: Fraction(len(d.network.spec.values.x))}))
        result = _one(d, params, key, p.symbol, gradient, figures)
        if result is None:
            continue
        if first is None and (result.agree or _straddles_kink(d, params, p.symbol)):
            first = result  # a check of a 0 gradient, or one a kink spoils: shown if no other will do
        if result.agree and Fraction(Decimal(result.gradient)) != 0:
            return result
    return first


def _one(d: Derivation, params: dict, key: str, symbol, gradient: Number, figures: int) -> FiniteDifference | None:
    plus = loss_at(d, params, (symbol, EPSILON))
    digits = _digits_for(plus, gradient)
    if digits > DIGITS:
        plus = loss_at(d, params, (symbol, EPSILON), digits)
    minus = loss_at(d, params, (symbol, -EPSILON), digits)
    with localcontext() as ctx:
        ctx.prec = digits + 10
        dp, dm = _dec(plus, digits), _dec(minus, digits)
        eps2 = Decimal(2) * Decimal(EPSILON.numerator) / Decimal(EPSILON.denominator)
        exact = (dp - dm) / eps2
        want = _round(exact, figures)
        # The coarsest decimal place at which the printed J values give the printed quotient.
        place = max(dp.copy_abs(), dm.copy_abs(), Decimal(1)).adjusted() + 1
        while True:
            step = Decimal(1).scaleb(-place)
            jp, jm = dp.quantize(step, rounding=ROUND_HALF_EVEN), dm.quantize(step, rounding=ROUND_HALF_EVEN)
            got = (jp - jm) / eps2
            # the same rounded quotient, and not a tie that rounding half up would settle the other way
            # (unless the quotient itself is that tie, exactly: a quadratic J's difference is exact)
            if _round(got, figures) == want and (abs(got - want) < _unit(want, figures) / 2 or got == exact):
                break
            if place >= MAX_PLACES:
                return None
            place += 1
        g = _dec(gradient)
        printed_g = _round(g, figures)
        agree = abs(exact - g) <= _unit(printed_g, figures) / 2
    return FiniteDifference(key, EPSILON, str(jp), str(jm), _text(want), _text(printed_g), figures, agree,
                            Fraction(exact), gradient)


def _straddles_kink(d: Derivation, params: dict, symbol) -> bool:
    """Whether some ReLU unit's pre-activation, in some example, changes sign between w − ε and w + ε."""
    net = d.network
    relu = [l for l in range(1, net.depth + 1) if net.activation(l) == "relu"]
    if not relu:
        return False
    with mpmath.workdps(DIGITS):
        for n in range(len(net.spec.values.x)):
            sides = [forward_pass(net, {**params, symbol: params[symbol] + step}, n) for step in (-EPSILON, EPSILON)]
            if any((sides[0][z] > 0) != (sides[1][z] > 0) for l in relu for z in net.z[l]):
                return True
    return False


def _digits_for(j: Number, gradient: Number) -> int:
    """Working digits that keep J(w + ε) − J(w − ε) ≈ 2ε·∂J/∂w: DIGITS, and as many more as J is
    larger than that difference (up to the digits a saturated unit's sheet carries at all)."""
    with mpmath.workdps(DIGITS):
        j, g = abs(to_mpf(j)), abs(to_mpf(gradient))
        if g == 0 or j == 0:
            return DIGITS
        spread = int(mpmath.ceil(mpmath.log10(j / (2 * to_mpf(EPSILON) * g))))
    return DIGITS + min(max(0, spread), MAX_GAP_DIGITS)


def _dec(v: Number, digits: int = DIGITS) -> Decimal:
    if isinstance(v, Fraction):
        return Decimal(v.numerator) / Decimal(v.denominator)
    with mpmath.workdps(digits):
        return Decimal(mpmath.nstr(v, digits, strip_zeros=False, min_fixed=0, max_fixed=0))


def _round(v: Decimal, figures: int) -> Decimal:
    if v == 0:
        return Decimal(0)
    return v.quantize(Decimal(1).scaleb(v.adjusted() - figures + 1), rounding=ROUND_HALF_EVEN)


def _unit(v: Decimal, figures: int) -> Decimal:
    """One unit of the last of `figures` significant figures of v."""
    return Decimal(1).scaleb(v.adjusted() - figures + 1) if v != 0 else Decimal(1).scaleb(-figures)


def _text(v: Decimal) -> str:
    return "0" if v == 0 else str(v)
