"""The main job: every spec in, every artefact out (gradients.py, answers.json, worksheets, PDFs).

All specs are validated before anything is derived, every artefact of a spec is produced in
memory (PDFs in temporary folders) and checked before any file is written, so a bad spec or a
failed check leaves the output folder as it was.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import __version__
from .answers import compute_answers
from .check import CheckReport, check_module
from .codegen import load_module, module_source
from .derivation import Derivation, derive
from .errors import DeriveError, LatexError, SpecError
from .latex import compile_with_log, have_latex
from .network import build_network
from .outputs import up_to_date, write_outputs
from .progress import Progress, Stages
from .proof import prove
from .spec import Spec, load_spec
from .worksheets import render_worksheets

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
EXAMPLES = ROOT / "examples"
TEMPLATES = ROOT / "templates"


class CheckFailed(DeriveError):
    """The generated gradients disagree with the independent backprop or finite differences."""


@dataclass
class BuildResult:
    spec: Spec
    folder: Path
    skipped: bool = False  # nothing changed since the last build
    written: list[str] = field(default_factory=list)
    check: CheckReport | None = None
    pdf_note: str = ""
    stages: Stages = field(default_factory=Stages)  # seconds per stage of this spec


def bundled_examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.toml"))


def build_key(spec_bytes: bytes, notation: str, pdf: bool, template_dir: Path) -> str:
    """Everything a build's output depends on: the spec, derive's own code, the templates, the options."""
    digest = hashlib.sha256()
    digest.update(f"{__version__}|{notation}|{pdf}|".encode())
    digest.update(spec_bytes)
    for folder in (PACKAGE, template_dir):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".j2", ".tex", ".sty"):
                digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def artefacts(spec: Spec, notation: str, template_dir: Path | None, stages: Stages | None = None,
              progress: Progress | None = None) -> tuple[Derivation, dict[str, bytes], CheckReport]:
    """Derive one spec and produce its files in memory; raises CheckFailed on any mismatch.

    `stages` collects the seconds each stage took; `progress` is told which stage is running.
    """
    stage = Stages() if stages is None else stages
    tell = progress.stage if progress is not None else (lambda name: None)
    tell("derive")
    with stage("derive"):
        derivation = derive(build_network(spec))
    tell("emit")
    with stage("emit"):
        source = module_source(derivation)
    with stage("load"):
        module = load_module(source)  # loaded once: the check and the worked numbers both run it
    tell("check")
    with stage("check"):
        report = check_module(spec, module)
    if not report.ok:
        raise CheckFailed("; ".join(report.lines()))
    files: dict[str, bytes] = {"gradients.py": source.encode()}
    tell("answers")
    with stage("answers"):
        numbers = compute_answers(derivation, module) if spec.values is not None else None
    if numbers is not None:
        files["answers.json"] = (json.dumps(numbers, indent=2) + "\n").encode()
    tell("prove")
    with stage("prove"):
        proofs = prove(derivation)
    tell("render")
    with stage("render"):
        sheets = render_worksheets(derivation, numbers, notation, template_dir, proofs=proofs)
    for name, text in sheets.items():
        files[name] = text.encode()
    return derivation, files, report


def compile_text(text: bytes, name: str, single_pass: bool = False) -> bytes:
    """Compile one .tex text in a private temporary folder and return the PDF's bytes.

    `single_pass`: one pdflatex run, for derive's own templates, which have no cross-references
    (the PDF is byte-identical to latexmk's, in half the time); a lecturer's templates get latexmk.
    """
    with tempfile.TemporaryDirectory(prefix="derive-tex-") as tmp:
        tex = Path(tmp) / name
        tex.write_bytes(text)
        return compile_with_log(tex, single_pass=single_pass)[0].read_bytes()


def _pdf(where: tuple[Path, str], future: Future) -> bytes:
    try:
        return future.result()
    except LatexError as exc:
        # Name the document by where it would have gone, not by the temporary folder it ran in.
        detail = str(exc).split(": ", 1)[-1]
        raise LatexError(f"{where[0] / where[1]}: {detail}") from None


def build(spec_paths: list[Path], out_dir: Path, notation: str | None = None, pdf: bool = True,
          force: bool = False, template_dir: Path | None = None, workers: int | None = None,
          on_result: Callable[[BuildResult], None] | None = None, progress: Progress | None = None) -> list[BuildResult]:
    """Build every spec; `on_result` is called with each spec's result as soon as its files are written.

    The PDFs of one spec compile in the background while the next spec is derived; results are
    still reported in the order the specs were given.
    """
    stages = Stages()
    paths = [Path(p) for p in spec_paths] or bundled_examples()
    if not paths:
        raise DeriveError(f"no spec given and no bundled examples in {EXAMPLES}; name spec files, or install "
                          "derive from its repository with `pip install -e .` so examples/ and templates/ come along")
    with stages("parse"):
        specs = [(load_spec(p), Path(p).read_bytes()) for p in paths]  # all refusals happen before any work
    seen: dict[str, Path] = {}
    for path, (spec, _) in zip(paths, specs):
        if spec.name in seen:
            first = seen[spec.name]
            problem = ("the file is given twice on the command line" if first.resolve() == path.resolve() else
                       f"{spec.name!r} is also the name of {first}; each spec needs its own name (it names the output folder)")
            raise SpecError(spec.source, "name", problem)
        seen[spec.name] = path
    templates = template_dir or TEMPLATES
    compile_pdfs = pdf and have_latex()
    progress = progress or Progress(enabled=False)
    results: list[BuildResult] = []
    pending: list[_Pending] = []  # built in memory, waiting for their PDFs, in spec order

    def finish(item: _Pending) -> None:
        r = item.result
        if r.skipped:
            if on_result is not None:
                progress.clear()
                on_result(r)
            return
        if item.futures:
            for name, future in item.futures.items():
                item.files[name[:-4] + ".pdf"] = _pdf((r.folder, name), future)
            r.stages["compile"] = max(item.done_at.values()) - item.started
        with r.stages("write"):
            r.written = write_outputs(r.folder, item.files, item.key, force)
        r.pdf_note = "" if compile_pdfs else ("PDFs skipped (--no-pdf)" if not pdf else "PDFs skipped: no pdflatex found (install TeX Live)")
        if on_result is not None:
            progress.clear()
            on_result(r)

    def finish_ready(wait: bool) -> None:
        while pending and (wait or all(f.done() for f in pending[0].futures.values())):
            finish(pending.pop(0))

    with ThreadPoolExecutor(max_workers=max(1, workers or os.cpu_count() or 1)) as pool:
        compiled = _Counter(progress)
        for i, (spec, raw) in enumerate(specs):
            style = notation or spec.notation
            folder = out_dir / spec.name
            key = build_key(raw, style, compile_pdfs, templates)
            result = BuildResult(spec, folder)
            result.stages["parse"] = stages["parse"] / len(specs)
            results.append(result)
            if not force and up_to_date(folder, key):
                result.skipped = True
                pending.append(_Pending(result, {}, key, {}, 0.0, {}))  # nothing to write; reported in order
                finish_ready(wait=False)
                continue
            progress.spec(i + 1, len(specs), spec.name)
            _, files, result.check = artefacts(spec, style, template_dir, result.stages, progress)
            item = _Pending(result, files, key, {}, time.perf_counter(), {})
            if compile_pdfs:
                for name in sorted(n for n in files if n.endswith(".tex")):
                    future = pool.submit(compile_text, files[name], name, template_dir is None)
                    future.add_done_callback(lambda f, item=item, name=name: item.done_at.__setitem__(name, time.perf_counter()))
                    future.add_done_callback(compiled.one_done)
                    item.futures[name] = future
                compiled.add(len(item.futures))
            pending.append(item)
            finish_ready(wait=False)
        progress.idle()
        finish_ready(wait=True)
    progress.clear()
    return results


@dataclass
class _Pending:
    result: BuildResult
    files: dict[str, bytes]
    key: str
    futures: dict[str, Future]
    started: float
    done_at: dict[str, float]


class _Counter:
    """PDFs compiled so far out of PDFs submitted, shown as the progress line while compiling."""

    def __init__(self, progress: Progress):
        self.progress, self.done, self.total = progress, 0, 0
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.total += n

    def one_done(self, _future) -> None:
        with self.lock:
            self.done += 1
            self.progress.count("compiling PDFs", self.done, self.total)
