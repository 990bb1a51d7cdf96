"""No data lost: atomic writes, no needless rewrites, no overwriting a person's edits, kill-safe builds."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from derive import outputs
from derive.cli import main
from derive.errors import OutputError
from derive.outputs import MANIFEST, TEMP_FILE, atomic_write, read_manifest, up_to_date, write_outputs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "ng-222.toml"

OLD = {"gradients.py": b"old gradients\n", "answers.json": b'{"old": 1}\n', "notes.tex": b"old tex\n"}
NEW = {"gradients.py": b"new gradients\n", "answers.json": b'{"new": 2}\n', "notes.tex": b"new tex\n"}


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir()) if p.is_file()}


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMP_FILE.fullmatch(p.name))


# ---------------------------------------------------------------------------------------------
# The write primitives


def test_atomic_write_replaces_in_one_step_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_atomic_write_uses_ordinary_permissions_not_mkstemps_private_ones(tmp_path):
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    umask = os.umask(0o022)
    try:
        atomic_write(tmp_path / "f.txt", b"x")
    finally:
        os.umask(umask)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path, monkeypatch):
    target = tmp_path / "f.txt"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs.os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_write_outputs_turns_os_errors_into_one_line(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(outputs.os, "replace", broken_replace)
    with pytest.raises(OutputError) as info:
        write_outputs(tmp_path / "out", NEW, "k")
    assert "No space left on device" in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------------------------------------
# Unchanged, edited, foreign


def test_unchanged_content_is_not_rewritten(tmp_path):
    folder = tmp_path / "out"
    assert write_outputs(folder, NEW, "k") == list(NEW)
    before = snapshot(folder)
    time.sleep(0.01)
    assert write_outputs(folder, NEW, "k") == []
    assert snapshot(folder) == before  # same bytes and same mtimes, the manifest included
    assert up_to_date(folder, "k") and not up_to_date(folder, "other key")


def test_only_changed_files_are_rewritten(tmp_path):
    folder = tmp_path / "out"
    write_outputs(folder, OLD, "k1")
    before = snapshot(folder)
    time.sleep(0.01)
    assert write_outputs(folder, {**OLD, "notes.tex": b"changed\n"}, "k2") == ["notes.tex"]
    after = snapshot(folder)
    assert after["gradients.py"] == before["gradients.py"] and after["answers.json"] == before["answers.json"]
    assert after["notes.tex"][0] == b"changed\n"


def test_an_edited_file_is_refused_in_one_line_naming_it_and_force_overwrites(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(EXAMPLE), "--no-pdf", "--out", str(out)]) == 0
    edited = out / "ng-222" / "answers.json"
    edited.write_text("my own notes\n")
    before = snapshot(out / "ng-222")
    capsys.readouterr()
    assert main(["build", str(EXAMPLE), "--no-pdf", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"derive: error: {edited}: was edited by hand since derive wrote it; use --force to overwrite it\n"
    assert snapshot(out / "ng-222") == before
    assert main(["build", str(EXAMPLE), "--no-pdf", "--force", "--out", str(out)]) == 0
    assert json.loads(edited.read_text())["network"] == "ng-222"


def test_an_edited_file_is_refused_even_when_other_inputs_changed(tmp_path):
    folder = tmp_path / "out"
    write_outputs(folder, OLD, "k1")
    (folder / "notes.tex").write_bytes(b"edited by a person\n")
    with pytest.raises(OutputError, match="notes.tex: was edited by hand"):
        write_outputs(folder, NEW, "k2")
    assert (folder / "notes.tex").read_bytes() == b"edited by a person\n"
    assert (folder / "gradients.py").read_bytes() == OLD["gradients.py"]  # refused before anything was written
    write_outputs(folder, NEW, "k2", force=True)
    assert (folder / "notes.tex").read_bytes() == NEW["notes.tex"]


def test_a_file_not_written_by_derive_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "ng-222").mkdir(parents=True)
    mine = out / "ng-222" / "gradients.py"
    mine.write_text("# my own code\n")
    assert main(["build", str(EXAMPLE), "--no-pdf", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f"derive: error: {mine}: exists and was not written by derive; move it away or use --force to overwrite\n"
    assert mine.read_text() == "# my own code\n"
    assert sorted(p.name for p in (out / "ng-222").iterdir()) == ["gradients.py"]


def test_a_folder_in_the_way_is_refused_even_with_force(tmp_path):
    folder = tmp_path / "out"
    (folder / "gradients.py").mkdir(parents=True)
    (folder / "gradients.py" / "keep.txt").write_text("keep")
    with pytest.raises(OutputError, match="is in the way"):
        write_outputs(folder, NEW, "k", force=True)
    assert (folder / "gradients.py" / "keep.txt").read_text() == "keep"


def test_a_corrupt_manifest_makes_every_differing_file_foreign(tmp_path):
    folder = tmp_path / "out"
    write_outputs(folder, OLD, "k1")
    (folder / MANIFEST).write_text("{ not json")
    with pytest.raises(OutputError, match="was not written by derive"):
        write_outputs(folder, NEW, "k2")
    assert write_outputs(folder, OLD, "k1") == []  # identical content is still fine, and re-recorded
    assert read_manifest(folder)["files"].keys() == OLD.keys()


def test_the_generated_module_says_it_was_generated(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(EXAMPLE), "--no-pdf", "--out", str(out)]) == 0
    text = (out / "ng-222" / "gradients.py").read_text()
    docstring = text.split('"""')[1]
    assert "generated by derive" in docstring and "Do not edit by hand" in docstring


