"""The exercise sheet's questions as data: answered one to one, never answered on the exercise sheet
itself, and the finite-difference check's numbers against an independent finite difference.

Generated specs (tests/specgen.py) in every profile, and the bundled examples; the seed is fixed
(specgen.CI_SEED) and printed in every failure; DERIVE_SPECGEN_SEED=<seed> reproduces one or explores others.
"""
from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from specgen import CI_SEED, generate

from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import load_spec, parse_spec
from derive.notation.names import PROFILES, get_profile
from derive.numbers import reference
from derive.numbers.answers import compute_answers
from derive.sheets import questions as qs
from derive.sheets.fdcheck import EPSILON
from derive.sheets.render import _context, render_worksheets
from derive.sheets.typeset import Typesetter

SEED = int(os.environ.get("DERIVE_SPECGEN_SEED", CI_SEED))
COUNT = int(os.environ.get("DERIVE_QUESTIONS_COUNT", "20"))
REPRODUCE = f"seed {SEED} (reproduce: DERIVE_SPECGEN_SEED={SEED} python -m pytest tests/test_questions.py)"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BUNDLED = sorted(EXAMPLES.glob("*.toml"))


MAX_PARAMETERS = 200  # the wide generated nets take minutes to settle their worked lines: test_generated_sheets has them


def _cases():
    """(name, derivation, numbers or None, profile): generated specs cycled over every profile."""
    out = []
    for i, (name, text) in enumerate(generate(SEED, COUNT)):
        spec = parse_spec(text, name)
        d = derive(build_network(spec))
        if len(d.parameters) > MAX_PARAMETERS:
            continue
        numbers = compute_answers(d)
        profiles = sorted(PROFILES)
        out.append((name, d, numbers, profiles[i % len(profiles)]))
        out.append((name, d, None, profiles[(i + 1) % len(profiles)]))  # the symbolic sheet too
    return out


@pytest.fixture(scope="module")
def cases():
    """Every case with its questions, its rendered sheets and its worked numbers, built once."""
    out = []
    for name, d, numbers, profile in _cases():
        ctx = _context(Typesetter(d, get_profile(profile), 4), numbers)
        out.append((name, d, numbers, profile, ctx, render_worksheets(d, numbers, profile)))
    return out


def _in_order(tex: str, titles: list[str]) -> bool:
    at = 0
    for title in titles:
        at = tex.find(rf"\item \textbf{{{title}.}}", at)
        if at < 0:
            return False
        at += 1
    return True


def test_every_question_is_answered_one_to_one(cases):
    problems = []
    for name, d, numbers, profile, ctx, docs in cases:
        qlist = ctx["questions"]
        ids = [q.id for q in qlist]
        where = f"{name} {list(d.network.spec.layers)} {profile} {'numbers' if numbers else 'symbolic'}"
        if len(ids) != len(set(ids)):
            problems.append(f"{where}: repeated ids {ids}")
        for q in qlist:
            if not q.prompt or not any(p.strip() for p in q.prompt) or not q.answer or not any(a.strip() for a in q.answer):
                problems.append(f"{where}: {q.id} has an empty prompt or answer")
            if not q.space > 0:
                problems.append(f"{where}: {q.id} leaves no room to write")
        titles = [q.title for q in qlist]
        # Both sheets hold the same items, in the same order, and no other.
        for doc in ("exercises.tex", "answers.tex"):
            if docs[doc].count(r"\item ") != len(qlist) or not _in_order(docs[doc], titles):
                problems.append(f"{where}: {doc} does not list the questions {ids} in order")
        expected = {"dimensions", "entry_product", "chain", "output_delta", "factor_delta", "matrix_form", "counting"}
        if numbers is not None:
            expected |= {"forward", "output_error", "gradients", "finite_difference"}
            if d.network.spec.values.learning_rate is not None:
                expected.add("update")
        if d.network.depth > 1:
            expected.add("recursion")
        if not expected <= set(ids):
            problems.append(f"{where}: missing {sorted(expected - set(ids))}")
    assert not problems, REPRODUCE + "\n" + "\n".join(problems)


def test_no_answer_is_printed_on_the_exercise_sheet(cases):
    problems = []
    for name, d, numbers, profile, ctx, docs in cases:
        qlist = ctx["questions"]
        for q in qlist:
            for text in q.reveals:
                if text and text in docs["exercises.tex"]:
                    problems.append(f"{name} {profile}: the answer to {q.id} is on the exercise sheet: {text}")
    assert not problems, REPRODUCE + "\n" + "\n".join(problems)


