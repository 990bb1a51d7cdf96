"""Worksheets of generated nets (tests/specgen.py), compiled: what the bundled examples never stress.

Each run compiles the three documents of COUNT generated specs (depth 1-4, widths up to the limit,
1-12 examples, every activation, loss and profile, skips, mixed biases) and checks every page for
overfull boxes, bitmap (Type 3) fonts, text that does not extract, and parameters that are missing.
The seed is fixed (specgen.CI_SEED), so CI compiles the same specs on every run; another seed
explores new ones, and the seed is printed in every failure; reproduce or explore with

    DERIVE_SPECGEN_SEED=<seed> python -m pytest tests/test_generated_sheets.py

(DERIVE_SPECGEN_COUNT=<n> compiles fewer or more specs.)
"""
from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from specgen import CI_SEED, generate

from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import ACTIVATIONS, L2_SCALES, LOSSES, MAX_WIDTH, parse_spec
from derive.errors import LatexError
from derive.notation.names import PROFILES, Names, get_profile
from derive.numbers.answers import compute_answers
from derive.sheets.latex import compile_with_log, have_latex, overfull_boxes
from derive.sheets.render import render_worksheets
from derive.sheets.lines import MAX_EXAMPLES_WORKED

SEED = int(os.environ.get("DERIVE_SPECGEN_SEED", CI_SEED))
COUNT = int(os.environ.get("DERIVE_SPECGEN_COUNT", "36"))
OVERFULL_LIMIT_PT = 1.0
REPRODUCE = f"generated with seed {SEED} (reproduce: DERIVE_SPECGEN_SEED={SEED} python -m pytest tests/test_generated_sheets.py)"

needs_tools = pytest.mark.skipif(not have_latex() or shutil.which("pdffonts") is None or shutil.which("pdftotext") is None,
                                 reason="pdflatex, pdffonts or pdftotext is not installed")


def test_the_generator_covers_every_kind_of_net():
    """Over any 36 consecutive specs: every depth, loss, activation and profile, wide layers, batches,
    single examples, skips and mixed biases (so the compiled set below stresses all of them)."""
    for seed in (SEED, 0, 1):
        specs = [parse_spec(text, name) for name, text in generate(seed, 36)]
        assert {s.depth for s in specs} == {1, 2, 3, 4}
        assert {s.loss for s in specs} == set(LOSSES)
        assert {a for s in specs for a in s.activations} == set(ACTIVATIONS)
        assert {s.notation for s in specs} == set(PROFILES)
        assert max(max(s.layers) for s in specs) > 8 and max(max(s.layers) for s in specs) <= MAX_WIDTH
        assert {len(s.values.x) for s in specs} & {1} and max(len(s.values.x) for s in specs) > 6
        assert any(s.skips for s in specs)
        assert any(len(set(s.biases)) == 2 for s in specs)
        assert {s.l2_scale for s in specs if s.l2} == set(L2_SCALES)
    assert generate(SEED, 5) == generate(SEED, 5)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Every document of COUNT generated specs in the spec's own profile, compiled two at a time."""
    if not have_latex():
        pytest.skip("pdflatex is not installed")
    print(f"\n{REPRODUCE}")
    root = tmp_path_factory.mktemp("generated")
    jobs = []
    for name, text in generate(SEED, COUNT):
        spec = parse_spec(text, name)
        d = derive(build_network(spec))
        for doc, tex in render_worksheets(d, compute_answers(d), spec.notation).items():
            path = root / f"{name}-{doc}"
            path.write_text(tex)
            jobs.append((name, doc.removesuffix(".tex"), spec, path))

    def one(job):
        name, doc, spec, path = job
        try:
            pdf, log = compile_with_log(path, timeout=180, single_pass=True)
        except LatexError as exc:
            return name, doc, spec, path, None, str(exc)
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, timeout=60,
                               stdin=subprocess.DEVNULL).stdout
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL).stdout
        return name, doc, spec, path, (log, fonts, text), None

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, jobs))


def _problems(results, docs: tuple[str, ...]) -> list[str]:
    problems = []
    for name, doc, spec, path, result, error in results:
        if doc not in docs:
            continue
        where = f"{name} {list(spec.layers)} {spec.notation} {doc}.tex"
        if error is not None:
            problems.append(f"{where}: {error}")
            continue
        log, fonts, text = result
        problems += [f"{where}: {line}" for line in overfull_boxes(log, OVERFULL_LIMIT_PT)]
        problems += [f"{where}: bitmap font {line.split()[0]}" for line in fonts.splitlines() if "Type 3" in line]
        if "classifier" not in text:
            problems.append(f"{where}: pdftotext does not read the title's word 'classifier'")
        tex = path.read_text()
        names = Names(spec, get_profile(spec.notation))
        missing = [m for m in spec.parameter_shapes() if names.matrix(m) not in tex]
        if missing:
            problems.append(f"{where}: parameters {missing} appear nowhere on the sheet")
    return problems


@needs_tools
def test_generated_handouts_are_clean(generated):
    problems = _problems(generated, ("handout",))
    assert not problems, REPRODUCE + "\n" + "\n".join(problems)


