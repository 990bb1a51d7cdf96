"""What `derive train` shows and writes: a table of epochs, a progress bar, training.json and training.pdf.

Files go through outputs.py (atomic, only when changed, never over a person's edits) into the
folder `derive build` uses for the same spec; the PDF is compiled by latex.py in a scratch folder.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TextIO

from ..engine.spec import Spec
from ..outputs import read_manifest, sha256, write_outputs
from ..sheets.latex import compile_pdf, have_latex
from .report import render_report
from .train import Epoch, Training, as_json, dumps

TABLE_ROWS = 10  # besides epoch 0 and the last: a 5,000-epoch run prints every 500th epoch


def table_epochs(count: int) -> list[int]:
    step = max(1, count // TABLE_ROWS)
    epochs = list(range(0, count + 1, step))
    return epochs if epochs[-1] == count else epochs + [count]


def print_table(training: Training, out: TextIO) -> None:
    s = training.settings
    n_train, n_test = len(training.train_examples), len(training.test_examples)
    size = "full batch" if s.batch_size is None else ("online" if s.batch_size == 1 else f"batches of {s.batch_size}")
    print(f"{training.network}: {s.epochs} epochs, {size}, learning rate {s.learning_rate:g}, "
          f"{n_train} training examples" + (f", {n_test} test examples" if n_test else "")
          + (f"; J includes the L2 term ({training.l2})" if training.l2 else ""), file=out)
    records = (training.initial, *training.epochs)
    columns = [("loss", "loss"), ("accuracy", "accuracy"), ("test_loss", "test loss"), ("test_accuracy", "test accuracy")]
    columns = [(field, title) for field, title in columns if getattr(training.initial, field) is not None]
    print(f"  {'epoch':>7}" + "".join(f"  {title:>13}" for _, title in columns), file=out)
    for e in table_epochs(len(training.epochs)):
        print(f"  {e:>7}" + "".join(f"  {_cell(getattr(records[e], field), field):>13}" for field, _ in columns), file=out)


def _cell(value: float, field: str) -> str:
    return f"{value:.4f}" if "accuracy" in field else f"{value:.6g}"


def progress_bar(total: int, out: TextIO, width: int = 30):
    """A callback drawing `[#####.....] epoch k/N  J = …` on one terminal line (only on a terminal)."""
    every = max(1, total // 200)  # redraw at most ~200 times: a terminal write costs more than a small epoch

    def draw(record: Epoch) -> None:
        if record.epoch % every and record.epoch != total:
            return
        done = width * record.epoch // total
        out.write(f"\r[{'#' * done}{'.' * (width - done)}] epoch {record.epoch}/{total}  J = {record.loss:.6g}")
        if record.epoch == total:
            out.write("\r" + " " * (width + 40) + "\r")
        out.flush()
    return draw


def write_training(training: Training, spec: Spec, out_dir: Path, pdf: bool = True, force: bool = False) -> str:
    """Write OUT/<name>/training.json (and training.pdf when pdflatex is there); returns a line saying what happened."""
    folder = Path(out_dir) / spec.name
    files = {"training.json": dumps(as_json(training)).encode()}
    note = ""
    # The report's text is made every time, PDF or not: an earlier training.pdf made from other text
    # (another η, other epochs) is then removed under --no-pdf instead of standing beside this run's JSON.
    report = render_report(training, spec).encode("utf-8")
    if pdf and have_latex():
        with tempfile.TemporaryDirectory(prefix="derive-train-") as tmp:
            tex = Path(tmp) / "training.tex"
            tex.write_bytes(report)
            files["training.pdf"] = compile_pdf(tex).read_bytes()
    elif pdf:
        note = "; PDF skipped: no pdflatex found (install TeX Live)"
    # The manifest's key says which inputs the build's files came from; the training files are not
    # among those inputs, so the key stays as it is and a later `derive build` is still up to date.
    key = read_manifest(folder).get("key") or ""
    written = write_outputs(folder, files, key, force, sources={"training.pdf": "training.tex"},
                            source_digests={"training.tex": sha256(report)})
    if "training.pdf" not in files and (folder / "training.pdf").exists() and "training.pdf" not in read_manifest(folder)["files"]:
        note += "; training.pdf there is not derive's and was left alone"
    return f"{spec.name}: {'wrote ' + ', '.join(written) if written else 'unchanged'} in {folder}{note}"