# ---------------------------------------------------------------------------------------------
# Interrupted builds


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even `except Exception` handlers."""


V1 = {"gradients.py": b"v1 gradients\n", "answers.json": b'{"v": 1}\n', "notes.tex": b"v1 tex\n"}
V2 = {"gradients.py": b"v2 gradients\n", "answers.json": b'{"v": 2}\n', "notes.tex": b"v1 tex\n"}  # one file unchanged
V3 = {"gradients.py": b"v3 gradients\n", "answers.json": b'{"v": 3}\n', "notes.tex": b"v3 tex\n"}
USER_FILES = {"my-notes.txt": b"mine\n", ".gradients.py.0123abcd.tmp": b"mine too\n",
              ".derive-tmp.gradients.py.0123abcd": b"looks like derive's, but never recorded\n"}


@pytest.fixture
def fast_fsync(monkeypatch):
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # the order of steps is what is tested, not the disk


def checkpoints_of(folder: Path, files: dict, key: str, monkeypatch) -> int:
    """How many create/rename/remove points a build of `files` into `folder` passes (on a copy)."""
    import shutil

    copy = folder.parent / (folder.name + "-count")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(folder, copy, symlinks=True)
    seen = []
    monkeypatch.setattr(outputs, "_checkpoint", lambda step, path: seen.append(step))
    write_outputs(copy, files, key)
    monkeypatch.setattr(outputs, "_checkpoint", lambda step, path: None)
    shutil.rmtree(copy)
    return len(seen)


def interrupted(folder: Path, files: dict, key: str, kill_at: int, monkeypatch) -> None:
    """A build killed at its `kill_at`-th write/rename point (a half-written temporary at a rename)."""
    count = []

    def dying(step, path):
        if len(count) == kill_at:
            if step == "rename":
                for name in read_manifest(folder)["temporaries"]:
                    if (folder / name).exists():
                        (folder / name).write_bytes((folder / name).read_bytes()[:3])
            raise Killed
        count.append(step)

    monkeypatch.setattr(outputs, "_checkpoint", dying)
    try:
        write_outputs(folder, files, key)
    except Killed:
        pass
    finally:
        monkeypatch.setattr(outputs, "_checkpoint", lambda step, path: None)


def finish_and_verify(folder: Path, files: dict, key: str, versions: list[dict]) -> None:
    for name in files:  # in between, every file holds one complete version, never a mixture
        assert (folder / name).read_bytes() in [v[name] for v in versions], name
    write_outputs(folder, files, key)  # no --force, no "edited by hand"
    assert {n: (folder / n).read_bytes() for n in files} == files
    assert up_to_date(folder, key)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert "pending" not in manifest and "temporaries" not in manifest
    assert [p.name for p in folder.glob(".derive-tmp.*")] == [".derive-tmp.gradients.py.0123abcd"]  # the user's
    for name, data in USER_FILES.items():  # a person's files survive every build
        assert (folder / name).read_bytes() == data


def _prepared(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    for name, data in USER_FILES.items():
        (folder / name).write_bytes(data)
    write_outputs(folder, V1, "k1")
    return folder


def test_a_write_interrupted_at_any_point_loses_nothing_and_the_next_build_finishes(tmp_path, monkeypatch, fast_fsync):
    folder = _prepared(tmp_path)
    points = checkpoints_of(folder, V3, "k3", monkeypatch)
    assert points == 10  # journal (create, rename), three files (create, rename each), manifest (create, rename)
    for kill_at in range(points + 1):
        interrupted(folder, V3, "k3", kill_at, monkeypatch)
        if kill_at < points:
            assert not up_to_date(folder, "k3")
        finish_and_verify(folder, V3, "k3", [V1, V3])
        write_outputs(folder, V1, "k1")


def test_two_interrupted_builds_in_a_row_at_every_pair_of_points_then_one_complete_build(tmp_path, monkeypatch, fast_fsync):
    import shutil

    base = _prepared(tmp_path)
    pristine = tmp_path / "pristine"
    shutil.copytree(base, pristine)
    points = checkpoints_of(base, V2, "k2", monkeypatch)
    for first in range(points + 1):
        for second in range(points + 3):
            shutil.rmtree(base)
            shutil.copytree(pristine, base)
            interrupted(base, V2, "k2", first, monkeypatch)
            interrupted(base, V3, "k3", second, monkeypatch)
            finish_and_verify(base, V3, "k3", [V1, V2, V3])


@pytest.mark.parametrize("last", ["V1", "V2", "V3"])
def test_three_interrupted_builds_in_a_row_then_one_complete_build(tmp_path, monkeypatch, fast_fsync, last):
    import shutil

    base = _prepared(tmp_path)
    pristine = tmp_path / "pristine"
    shutil.copytree(base, pristine)
    final = {"V1": V1, "V2": V2, "V3": V3}[last]
    for first in range(0, 11, 2):
        for second in range(0, 11, 3):
            for third in (1, 4, 6, 9):
                shutil.rmtree(base)
                shutil.copytree(pristine, base)
                interrupted(base, V2, "k2", first, monkeypatch)
                interrupted(base, V3, "k3", second, monkeypatch)
                interrupted(base, V2, "k2", third, monkeypatch)
                finish_and_verify(base, final, "k" + last[1], [V1, V2, V3])


def test_an_edit_after_an_interrupted_build_is_still_caught(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    write_outputs(folder, OLD, "k1")
    interrupted(folder, NEW, "k2", 5, monkeypatch)  # gradients.py already replaced, answers.json not yet
    assert (folder / "gradients.py").read_bytes() == NEW["gradients.py"]
    (folder / "gradients.py").write_bytes(b"a person's change\n")  # already the new version, then edited
    with pytest.raises(OutputError, match="gradients.py: was edited by hand"):
        write_outputs(folder, {**NEW, "gradients.py": b"newer\n"}, "k3")


def test_temporary_files_of_other_names_are_left_alone(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    names = ("notes.tmp", ".hidden", ".x.tmp", ".x.ZZZZZZZZ.tmp", ".x.0123abcd.tmp", ".derive-tmp.x.0123abcd")
    for name in names:
        (folder / name).write_text("mine")
    write_outputs(folder, NEW, "k")  # a folder derive never wrote: nothing in it is derive's
    write_outputs(folder, OLD, "k2")
    assert set(names) <= {p.name for p in folder.iterdir()}


def test_a_refused_build_removes_nothing(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    write_outputs(folder, OLD, "k1")
    interrupted(folder, NEW, "k2", 3, monkeypatch)  # leaves a recorded temporary
    recorded = read_manifest(folder)["temporaries"]
    assert recorded
    (folder / "notes.tex").write_bytes(b"edited\n")
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(OutputError, match="edited by hand"):
        write_outputs(folder, NEW, "k2")
    assert sorted(p.name for p in folder.iterdir()) == before


def _spec_variant(tmp_path: Path, rate: str) -> Path:
    text = EXAMPLE.read_text().replace("learning_rate = 0.5", f"learning_rate = {rate}")
    text = text.replace("W1 = [[0.15, 0.20], [0.25, 0.30]]", f"W1 = [[0.15, 0.20], [0.25, {rate}]]")
    path = tmp_path / "ng-222.toml"
    path.write_text(text)
    return path


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_build_killed_at_any_moment_leaves_old_or_new_files_never_a_mixture(tmp_path):
    """`derive build` in a subprocess, SIGKILLed at several moments from start-up to the last rename."""
    out = tmp_path / "out"
    folder = out / "ng-222"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def command(spec):
        return [sys.executable, "-m", "derive", "build", str(spec), "--no-pdf", "--out", str(out)]

    contents = {}
    for rate in ("0.25", "0.5"):  # build both versions once to know their complete contents
        spec = _spec_variant(tmp_path, rate)
        started = time.monotonic()
        subprocess.run(command(spec), check=True, capture_output=True, cwd=ROOT, env=env)
        full = time.monotonic() - started
        contents[rate] = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != MANIFEST}
    assert contents["0.25"].keys() == contents["0.5"].keys()
    assert contents["0.25"] != contents["0.5"]
    current = "0.5"
    for fraction in (0.4, 0.7, 0.85, 0.92, 0.97, 1.0, 1.05):
        target = "0.25" if current == "0.5" else "0.5"
        spec = _spec_variant(tmp_path, target)
        process = subprocess.Popen(command(spec), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
        time.sleep(full * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for name, data in contents[current].items():
            now = (folder / name).read_bytes()
            assert now in (data, contents[target][name]), (fraction, name)
            if name.endswith(".py"):
                compile(now, name, "exec")
            elif name.endswith(".json"):
                json.loads(now)
        assert not any(TEMP_FILE.fullmatch(name) for name in read_manifest(folder)["files"])
        # Whatever the kill left, the next build finishes without --force and cleans up.
        finished = subprocess.run(command(spec), capture_output=True, cwd=ROOT, env=env)
        assert finished.returncode == 0, finished.stderr.decode()
        assert {n: (folder / n).read_bytes() for n in contents[target]} == contents[target]
        assert temporaries(folder) == []
        current = target


@pytest.mark.parametrize("command", [["build", "--no-pdf"], ["class", "--students", "2", "--no-pdf"], ["train", "--epochs", "2", "--no-pdf"]])
def test_sigterm_during_a_write_leaves_no_temporary_as_ctrl_c_does(tmp_path, monkeypatch, capsys, command):
    import signal

    from conftest import EXAMPLES

    from derive.cli import main

    spec = tmp_path / "toy.toml"
    spec.write_text((EXAMPLES / "toy-111.toml").read_text() + "\n[variants]\nweights = [-1.0, 1.0]\n")
    sent = []

    def terminate_at_first_rename(step, path):
        if step == "rename" and not sent and path.name != MANIFEST:
            sent.append(path)
            os.kill(os.getpid(), signal.SIGTERM)  # a real signal: the command line's handler raises Terminated

    monkeypatch.setattr(outputs, "_checkpoint", terminate_at_first_rename)
    out = tmp_path / "out"
    assert main([command[0], str(spec), "--out", str(out), *command[1:]]) == 143
    assert sent and "derive: terminated" in capsys.readouterr().err
    assert [p.name for p in out.rglob(".derive-tmp.*")] == []