def test_the_output_delta_simplification_is_only_on_the_answer_sheet():
    # classification-231: σ with bce, δ = f(x, W) − t in the lecture's notation, only among the answers.
    d = derive(build_network(load_spec(EXAMPLES / "classification-231.toml")))
    docs = render_worksheets(d, compute_answers(d), "qbus")
    line = r"&= f(\mathbf{x}, \mathbf{W}) - t"
    assert line in docs["answers.tex"] and line not in docs["exercises.tex"]
    assert r"\sigma(z)\left(1 - \sigma(z)\right)" in docs["answers.tex"]
    assert r"\sigma(z)\left(1 - \sigma(z)\right)" not in docs["exercises.tex"]


def _independent_fd(spec, key: str) -> float:
    """(J(w + ε) − J(w − ε)) / 2ε by derive.numbers.reference in binary floats."""
    params = {k: np.array(v, dtype=float) for k, v in spec.values.params.items()}
    name, idx = key.rstrip("]").split("[")
    index = tuple(int(i) for i in idx.split(","))
    eps = float(EPSILON)
    up, down = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in params.items()}
    up[name][index] += eps
    down[name][index] -= eps
    X, Y = spec.values.x, spec.values.y
    return (reference.loss(spec, up, X, Y) - reference.loss(spec, down, X, Y)) / (2 * eps)


def _half_unit(printed: str) -> float:
    return 0.5 * 10.0 ** Decimal(printed).as_tuple().exponent


def test_finite_difference_answers_agree_with_backprop_and_reference(cases):
    problems = []
    checked = 0
    specs = [(name, d, numbers, ctx) for name, d, numbers, profile, ctx, docs in cases if numbers is not None]
    for p in BUNDLED:
        d = derive(build_network(load_spec(p)))
        if d.network.spec.values is not None:
            numbers = compute_answers(d)
            specs.append((p.stem, d, numbers, _context(Typesetter(d, get_profile("ng"), 4), numbers)))
    for name, d, numbers, ctx in specs:
        fd = ctx["worked"]["finite_difference"]
        spec = d.network.spec
        if fd is None:  # no check a student could do: every weight's gradient is far below ε's reach
            steepest = max(abs(float(v)) for k, g in numbers["gradients"].items() if k.startswith("W") for v in np.ravel(g))
            if steepest >= 1e-10:
                problems.append(f"{name} {list(spec.layers)}: no finite-difference check, yet a gradient of {steepest!r}")
            continue
        where = f"{name} {list(spec.layers)} {fd.key}"
        q, g = float(Decimal(fd.quotient)), float(Decimal(fd.gradient))
        jp, jm = Decimal(fd.j_plus), Decimal(fd.j_minus)
        # the printed quotient follows from the printed J values
        from_printed = (jp - jm) / (2 * Decimal(EPSILON.numerator) / Decimal(EPSILON.denominator))
        if abs(float(from_printed) - q) > _half_unit(fd.quotient) * 1.0000001:
            problems.append(f"{where}: ({fd.j_plus} - {fd.j_minus})/2e-4 = {from_printed}, printed {fd.quotient}")
        # an independent finite difference in floats (ε = 1e-4: truncation and rounding far below the printed digit)
        ref = _independent_fd(spec, fd.key)
        if abs(ref - q) > _half_unit(fd.quotient) + 1e-7 * max(1.0, abs(ref)):
            problems.append(f"{where}: reference finite difference {ref!r}, printed {fd.quotient}")
        # backprop's value, as answers.json has it, is the printed gradient to its digits
        name_, idx = fd.key.rstrip("]").split("[")
        arr = np.array(numbers["gradients"][name_])
        value = float(arr[tuple(int(i) for i in idx.split(","))])
        if abs(value - g) > _half_unit(fd.gradient) * 1.0000001:
            problems.append(f"{where}: backprop {value!r}, printed {fd.gradient}")
        # "they agree to 4 significant figures (within half a unit of the last)": the difference quotient,
        # by derive's exact arithmetic and by the reference's floats, lies within half a unit of the printed gradient
        if fd.agree and (abs(q - g) > 2 * _half_unit(fd.gradient) * 1.0000001
                         or abs(float(fd.exact_quotient) - g) > _half_unit(fd.gradient) * 1.0000001
                         or abs(ref - g) > _half_unit(fd.gradient) * 1.0000001 + 1e-9 * max(1.0, abs(ref))):
            problems.append(f"{where}: said to agree, but {fd.quotient} (reference {ref!r}) vs {fd.gradient}")
        if not fd.agree and "relu" not in spec.activations:
            problems.append(f"{where}: no ReLU kink, yet the difference {fd.quotient} disagrees with {fd.gradient}")
        checked += 1
    assert checked >= 5
    assert not problems, REPRODUCE + "\n" + "\n".join(problems)


