"""What each seed document teaches, checked on what derive prints for the network modelled on it.

The teaching material in /work/shared/seeds/ (issue 11) is what a lecturer compares derive's sheets
with. Below is one block per seed: every step, question and notational convention the seed teaches
that derive claims to cover, with the seed's own section, equation or question number, the bundled
example (or a spec written here) that is modelled on the seed, and what the seed writes. Each item
is checked on derive's data (question ids and pieces, the worksheet context, profile fields, the
derivation's paths and numbers); only items about printed notation read the rendered .tex. Numbers
are checked against computations done here, the seed's own way (its formulas, its NumPy loop).

An item derive does not cover is a strict xfail whose reason says what is missing, so that it shows
up (as XPASS, failing) the day it is covered.

    000 lab sheet (θ notation, CSE 412)          → profile ng:      toy-111, ng-222, iris-423
    001 lecture slides (θ notation, CSE 411)     → profile ng:      a 1-1 net, ng-222
    002 notes after Nielsen (w^l_jk, e, ŷ)       → profile nielsen: nielsen-121
    003 Welch Labs' guided notes (rows of X, ŷ)  → profile welch:   welch-231, welch-231-batch
    004 QBUS6850 lecture (L(W), t, N, f(x, W))   → profile qbus:    regression-231, classification-231
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np
import pytest
from conftest import EXAMPLES, spec_text

import derive
from derive.notation.names import get_profile
from derive.sheets.render import _context
from derive.sheets.typeset import Typesetter

# -- what a check sees -----------------------------------------------------------------------------

@dataclass
class Sheet:
    """One derivation with the worksheets' context (data) and, on demand, the rendered .tex texts."""

    d: derive.api.Derivation

    @cached_property
    def ts(self) -> Typesetter:
        return Typesetter(self.d.derivation, get_profile(self.d.notation), 4)

    @cached_property
    def numbers(self) -> dict | None:
        return self.d.answers() if self.d.spec.values is not None else None

    @cached_property
    def ctx(self) -> dict:
        return _context(self.ts, self.numbers)

    @cached_property
    def questions(self) -> dict:
        return {q.id: q for q in self.ctx["questions"]}

    @cached_property
    def tex(self) -> dict[str, str]:
        return self.d.worksheets()

    @property
    def profile(self):
        return self.ts.p


@functools.lru_cache(maxsize=None)
def sheet(source: str, notation: str | None = None) -> Sheet:
    """A bundled example by name ("welch-231") or a spec's TOML text, in its own or the given profile."""
    spec = source if "\n" in source else str(EXAMPLES / f"{source}.toml")
    return Sheet(derive.load(spec, notation=notation))


@dataclass(frozen=True)
class Item:
    ref: str  # the seed's section, equation or question
    name: str  # what the seed teaches (the test's id)
    source: str  # bundled example or spec text
    check: Callable[[Sheet], None]
    notation: str | None = None  # a profile other than the spec's own
    missing: str = ""  # why derive does not cover it (a strict xfail)


def params(block: list[Item]):
    return [pytest.param(item, id=f"{item.ref} {item.name}",
                         marks=[pytest.mark.xfail(strict=True, reason=item.missing)] if item.missing else [])
            for item in block]


# -- small checks the blocks share -------------------------------------------------------------------

def has(text: str, *pieces: str) -> None:
    for piece in pieces:
        assert piece in text, f"missing {piece!r} in:\n{text[:1500]}"


def question(s: Sheet, qid: str):
    assert qid in s.questions, f"no question {qid!r}; the sheet asks {list(s.questions)}"
    return s.questions[qid]


def prompt(s: Sheet, qid: str) -> str:
    return "\n".join(question(s, qid).prompt)


def answer(s: Sheet, qid: str) -> str:
    return "\n".join(question(s, qid).answer)


def asked_not_answered(s: Sheet, qid: str, answer_piece: str) -> None:
    """The answer sheet has it; the exercise sheet (where the student writes it) does not."""
    has(answer(s, qid), answer_piece)
    assert answer_piece not in s.tex["exercises.tex"], f"the exercise sheet prints the answer {answer_piece!r}"


def shape_row(s: Sheet, first: str, one: str, many: str) -> None:
    """The dimensions answer's row that starts with `first`: its shapes for one and for all examples."""
    rows = [r for r in answer(s, "dimensions").splitlines() if r.startswith(f"${first}$")]
    assert rows, f"no dimensions row for {first}"
    assert re.search(rf"& \${re.escape(one)}\$ & \${re.escape(many)}\$", rows[0]), rows[0]


def roles(path_factors, s: Sheet) -> list[str]:
    from derive.sheets.columns import role
    return [role(s.ts, f) for f in path_factors]


def line(lines: list[str], lhs: str) -> str:
    """The aligned line whose left-hand side is `lhs`, without its shape column."""
    found = [l for l in lines if l.split("&=")[0].strip() == lhs]
    assert found, f"no line for {lhs!r} among {lines}"
    return found[0].split("&=", 1)[1].split("&&")[0].strip()


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def arrays(s: Sheet):
    """The spec's numbers as derive read them: X and Y one row per example, parameters canonical (out, in)."""
    a = s.numbers
    X, Y = np.array(a["inputs"]["x"], float), np.array(a["inputs"]["y"], float)
    P = {k: np.array(v, float) for k, v in a["parameters"].items()}
    return X, Y.reshape(len(X), -1), P


def grads(s: Sheet) -> dict:
    return {k: np.array(v, float) for k, v in s.numbers["gradients"].items()}


# =====================================================================================================
# 000: CSE 412 lab sheet "Understanding Backpropagation Algorithm" (θ notation) → ng
#      toy-111 (§4: one input, one hidden, one output), ng-222 (§4.3: 2-2-2 without biases),
#      iris-423 (§6: the lab's iris network, 4-2-3, sigmoid, no biases)
# =====================================================================================================

def _000_toy_cost(s):  # §4.1 (1): J(θ) = ½(y − a⁽³⁾)²
    has(s.ctx["loss"]["scalar"], r"J = \frac{1}{2} \left(y - a^{(3)}\right)^{2}")
    has(s.ctx["loss"]["general"], r"J(\theta) =")


def _000_toy_chains(s):  # §4.2 (2), (3): θ₂ through z⁽³⁾, a⁽³⁾ (3 factors); θ₁ further back (5 factors)
    assert [roles(p, s) for p in s.d.paths("W2[0,0]")] == [["error term", "activation derivative", "input"]]
    assert [len(p) for p in s.d.paths("W1[0,0]")] == [5]