@needs_tools
def test_generated_exercise_and_answer_sheets_are_clean(generated):
    problems = _problems(generated, ("exercises", "answers"))
    assert not problems, REPRODUCE + "\n" + "\n".join(problems)


PAGES = 30  # the pages of text, worked lines and displays a sheet may take (the symbolic questions and their room to write about 5), besides...
NUMBERS_PER_PAGE = 250  # ...one page for every this many numbers the sheet must print (a dense page of tables)


def numbers_to_print(spec) -> int:
    """How many numbers an answer sheet must print whatever its layout: every parameter, gradient and
    update, every example's inputs and targets, and every worked example's z, a and δ of every unit."""
    params = sum(math.prod(shape) for shape in spec.parameter_shapes().values())
    if spec.values is None:
        return params
    m = len(spec.values.x)
    per_param = 3 if spec.values.learning_rate is not None else 2
    return (per_param * params + m * (spec.layers[0] + spec.layers[-1])
            + 3 * min(m, MAX_EXAMPLES_WORKED) * sum(spec.layers[1:]))


@needs_tools
def test_generated_pages_have_a_sane_length(generated):
    """At most PAGES pages, plus one per NUMBERS_PER_PAGE numbers the sheet cannot leave out: a net of
    128-wide layers has thousands of parameters and values, all of which are on the page."""
    problems = []
    for name, doc, spec, path, result, error in generated:
        if result is None:
            continue
        pages = re.search(r"Output written on \S+ \((\d+) pages?", result[0])
        limit = PAGES + numbers_to_print(spec) // NUMBERS_PER_PAGE
        if not pages or int(pages.group(1)) > limit:
            problems.append(f"{name} {list(spec.layers)} {doc}: {pages.group(0) if pages else 'no page count'}, at most {limit}")
    assert not problems, REPRODUCE + "\n" + "\n".join(problems)


@needs_tools
def test_generated_exercise_sheets_ask_what_their_answer_sheets_answer(generated):
    """The compiled pair holds the same questions (the titles, in order) and room to write under each."""
    sheets = {}
    for name, doc, spec, path, result, error in generated:
        if result is not None:
            sheets[(name, doc)] = (spec, path.read_text(), result[2])
    problems = []
    for (name, doc), (spec, tex, text) in sheets.items():
        if doc != "exercises" or (name, "answers") not in sheets:
            continue
        answers = sheets[(name, "answers")][1]
        titles = re.findall(r"\\item \\textbf\{(.*?)\.\}", tex)
        if not titles or titles != re.findall(r"\\item \\textbf\{(.*?)\.\}", answers):
            problems.append(f"{name} {list(spec.layers)} {spec.notation}: exercises ask {titles}, answers answer others")
        if tex.count(r"\vspace*{") < len(titles):
            problems.append(f"{name} {list(spec.layers)} {spec.notation}: a question without room to write")
        if "finite-difference check" not in text.replace("\n", " "):
            problems.append(f"{name} {list(spec.layers)} {spec.notation}: the compiled sheet has no finite-difference check")
    assert not problems, REPRODUCE + "\n" + "\n".join(problems)


def split_prompts(text: str) -> list[int]:
    """The pages (from 2) of a compiled exercise sheet that do not begin with a numbered question: there
    a question's prompt (or the sheet's given data) was cut by the page break."""
    pages = text.split("\f")
    out, asking = [], False
    for number, page in enumerate(pages, start=1):
        # pdftotext puts a line's raised pieces (λ, a superscript 2) around it: a question's number is
        # looked for among the page's first lines; pages before question 1 hold the given data
        lines = [line.strip() for line in page.splitlines() if len(line.strip()) > 3]
        if asking and lines and not any(re.match(r"\d+\. ", line) for line in lines[:3]):
            out.append(number)
        asking = asking or any(re.match(r"1\. ", line) for line in lines)
    return out


@pytest.mark.skipif(not have_latex() or shutil.which("pdftotext") is None, reason="pdflatex or pdftotext is not installed")
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_an_l2_exercise_sheet_cuts_no_prompt(tmp_path, profile):
    """The page-view case: a 2-3-1 net with biases, three examples and an L2 term (its finite-difference
    check was cut by a page). Not yet asserted over the generated specs: a 95-wide net's gradients
    question still runs onto the next page (see the report of branch rev11)."""
    text = ('name = "r"\n[network]\nlayers = [2, 3, 1]\nactivation = "sigmoid"\nbias = true\nloss = "half_sse"\n'
            'l2 = 0.7\nl2_scale = "1/(2m)"\n[values]\nx = [[0.3, 1.0], [0.5, 0.2], [1.0, 0.4]]\ny = [0.75, 0.82, 0.93]\n'
            'seed = 3\nlearning_rate = 0.5\n')
    d = derive(build_network(parse_spec(text)))
    source = tmp_path / "exercises.tex"
    source.write_text(render_worksheets(d, compute_answers(d), profile)["exercises.tex"])
    pdf, _ = compile_with_log(source, single_pass=True)
    pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert split_prompts(pages) == []
