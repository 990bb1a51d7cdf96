"""A class folder's files all come from one run (issue 22): what a run does not write is removed if
derive wrote it, or the run refuses (a person's edit); killed at any write point and run again, the
folder is byte for byte a fresh run's. PDFs are faked (a digest of their .tex) so that every format and
--per-student run without TeX."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from killing import killed_at
from test_class import class_spec

import derive.classset.build as class_build
from derive import outputs
from derive.classset.build import FORMATS, build_class
from derive.classset.roster import Student
from derive.cli import main
from derive.errors import OutputError

ROSTER = [Student("1001", "Ada"), Student("1002", "Grace"), Student("1003", "Emmy")]


@pytest.fixture
def fake_latex(monkeypatch):
    monkeypatch.setattr(class_build, "have_latex", lambda: True)
    monkeypatch.setattr(class_build, "_compile", lambda text, shown_as, trusted=True: b"%PDF-fake " + hashlib.sha256(text).hexdigest().encode())
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # the order of steps is what is tested, not the disk


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` but the manifests (whose temporaries' names are random), by relative name."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != outputs.MANIFEST}


def recorded(folder: Path) -> dict[str, str]:
    """What the manifests say derive wrote, by relative name."""
    found = {}
    for manifest in folder.rglob(outputs.MANIFEST):
        base = manifest.parent.relative_to(folder).as_posix()
        for name, digest in json.loads(manifest.read_text())["files"].items():
            found[f"{base}/{name}".removeprefix("./")] = digest
    return found


def fresh(tmp_path: Path, spec: Path, run: dict) -> dict[str, bytes]:
    where = tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}"
    return tree(build_class(spec, out_dir=where, **run).folder)


FULL = dict(students=ROSTER, seed=1, formats=FORMATS, per_student=True)
CASES = {
    "no-pdf, seed 2": dict(students=ROSTER, seed=2, formats=tuple(f for f in FORMATS if f != "pdf")),
    "csv only": dict(students=ROSTER, seed=1, formats=("csv",)),
    "a student left": dict(students=ROSTER[:2], seed=1, formats=FORMATS, per_student=True),
    "no per-student": dict(students=ROSTER, seed=1, formats=FORMATS),
}


@pytest.mark.parametrize("case", CASES)
def test_a_second_run_leaves_only_its_own_files(tmp_path, fake_latex, case):
    spec = class_spec(tmp_path)
    out = tmp_path / "out"
    (out / "cls" / "class").mkdir(parents=True)
    (out / "cls" / "class" / "notes.txt").write_text("a TA's notes")
    build_class(spec, out_dir=out, **FULL)
    assert (out / "cls" / "class" / "students" / "1003" / "answers.pdf").is_file()
    result = build_class(spec, out_dir=out, **CASES[case])
    got = tree(result.folder)
    assert got.pop("notes.txt") == b"a TA's notes"  # a person's file stays
    assert got == fresh(tmp_path, spec, CASES[case])
    assert set(recorded(result.folder)) == set(got)  # every file traceable to the last run
    assert result.removed


def test_the_issues_example_seed_1_then_seed_2_no_pdf(tmp_path, fake_latex, capsys):
    spec = class_spec(tmp_path)
    out = tmp_path / "o"
    assert main(["class", str(spec), "--students", "3", "--seed", "1", "--out", str(out)]) == 0
    assert main(["class", str(spec), "--students", "3", "--seed", "2", "--out", str(out), "--no-pdf"]) == 0
    assert "removed answers.pdf, answers.tex, exercises.pdf, exercises.tex of an earlier run" in capsys.readouterr().out
    assert sorted(tree(out / "cls" / "class")) == ["answers.csv", "canvas.zip", "moodle.xml", "qti.zip", "variants.json"]


def test_an_edited_file_the_run_would_remove_refuses_the_run_and_nothing_changes(tmp_path, fake_latex, capsys):
    spec = class_spec(tmp_path)
    out = tmp_path / "out"
    folder = build_class(spec, out_dir=out, **FULL).folder
    (folder / "students" / "1003" / "answers.tex").write_text("Emmy's key, corrected by hand")
    before = tree(folder)
    argv = ["class", str(spec), "--students", "2", "--out", str(out), "--no-pdf"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "1003/answers.tex: was edited by hand since derive wrote it, and this run does not write it" in err
    assert tree(folder) == before  # the class folder too: the refusal comes before any write
    assert main(argv + ["--force"]) == 0
    assert not (folder / "students").exists()


def test_a_students_folder_derive_did_not_write_is_left_alone(tmp_path, fake_latex):
    spec = class_spec(tmp_path)
    out = tmp_path / "out"
    folder = build_class(spec, out_dir=out, **FULL).folder
    (folder / "students" / "extra").mkdir()
    (folder / "students" / "extra" / "photo.png").write_bytes(b"png")
    build_class(spec, out_dir=out, **CASES["no per-student"])
    assert sorted(tree(folder / "students")) == ["extra/photo.png"]



def test_killed_at_every_write_point_then_run_again_is_a_fresh_run(tmp_path, fake_latex, monkeypatch):
    spec = class_spec(tmp_path)
    pristine = tmp_path / "pristine"
    build_class(spec, out_dir=pristine, **FULL)
    final = CASES["a student left"] | dict(seed=2, formats=("pdf", "csv", "moodle"))
    want = fresh(tmp_path, spec, final)
    points = []
    monkeypatch.setattr(outputs, "_checkpoint", lambda step, path: points.append(step))
    build_class(spec, out_dir=tmp_path / "count", **FULL)
    shutil.rmtree(tmp_path / "count")
    points.clear()
    shutil.copytree(pristine, tmp_path / "count")
    build_class(spec, out_dir=tmp_path / "count", **final)
    count = len(points)
    assert count > 20
    for kill_at in range(count):
        out = tmp_path / f"run{kill_at}"
        shutil.copytree(pristine, out)
        killed_at(monkeypatch, kill_at, build_class, spec, out_dir=out, **final)
        folder = build_class(spec, out_dir=out, **final).folder  # no --force: nothing looks edited by hand
        assert tree(folder) == want, kill_at
        assert set(recorded(folder)) == set(want), kill_at
        assert not list(folder.rglob(".derive-tmp.*")), kill_at
        shutil.rmtree(out)


def test_check_outputs_refuses_what_write_outputs_would(tmp_path):
    folder = tmp_path / "f"
    outputs.write_outputs(folder, {"a.txt": b"1", "b.txt": b"2"}, "k")
    (folder / "b.txt").write_text("edited")
    assert outputs.check_outputs(folder, {"a.txt": b"3"}) == []
    with pytest.raises(OutputError, match="b.txt: was edited by hand"):
        outputs.check_outputs(folder, {"a.txt": b"3"}, prune=True)
    assert outputs.check_outputs(folder, {"a.txt": b"3"}, force=True, prune=True) == ["b.txt"]


def test_messages_escape_the_out_folder_the_user_typed(tmp_path, fake_latex, capsys):
    spec = class_spec(tmp_path)
    out = tmp_path / "o\x1b[2J\u202e\u2066\x07"
    assert main(["class", str(spec), "--students", "2", "--out", str(out)]) == 0
    assert main(["class", str(spec), "--students", "2", "--out", str(out), "--no-pdf"]) == 0
    captured = capsys.readouterr()
    assert "\\u001b[2J\\u202e" in captured.out and captured.out.count("\n") == 2
    assert not any(c in captured.out + captured.err for c in "\x1b\u202e\u2066\x07")


@pytest.mark.parametrize("export,broken", [
    ("moodle_xml", lambda real: real.replace(b"</quiz>", b"")),
    ("qti_zip", lambda real: _with_member(real, b"<assessmentItem><bad></assessmentItem>")),
    ("canvas_zip", lambda real: _with_member(real, "<quiz>\uffff</quiz>".encode())),
])
def test_an_export_that_does_not_parse_is_never_written(tmp_path, capsys, monkeypatch, export, broken):
    real = getattr(class_build, export)
    monkeypatch.setattr(class_build, export, lambda *args: broken(real(*args)))
    out = tmp_path / "out"
    assert main(["class", str(class_spec(tmp_path)), "--students", "2", "--out", str(out), "--no-pdf"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" in err and "is not well-formed XML" in err, err
    assert not out.exists()


def _with_member(archive: bytes, text: bytes) -> bytes:
    """The zip with its first XML member replaced by `text`."""
    import io
    import zipfile

    source, result = zipfile.ZipFile(io.BytesIO(archive)), io.BytesIO()
    first = next(n for n in source.namelist() if n.endswith(".xml"))
    with zipfile.ZipFile(result, "w") as target:
        for name in source.namelist():
            target.writestr(name, text if name == first else source.read(name))
    return result.getvalue()