def _000_toy_counts(s):  # §4.3: "a neural network with 2 parameters that needed 8 partial derivative terms"
    c = s.ctx["counts"]
    assert (c["parameters"], c["total_factors"]) == (2, 8)


def _000_222_counts(s):  # §4.3: "8 parameters that needed 52 partial derivative terms"
    c = s.ctx["counts"]
    assert (c["parameters"], c["total_factors"]) == (8, 52)


def _000_mean_squared_error(s):  # §4.3 (4): J(θ) = 1/(2m) Σᵢ (yᵢ − aᵢ)², one fraction 1/(2m)
    has(s.ctx["loss"]["general"], r"J(\theta) = \frac{1}{2m}\sum (y - a^{(3)})^2")


def _000_blue_and_orange(s):  # §4.3 (5), (6): θ⁽¹⁾₁₁ reaches J through a⁽³⁾₁ (blue) and a⁽³⁾₂ (orange)
    paths = s.d.paths("W1[0,0]")
    assert len(paths) == 2 and all(len(p) == 5 for p in paths)
    assert [s.ts.s(p[1].denominator) for p in paths] == ["z^{(3)}_{1}", "z^{(3)}_{2}"]
    assert len({p[-1] for p in paths}) == 1  # both end in ∂z⁽²⁾₁/∂θ⁽¹⁾₁₁


def _000_layer_counts(s):  # §4.4 (7)–(10): one chain of 3 per layer-2 θ; §4.5 (11)–(14): two of 5 per layer-1 θ
    for key, count in s.d.derivation.path_count.items():
        assert (count.paths, count.factors) == ((1, 3) if key.startswith("W2") else (2, 10)), key


def _000_columns_layer2(s):  # A.1: first column the error term, second the activation derivative, third the input
    out = s.ctx["columns"]["output"]
    assert out["roles"] == ["error term", "activation derivative", "input"]
    # "The first and second columns can be combined as δᵢ⁽³⁾" (20): shared by the weights of one output unit
    assert all(g["shared"] for g in out["groups"]) and len(out["groups"]) == 2
    has(" ".join(out["sentences"]), r"= \delta^{(3)}_{1}$", r"= \delta^{(3)}_{2}$")
    # (25)–(28): the third column is the activation of the previous layer
    has(out["last_column"], r"\frac{\partial z^{(3)}_{1}}{\partial \theta^{(2)}_{11}} = a^{(2)}_{1}",
        r"\frac{\partial z^{(3)}_{1}}{\partial \theta^{(2)}_{12}} = a^{(2)}_{2}")


def _000_columns_layer1(s):  # A.2: δ⁽³⁾ (two columns), θ⁽²⁾, f′(a⁽²⁾), input, once per output unit
    hidden = s.ctx["columns"]["hidden"]
    assert hidden["roles"] == ["error term", "activation derivative", "weight", "activation derivative", "input"]
    assert hidden["paths"] == 2 and all(t is not None for t in hidden["through"])
    has(" ".join(hidden["sentences"]), r"$\delta^{(3)}_{1}$, $\delta^{(3)}_{2}$")


def _000_index_rule(s):  # A.1 (29): ∂J/∂θ⁽²⁾_jk = δ⁽³⁾_j a⁽²⁾_k, the indices of θ those of δ and a
    has(" ".join(s.ctx["general"]["rules"]), r"\frac{\partial J}{\partial \theta^{(2)}_{ij}} = \delta^{(3)}_i\, a^{(2)}_j")


def _000_outer_product(s):  # A.1 (32): the layer-2 gradients as the column δ⁽³⁾ times the row a⁽²⁾
    assert line(s.ctx["backward_vector"]["gradients"], r"\frac{\partial J}{\partial \Theta^{(2)}}") == \
        r"\delta^{(3)} \left(a^{(2)}\right)^T"


def _000_recursion(s):  # A.2 (33), (34): δ⁽ˡ⁾ from the weighted δ⁽ˡ⁺¹⁾ and f′ of layer l; Θ the matrix of θ
    assert line(s.ctx["backward_vector"]["lines"], r"\delta^{(2)}") == \
        r"\left(\left(\Theta^{(2)}\right)^T \delta^{(3)}\right) \odot \sigma'\left(z^{(2)}\right)"


def _000_first_weight(s):  # A.2 (35)–(39): ∂J/∂θ⁽¹⁾₁₁ = δ⁽²⁾₁ x₁
    section = next(x for x in s.ctx["shown"] if x["lhs"] == r"\frac{\partial J}{\partial \theta^{(1)}_{11}}")
    assert section["result"].endswith(r"= \delta^{(2)}_{1}\, x_{1}")


def _000_output_delta_mean(s):  # §5.1, §5.2 step 2 (20): δ⁽³⁾ carries the cost's 1/m
    has(line(s.ctx["backward_vector"]["lines"], r"\delta^{(3)}"), r"\frac{1}{m}")


def _000_theta_and_Theta(s):  # A.2 note: θ an entry (lower case), Θ the matrix (upper case)
    assert s.ts.pname("W1[0,0]") == r"\theta^{(1)}_{11}"
    assert s.ts.names.matrix("W1") == r"\Theta^{(1)}"


def _000_gradient_step(s):  # §5.4: θᵢ := θᵢ + Δθᵢ, Δθᵢ = −η ∂J/∂θᵢ (learning rate η)
    has(prompt(s, "update"), r"\eta = 0.5")
    _, _, P = arrays(s)
    for k, g in grads(s).items():
        np.testing.assert_allclose(np.array(s.numbers["updated"][k]), P[k] - 0.5 * g, rtol=1e-12, err_msg=k)


def _000_algorithm_order(s):  # §5.2: forward, δ of the output, back one layer at a time, then the update
    ids = list(s.questions)
    order = ["forward", "output_error", "backpropagate", "gradients", "update"]
    assert [i for i in ids if i in order] == order, ids


def _000_iris_lab_loop(s):  # §6: one pass of the lab's own loop (Z1 = X W1, A1 = σ(Z1), ..., W -= lr·update/N)
    X, y, P = arrays(s)
    W1, W2 = P["W1"].T, P["W2"].T  # the lab's W1 is (input_size, hidden_size)
    N, lr = len(X), s.numbers["learning_rate"]
    A1 = sigmoid(X @ W1)
    A2 = sigmoid(A1 @ W2)
    E1 = A2 - y
    dW1 = E1 * A2 * (1 - A2)
    E2 = dW1 @ W2.T
    dW2 = E2 * A1 * (1 - A1)
    W2_update = A1.T @ dW1 / N
    W1_update = X.T @ dW2 / N
    np.testing.assert_allclose(np.array(s.numbers["updated"]["W2"]).T, W2 - lr * W2_update, rtol=1e-10)
    np.testing.assert_allclose(np.array(s.numbers["updated"]["W1"]).T, W1 - lr * W1_update, rtol=1e-10)


