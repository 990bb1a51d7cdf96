"""The main job: every spec in, every artefact out (gradients.py, answers.json, worksheets, PDFs).

Every artefact of a spec is produced in memory (PDFs in temporary folders) and checked before any
of its files is written, so a bad spec, a failed check or a failed compile leaves that spec's
output folder as it was. Specs fail alone: one spec that fails (bad input, a check mismatch, LaTeX,
or an unexpected exception, which is derive's own bug and becomes an InternalError naming the spec)
never stops the others from being written; its error is on its BuildResult and the command's exit
status still says so.
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

from .code.codegen import load_module, module_source
from .engine.derivation import Derivation, derive
from .engine.network import build_network
from .engine.proof import prove
from .engine.spec import Spec, load_spec
from .errors import CheckFailed, DeriveError, InternalError, LatexError, SpecError
from .notation.profile import Profile, load_profile, resolve_notation
from .numbers.answers import compute_answers
from .numbers.check import CheckReport, check_module
from .outputs import up_to_date, write_outputs
from .progress import Progress, Stages
from .resources import examples_folder, template_folder
from .sheets.latex import cancel_all, compile_pdf, have_latex, reset_cancel, sandbox_available
from .sheets.render import render_worksheets
from .sheets.template_files import folder_digest, template_files
from .version import __version__, code_digest

PACKAGE = Path(__file__).resolve().parent
EXAMPLES = examples_folder()  # package data in a wheel, the repository's folder in a checkout
TEMPLATES = template_folder()


@dataclass
class BuildResult:
    spec: Spec | None  # None when the spec file itself was refused
    folder: Path | None
    skipped: bool = False  # nothing changed since the last build
    written: list[str] = field(default_factory=list)
    check: CheckReport | None = None
    pdf_note: str = ""
    error: DeriveError | None = None  # why this spec was not built (the others still were)
    source: Path | None = None  # the spec file
    stages: Stages = field(default_factory=Stages)  # seconds per stage of this spec


def bundled_examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.toml"))


def build_key(spec_bytes: bytes, notation: str, pdf: bool, template_dir: Path) -> str:
    """Everything a build's output depends on: the spec, derive's own code, the templates, the options.

    `notation` is the whole profile as text (its repr), so that editing a profile file rebuilds.
    Every file of the template folder that a template may read counts (template_files decides which,
    and refuses a folder too large to be one), and so does whether PDFs are made. Files are hashed in
    chunks; nothing here imports SymPy or NumPy.
    """
    digest = hashlib.sha256()
    digest.update(f"{__version__}|{notation}|pdf={pdf}|".encode())
    digest.update(hashlib.sha256(spec_bytes).digest())
    digest.update(code_digest())
    digest.update(folder_digest(Path(template_dir)))
    return digest.hexdigest()


def artefacts(spec: Spec, notation: str | Profile, template_dir: Path | None, module_name: str | None = None,
              stages: Stages | None = None, progress: Progress | None = None) -> tuple[Derivation, dict[str, bytes], CheckReport]:
    """Derive one spec and produce its files in memory; raises CheckFailed on any mismatch.

    The module is `<module_name or the spec's module key>.py` (gradients.py by default).
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
        raise CheckFailed("\n".join(report.failures(spec.source)))
    files: dict[str, bytes] = {f"{module_name or spec.module}.py": source.encode()}
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


def compile_text(text: bytes, name: str, trusted: bool = True) -> bytes:
    """Compile one .tex text in a private temporary folder and return the PDF's bytes."""
    with tempfile.TemporaryDirectory(prefix="derive-tex-") as tmp:
        tex = Path(tmp) / name
        tex.write_bytes(text)
        return compile_pdf(tex, trusted=trusted).read_bytes()


def _pdf(where: tuple[Path, str], future: Future) -> bytes:
    try:
        return future.result()
    except LatexError as exc:
        # Name the document by where it would have gone, not by the temporary folder it ran in.
        detail = str(exc).split(": ", 1)[-1]
        raise LatexError(f"{where[0] / where[1]}: {detail}") from None


