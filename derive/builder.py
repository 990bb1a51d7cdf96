"""The main job: every spec in, every artefact out (gradients.py, answers.json, worksheets, PDFs).

Every artefact of a spec is produced in memory (PDFs in temporary folders) and checked before any
of its files is written, so a bad spec, a failed check or a failed compile leaves that spec's
output folder as it was. Specs fail alone: one spec that fails (bad input, a check mismatch, LaTeX)
never stops the others from being written; its error is on its BuildResult and the command's exit
status still says so.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .answers import compute_answers
from .check import CheckReport, check_module
from .codegen import load_module, module_source
from .derivation import Derivation, derive
from .errors import DeriveError, LatexError, SpecError
from .latex import cancel_all, compile_pdf, have_latex, reset_cancel, sandbox_available
from .network import build_network
from .profile import BUILTIN, Profile, load_profile
from .outputs import up_to_date, write_outputs
from .proof import prove
from .resources import examples_folder, template_folder
from .spec import Spec, load_spec
from .worksheets import render_worksheets

PROOF_MAX_PATHS = 4096  # parameters with more paths are reported as not enumerated on the handout
PACKAGE = Path(__file__).resolve().parent
EXAMPLES = examples_folder()  # package data in a wheel, the repository's folder in a checkout
TEMPLATES = template_folder()


class CheckFailed(DeriveError):
    """The generated gradients disagree with the independent backprop or finite differences.

    Its message is one line per failing comparison, each naming the spec file and the parameter.
    """


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


def bundled_examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.toml"))


def build_key(spec_bytes: bytes, notation: str, pdf: bool, template_dir: Path) -> str:
    """Everything a build's output depends on: the spec, derive's own code, the templates, the options.

    `notation` is the whole profile as text (its repr), so that editing a profile file rebuilds.
    Every regular file in the template folder counts, whatever its name (a template may include any
    of them), and so does whether PDFs are made.
    """
    digest = hashlib.sha256()
    digest.update(f"{__version__}|{notation}|pdf={pdf}|".encode())
    digest.update(hashlib.sha256(spec_bytes).digest())
    for folder, every_file in ((PACKAGE, False), (Path(template_dir), True)):
        root = folder.resolve()
        for path in sorted(root.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file() or not (every_file or path.suffix == ".py"):
                continue
            relative = path.relative_to(root).as_posix().encode()
            digest.update(hashlib.sha256(relative).digest() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def artefacts(spec: Spec, notation: str | Profile, template_dir: Path | None,
              module_name: str | None = None) -> tuple[Derivation, dict[str, bytes], CheckReport]:
    """Derive one spec and produce its files in memory; raises CheckFailed on any mismatch.

    The module is `<module_name or the spec's module key>.py` (gradients.py by default)."""
    derivation = derive(build_network(spec))
    source = module_source(derivation)
    module = load_module(source)  # loaded once: the check and the worked numbers both run it
    report = check_module(spec, module)
    if not report.ok:
        raise CheckFailed("\n".join(report.failures(spec.source)))
    files: dict[str, bytes] = {f"{module_name or spec.module}.py": source.encode()}
    numbers = compute_answers(derivation, module) if spec.values is not None else None
    if numbers is not None:
        files["answers.json"] = (json.dumps(numbers, indent=2) + "\n").encode()
    proofs = prove(derivation, max_paths=PROOF_MAX_PATHS)
    if spec.l2:  # the sheets do not show an L2 term yet: no sheet rather than one with unexplained numbers
        return derivation, files, report
    for name, text in render_worksheets(derivation, numbers, notation, template_dir, proofs=proofs).items():
        files[name] = text.encode()
    return derivation, files, report


def compile_text(text: bytes, name: str, trusted: bool = True) -> bytes:
    """Compile one .tex text in a private temporary folder and return the PDF's bytes."""
    with tempfile.TemporaryDirectory(prefix="derive-tex-") as tmp:
        tex = Path(tmp) / name
        tex.write_bytes(text)
        return compile_pdf(tex, trusted=trusted).read_bytes()


