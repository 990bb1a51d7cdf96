"""The exercise and answer sheets of wide, deep and many-example nets fit the page.

The bundled examples are compiled in test_latex; these specs have numbers the bundled ones do not
reach: 16-unit layers with values (wide matrices in column blocks, long z sums), five examples with
a ReLU layer (per-example tables, sums over n), twenty examples (a stated subset), a skip and three
hidden layers. Every answer and exercise sheet, in every profile, compiles with no overfull box
over 1 pt.
"""
from __future__ import annotations

import json
import os
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from derive.engine.derivation import derive
from derive.engine.network import build_network
from derive.engine.spec import parse_spec
from derive.errors import LatexError
from derive.numbers.answers import compute_answers
from derive.sheets.latex import compile_with_log, have_latex, overfull_boxes
from derive.sheets.render import render_worksheets

OVERFULL_LIMIT_PT = 1.0


def _twenty() -> str:
    rng = random.Random(5)
    x = [[round(rng.uniform(-1, 1), 2), round(rng.uniform(-1, 1), 2)] for _ in range(20)]
    y = [[round(rng.uniform(0, 1), 2)] for _ in range(20)]
    return (f'name = "twenty"\n[network]\nlayers = [2, 3, 1]\nactivation = "tanh"\nloss = "half_mse"\n'
            f'[values]\nx = {json.dumps(x)}\ny = {json.dumps(y)}\nseed = 3\nlearning_rate = 0.1\n')


SPECS = {
    "wide": """name = "wide"
[network]
layers = [8, 16, 16, 4]
activation = ["relu", "tanh", "softmax"]
loss = "cross_entropy"
[values]
x = [[0.1, -0.2, 0.3, 0.5, -1, 0.25, 0.8, 0.05]]
y = [[0, 0, 1, 0]]
seed = 7
learning_rate = 0.1
""",
    "five": """name = "five"
[network]
layers = [3, 4, 2]
activation = ["relu", "sigmoid"]
bias = [true, false]
loss = "bce_mean"
[values]
x = [[0.5, -0.6, 0.1], [1, 1, 0.9], [0.2, 0.4, -0.3], [-1.5, 0.25, 0.75], [0.9, -0.1, 0.0]]
y = [[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]]
W1 = [[0.5, -0.6, 0.1], [0.3, 0.2, -0.4], [-0.7, 0.1, 0.6], [0.25, 0.25, 0.5]]
b1 = [0, 0.1, -0.2, 0.05]
W2 = [[0.4, -0.3, 0.2, 0.6], [-0.5, 0.7, 0.1, -0.2]]
learning_rate = 0.5
""",
    "deep": """name = "deep"
[network]
layers = [3, 4, 4, 4, 2]
activation = ["tanh", "relu", "sigmoid", "softmax"]
bias = [true, false, true, true]
loss = "cross_entropy_mean"
skip = [[0, 2]]
[values]
x = [[0.5, -0.25, 1.5], [1, 0.75, -0.5]]
y = [[0, 1], [1, 0]]
seed = 11
learning_rate = 0.5
""",
    "twenty": _twenty(),
}


@pytest.mark.skipif(not have_latex(), reason="pdflatex is not installed")
def test_worked_sheets_of_wide_deep_and_many_example_nets_fit_the_page(tmp_path):
    jobs = []
    for name, text in SPECS.items():
        d = derive(build_network(parse_spec(text, f"{name}.toml")))
        numbers = compute_answers(d)
        for profile in ("ng", "nielsen", "welch"):
            docs = render_worksheets(d, numbers, profile)
            for doc in ("exercises.tex", "answers.tex"):
                path = tmp_path / f"{name}-{profile}-{doc}"
                path.write_text(docs[doc])
                jobs.append(path)

    def one(path):
        try:
            return path, compile_with_log(path, timeout=180, single_pass=True)[1], None
        except LatexError as exc:
            return path, None, exc

    problems = []
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for path, log, error in pool.map(one, jobs):
            if error is not None:
                problems.append(f"{path.name}: {error}")
                continue
            problems += [f"{path.name}: {line}" for line in overfull_boxes(log, OVERFULL_LIMIT_PT)]
    assert not problems, "\n".join(problems)
