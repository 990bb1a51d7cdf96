"""Settling a sheet's figures evaluates each worked line from its printed operands. The fast way
(exact decimals) must give the very number the exact-fraction way gives, or decline."""
from decimal import Decimal
from fractions import Fraction

import pytest
import sympy as sp
from conftest import examples, spec_text
from hypothesis import given, settings
from hypothesis import strategies as st

import derive
from derive.sheets import line_values as lv

decimals = st.decimals(min_value=Decimal("-9.99"), max_value=Decimal("9.99"), places=6, allow_nan=False)


def net_lines():
    """The pre-activation, δ and gradient formulas of a small tanh net with biases."""
    d = derive.load(spec_text([3, 4, 2], activation="tanh", bias=True)).derivation
    z = d.network.z_expr[d.network.z[1][0]]
    delta = d.delta_expr[d.delta[d.network.z[1][0]]]
    grad = d.gradient[d.parameters[0].key]
    return [z, delta, grad]


LINES = net_lines()


@pytest.mark.parametrize("line", LINES, ids=["z", "delta", "gradient"])
@settings(max_examples=examples(40), deadline=None)
@given(data=st.data())
def test_decimals_and_fractions_agree_on_every_line(line, data):
    assert lv.is_decimal_polynomial(line)
    symbols = sorted(line.free_symbols, key=lambda s: s.name)
    printed = {s: data.draw(decimals) for s in symbols}
    fast = lv.polynomial(line)({s: v for s, v in printed.items()})
    exact = lv.node_value(line, {s: Fraction(v) for s, v in printed.items()}, {}, lv.FRACTIONS)
    assert Fraction(fast) == exact


@pytest.mark.parametrize("arith", [lv.DECIMALS, lv.FRACTIONS], ids=["decimals", "fractions"])
@settings(max_examples=examples(25), deadline=None)
@given(data=st.data())
def test_trying_one_exact_operand_matches_evaluating_the_line_again(arith, data):
    line = LINES[1]  # δ = (1 − a²) Σ w δ: a product over a sum, the case the shortcut is for
    symbols = sorted(line.free_symbols, key=lambda s: s.name)
    as_value = (lambda d: d) if arith is lv.DECIMALS else Fraction
    printed = {s: as_value(data.draw(decimals)) for s in symbols}
    s = data.draw(st.sampled_from(symbols))
    exact = as_value(data.draw(decimals))
    memo: dict = {}
    lv.node_value(line, printed, memo, arith)
    shortcut = lv.with_operand(line, s, exact, printed, memo, {}, arith)
    again = lv.node_value(line, {**printed, s: exact}, {}, arith)
    assert Fraction(shortcut) == Fraction(again)


def test_only_polynomials_with_decimal_constants_take_the_fast_way():
    a, m = sp.symbols("a m")
    assert lv.is_decimal_polynomial(sp.Rational(1, 2) * a**2 + sp.Rational(3, 40))
    for not_decimal in (a / 3, a / m, sp.tanh(a), sp.exp(a), a**-1, sp.Float(0.1) * a, sp.sqrt(a)):
        assert not lv.is_decimal_polynomial(not_decimal), not_decimal


def test_a_line_too_long_for_the_exact_context_declines_instead_of_rounding():
    a = sp.Symbol("a")
    with pytest.raises(lv.NOT_EXACT):
        lv.polynomial(a**(lv.WIDTH // 4))({a: Decimal("0.123456789")})  # 9 digits, WIDTH/4 times: past the width


def test_rounding_half_even_to_the_printed_figures():
    assert lv.rounds_to(Decimal("0.12345"), "0.1234")  # a tie goes to the even digit
    assert lv.rounds_to(Decimal("0.123450001"), "0.1235")
    assert not lv.rounds_to(Decimal("0.12355"), "0.1235")
    assert lv.rounds_to(Decimal("-2.5"), "-2")
