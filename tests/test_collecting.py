"""The handout's argument from paths to δ: every sentence about which paths share which factors is
checked against the enumerated paths, on deep, wide, skip and softmax nets; the collecting step is
on the page for any number of paths; the exercise's blanks are the answer's factors; one example
and the sum over examples are told apart."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import sympy as sp
from conftest import spec_text

from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import load_spec, parse_spec
from derive.notation.names import get_profile
from derive.numbers.answers import compute_answers
from derive.sheets.path_sums import (
    MAX_EXERCISE_PATHS,
    MAX_PATHS_DRAWN,
    MAX_PATHS_SHOWN,
    chain_exercise,
    collecting,
    parameter_section,
    path_counts,
)
from derive.sheets.render import render_worksheets
from derive.sheets.typeset import Typesetter

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

NETS = {
    # three hidden layers and two outputs: the net whose handout once said one path's prefix
    # "starts every path through z" while a second output's path existed
    "deep-22222": spec_text([2, 2, 2, 2, 2]),
    "tanh-softmax-2333": spec_text([2, 3, 3, 3], activation=["tanh", "tanh", "softmax"], loss="cross_entropy"),
    "tanh-softmax-233": spec_text([2, 3, 3], activation=["tanh", "softmax"], loss="cross_entropy"),
    "skip-3542": spec_text([3, 5, 4, 2], activation=["relu", "tanh", "sigmoid"], skip=[[0, 2], [1, 3]]),
    "wide-8-16-16-4": spec_text([8, 16, 16, 4]),
    "softmax-out-12": spec_text([2, 3, 12], activation=["sigmoid", "softmax"], loss="cross_entropy"),
    # paths of different lengths: "2 paths of 6 factors each" was printed for paths of 7 and 5
    "narrow-skips-11111": spec_text([1, 1, 1, 1, 1], skip=[[0, 2], [0, 3], [0, 4], [1, 4], [2, 4]]),
}


def _derived(text: str):
    return derive(build_network(parse_spec(text)))


@pytest.fixture(scope="module", params=sorted(NETS))
def net(request):
    return request.param, _derived(NETS[request.param])


def _numeric(expr: sp.Expr, point: dict) -> sp.Expr:
    return sp.nsimplify(expr).xreplace(point)


@pytest.mark.parametrize("profile", ["ng", "welch"])
def test_every_group_sentence_matches_the_enumerated_paths(net, profile):
    name, d = net
    ts = Typesetter(d, get_profile(profile), 4)
    counts = path_counts(ts)
    for key in ts.shown:
        p = d.parameter(key)
        every = list(d.paths(key))
        assert len(every) == d.path_count[key].paths
        listed = every if len(every) <= MAX_PATHS_SHOWN else []
        info = collecting(ts, key, listed)
        # the units named as "entered next" are exactly those the enumerated paths enter next
        position = -2 if p.layer == ts.L else -3
        entered: dict = {}
        for path in every:
            entered.setdefault(path[position].numerator, []).append(path)
        assert [g["through"] for g in info["groups"]] == list(entered), (name, key)
        for g in info["groups"]:
            assert g["paths"] == len(entered[g["through"]]) == counts[g["through"]], (name, key)
            # every path through that unit ends with the same factors (the shared tail) ...
            tails = {path[position:] for path in entered[g["through"]]}
            assert len(tails) == 1
        assert sum(g["paths"] for g in info["groups"]) == len(every)
        section = parameter_section(ts, key)
        assert (section["shortest"], section["longest"]) == (min(map(len, every)), max(map(len, every))), (name, key)
        # ... and the sentence prints the numbers it was given
        per = {g["paths"] for g in info["groups"]}
        if len(per) == 1 and p.layer != ts.L:
            n = per.pop()
            assert f"({n} path{'' if n == 1 else 's'}" in info["repeat"]
        assert "starts every path" not in info["repeat"]
        assert info["lines"], "the collecting step is always written"


def test_each_groups_leading_factors_add_up_to_that_units_delta():
    """Σ over the paths from u to J of the product of the factors = δ_u (the handout's claim), at a random point."""
    rng = random.Random(7)
    for name in ("deep-22222", "tanh-softmax-233", "tanh-softmax-2333", "skip-3542"):
        d = _derived(NETS[name])
        ts = Typesetter(d, get_profile("ng"), 4)
        key = ts.shown[0]
        p = d.parameter(key)
        info = collecting(ts, key, list(d.paths(key)))
        for g in info["groups"]:
            u = g["through"]
            prefix_sum = sp.Add(*(sp.Mul(*(f.value for f in path[:-3])) for path in d.paths(key)
                                  if path[-3].numerator == u))
            delta = d.expanded_delta(d.delta[u])
            symbols = (prefix_sum.free_symbols | delta.free_symbols) - {d.network.m}
            point = {s: sp.Rational(rng.randint(1, 9), rng.randint(10, 19)) for s in symbols}
            point[d.network.m] = sp.Integer(1)
            # one-hot targets: the softmax output δ a − y was simplified with Σ y = 1
            point.update({y: sp.Integer(int(k == 0)) for k, y in enumerate(d.network.y)})
            assert _numeric(prefix_sum, point) - _numeric(delta, point) == 0, (name, u)


@pytest.mark.parametrize("profile", ["ng", "nielsen", "welch"])
def test_the_collecting_step_is_on_the_page_for_any_number_of_paths(profile):
    for name in ("deep-22222", "tanh-softmax-2333", "wide-8-16-16-4", "softmax-out-12"):
        d = _derived(NETS[name])
        tex = render_worksheets(d, None, profile)["handout.tex"]
        assert "more paths" not in tex and "starts every path" not in tex, name
        sections = tex.split(r"\subsection*{Paths for")[1:]
        assert sections
        for section in sections:
            body = section.split(r"\subsection*{Every path sum}")[0]
            assert r"\underbrace" in body, name  # the paths are collected into δ, under a brace
            assert "So \\[" in body
            # a grouped form when the paths are not listed one by one
            if "too many to write out" in body:
                assert r"\Sigma_{" in body or r"\sum_{i=1}" in body
            # no more colour names than paths written out, and never more highlighted arrows than readable
            colours = re.search(r"\(coloured ([^)]*)\)", body)
            drawn = set(re.findall(r"\\draw\[(path\w+),very thick,->", body))
            assert 1 <= len(drawn) <= MAX_PATHS_DRAWN, (name, drawn)
            if colours:
                assert len(colours.group(1).split(", ")) <= MAX_PATHS_SHOWN


def test_the_exercise_asks_for_exactly_the_factors_the_answer_gives():
    for name in NETS:
        d = _derived(NETS[name])
        ts = Typesetter(d, get_profile("ng"), 4)
        ex = chain_exercise(ts)
        blanks = sum(line.count(r"\underline{\hspace{2.2cm}}") for line in ex["lines"])
        assert blanks == len(ex["answers"]) <= MAX_EXERCISE_PATHS, name
        # the answer's lines are the exercise's lines with the blanks filled in, in the same order
        assert len(ex["full"]) == len(ex["lines"])
        if ex["paths"] <= MAX_EXERCISE_PATHS:
            assert ex["more"] == 0 and blanks == ex["paths"]
        docs = render_worksheets(d, None, "ng")
        assert docs["exercises.tex"].count(r"\underline{\hspace{2.2cm}}") == blanks


def test_a_9_path_softmax_weight_is_asked_with_9_blanks_and_answered_with_9_factors():
    d = _derived(NETS["tanh-softmax-233"])
    docs = render_worksheets(d, None, "ng")
    ex = chain_exercise(Typesetter(d, get_profile("ng"), 4))
    assert ex["name"] == r"\theta^{(1)}_{11}" and ex["paths"] == 9 and ex["more"] == 0
    assert docs["exercises.tex"].count(r"\underline{\hspace{2.2cm}}") == 9 == len(ex["answers"])
    answer = docs["answers.tex"].split("Complete the chain")[1].split(r"\item")[0]
    assert answer.count(r"\textcolor{path") == 9


def test_an_exercise_on_more_paths_than_it_asks_says_so_in_both_sheets():
    d = _derived(spec_text([2, 13], activation="softmax", loss="cross_entropy"))  # every weight: 13 paths
    docs = render_worksheets(d, None, "ng")
    ex = chain_exercise(Typesetter(d, get_profile("ng"), 4))
    assert ex["paths"] == 13 and ex["more"] == 13 - MAX_EXERCISE_PATHS
    assert f"Here are the first {len(ex['answers'])} of its paths" in docs["exercises.tex"]
    assert f"the other {ex['more']} path)" in docs["answers.tex"] and f"the other {ex['more']} path)" in docs["exercises.tex"]
    assert docs["exercises.tex"].count(r"\underline{\hspace{2.2cm}}") == len(ex["answers"])


def test_one_example_and_the_sum_over_examples_are_told_apart():
    single = load_spec(EXAMPLES / "welch-231.toml")
    batch = load_spec(EXAMPLES / "welch-231-batch.toml")
    docs = {}
    for spec in (single, batch):
        d = derive(build_network(spec))
        docs[spec.name] = render_worksheets(d, compute_answers(d), "welch")["handout.tex"]
    one, many = docs["welch-231"], docs["welch-231-batch"]
    assert one != many
    # m = 1: J is the one example's loss; no J_n anywhere
    assert "J_{n}" not in one and r"\sum_{n}" not in one
    # m = 3: the path sums are example n's term, the rules sum over n, δ(3) is 3×1
    assert r"\frac{\partial J_{n}}{\partial W^{(1)}_{11}} &=" in many
    assert r"\delta^{(3)} &= " in many and r"&& 3\times 1" in many
    assert r"\frac{\partial J}{\partial W^{(1)}_{ki}} = \sum_{n} X_{nk}\, \delta^{(2)}_{ni}" in many
    assert r"\sum_{n=1}^{3} a^{(2)}_{nk}\, \delta^{(3)}_{ni}" in many
    # the false one-example rule for a batch is gone
    assert r"\frac{\partial J}{\partial W^{(1)}_{ki}} = X_k\, \delta^{(2)}_i" not in many


@pytest.mark.parametrize("profile", ["ng", "nielsen"])
def test_column_profiles_sum_one_examples_gradients_over_the_batch(profile):
    d = derive(build_network(load_spec(EXAMPLES / "iris-423.toml")))
    tex = render_worksheets(d, compute_answers(d), profile)["handout.tex"]
    cost = get_profile(profile).cost
    assert rf"\frac{{\partial {cost}_{{n}}}}" in tex
    assert r"&= \sum_{n} \frac{\partial " + cost + "_{n}}" in tex


def test_paths_of_different_lengths_are_not_counted_as_equal():
    tex = render_worksheets(_derived(NETS["narrow-skips-11111"]), None, "ng")["handout.tex"]
    assert "along 2 paths with 12 factors in total, from 5 to 7 on a path (coloured" in tex
    assert "of 6 factors each" not in tex


def test_relu_sheets_define_the_slope_at_the_kink():
    d = _derived(NETS["skip-3542"])
    for doc, tex in render_worksheets(d, None, "ng").items():
        assert r"\operatorname{ReLU}'(0) = 0" in tex, doc
    d = _derived(NETS["deep-22222"])
    assert "ReLU" not in render_worksheets(d, None, "ng")["handout.tex"]
