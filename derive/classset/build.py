"""`derive class`: one derivation, every student's numbers, checked, exported and written at once.

The network, the derivation and the generated module are built once; per student only the numbers
change. Every student's answers are checked against the independent backprop (derive/reference.py)
before anything is written, and every file is produced in memory first, so a refusal or a failed
check leaves the output folder as it was.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import io
import tempfile
import xml.parsers.expat
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..code.codegen import load_module, module_source
from ..engine.derivation import derive
from ..engine.network import build_network
from ..engine.spec import Spec, load_spec
from ..errors import CheckFailed, DeriveError, InternalError, LatexError, OutputError, SpecError
from ..notation.profile import Profile, load_profile, resolve_notation
from ..numbers import reference
from ..numbers.answers import compute_answers
from ..numbers.check import check_module
from ..outputs import MANIFEST, check_outputs, remove_outputs, write_outputs
from ..sheets.latex import compile_with_log, have_latex
from ..sheets.render import default_template_dir, render_variants
from ..sheets.template_files import folder_digest, template_files
from ..sheets.typeset import Typesetter
from ..sheets.worked import worked
from ..version import __version__, code_digest
from .canvas import canvas_zip
from .documents import combined_document
from .moodle import moodle_xml
from .qti import qti_zip
from .questions import FIGURES, QuestionSet, givens, lookup
from .roster import ID_PATTERN, Student
from .table import answers_csv
from .variant import Variant
from .variants import canonical_values, draw_values

FORMATS = ("pdf", "moodle", "qti", "canvas", "csv")
REFERENCE_TOLERANCE = 1e-12  # relative: the answers and the independent backprop do the same sums another way
LATEX_SECONDS = 900  # one combined document of a large class is a long but ordinary pdflatex run
# Every gradient and update is a question: past this many LMS items (questions × students) the
# exports run to hundreds of megabytes and no quiz can use them.
MAX_ITEMS = 200_000
PRECISION = FIGURES  # significant figures of the sheets' computed numbers, as `derive build` prints them


def questions_per_student(spec: Spec) -> int:
    """The loss, the outputs and every δ of the first example, every gradient and every update."""
    params = sum(int(np.prod(s)) for s in spec.parameter_shapes().values())
    return 1 + spec.layers[-1] + sum(spec.layers[1:]) + params * (2 if spec.values.learning_rate is not None else 1)


@dataclass
class ClassResult:
    spec: Spec
    folder: Path
    students: int
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # files of an earlier run this one does not write
    pdf_note: str = ""


def parse_formats(text: str | None, pdf: bool) -> tuple[str, ...]:
    chosen = FORMATS if text is None else tuple(dict.fromkeys(f.strip() for f in text.split(",") if f.strip()))
    for f in chosen:
        if f not in FORMATS:
            raise DeriveError(f"--formats: {f!r} is not one of {', '.join(FORMATS)}")
    return tuple(f for f in chosen if pdf or f != "pdf")


def check_against_reference(spec: Spec, student: Student, qs, numbers: dict) -> None:
    """Every asked value against the independent backprop and forward pass; raises CheckFailed."""
    params = {k: np.array(v, dtype=float) for k, v in spec.values.params.items()}
    X, Y = np.array(spec.values.x, dtype=float), np.array(spec.values.y, dtype=float)
    loss, grads, deltas = reference.backprop(spec, params, X, Y)
    forward = reference.forward(spec, params, X)
    want = {"loss": loss, "forward": forward, "delta": deltas, "gradients": grads}
    if spec.values.learning_rate is not None:
        want["updated"] = {k: params[k] - spec.values.learning_rate * grads[k] for k in params}
    for q in qs:
        if q.value != lookup(numbers, q.path):
            raise CheckFailed(f"{spec.source}: student {student.id}: {q.key}: the question's value is not the answer's")
        expected = float(want["loss"]) if q.path == ("loss",) else float(np.asarray(want[q.path[0]][q.path[1]])[q.path[2:]])
        scale = max(1.0, abs(expected))
        if abs(q.value - expected) > REFERENCE_TOLERANCE * scale:
            raise CheckFailed(f"{spec.source}: student {student.id}: {q.key} = {q.value!r} but the independent "
                              f"backprop gives {expected!r}")


def class_key(spec_bytes: bytes, students: list[Student], seed: int, formats, notation: Profile,
              template_dir: Path | None = None) -> str:
    """Everything a class set depends on; derive's code and the templates hashed as the build key hashes
    them (bounded, only what a template may read; no SymPy or NumPy needed)."""
    # The whole profile (its repr), so that editing a profile file rebuilds.
    digest = hashlib.sha256(f"{__version__}|class|{seed}|{','.join(formats)}|{notation!r}|".encode())
    digest.update(hashlib.sha256(spec_bytes).digest())
    digest.update(hashlib.sha256(json.dumps([(s.id, s.name, s.extra) for s in students]).encode()).digest())
    digest.update(code_digest())
    digest.update(folder_digest(Path(template_dir) if template_dir is not None else default_template_dir()))
    return digest.hexdigest()


def build_class(spec_path: Path, students: list[Student], seed: int, out_dir: Path, formats=FORMATS,
                force: bool = False, notation: str | None = None, template_dir: Path | None = None,
                per_student: bool = False) -> ClassResult:
    """Build the class set in OUT/<name>/class/; `per_student` adds students/<id>/{exercises,answers}.pdf.

    Per-student PDFs are on request only: each is its own pdflatex run (about a second of start-up
    each, so minutes for a large class), where the two combined PDFs take one run each.
    """
    spec = load_spec(spec_path)
    if template_dir is not None:
        template_files(template_dir)  # a folder that cannot be a template folder is refused before any work
    if spec.values is None:
        raise SpecError(spec.source, "values", "is missing; a class set needs [values] as the template of every student's numbers")
    if spec.variants is None:
        raise SpecError(spec.source, "variants", "is missing; add a [variants] table saying what is redrawn per student, "
                                                 "e.g. weights = [-1.0, 1.0]")
    per_student_count = questions_per_student(spec)
    if per_student_count * len(students) > MAX_ITEMS:
        raise SpecError(spec.source, "network.layers", f"a class set asks {per_student_count} questions per student (every "
                        f"gradient and update), {per_student_count * len(students)} for {len(students)} students; at most "
                        f"{MAX_ITEMS}: use a smaller network or fewer students")
    style = resolve_notation(notation) if notation else load_profile(spec.notation, Path(spec_path).parent)
    derivation = derive(build_network(spec))
    module = load_module(module_source(derivation))
    ts = Typesetter(derivation, style, PRECISION)
    asked = QuestionSet(ts, len(spec.values.x))

    variants: list[Variant] = []
    records, sheets_data = [], []
    for number, student in enumerate(students):
        values = draw_values(spec, seed, student.id)
        own_spec = replace(spec, values=values)
        if number == 0:
            # The module is the same for every student: `derive build`'s full check (matrix and scalar
            # forms vs backprop, finite differences) once; every student's answers vs backprop below.
            report = check_module(own_spec, module)
            if not report.ok:
                raise CheckFailed(f"student {student.id}: " + "; ".join(report.lines()))
        own = replace(derivation, network=replace(derivation.network, spec=own_spec))
        numbers = compute_answers(own, module)
        # The student's sheet: `derive build`'s worked lines, their figures settled on these numbers.
        sheet = worked(_typesetter_for(ts, own), numbers, render="pdf" in formats)
        qs = asked.questions(numbers, sheet["lines"])
        check_against_reference(own_spec, student, qs, numbers)
        variants.append(Variant(student, tuple(givens(ts, numbers)), tuple(qs)))
        sheets_data.append(sheet)
        records.append({"id": student.id, "name": student.name, "values": canonical_values(values), "answers": numbers})

    files: dict[str, bytes] = {
        "variants.json": (json.dumps({"spec": spec.name, "seed": seed, "students": records}, indent=1) + "\n").encode()}
    examples = len(spec.values.x)
    if "moodle" in formats:
        files["moodle.xml"] = moodle_xml(spec.name, spec.title, variants, examples)
    if "qti" in formats:
        files["qti.zip"] = qti_zip(spec.name, spec.title, variants, examples)
    if "canvas" in formats:
        files["canvas.zip"] = canvas_zip(spec.name, spec.title, variants, examples)
    if "csv" in formats:
        files["answers.csv"] = answers_csv(variants)
    refuse_unparsable(files, spec.source)
    note = ""
    folder = out_dir / spec.name / "class"
    own_files: dict[str, dict[str, bytes]] = {}  # students/<id>/ -> its files
    if "pdf" in formats:
        sheets = list(render_variants(derivation, sheets_data, style, template_dir, PRECISION))
        docs = ("exercises", "answers")
        for doc in docs:
            files[f"{doc}.tex"] = combined_document(students, [s[f"{doc}.tex"] for s in sheets]).encode()
        if per_student:
            for student, sheet in zip(students, sheets):
                own_files[student.id] = {f"{d}.tex": combined_document([student], [sheet[f"{d}.tex"]]).encode() for d in docs}
        if have_latex():
            # Text from a template folder that is not derive's own compiles only inside the sandbox.
            trusted = template_dir is None or Path(template_dir).resolve() == default_template_dir().resolve()
            jobs = [(folder / f"{d}.tex", files[f"{d}.tex"]) for d in docs]
            jobs += [(folder / "students" / sid / name, text) for sid, own in own_files.items() for name, text in own.items()]
            # The two combined documents side by side; per-student ones, when asked for, on every core.
            with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1) if per_student else 2) as pool:
                pdfs = list(pool.map(lambda job: _compile(job[1], job[0], trusted), jobs))
            for (where, _), data in zip(jobs, pdfs):
                target = files if where.parent == folder else own_files[where.parent.name]
                target[where.stem + ".pdf"] = data
        else:
            note = "PDFs skipped: no pdflatex found (install TeX Live); the combined .tex files are written"
    key = class_key(Path(spec_path).read_bytes(), students, seed, formats, style, template_dir)
    result = ClassResult(spec, folder, len(students), pdf_note=note)
    write_class(result, files, own_files, key, force)
    return result


def write_class(result: ClassResult, files: dict[str, bytes], own_files: dict[str, dict[str, bytes]], key: str,
                force: bool) -> None:
    """Write the class folder and students/<id>/ so that every file in them comes from this run.

    What an earlier run wrote and this one does not (the PDFs under --no-pdf, moodle.xml under
    --formats csv, the folder of a student who left the roster or of every student without
    --per-student) is removed; a person's edit of such a file refuses the run (without --force)
    before anything is written, in any of the folders.
    """
    folder = result.folder
    students = folder / "students"
    leaving = [students / name for name in _student_folders(students) if name not in own_files]
    removed = check_outputs(folder, files, force, prune=True)
    for sid, own in own_files.items():
        removed += [f"students/{sid}/{name}" for name in check_outputs(students / sid, own, force, prune=True)]
    for gone in leaving:
        check_outputs(gone, {}, force, prune=True)
    result.written = write_outputs(folder, files, key, force, prune=True)
    result.removed = removed
    for sid, own in own_files.items():
        written = write_outputs(students / sid, own, key, force, prune=True)
        result.written += [f"students/{sid}/{name}" for name in written]
    for gone in leaving:
        result.removed += [f"students/{gone.name}/{name}" for name in remove_outputs(gone, force)]
    if leaving:
        try:
            students.rmdir()
        except OSError:
            pass  # a student's folder (or a person's file) is still in it


def _student_folders(students: Path) -> list[str]:
    """The names of the folders in students/ that derive wrote (they hold its manifest)."""
    try:
        with os.scandir(students) as entries:
            return sorted(e.name for e in entries if ID_PATTERN.fullmatch(e.name) and e.is_dir(follow_symlinks=False)
                          and (students / e.name / MANIFEST).is_file())
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise OutputError(f"{students}: cannot be read ({exc.strerror or exc})") from None


def refuse_unparsable(files: dict[str, bytes], source: str) -> None:
    """Parse every XML export, and every XML file inside every zip, before anything is written.

    The exporters escape what they write and the inputs refuse what XML cannot carry; this is the
    check that an LMS never receives a file it cannot read, whatever an exporter does: an
    InternalError (one line, exit status 1), the folder left as it was.
    """
    for name, data in files.items():
        if name.endswith(".xml"):
            _parse_xml(data, name, source)
        elif name.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    if member.endswith(".xml"):
                        _parse_xml(archive.read(member), f"{name}: {member}", source)


def _parse_xml(data: bytes, where: str, source: str) -> None:
    parser = xml.parsers.expat.ParserCreate()  # no handlers: a well-formedness check, no tree in memory
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise InternalError(source, ValueError(f"{where} is not well-formed XML ({exc})")) from None


def _typesetter_for(ts: Typesetter, derivation) -> Typesetter:
    """`ts` for one student's derivation (same network, other [values]): names and printing are the
    same for everyone, so the class's Typesetter is copied rather than built again."""
    own = copy.copy(ts)
    own.d, own.net, own.spec = derivation, derivation.network, derivation.network.spec
    return own


def _compile(text: bytes, shown_as: Path, trusted: bool = True) -> bytes:
    with tempfile.TemporaryDirectory(prefix="derive-class-") as tmp:
        tex = Path(tmp) / "document.tex"
        tex.write_bytes(text)
        try:
            pdf, _ = compile_with_log(tex, timeout=LATEX_SECONDS, single_pass=True, trusted=trusted)
        except LatexError as exc:
            raise LatexError(f"{shown_as}: {str(exc).split(': ', 1)[-1]}") from None
        return pdf.read_bytes()
