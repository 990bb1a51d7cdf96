"""The one-page training report: loss and accuracy curves (pgfplots), the settings, the final parameters.

Everything on the page is data before it is text: `report_context` gathers the numbers of a
`Training` into plain lists and strings, and `templates/training.tex.j2` only places them.
"""
from __future__ import annotations

import math

from ..engine.spec import Spec
from ..sheets.texenv import escape_latex, make_env

# pgfplots keeps every coordinate in TeX's memory; a few hundred points per curve draw the same line.
MAX_PLOTTED = 400
# Matrices larger than this do not fit the page beside the curves; they stay in training.json.
MAX_SHOWN_ROWS, MAX_SHOWN_COLS = 8, 8


def significant(value: float, figures: int = 4) -> str:
    """A number for the page in math mode, to `figures` significant figures (1.234\\times 10^{-5})."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    text = f"{value:.{figures}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa}\times 10^{{{int(exponent)}}}"
    return text


def _change(before: float, after: float, figures: int = 4) -> str:
    return rf"${significant(before, figures)} \to {significant(after, figures)}$"


def plotted_epochs(count: int) -> list[int]:
    """Which epochs (0 = before training) the curves plot: all of them, or evenly spaced ones and the last."""
    stride = 1  # a round stride (1, 2, 5, 10, 20, 50, ...) so that the caption reads naturally
    while count / stride > MAX_PLOTTED:
        stride = stride * 5 // 2 if str(stride).startswith("2") else stride * 2
    epochs = list(range(0, count + 1, stride))
    return epochs if epochs[-1] == count else epochs + [count]


def report_context(training, spec: Spec) -> dict:
    s = training.settings
    records = (training.initial, *training.epochs)
    shown = plotted_epochs(len(training.epochs))

    def curve(field: str) -> str:
        points = [(e, getattr(records[e], field)) for e in shown]
        return " ".join(f"({e},{v:.6g})" for e, v in points if v is not None)

    n_train, n_test = len(training.train_examples), len(training.test_examples)
    if s.batch_size is None:
        batching = f"full batch ({n_train} examples, one step per epoch)"
    elif s.batch_size == 1:
        batching = f"online: one example per step, {n_train} steps per epoch"
    else:
        batching = f"mini-batches of {s.batch_size}, {training.steps_per_epoch} steps per epoch"
    order = "examples in file order" if s.shuffle is None else f"shuffled each epoch (seed {s.shuffle})"
    start = f"drawn with seed {spec.values.seed}" if spec.values.seed is not None else "as given in the spec"
    settings = [
        ("Network", escape_latex(f"layers {', '.join(map(str, spec.layers))}; activations {', '.join(spec.activations)}; "
                                 f"loss {spec.loss}") + ("" if all(spec.biases) else "; " + ("no biases" if not any(spec.biases) else "biases in some layers"))
                    + (rf"; L2 term $\lambda = {significant(spec.l2, 6)}$ (scale {escape_latex(spec.l2_scale)}) in $J$" if spec.l2 else "")),
        ("Learning rate", rf"$\eta = {significant(s.learning_rate, 6)}$"),
        ("Epochs", f"{s.epochs:,}"),
        ("Steps", batching + ("" if s.batch_size is None else f"; {order}")),
        ("Examples", f"{n_train} for training" + (f", {n_test} held out for testing (drawn with seed {s.split_seed})" if n_test else "")),
        ("Initial parameters", start),
    ]
    last = training.epochs[-1]
    results = [("loss $J$ on the training set", _change(training.initial.loss, last.loss))]
    if last.accuracy is not None:
        results.append(("accuracy on the training set", _change(training.initial.accuracy, last.accuracy, 3)))
    if last.test_loss is not None:
        results.append(("loss $J$ on the test set", _change(training.initial.test_loss, last.test_loss)))
    if last.test_accuracy is not None:
        results.append(("accuracy on the test set", _change(training.initial.test_accuracy, last.test_accuracy, 3)))
    parameters = []
    for name, value in training.final.items():
        grid = value.reshape(1, -1) if value.ndim == 1 else value
        if grid.shape[0] > MAX_SHOWN_ROWS or grid.shape[1] > MAX_SHOWN_COLS:
            parameters.append({"name": name, "rows": None, "shape": " \\times ".join(map(str, value.shape))})
        else:
            parameters.append({"name": name, "rows": [[significant(float(v)) for v in row] for row in grid],
                               "shape": " \\times ".join(map(str, value.shape))})
    stride = shown[1] - shown[0] if len(shown) > 1 else 1
    return {
        "name": spec.name, "title": spec.title, "settings": settings, "results": results,
        "loss_train": curve("loss"), "loss_test": curve("test_loss"),
        "accuracy_train": curve("accuracy"), "accuracy_test": curve("test_accuracy"),
        "has_accuracy": last.accuracy is not None, "has_test": n_test > 0,
        "plotted": "every epoch is plotted" if stride == 1 else f"one point every {stride} epochs (and the last) is plotted",
        "parameters": parameters,
    }


def render_report(training, spec: Spec) -> str:
    """The report's LaTeX text (`templates/training.tex.j2`)."""
    return make_env().get_template("training.tex.j2").render(**report_context(training, spec))
