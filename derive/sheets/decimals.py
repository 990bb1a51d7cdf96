"""How a computed number is printed on the sheets: exactly when it is a short decimal, else rounded
half-even to a number of significant figures, and a value within a hair of ±1 as ±(1 − d).

Its own module because the L2 section (`regularization`), the worked lines (`worked`) and the class
sets all print numbers the same way, and none of them may import the others.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from fractions import Fraction

import mpmath

from ..numbers.answers import DIGITS, Number
from . import line_values as lv


def printed_decimal(value: Number, figures: int | None, gap: bool = False) -> str:
    """`value` as decimal text: exactly when it is a short exact decimal (or `figures` is None),
    else rounded half-even to `figures` significant figures (trailing zeros kept: they are printed).

    With `gap`, a value near ±1 is printed as ±(1 − d), its difference d = 1 − |value| (negative just
    above 1) rounded to `figures` significant figures: the text is that exact decimal (0.99…986161,
    91 digits, for 1 − 1.3839·10⁻⁸⁷)."""
    if gap:
        return _printed_gap(value, figures)
    if isinstance(value, Fraction):
        exact = exact_decimal(value)
        if exact is not None and (figures is None or len(exact.as_tuple().digits) <= figures + 2):
            return plain(exact)
        if figures is None:
            raise ValueError(f"{value} has no exact decimal")
    # Rounded from as many digits as the value was computed to, not its first DIGITS: 699.625 + 5·10⁻⁶¹⁰
    # (a tied softmax's update, computed to 670 digits) is 699.63 to five figures, not the tie 699.625's
    # 699.62. A fraction is exact and is rounded exactly.
    digits = DIGITS if isinstance(value, Fraction) else max(DIGITS, mpmath.libmp.prec_to_dps(value._mpf_[3]))
    with localcontext() as ctx:
        ctx.prec = digits + 10
        d = to_decimal(value, digits)
        if d == 0:
            return "0"
        place = d.adjusted() - figures + 1
        if isinstance(value, Fraction):
            return str(Decimal(round(value / Fraction(10) ** place)).scaleb(place))  # round(Fraction): half-even
        return str(d.quantize(Decimal(1).scaleb(place), rounding=ROUND_HALF_EVEN))


def gap_of(value: Number) -> Number:
    """1 − |value|: exact for a fraction (a saturated unit is held as one), else to DIGITS digits."""
    if isinstance(value, Fraction):
        return 1 - abs(value)
    with mpmath.workdps(DIGITS):
        return 1 - abs(value)


def _printed_gap(value: Number, figures: int) -> str:
    d = Decimal(printed_decimal(gap_of(value), figures))
    with localcontext() as ctx:
        ctx.prec = max(1, -d.as_tuple().exponent) + 2  # every digit of 1 − d: the subtraction is exact
        near = Decimal(1) - d
    return str(near.copy_negate() if value < 0 else near)  # copy_negate: unary minus would round


def exact_decimal(value: Fraction) -> Decimal | None:
    if not lv.terminates(value.denominator):
        return None
    try:  # exactly, or not at all: 700 − 4.93·10⁻³⁰⁵ is not "700"
        return lv.EXACT.divide(Decimal(value.numerator), Decimal(value.denominator)).normalize(lv.EXACT)
    except lv.NOT_EXACT:
        return None


def plain(d: Decimal) -> str:
    if d == d.to_integral_value():
        return str(int(d))
    return str(d)


def to_decimal(value: Number, digits: int = DIGITS) -> Decimal:
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    with mpmath.workdps(digits):  # written with an exponent: 10⁻⁵⁰⁰⁰ is 6 characters, not 5,000
        return Decimal(mpmath.nstr(value, digits, strip_zeros=False, min_fixed=0, max_fixed=0))