def build(spec_paths: list[Path], out_dir: Path, notation: str | None = None, pdf: bool = True,
          force: bool = False, template_dir: Path | None = None, workers: int | None = None,
          module_name: str | None = None, on_result: Callable[[BuildResult], None] | None = None,
          progress: Progress | None = None) -> list[BuildResult]:
    """Build every spec; `on_result` is called with each spec's result as soon as it is done
    (written, up to date or failed), in the order the specs were given.

    The PDFs of one spec compile in the background while the next spec is derived. Ctrl-C (or any
    other interruption) cancels the queued compiles and kills the running ones.
    """
    paths = [Path(p) for p in spec_paths] or bundled_examples()
    if not paths:
        raise DeriveError(f"no spec given and no bundled examples in {EXAMPLES}; name spec files, or reinstall "
                          "derive (its examples/ and templates/ ship inside the package)")
    override = resolve_notation(notation) if notation is not None else None
    progress = progress or Progress(enabled=False)
    results: list[BuildResult] = []
    loaded: list[tuple[BuildResult, bytes]] = []
    seen: dict[str, Path] = {}
    for path in paths:
        result = BuildResult(None, None, source=path)
        results.append(result)
        with result.stages("parse"):
            try:
                result.spec = load_spec(path)
                raw = path.read_bytes()
            except DeriveError as exc:
                result.error = exc
                continue
            except OSError as exc:
                result.error = SpecError(str(path), "file", f"cannot be read ({exc.strerror or exc})")
                continue
            except Exception as exc:
                result.error = InternalError(path, exc)
                continue
        spec = result.spec
        if spec.name in seen:
            first = seen[spec.name]
            problem = ("the file is given twice on the command line" if first.resolve() == path.resolve() else
                       f"{spec.name!r} is also the name of {first}; each spec needs its own name (it names the output folder)")
            result.error = SpecError(spec.source, "name", problem)
            continue
        seen[spec.name] = path
        result.folder = out_dir / spec.name
        loaded.append((result, raw))
    templates = template_dir or TEMPLATES
    template_files(templates)  # a folder that cannot be one (/usr, a FIFO for a template) is refused before any work
    trusted = template_dir is None or Path(template_dir).resolve() == TEMPLATES.resolve()
    compile_pdfs = pdf and have_latex()
    unsafe = compile_pdfs and not trusted and not sandbox_available()
    compile_pdfs = compile_pdfs and not unsafe
    pdf_note = "" if compile_pdfs else ("PDFs skipped (--no-pdf)" if not pdf else
                                        f"PDFs skipped: the templates in {template_dir} are not derive's own and this system has "
                                        "no Landlock sandbox (Linux 5.13+) to keep TeX from reading your files; compile the "
                                        ".tex yourself if you trust them" if unsafe else
                                        "PDFs skipped: no pdflatex found (install TeX Live)")
    queue: list[_Pending] = []  # every spec in the order given, each waiting for its PDFs

    def finish(item: _Pending) -> None:
        r = item.result
        if r.error is None and not r.skipped:
            try:
                for name, future in item.futures.items():
                    item.files[name[:-4] + ".pdf"] = _pdf((r.folder, name), future)
                if item.futures:
                    r.stages["compile"] = max(item.done_at.values()) - item.started
                sources = {name: name[:-4] + ".tex" for name in item.files if name.endswith(".pdf")}
                with r.stages("write"):
                    r.written = write_outputs(r.folder, item.files, item.key, force, sources)
                r.pdf_note = pdf_note
            except DeriveError as exc:
                r.error = exc
            except Exception as exc:  # KeyboardInterrupt and SystemExit are not Exceptions: they still stop the build
                r.error = InternalError(r.source, exc)
        if on_result is not None:
            progress.clear()
            on_result(r)

    def finish_ready(wait: bool) -> None:
        while queue and (wait or all(f.done() for f in queue[0].futures.values())):
            finish(queue.pop(0))

    reset_cancel()
    pool = ThreadPoolExecutor(max_workers=max(1, workers or os.cpu_count() or 1))
    compiled = _Counter(progress)
    ready = {id(r) for r, _ in loaded}
    raws = {id(r): raw for r, raw in loaded}
    try:
        for i, result in enumerate(results):
            item = _Pending(result, {}, "", {}, 0.0, {})
            queue.append(item)
            if id(result) not in ready:  # refused before any work; reported in its place
                finish_ready(wait=False)
                continue
            spec = result.spec
            try:
                style = override or load_profile(spec.notation, Path(result.source).parent)
                # --module-name changes a file's name, and examples from a CSV file are inputs too
                examples = repr((spec.values.x, spec.values.y)).encode() if spec.values is not None else b""
                item.key = build_key(raws[id(result)] + f"|module={module_name}".encode() + examples, repr(style),
                                     compile_pdfs, templates)
                if not force and up_to_date(result.folder, item.key):
                    result.skipped = True
                else:
                    progress.spec(i + 1, len(results), spec.name)
                    _, item.files, result.check = artefacts(spec, style, template_dir, module_name, result.stages, progress)
            except DeriveError as exc:
                result.error = exc
            except Exception as exc:  # derive's own bug: this spec is not built, the others still are
                result.error = InternalError(result.source, exc)
            if compile_pdfs and result.error is None and not result.skipped:
                item.started = time.perf_counter()
                for name in sorted(n for n in item.files if n.endswith(".tex")):
                    future = pool.submit(compile_text, item.files[name], name, trusted)
                    future.add_done_callback(lambda f, item=item, name=name: item.done_at.__setitem__(name, time.perf_counter()))
                    future.add_done_callback(compiled.one_done)
                    item.futures[name] = future
                compiled.add(len(item.futures))
            finish_ready(wait=False)
        progress.idle()
        finish_ready(wait=True)
    except BaseException:
        cancel_all()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)  # the running compiles end at once once cancelled; their folders are removed
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