SEED_000 = [
    Item("4.1(1)", "toy cost J = 1/2 (y - a3)^2", "toy-111", _000_toy_cost),
    Item("4.2(2)(3)", "toy chains theta2: 3 factors, theta1: 5", "toy-111", _000_toy_chains),
    Item("4.3", "2 parameters, 8 partial derivative terms", "toy-111", _000_toy_counts),
    Item("4.3", "8 parameters, 52 partial derivative terms", "ng-222", _000_222_counts),
    Item("4.3(4)", "J = 1/(2m) sum (y_i - a_i)^2", "ng-222", _000_mean_squared_error),
    Item("4.3(5)(6)", "blue and orange paths of theta(1)11", "ng-222", _000_blue_and_orange),
    Item("4.4-4.5(7)-(14)", "chains per parameter, layer 2 and layer 1", "ng-222", _000_layer_counts),
    Item("A.1(16)-(28)", "columns: error term, activation derivative, input", "ng-222", _000_columns_layer2),
    Item("A.2", "columns: delta, weight, f', input", "ng-222", _000_columns_layer1),
    Item("A.1(29)", "dJ/dtheta_jk = delta_j a_k", "ng-222", _000_index_rule),
    Item("A.1(32)", "layer-2 gradients as delta times a row", "ng-222", _000_outer_product),
    Item("A.2(33)(34)", "delta recursion through Theta", "ng-222", _000_recursion),
    Item("A.2(39)", "dJ/dtheta(1)11 = delta(2)1 x1", "ng-222", _000_first_weight),
    Item("5.2(20)", "output delta carries 1/m", "ng-222", _000_output_delta_mean),
    Item("A.2 note", "theta an entry, Theta the matrix", "ng-222", _000_theta_and_Theta),
    Item("5.4", "gradient-descent step with eta", "ng-222", _000_gradient_step),
    Item("5.2", "the algorithm's steps in order", "ng-222", _000_algorithm_order),
    Item("6", "the lab's NumPy loop, one iteration", "iris-423", _000_iris_lab_loop),
]


@pytest.mark.parametrize("item", params(SEED_000))
def test_seed_000_lab_sheet(item):
    item.check(sheet(item.source, item.notation))


# =====================================================================================================
# 001: CSE 411 slides "Backpropagation" (θ notation, J(θ)) → ng
#      the univariate model z = θ₁x + θ₂, y = σ(z), J = ½(y − t)² (a 1-1 net with a bias), and the
#      2-2-2 net of "Generalizing Concept" (ng-222)
# =====================================================================================================

UNIVARIATE = spec_text([1, 1], activation="sigmoid", loss="half_sse", bias=True, name="univariate")


def _steps(s: Sheet) -> list[dict]:
    assert s.ctx["stepwise"] is not None, "no one-rule-per-line section"
    return s.ctx["stepwise"]["derivations"]


def _001_weight_and_bias(s):  # "Gradient Descent": ∂J/∂θ₁ and ∂J/∂θ₂, the weight and the bias, line by line
    derivations = _steps(s)
    assert [dv["bias"] for dv in derivations] == [False, True]
    for dv in derivations:
        for step in dv["steps"][1:]:
            assert len(step.rules) == len(step.rows) and all(step.rules), (dv["name"], step.rules)
        rules = " | ".join(step.rule for step in dv["steps"])
        # ½ out front, the power rule with the chain rule, σ′ by the chain rule, then z's definition
        for rule in ("constant factor", "power rule, chain rule", r"\sigma\left(z^{(2)}\right)$: chain rule",
                     "definition of $z^{(2)}$"):
            assert rule in rules, (dv["name"], rule, rules)


def _001_same_but_last(s):  # "Gradient Descent": the two derivations agree up to ∂(θ₁x + θ₂)/∂θ; θ₁'s ends in x
    weight, bias = _steps(s)
    rows = lambda dv: [r.replace(dv["name"], "PARAM") for step in dv["steps"] for r in step.rows]
    w, b = rows(weight), rows(bias)
    common = next(i for i, (x, y) in enumerate(zip(w, b)) if x != y)
    definition = [i for i, step in enumerate(weight["steps"]) if step.rule.startswith("definition of")][-1]
    assert common >= definition, (common, definition)  # the same lines, ∂/∂θ₁ for ∂/∂θ₂, up to z's definition
    assert w[-1] == b[-1] + " x", (w[-1], b[-1])


def _001_one_fraction(s):  # "Generalizing Concept" (3): J = 1/(2m) Σᵢ (yᵢ − aᵢ)², one fraction, not ½ · 1/m
    first = _steps(s)[0]["steps"]
    text = " ".join(r for step in first for r in step.rows)
    has(text, r"\frac{1}{2 m}")
    assert r"\frac{1}{2} \frac{1}{m}" not in text


def _001_outputs_in_order(s):  # (3): Σᵢ over the outputs, y₁ before y₂
    row = _steps(s)[0]["steps"][0].rows[0]
    assert 0 <= row.index("y_{1}") < row.index("y_{2}"), row


def _001_one_letter(s):  # the slides write the activation σ throughout: the rule-per-line prose with it
    section = s.tex["handout.tex"].split("One gradient, one rule per line", 1)[1]
    assert r"\sigma'" in section
    assert "{g}" not in section and "g'" not in section, "the section names the activation g and σ"


def _001_update_rule(s):  # "Putting it all together": Δθᵢ = −η ∂J/∂θᵢ
    has(prompt(s, "update"), r"\eta")
    assert s.profile.learning_rate == r"\eta"


SEED_001 = [
    Item("Gradient Descent", "theta1 and theta2 (a bias), one rule per line", UNIVARIATE, _001_weight_and_bias, "ng"),
    Item("Gradient Descent", "the bias's lines are the weight's without x", UNIVARIATE, _001_same_but_last, "ng"),
    Item("Generalizing(3)", "1/(2m) as one fraction", "ng-222", _001_one_fraction),
    Item("Generalizing(3)", "y1 before y2", "ng-222", _001_outputs_in_order),
    Item("Generalizing", "one name for the activation in the rule-per-line section", "ng-222", _001_one_letter),
    Item("Putting it all together", "update with learning rate eta", "ng-222", _001_update_rule),
]


@pytest.mark.parametrize("item", params(SEED_001))
def test_seed_001_slides(item):
    item.check(sheet(item.source, item.notation))


