"""Speed of `derive class`: a class of 300 students, the whole command first, then its stages.

    python bench/class_set.py                 # 300 students, examples/ng-222.toml; writes bench/CLASS_RESULTS.md
    python bench/class_set.py --students 50   # a smaller class
    python bench/class_set.py --no-write      # print only

Targets (issue 14): both combined PDFs in under 60 s, without PDFs under 10 s, on 2 cores, timed
from process start to exit (`python -m derive class ...` as a TA runs it). The stage table is
timed in one process and is a breakdown, not the target. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"without PDFs": 10.0, "with both combined PDFs": 60.0}


def whole_command(spec: Path, students: int, out: Path, pdf: bool) -> float:
    argv = [sys.executable, "-m", "derive", "class", str(spec), "--students", str(students), "--out", str(out), "--force"]
    if not pdf:
        argv.append("--no-pdf")
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def stages(spec_path: Path, students: int) -> list[tuple[str, float]]:
    """The same work as build_class, stage by stage, in this process (imports excluded)."""
    from derive.classset import build as cb
    from derive.classset.canvas import canvas_zip
    from derive.classset.documents import combined_document
    from derive.classset.moodle import moodle_xml
    from derive.classset.qti import qti_zip
    from derive.classset.questions import QuestionSet, givens
    from derive.classset.roster import numbered
    from derive.classset.table import answers_csv
    from derive.classset.variant import Variant
    from derive.classset.variants import draw_values
    from derive.code.codegen import load_module, module_source
    from derive.engine.derivation import derive
    from derive.engine.network import build_network
    from derive.engine.spec import load_spec
    from derive.notation.profile import load_profile
    from derive.numbers.answers import compute_answers
    from derive.numbers.check import check_module
    from derive.sheets.render import render_variants
    from derive.sheets.typeset import Typesetter
    from derive.sheets.worked import worked

    out, t = [], time.perf_counter()

    def lap(name):
        nonlocal t
        now = time.perf_counter()
        out.append((name, now - t))
        t = now

    spec = load_spec(spec_path)
    derivation = derive(build_network(spec))
    module = load_module(module_source(derivation))
    style = load_profile(spec.notation, spec_path.parent)
    ts = Typesetter(derivation, style, cb.PRECISION)
    asked = QuestionSet(ts, len(spec.values.x))
    lap("spec, derivation, module, question templates (once)")
    roster = numbered(students)
    drawn = [draw_values(spec, 0, s.id) for s in roster]
    lap("draw every student's numbers")
    check_module(replace(spec, values=drawn[0]), module)
    owns = [replace(derivation, network=replace(derivation.network, spec=replace(spec, values=v))) for v in drawn]
    numbers = [compute_answers(own, module) for own in owns]
    lap("full check once, answers for every student (exact arithmetic)")
    sheets_data = [worked(cb._typesetter_for(ts, own), n) for own, n in zip(owns, numbers)]
    lap("every student's worked lines (figures settled per line)")
    qs = [asked.questions(n, w["lines"]) for n, w in zip(numbers, sheets_data)]
    lap("questions and worked feedback")
    for s, v, q, n in zip(roster, drawn, qs, numbers):
        cb.check_against_reference(replace(spec, values=v), s, q, n)
    lap("every asked value vs the independent backprop")
    variants = [Variant(s, tuple(givens(ts, n)), tuple(q)) for s, n, q in zip(roster, numbers, qs)]
    m = len(spec.values.x)
    moodle_xml(spec.name, spec.title, variants, m)
    lap("moodle.xml")
    qti_zip(spec.name, spec.title, variants, m)
    lap("qti.zip")
    canvas_zip(spec.name, spec.title, variants, m)
    answers_csv(variants)
    lap("canvas.zip and answers.csv")
    sheets = list(render_variants(derivation, sheets_data, style, None, cb.PRECISION))
    texts = {d: combined_document(roster, [s[f"{d}.tex"] for s in sheets]) for d in ("exercises", "answers")}
    lap("render every sheet, combine into two documents")
    if shutil.which("pdflatex"):
        for doc, text in texts.items():
            cb._compile(text.encode(), Path(f"{doc}.tex"))
            lap(f"pdflatex {doc} ({students} students, run alone)")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--spec", type=Path, default=ROOT / "examples" / "ng-222.toml")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    lines = [f"# derive class: {args.students} students of {args.spec.name}", "",
             f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
             f"{platform.python_version()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start "
             "(the machine is shared: these are upper bounds).", "",
             "| whole command (process start to exit) | seconds | target |", "|---|---:|---:|"]
    with tempfile.TemporaryDirectory(prefix="derive-bench-class-") as tmp:
        for label, pdf in (("without PDFs", False), ("with both combined PDFs", True)):
            seconds = whole_command(args.spec, args.students, Path(tmp), pdf)
            verdict = "met" if seconds < TARGETS[label] else "MISSED"
            lines.append(f"| `--students {args.students}` {label} | {seconds:.1f} | < {TARGETS[label]:.0f} ({verdict}) |")
            print(lines[-1], flush=True)
    lines += ["", "| stage (one process, imports excluded) | seconds |", "|---|---:|"]
    for name, seconds in stages(args.spec, args.students):
        lines.append(f"| {name} | {seconds:.2f} |")
        print(lines[-1], flush=True)
    if not args.no_write:
        (HERE / "CLASS_RESULTS.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