def test_topics_are_a_list_another_topic_can_join():
    d = derive(build_network(load_spec(EXAMPLES / "toy-111.toml")))
    ts = Typesetter(d, get_profile("ng"), 4)
    pieces = qs.symbolic(ts)

    def extra(ts, pieces, worked):
        return [qs.Question("extra", "Extra", ("Why?",), ("Because.",), 1.0)]

    before = [q.id for q in qs.questions(ts, pieces, None)]
    qs.TOPICS.insert(len(qs.TOPICS) - 1, extra)
    try:
        after = [q.id for q in qs.questions(ts, pieces, None)]
    finally:
        qs.TOPICS.remove(extra)
    assert after == before[:-1] + ["extra", before[-1]]


def test_one_examples_product_has_no_batch_ones_and_stacked_rows_get_room(cases):
    """A prompt that says "(one example)" writes one example's z = aW + b, not the stacked z = aW + 1_m b;
    no question separates rows with \\\\[<length>] (it only deepens the row's strut, which a display
    fraction is deeper than already, so the rows touch); the answer sheet's rounding policy is a
    paragraph of its own, not the tail of the notation line."""
    import re

    problems = []
    for name, d, numbers, profile, ctx, docs in cases:
        ones = Typesetter(d, get_profile(profile), 4).names.ones()
        for q in ctx["questions"]:
            if q.id == "entry_product" and ones in " ".join(q.prompt):
                problems.append(f"{name} {profile}: one example's product written with {ones}")
            matrix_x = Typesetter(d, get_profile(profile), 4).names.vector("x")
            if q.id == "entry_product" and matrix_x != get_profile(profile).input and rf" {matrix_x} " in " ".join(q.prompt):
                problems.append(f"{name} {profile}: one example's product written with the examples' {matrix_x}")
            for text in q.prompt + q.answer:
                if re.search(r"\\\\\[\s*\d", text):
                    problems.append(f"{name} {profile}: {q.id} separates rows with \\\\[length]")
        if numbers is not None:
            policy = docs["answers.tex"].index(r"\emph{" + ctx["worked"]["policy"][:20])
            before = docs["answers.tex"][:policy].rstrip(" ")
            if not (before.endswith("\n\n") or before.endswith(r"\par\noindent")):
                problems.append(f"{name} {profile}: the rounding policy runs on from the notation line")
    assert not problems, REPRODUCE + "\n" + "\n".join(problems)


def test_the_output_errors_closing_difference_is_the_one_its_lines_print(cases):
    """"So an output unit's error is its output minus its target, $…$": that difference is written as
    the δ lines above it write it (welch's −(y − ŷ) for a squared error, ŷ − y where σ+bce or
    softmax+CE cancel), not in a second form a few lines on."""
    import re

    problems = []
    for name, d, numbers, profile, ctx, docs in cases:
        q = next(q for q in ctx["questions"] if q.id == "output_delta")
        closing = [a for a in q.answer if a.startswith("So an output unit's error")]
        if not closing:
            continue
        diff = re.search(r"\$(.*?)\$", closing[0]).group(1)
        shown = " ".join(a for a in q.answer if a.startswith(r"\begin{align*}"))
        if diff.removeprefix("-") not in shown:  # −(1/m)(y − ŷ): the constant may stand between the sign and the bracket
            problems.append(f"{name} {profile}: closing difference {diff} is not the one the lines print")
    assert not problems, REPRODUCE + "\n" + "\n".join(problems)


def test_every_sheet_writes_ones_transposes_and_array_rows_one_way(cases):
    """Within a document one symbol is used one way: the column of ones is the profile's (1_N in qbus,
    never a hard-coded 1_m beside it); a bare letter is transposed as x^T, never (x)^T; and no array
    separates its rows with \\\\[<length>] (a display fraction is deeper than the strut it deepens, so
    the rows touch: the columns table of every handout did)."""
    import re

    problems = []
    for name, d, numbers, profile, ctx, docs in cases:
        ones = Typesetter(d, get_profile(profile), 4).names.ones()
        for doc, tex in docs.items():
            where = f"{name} {profile} {doc}"
            for used in set(re.findall(r"\\mathbf\{1\}_(?:\{[^{}]*\}|\w)", tex)):
                if used != ones:
                    problems.append(f"{where}: {used} beside the profile's {ones}")
            if re.search(r"\\left\(\s*[A-Za-z]\s*\\right\)\^T", tex):
                problems.append(f"{where}: a bare letter bracketed before its transpose")
            for body in re.findall(r"\\begin\{(?:array|matrix|bmatrix)\}(.*?)\\end\{(?:array|matrix|bmatrix)\}", tex, re.S):
                if re.search(r"\\\\\[\s*\d", body):
                    problems.append(f"{where}: array rows separated by \\\\[length]")
                    break
    assert not problems, REPRODUCE + "\n" + "\n".join(sorted(set(problems))[:30])