# =====================================================================================================
# 002: Week 05 notes "Basic Neural Networks – Backpropagation" (after Nielsen) → nielsen: nielsen-121,
#      the 1-2-1 network of §2.3 with bias units, e = (y − ŷ)²
# =====================================================================================================

def _002_layers_and_weights(s):  # §1.1: layers 1 … L, w^l_ji enters layer l, superscripts without brackets
    assert s.ts.pname("W1[0,0]") == "w^{2}_{11}"
    assert s.ts.pname("W2[0,1]") == "w^{3}_{12}"
    assert s.ctx["four_equations"]["layers"] == 3  # L is the output layer


def _002_weighted_sum(s):  # §1.1: z_j^l = Σᵢ w_ji^l a_i^{l−1} + b_j^l, a_j^l = g(z_j^l)
    has(s.tex["handout.tex"], r"z^{2}_{1} &= w^{2}_{11} x + b^{2}_{1}",
        r"z^{3} &= w^{3}_{11} a^{2}_{1} + w^{3}_{12} a^{2}_{2} + b^{3}_{1}", r"a^{2}_{1} &= g\left(z^{2}_{1}\right)")


def _002_vector_forward(s):  # §1.2: a^l = g(w^l a^{l−1} + b^l)
    fv = s.ctx["forward_vector"]
    assert line(fv, "z^{3}") == r"w^{3} a^{2} + b^{3}"
    assert line(fv, "a^{2}") == r"g\left(z^{2}\right)"


def _002_hadamard(s):  # §1.4: the Hadamard product A ∘ B
    assert s.profile.hadamard == r"\circ"
    has(line(s.ctx["backward_vector"]["lines"], r"\delta^{2}"), r"\circ g'\left(z^{2}\right)")


def _002_delta_definition(s):  # §2.2: δ_j^l = ∂e/∂z_j^l
    has(s.tex["handout.tex"], r"\delta_j^{l} := \frac{\partial e}{\partial z_j^{l}}")


def _002_four_equations(s):  # §2.2 (1)–(4): the four equations backpropagation relies on
    rows = s.ctx["four_equations"]["rows"]
    assert [re.search(r"\\tag\{(BP\d)\}", r).group(1) for r in rows] == ["BP1", "BP2", "BP3", "BP4"]
    has(rows[0], r"\delta^{L}_{j} = \frac{\partial e}{\partial a^{L}_{j}}\, g'\left(z^{L}_{j}\right)",
        r"\circ g'\left(z^{L}\right)")  # (1) and δ^L = ∇ e ∘ g′(z^L)
    has(rows[1], r"\delta^{l} = \left(\left(w^{l+1}\right)^T \delta^{l+1}\right) \circ g'\left(z^{l}\right)")  # (2)
    has(rows[2], r"\frac{\partial e}{\partial b^{l}_{j}} = \delta^{l}_{j}")  # (3)
    has(rows[3], r"\frac{\partial e}{\partial w^{l}_{jk}} = a^{l-1}_{k}\, \delta^{l}_{j}")  # (4)
    for r in rows:
        has(s.tex["handout.tex"], r)
    assert sheet("ng-222").ctx["four_equations"] is None  # the summary is this course's


def _002_bias_units(s):  # §2.3: "the neuron x₀ is for the bias, so it always outputs 1"
    has(s.tex["handout.tex"], "{$x_{0}$};")
    assert s.profile.bias_drawn_as_unit


def _002_bias_unit_h0(s):  # §2.3: "h₀ is the bias for the neuron y₁ in the output layer"
    has(s.tex["handout.tex"], "{$h_{0}$};")


def _002_squared_error(s):  # §2.3: output ŷ, true output y, e = (y − ŷ)²
    assert (s.profile.cost, s.ts.names.output_symbol()) == ("e", r"\hat{y}")
    assert s.ctx["loss"]["scalar"] == r"e = \left(y - \hat{y}\right)^{2}"


def _002_output_delta(s):  # §2.3: δ³ = ∇_ŷ e ∘ g′(z³) = 2(ŷ − y) g′(z³)
    assert line(s.ctx["backward_vector"]["lines"], r"\delta^{3}") == r"2 \left(\hat{y} - y\right) \circ g'\left(z^{3}\right)"


def _002_hidden_delta(s):  # §2.3: δ² = ((w³)ᵀ δ³) ∘ g′(z²) = [δ³ w³₁₁ g′(z²₁); δ³ w³₁₂ g′(z²₂)]
    assert line(s.ctx["backward_vector"]["lines"], r"\delta^{2}") == r"\left(\left(w^{3}\right)^T \delta^{3}\right) \circ g'\left(z^{2}\right)"
    rows = s.ctx["deltas"]["hidden"][0]["equations"]
    has(rows[0], r"= w^{3}_{11}\, \delta^{3}\,")
    has(rows[1], r"= w^{3}_{12}\, \delta^{3}\,")


def _002_deep_weight(s):  # §2.3: ∂e/∂w²₁₁ = 2(ŷ − y) w³₁₁ g′(z³) g′(z²₁) x, one rule per line to get there
    weight = s.ctx["stepwise"]["derivations"][0]
    assert weight["name"] == "w^{2}_{11}"
    assert weight["steps"][-1].rows[-1] == r"2 \left(\hat{y} - y\right) g'\left(z^{3}\right) w^{3}_{11} g'\left(z^{2}_{1}\right) x"
    bias = s.ctx["stepwise"]["derivations"][1]  # ∂e/∂b²₁ = δ²₁ = 2(ŷ − y) w³₁₁ g′(z³) g′(z²₁)
    assert bias["name"] == "b^{2}_{1}"
    assert bias["steps"][-1].rows[-1] == r"2 \left(\hat{y} - y\right) g'\left(z^{3}\right) w^{3}_{11} g'\left(z^{2}_{1}\right)"


def _002_closed_forms(s):  # §2.3: the seven partial derivatives, the notes' formulas in numbers
    X, Y, P = arrays(s)
    x, y = X[0, 0], Y[0, 0]
    w2, b2, w3, b3 = P["W1"][:, 0], P["b1"], P["W2"][0], P["b2"][0]
    z2 = w2 * x + b2
    a2 = sigmoid(z2)
    z3 = w3 @ a2 + b3
    yhat = sigmoid(z3)
    g = lambda z: sigmoid(z) * (1 - sigmoid(z))
    d3 = 2 * (yhat - y) * g(z3)
    seed = {"b2": [d3], "b1": [d3 * w3[0] * g(z2[0]), d3 * w3[1] * g(z2[1])],
            "W2": [[2 * (yhat - y) * a2[0] * g(z3), 2 * (yhat - y) * a2[1] * g(z3)]],
            "W1": [[2 * (yhat - y) * w3[0] * g(z3) * g(z2[0]) * x], [2 * (yhat - y) * w3[1] * g(z3) * g(z2[1]) * x]]}
    for k, v in seed.items():
        np.testing.assert_allclose(grads(s)[k], np.array(v), rtol=1e-12, err_msg=k)