def compile_all(jobs: list[tuple[Path, str, bytes]], workers: int, trusted: bool = True
                ) -> tuple[dict[tuple[Path, str], bytes], dict[Path, LatexError]]:
    """Compile (folder, name.tex, text) jobs in parallel: the PDFs' bytes by (folder, name), and the
    first LaTeX error of each folder whose documents failed.

    Ctrl-C (or any other interruption) cancels the queued compiles and kills the running ones.
    """
    reset_cancel()
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        futures = {(folder, name): pool.submit(compile_text, text, name, trusted) for folder, name, text in jobs}
        pdfs, errors = {}, {}
        for (folder, name), future in futures.items():
            try:
                pdfs[(folder, name)] = future.result()
            except LatexError as exc:
                # Name the document by where it would have gone, not by the temporary folder it ran in.
                detail = str(exc).split(": ", 1)[-1]
                errors.setdefault(folder, LatexError(f"{folder / name}: {detail}"))
        return pdfs, errors
    except BaseException:
        cancel_all()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)  # the running compiles end at once once cancelled; their folders are removed


def build(spec_paths: list[Path], out_dir: Path, notation: str | None = None, pdf: bool = True,
          force: bool = False, template_dir: Path | None = None, workers: int | None = None,
          module_name: str | None = None) -> list[BuildResult]:
    paths = [Path(p) for p in spec_paths] or bundled_examples()
    if not paths:
        raise DeriveError(f"no spec given and no bundled examples in {EXAMPLES}; name spec files, or reinstall "
                          "derive (its examples/ and templates/ ship inside the package)")
    override = resolve_notation(notation) if notation is not None else None
    results: list[BuildResult] = []
    loaded: list[tuple[BuildResult, bytes]] = []
    seen: dict[str, Path] = {}
    for path in paths:
        result = BuildResult(None, None, source=path)
        results.append(result)
        try:
            result.spec = load_spec(path)
            raw = path.read_bytes()
        except DeriveError as exc:
            result.error = exc
            continue
        except OSError as exc:
            result.error = SpecError(str(path), "file", f"cannot be read ({exc.strerror or exc})")
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
    trusted = template_dir is None or Path(template_dir).resolve() == TEMPLATES.resolve()
    compile_pdfs = pdf and have_latex()
    unsafe = compile_pdfs and not trusted and not sandbox_available()
    compile_pdfs = compile_pdfs and not unsafe
    pending: list[tuple[BuildResult, dict[str, bytes], str]] = []
    for result, raw in loaded:
        spec = result.spec
        try:
            style = override or load_profile(spec.notation, Path(result.source).parent)
            # --module-name changes a file's name, and examples from a CSV file are inputs too
            examples = repr((spec.values.x, spec.values.y)).encode() if spec.values is not None else b""
            key = build_key(raw + f"|module={module_name}".encode() + examples, repr(style), compile_pdfs, templates)
            if not force and up_to_date(result.folder, key):
                result.skipped = True
                continue
            _, files, result.check = artefacts(spec, style, template_dir, module_name)
        except DeriveError as exc:
            result.error = exc
            continue
        pending.append((result, files, key))
    if compile_pdfs:
        jobs = [(r.folder, name, files[name]) for r, files, _ in pending for name in sorted(files) if name.endswith(".tex")]
        pdfs, failed = compile_all(jobs, workers or os.cpu_count() or 1, trusted)
        for r, files, _ in pending:
            r.error = failed.get(r.folder)
            for (folder, name), data in pdfs.items():
                if folder == r.folder:
                    files[name[:-4] + ".pdf"] = data
    for r, files, key in pending:
        if r.error is not None:
            continue
        sources = {name: name[:-4] + ".tex" for name in files if name.endswith(".pdf")}
        try:
            r.written = write_outputs(r.folder, files, key, force, sources)
        except DeriveError as exc:
            r.error = exc
            continue
        r.pdf_note = "" if compile_pdfs else ("PDFs skipped (--no-pdf)" if not pdf else
                                              f"PDFs skipped: the templates in {template_dir} are not derive's own and this system has "
                                              "no Landlock sandbox (Linux 5.13+) to keep TeX from reading your files; compile the "
                                              ".tex yourself if you trust them" if unsafe else
                                              "PDFs skipped: no pdflatex found (install TeX Live)")
        if r.spec.l2:
            r.pdf_note = ("worksheets not written: they do not show the L2 term yet "
                          "(gradients.py and answers.json include it)")
    return results


def resolve_notation(notation: str) -> Profile:
    """The profile `--notation` names: a built-in by name, or a profile file (relative to the working folder)."""
    if notation in BUILTIN or notation.endswith(".toml") or Path(notation).is_file():
        return load_profile(notation)
    import difflib

    close = difflib.get_close_matches(notation, BUILTIN, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise DeriveError(f"--notation: {notation!r} is not one of {', '.join(BUILTIN)}{hint} nor a .toml profile file")
