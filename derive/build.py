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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .answers import compute_answers
from .check import CheckReport, check_module
from .codegen import load_module, module_source
from .derivation import Derivation, derive
from .errors import DeriveError, LatexError, SpecError
from .latex import compile_pdf, have_latex
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
    """The generated gradients disagree with the independent backprop or finite differences."""


@dataclass
class BuildResult:
    spec: Spec
    folder: Path
    skipped: bool = False  # nothing changed since the last build
    written: list[str] = field(default_factory=list)
    check: CheckReport | None = None
    pdf_note: str = ""


def bundled_examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.toml"))


def build_key(spec_bytes: bytes, notation: str, pdf: bool, template_dir: Path) -> str:
    """Everything a build's output depends on: the spec, derive's own code, the templates, the options.

    `notation` is the whole profile as text (its repr), so that editing a profile file rebuilds."""
    digest = hashlib.sha256()
    digest.update(f"{__version__}|{notation}|{pdf}|".encode())
    digest.update(spec_bytes)
    for folder in (PACKAGE, template_dir):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".j2", ".tex", ".sty"):
                digest.update(path.name.encode() + path.read_bytes())
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
        raise CheckFailed("; ".join(report.lines()))
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


def compile_text(text: bytes, name: str) -> bytes:
    """Compile one .tex text in a private temporary folder and return the PDF's bytes."""
    with tempfile.TemporaryDirectory(prefix="derive-tex-") as tmp:
        tex = Path(tmp) / name
        tex.write_bytes(text)
        return compile_pdf(tex).read_bytes()


def compile_all(jobs: list[tuple[Path, str, bytes]], workers: int) -> dict[tuple[Path, str], bytes]:
    """Compile (folder, name.tex, text) jobs in parallel; returns the PDFs' bytes by (folder, name)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {(folder, name): pool.submit(compile_text, text, name) for folder, name, text in jobs}
        pdfs = {}
        for (folder, name), future in futures.items():
            try:
                pdfs[(folder, name)] = future.result()
            except LatexError as exc:
                # Name the document by where it would have gone, not by the temporary folder it ran in.
                detail = str(exc).split(": ", 1)[-1]
                raise LatexError(f"{folder / name}: {detail}") from None
        return pdfs


def build(spec_paths: list[Path], out_dir: Path, notation: str | None = None, pdf: bool = True,
          force: bool = False, template_dir: Path | None = None, workers: int | None = None,
          module_name: str | None = None) -> list[BuildResult]:
    paths = [Path(p) for p in spec_paths] or bundled_examples()
    if not paths:
        raise DeriveError(f"no spec given and no bundled examples in {EXAMPLES}; name spec files, or reinstall "
                          "derive (its examples/ and templates/ ship inside the package)")
    specs = [(load_spec(p), Path(p).read_bytes()) for p in paths]  # all refusals happen before any work
    override = resolve_notation(notation) if notation is not None else None
    profiles = [override or load_profile(spec.notation, Path(path).parent) for path, (spec, _) in zip(paths, specs)]
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
    results: list[BuildResult] = []
    pending: list[tuple[BuildResult, dict[str, bytes], str]] = []
    for (spec, raw), style in zip(specs, profiles):
        folder = out_dir / spec.name
        # --module-name changes a file's name, and examples from a CSV file are inputs too
        examples = repr((spec.values.x, spec.values.y)).encode() if spec.values is not None else b""
        key = build_key(raw + f"|module={module_name}".encode() + examples, repr(style), compile_pdfs, templates)
        result = BuildResult(spec, folder)
        results.append(result)
        if not force and up_to_date(folder, key):
            result.skipped = True
            continue
        _, files, result.check = artefacts(spec, style, template_dir, module_name)
        pending.append((result, files, key))
    if compile_pdfs:
        jobs = [(r.folder, name, files[name]) for r, files, _ in pending for name in sorted(files) if name.endswith(".tex")]
        pdfs = compile_all(jobs, workers or os.cpu_count() or 1)
        for r, files, _ in pending:
            for (folder, name), data in pdfs.items():
                if folder == r.folder:
                    files[name[:-4] + ".pdf"] = data
    for r, files, key in pending:
        r.written = write_outputs(r.folder, files, key, force)
        r.pdf_note = "" if compile_pdfs else ("PDFs skipped (--no-pdf)" if not pdf else "PDFs skipped: no pdflatex found (install TeX Live)")
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