def _002_finite_difference(s):  # §2.4: perturb one weight, one forward pass each way; compare with backprop
    question(s, "finite_difference")
    fd = s.ctx["worked"]["finite_difference"]
    X, Y, P = arrays(s)

    def e(P):
        a2 = sigmoid(P["W1"] @ X.T + P["b1"][:, None])
        yhat = sigmoid(P["W2"] @ a2 + P["b2"][:, None])
        return float(np.sum((Y.T - yhat) ** 2))

    name, index = re.fullmatch(r"(\w+)\[([\d,]+)\]", fd.key).groups()
    index = tuple(int(i) for i in index.split(","))
    eps = float(fd.epsilon)
    values = []
    for sign in (1, -1):
        Q = {k: v.copy() for k, v in P.items()}
        Q[name][index] += sign * eps
        values.append(e(Q))
    half_unit = 0.51 * 10.0 ** -len(fd.j_plus.split(".")[1])  # J(· ± ε) are printed rounded to their last place
    assert abs(float(fd.j_plus) - values[0]) <= half_unit
    assert abs(float(fd.j_minus) - values[1]) <= half_unit
    quotient = (values[0] - values[1]) / (2 * eps)
    assert float(fd.quotient) == pytest.approx(quotient, rel=5e-4)
    assert float(fd.gradient) == pytest.approx(grads(s)[name][index], rel=5e-4)
    assert fd.agree


def _002_examples_n(s):  # §2.3: "Given a dataset {(x₁, y₁), …, (xₙ, yₙ)}, e = 1/n Σ (yᵢ − ŷᵢ)²"
    assert s.profile.examples == "n"


SEED_002 = [
    Item("1.1", "layers 1..L, w^l_ji enters layer l, no brackets", "nielsen-121", _002_layers_and_weights),
    Item("1.1", "z = sum w a + b, a = g(z)", "nielsen-121", _002_weighted_sum),
    Item("1.2", "a^l = g(w^l a^(l-1) + b^l)", "nielsen-121", _002_vector_forward),
    Item("1.4", "Hadamard product written o", "nielsen-121", _002_hadamard),
    Item("2.2", "delta_j^l = de/dz_j^l", "nielsen-121", _002_delta_definition),
    Item("2.2(1)-(4)", "the four equations", "nielsen-121", _002_four_equations),
    Item("2.3", "bias unit x0 drawn", "nielsen-121", _002_bias_units),
    Item("2.3", "hidden bias unit named h0", "nielsen-121", _002_bias_unit_h0,
         missing="no profile key names the hidden layer's bias unit: the nielsen diagram draws it as a^{2}_{0} "
                 "(diagram.bias_unit_label uses the activation letter), the notes call it h_0"),
    Item("2.3", "output y-hat, e = (y - y-hat)^2", "nielsen-121", _002_squared_error),
    Item("2.3", "delta3 = 2(y-hat - y) o g'(z3)", "nielsen-121", _002_output_delta),
    Item("2.3", "delta2 from w3 transposed and delta3", "nielsen-121", _002_hidden_delta),
    Item("2.3", "de/dw2_11 and de/db2_1 line by line", "nielsen-121", _002_deep_weight),
    Item("2.3", "the seven partial derivatives in numbers", "nielsen-121", _002_closed_forms),
    Item("2.4", "finite-difference check of one gradient", "nielsen-121", _002_finite_difference),
    Item("2.3", "n examples", "nielsen-121", _002_examples_n,
         missing="the nielsen profile counts the examples with m ([examples] count = 'm'); the notes write "
                 "n (a dataset (x_1, y_1), ..., (x_n, y_n), e = 1/n sum)"),
]


@pytest.mark.parametrize("item", params(SEED_002))
def test_seed_002_nielsen_notes(item):
    item.check(sheet(item.source, item.notation))


# =====================================================================================================
# 003: Welch Labs "Backpropagation Guided Notes" → welch: welch-231 (questions 1–11, numExamples = 1,
#      every weight 1, X = [0.3 1.0], y = 0.75) and welch-231-batch (questions 12–17, numExamples = 3)
# =====================================================================================================

def _003_forward_equations(s):  # (1)–(4): z⁽²⁾ = XW⁽¹⁾, a⁽²⁾ = f(z⁽²⁾), z⁽³⁾ = a⁽²⁾W⁽²⁾, ŷ = f(z⁽³⁾)
    fv = s.ctx["forward_vector"]
    assert [line(fv, lhs) for lhs in ("z^{(2)}", "a^{(2)}", "z^{(3)}", r"\hat{y}")] == \
        [r"X W^{(1)}", r"f\left(z^{(2)}\right)", r"a^{(2)} W^{(2)}", r"f\left(z^{(3)}\right)"]


def _003_cost(s):  # (5): J = Σ ½(y − ŷ)²
    assert s.ctx["loss"]["general"] == r"J = \frac{1}{2}\sum (y - \hat{y})^2"


def _003_weight_shapes(s):  # the table: W⁽¹⁾ (inputLayerSize, hiddenLayerSize), W⁽²⁾ (hiddenLayerSize, outputLayerSize)
    assert [s.ts.names.matrix_shape(m) for m in ("W1", "W2")] == [(2, 3), (3, 1)]


def _003_gradient_shapes(s):  # q1, q2: ∂J/∂W⁽¹⁾ is (2, 3), ∂J/∂W⁽²⁾ is (3, 1), "SAME AS W"
    has(answer(s, "dimensions"), r"$\frac{\partial J}{\partial W^{(1)}}$ is $2 \times 3$, the shape of $W^{(1)}$",
        r"$\frac{\partial J}{\partial W^{(2)}}$ is $3 \times 1$, the shape of $W^{(2)}$")
    assert [(g["rows"], g["cols"]) for g in s.ctx["dimensions"]] == [(2, 3), (3, 1)]


def _003_sum_rule(s):  # q3, q4: move the sum outside, take one example; q12, q14: put the sum back
    asked_not_answered(s, "sum_rule", r"\sum_{n} \frac{\partial J_{n}}{\partial W^{(1)}_{11}}")
    has(prompt(s, "sum_rule"), "sum rule")
    has(answer(s, "sum_rule"), "put the sum back")


def _003_chain_minus(s):  # q4, q5: ∂J/∂W⁽²⁾ = −(y − ŷ) ∂ŷ/∂z⁽³⁾ ∂z⁽³⁾/∂W⁽²⁾, Welch's sign
    question(s, "chain")
    assert s.profile.minus_y_first
    has(answer(s, "output_delta"), r"-\left(y - \hat{y}\right)")
    assert r"\hat{y} - y" not in "".join(s.tex.values()), "one sign convention per document"


def _003_sigmoid_prime(s):  # q6: f(z) = 1/(1 + e^{−z}), f′(z) = e^{−z}/(1 + e^{−z})², = f(1 − f)
    asked_not_answered(s, "derivative_sigmoid", r"= f(z)\left(1 - f(z)\right)")
    has(answer(s, "derivative_sigmoid"), r"\frac{e^{-z}}{\left(1 + e^{-z}\right)^{2}}")


def _003_backpropagating_error(s):  # after q6: δ⁽³⁾ = −(y − ŷ) f′(z⁽³⁾)
    assert line(s.ctx["backward_vector"]["lines"], r"\delta^{(3)}") == r"-\left(y - \hat{y}\right) \odot f'\left(z^{(3)}\right)"


def _003_delta_shape_one(s):  # q7: the dimension of δ⁽³⁾ with numExamples = 1
    shape_row(s, r"\delta^{(3)}", r"1 \times 1", r"m \times 1")
    assert r"$1 \times 1$ & $m \times 1$" not in s.tex["exercises.tex"], "the exercise sheet fills the shapes in"


def _003_delta_shape_three(s):  # q13: with numExamples = 3, δ⁽³⁾ is 3 × 1
    shape_row(s, r"\delta^{(3)}", r"1 \times 1", r"3 \times 1")
    assert s.ctx["backward_vector"]["lines"][0].split("&&")[1].strip() == r"3\times 1"


def _003_entry_by_entry(s):  # q8: z⁽³⁾ = [a₁₁ a₁₂ a₁₃][W₁₁; W₂₁; W₃₁] written out
    asked_not_answered(s, "entry_product", r"z^{(3)} = W^{(2)}_{11} a^{(2)}_{1} + W^{(2)}_{21} a^{(2)}_{2} + W^{(2)}_{31} a^{(2)}_{3}")


def _003_dz_dW(s):  # q9, q10: ∂z⁽³⁾/∂W⁽²⁾ = [a₁; a₂; a₃] = (a⁽²⁾)ᵀ
    text = answer(s, "entry_product")
    for k in (1, 2, 3):
        has(text, rf"\frac{{\partial z^{{(3)}}}}{{\partial W^{{(2)}}_{{{k}1}}}} &= a^{{(2)}}_{{{k}}}")
    has(text, r"= \left(a^{(2)}\right)^T")


def _003_q11_numbers(s):  # q11: W all 1, X = [0.3 1.0], y = 0.75: ŷ, then ∂J/∂W⁽²⁾ = (a⁽²⁾)ᵀ δ⁽³⁾
    X, Y, P = arrays(s)
    a2 = sigmoid(X @ P["W1"].T)
    yhat = sigmoid(a2 @ P["W2"].T)
    d3 = -(Y - yhat) * yhat * (1 - yhat)
    dW2 = a2.T @ d3  # 3 × 1; the notes' hand answer (a⁽²⁾)ᵀ = 0.74 forgets δ⁽³⁾
    assert yhat[0, 0] == pytest.approx(0.913529, abs=5e-7)
    assert s.numbers["loss"] == pytest.approx(0.5 * (0.75 - yhat[0, 0]) ** 2, rel=1e-12)  # J = ½(0.75 − ŷ)²
    np.testing.assert_allclose(grads(s)["W2"].T, dW2, rtol=1e-12)
    assert dW2[0, 0] == pytest.approx(0.0101512, abs=5e-8)
    has(s.tex["answers.tex"], r"\begin{bmatrix} 0.01015 \\ 0.01015 \\ 0.01015 \end{bmatrix}")


def _003_rows_and_columns(s):  # q12: "Rows = examples, cols = hidden units/neurons"
    has(prompt(s, "rows_columns"), "row", "column")
    has(answer(s, "rows_columns"), "rows = the 3 examples, columns = the 3 units of layer 2")


def _003_sum_across_examples(s):  # q14: ∂J/∂W⁽²⁾_k1 = Σₙ a⁽²⁾_nk δ⁽³⁾_n1
    has(answer(s, "matrix_form"), r"\frac{\partial J}{\partial W^{(2)}_{ki}} = \sum_{n} a^{(2)}_{nk}\, \delta^{(3)}_{ni}")


def _003_matrix_gradient(s):  # q15: ∂J/∂W⁽²⁾ = (a⁽²⁾)ᵀ δ⁽³⁾; asked, not printed on the exercise sheet
    assert line(s.ctx["backward_vector"]["gradients"], r"\frac{\partial J}{\partial W^{(2)}}") == r"\left(a^{(2)}\right)^T \delta^{(3)}"
    asked_not_answered(s, "matrix_form", r"\left(a^{(2)}\right)^T \delta^{(3)}")


def _003_q16_numbers(s):  # q16: the three examples: ∂J/∂W⁽²⁾ = (a⁽²⁾)ᵀ δ⁽³⁾ sums them
    X, Y, P = arrays(s)
    a2 = sigmoid(X @ P["W1"].T)
    yhat = sigmoid(a2 @ P["W2"].T)
    d3 = -(Y - yhat) * yhat * (1 - yhat)
    np.testing.assert_allclose(grads(s)["W2"].T, a2.T @ d3, rtol=1e-12)
    assert s.ctx["worked"]["multi"]


def _003_first_layer(s):  # q17: δ⁽²⁾ = δ⁽³⁾(W⁽²⁾)ᵀ ⊙ f′(z⁽²⁾), ∂J/∂W⁽¹⁾ = Xᵀ δ⁽²⁾
    bv = s.ctx["backward_vector"]
    assert line(bv["lines"], r"\delta^{(2)}") == r"\left(\delta^{(3)} \left(W^{(2)}\right)^T\right) \odot f'\left(z^{(2)}\right)"
    assert line(bv["gradients"], r"\frac{\partial J}{\partial W^{(1)}}") == r"X^T \delta^{(2)}"
    X, Y, P = arrays(s)
    a2 = sigmoid(X @ P["W1"].T)
    yhat = sigmoid(a2 @ P["W2"].T)
    d2 = (-(Y - yhat) * yhat * (1 - yhat)) @ P["W2"] * a2 * (1 - a2)
    np.testing.assert_allclose(grads(s)["W1"].T, X.T @ d2, rtol=1e-12)


SEED_003 = [
    Item("(1)-(4)", "forward equations in rows", "welch-231", _003_forward_equations),
    Item("(5)", "J = sum 1/2 (y - y-hat)^2", "welch-231", _003_cost),
    Item("table", "W1 is 2x3, W2 is 3x1", "welch-231", _003_weight_shapes),
    Item("q1-q2", "dJ/dW1 2x3, dJ/dW2 3x1, same as W", "welch-231", _003_gradient_shapes),
    Item("q3-q4", "remove the sum, then put it back", "welch-231-batch", _003_sum_rule),
    Item("q4-q5", "chain with -(y - y-hat)", "welch-231", _003_chain_minus),
    Item("q6", "f'(z) derived: f(1 - f)", "welch-231", _003_sigmoid_prime),
    Item("q6", "backpropagating error delta3 = -(y - y-hat) f'(z3)", "welch-231", _003_backpropagating_error),
    Item("q7", "dimension of delta3, one example", "welch-231", _003_delta_shape_one),
    Item("q8", "z3 = a2 W2 entry by entry", "welch-231", _003_entry_by_entry),
    Item("q9-q10", "dz3/dW2 = (a2)^T", "welch-231", _003_dz_dW),
    Item("q11", "numbers for one example", "welch-231", _003_q11_numbers),
    Item("q12", "rows and columns of a2", "welch-231-batch", _003_rows_and_columns),
    Item("q13", "dimension of delta3, three examples", "welch-231-batch", _003_delta_shape_three),
    Item("q14", "sum across examples entry by entry", "welch-231-batch", _003_sum_across_examples),
    Item("q15", "dJ/dW2 = (a2)^T delta3", "welch-231-batch", _003_matrix_gradient),
    Item("q16", "numbers for three examples", "welch-231-batch", _003_q16_numbers),
    Item("q17", "dJ/dW1 by propagating further", "welch-231-batch", _003_first_layer),
]


@pytest.mark.parametrize("item", params(SEED_003))
def test_seed_003_guided_notes(item):
    item.check(sheet(item.source, item.notation))


# =====================================================================================================
# 004: QBUS6850 Lecture 4 "Neural Network and Deep Learning II" → qbus: regression-231 (the lecture's
#      3-layer net, no bias units, its 4 examples, L = ½ Σ (f(xₙ, W) − tₙ)²), classification-231 in the
#      lecture's notation (sigmoid output, cross-entropy), and a 2-3-1 spec with biases (1_N b)
# =====================================================================================================

BIASED_231 = spec_text([2, 3, 1], activation="sigmoid", loss="half_sse", bias=True, name="lecture-bias")


def _004_symbols(s):  # L(W), targets t, N examples, f(x, W), W and α
    p = s.profile
    assert (p.cost_full, p.target, p.examples) == (r"L(\mathbf{W})", "t", "N")
    assert s.ts.names.output_symbol() == r"f(\mathbf{x}, \mathbf{W})"
    has(s.ctx["loss"]["general"], r"L(\mathbf{W}) = \frac{1}{2}\sum (f(\mathbf{x}, \mathbf{W}) - t)^2")


def _004_data(s):  # "Consider 4 data": x₁, x₂ and expense, as in the lecture's table
    X, Y, _ = arrays(s)
    np.testing.assert_array_equal(X, [[1, 0.875], [0.25, 1], [0.50, 0.45], [0.75, 0.25]])
    np.testing.assert_array_equal(Y.ravel(), [1, 0.4, 0.5, 0.6])


def _004_forward(s):  # "FP+BP (Regression)": Z⁽²⁾ = XW⁽¹⁾, a⁽²⁾ = σ(Z⁽²⁾), Z⁽³⁾ = a⁽²⁾W⁽²⁾, f(X, W) = σ(Z⁽³⁾)
    fv = s.ctx["forward_vector"]
    assert [line(fv, lhs) for lhs in (r"\mathbf{Z}^{(2)}", r"\mathbf{a}^{(2)}", r"\mathbf{Z}^{(3)}", r"f(\mathbf{X}, \mathbf{W})")] == \
        [r"\mathbf{X} \mathbf{W}^{(1)}", r"\sigma\left(\mathbf{Z}^{(2)}\right)", r"\mathbf{a}^{(2)} \mathbf{W}^{(2)}",
         r"\sigma\left(\mathbf{Z}^{(3)}\right)"]
    has(s.tex["handout.tex"], r"\mathbf{a}^{(1)} = \mathbf{X}")


def _004_bias_rows(s):  # "Forward Propagation Algorithm with Bias": Z⁽ˡ⁺¹⁾ = a⁽ˡ⁾W⁽ˡ⁾ + 1_N b⁽ˡ⁾
    fv = s.ctx["forward_vector"]
    assert line(fv, r"\mathbf{Z}^{(2)}") == r"\mathbf{X} \mathbf{W}^{(1)} + \mathbf{1}_N \mathbf{b}^{(1)}"
    assert line(fv, r"\mathbf{Z}^{(3)}") == r"\mathbf{a}^{(2)} \mathbf{W}^{(2)} + \mathbf{1}_N \mathbf{b}^{(2)}"


def _004_shapes(s):  # "Calculate Gradient": W⁽¹⁾ input × hidden (2 × 3), W⁽²⁾ hidden × output (3 × 1), ∂L/∂W alike
    assert [s.ts.names.matrix_shape(m) for m in ("W1", "W2")] == [(2, 3), (3, 1)]
    assert [(g["gradient"], g["rows"], g["cols"]) for g in s.ctx["dimensions"]] == \
        [(r"\frac{\partial L}{\partial \mathbf{W}^{(1)}}", 2, 3), (r"\frac{\partial L}{\partial \mathbf{W}^{(2)}}", 3, 1)]


def _004_remove_summation(s):  # Step 1: "Sum rules in differentiation … Remove summation for simplicity"
    asked_not_answered(s, "sum_rule", r"\sum_{n} \frac{\partial L_{n}}{\partial w^{(1)}_{11}}")


def _004_sigmoid_prime(s):  # "Sigmoid function derivative": σ′(z) = e^{−z}/(1 + e^{−z})² = σ(z)(1 − σ(z))
    lines = next(x for x in s.ctx["slopes"] if x["name"] == "sigmoid")["lines"]
    has(" ".join(lines), r"\frac{e^{-z}}{\left(1 + e^{-z}\right)^{2}}", r"\sigma(z)\,\bigl(1 - \sigma(z)\bigr)")
    asked_not_answered(s, "derivative_sigmoid", r"= \sigma(z)\left(1 - \sigma(z)\right)")


def _004_dz_dW_one_example(s):  # Step 1: "For a single data xₙ": ∂zₙ⁽³⁾/∂W⁽²⁾ = [aₙ₁⁽²⁾, aₙ₂⁽²⁾, aₙ₃⁽²⁾]ᵀ
    text = prompt(s, "entry_product") + answer(s, "entry_product")
    has(answer(s, "entry_product"), r"= \left(a^{(2)}_{n}\right)^T")
    # one example's z is the lecture's lower-case z_n; the bold Z⁽³⁾ is all N examples (∂Z⁽³⁾/∂W⁽²⁾ = a⁽²⁾, N × 3)
    assert r"\mathbf{Z}^{(3)}" not in text, "one example's z written as the N-example matrix Z"


def _004_backward(s):  # "Step 1/2: summary": δ⁽³⁾ = (f(X, W) − t) .* σ′(Z⁽³⁾), δ⁽²⁾ = (δ⁽³⁾(W⁽²⁾)ᵀ) .* σ′(Z⁽²⁾)
    bv = s.ctx["backward_vector"]
    assert s.profile.hadamard == r"\mathbin{.*}"
    assert line(bv["lines"], r"\delta^{(3)}") == r"\left(f(\mathbf{X}, \mathbf{W}) - \mathbf{t}\right) \mathbin{.*} \sigma'\left(\mathbf{Z}^{(3)}\right)"
    assert line(bv["lines"], r"\delta^{(2)}") == r"\left(\delta^{(3)} \left(\mathbf{W}^{(2)}\right)^T\right) \mathbin{.*} \sigma'\left(\mathbf{Z}^{(2)}\right)"
    # ∂L/∂W⁽²⁾ = (a⁽²⁾)ᵀ δ⁽³⁾ (3×4 · 4×1), ∂L/∂W⁽¹⁾ = Xᵀ δ⁽²⁾ (2×4 · 4×3), with the shapes beside them
    assert [g.split("&=", 1)[1].strip() for g in bv["gradients"]] == \
        [r"\mathbf{X}^T \delta^{(2)} && 2\times 3", r"\left(\mathbf{a}^{(2)}\right)^T \delta^{(3)} && 3\times 1"]
    assert [l.split("&&")[1].strip() for l in bv["lines"]] == [r"4\times 1", r"4\times 3"]


def _004_matrix_sums(s):  # "matrix multiplication does the sum job"
    has(s.ctx["backward_vector"]["batch_note"], r"\sum_{n=1}^{4} \mathbf{a}^{(2)}_{nk}\, \delta^{(3)}_{ni}")


def _004_fp_bp_numbers(s):  # "FP+BP (Regression)": the lecture's four backward lines, in NumPy
    X, t, P = arrays(s)
    W1, W2 = P["W1"].T, P["W2"].T
    a2 = sigmoid(X @ W1)
    f = sigmoid(a2 @ W2)
    d3 = (f - t) * f * (1 - f)
    d2 = (d3 @ W2.T) * a2 * (1 - a2)
    np.testing.assert_allclose(grads(s)["W2"].T, a2.T @ d3, rtol=1e-12)
    np.testing.assert_allclose(grads(s)["W1"].T, X.T @ d2, rtol=1e-12)
    assert s.numbers["loss"] == pytest.approx(0.5 * float(np.sum((f - t) ** 2)), rel=1e-12)


def _004_update(s):  # W := W − α ∂L(W)/∂W
    has(prompt(s, "update"), r"\alpha = 0.5")
    _, _, P = arrays(s)
    for k, g in grads(s).items():
        np.testing.assert_allclose(np.array(s.numbers["updated"][k]), P[k] - 0.5 * g, rtol=1e-12, err_msg=k)


def _004_classification(s):  # "FP+BP (Binary Classification)": δ⁽³⁾ = f(X, W) − t, shown by the student
    assert line(s.ctx["backward_vector"]["lines"], r"\delta^{(3)}") == r"f(\mathbf{X}, \mathbf{W}) - \mathbf{t}"
    asked_not_answered(s, "output_delta", r"\left(1 - t\right) f(\mathbf{x}, \mathbf{W}) - t \left(1 - f(\mathbf{x}, \mathbf{W})\right) = f(\mathbf{x}, \mathbf{W}) - t")
    X, t, P = arrays(s)
    a2 = sigmoid(X @ P["W1"].T)
    f = sigmoid(a2 @ P["W2"].T)
    np.testing.assert_allclose(grads(s)["W2"].T, a2.T @ (f - t), rtol=1e-12)


def _004_log(s):  # "NN Binary Classification Loss Function": L(W) = −Σ[tₙ log f + (1 − tₙ) log(1 − f)]
    has(s.ctx["loss"]["general"], r"t \log f(\mathbf{x}, \mathbf{W})")


SEED_004 = [
    Item("loss slides", "L(W), t, N, f(x, W)", "regression-231", _004_symbols),
    Item("Backpropagation", "the lecture's 4 data", "regression-231", _004_data),
    Item("FP+BP", "forward pass Z = aW in rows, a1 = X", "regression-231", _004_forward),
    Item("FP with bias", "Z = aW + 1_N b", BIASED_231, _004_bias_rows, "qbus"),
    Item("Calculate Gradient", "W and dL/dW shapes", "regression-231", _004_shapes),
    Item("Step 1", "remove the summation", "regression-231", _004_remove_summation),
    Item("Sigmoid derivative", "sigma' = sigma(1 - sigma)", "regression-231", _004_sigmoid_prime),
    Item("Step 1", "dz_n/dW2 = [a_n1, a_n2, a_n3]^T for one example", "regression-231", _004_dz_dW_one_example),
    Item("Step 1/2 summary", "delta and gradients with .* and shapes", "regression-231", _004_backward),
    Item("Step 1 summary", "the matrix product sums the examples", "regression-231", _004_matrix_sums),
    Item("FP+BP (Regression)", "the lecture's backward pass in numbers", "regression-231", _004_fp_bp_numbers),
    Item("gradient descent", "W := W - alpha dL/dW", "regression-231", _004_update),
    Item("FP+BP (Binary Classification)", "delta3 = f(X, W) - t", "classification-231", _004_classification, "qbus"),
    Item("classification loss", "log, not ln", "classification-231", _004_log, "qbus"),
]


@pytest.mark.parametrize("item", params(SEED_004))
def test_seed_004_qbus_lecture(item):
    item.check(sheet(item.source, item.notation))
