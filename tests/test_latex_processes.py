"""LaTeX dies with derive: a time-out, Ctrl-C, SIGTERM or even SIGKILL of derive stops every pdflatex it
started within seconds, and no temporary folder is left on any exit path that can run code.

Every check looks only at processes this test started (children of the test process, or of the
derive it launched), never at the rest of the machine.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

from derive.errors import LatexError
from derive.sheets.latex import compile_pdf, have_latex

needs_latex = pytest.mark.skipif(not have_latex(), reason="pdflatex is not installed")
needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to follow child processes")
LOOP = "\\def\\loop{\\loop}\\loop"  # a document that never ends


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(name, parent pid, state) of a process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    return name, int(fields[1]), fields[0]


def descendants(root: int) -> dict[int, str]:
    """Every living process below `root`, by pid, with its name."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            info = _stat(int(entry.name))
            if info and info[2] != "Z":
                parents[int(entry.name)] = info
    found, frontier = {}, {root}
    while frontier:
        children = {pid for pid, (_, ppid, _) in parents.items() if ppid in frontier and pid not in found}
        found.update({pid: parents[pid][0] for pid in children})
        frontier = children
    return found


def alive(pid: int) -> bool:
    info = _stat(pid)
    return info is not None and info[2] != "Z"


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@needs_latex
@needs_proc
def test_a_document_that_never_ends_is_stopped_at_the_time_limit(tmp_path):
    tex = tmp_path / "loop.tex"
    tex.write_text("\\documentclass{article}\\begin{document}" + LOOP + "\\end{document}\n")
    seen: dict[int, str] = {}
    done = threading.Event()

    def watch():  # the pdflatex this test's compile starts: a child of this very process
        while not done.is_set():
            seen.update({pid: name for pid, name in descendants(os.getpid()).items() if "tex" in name})
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with pytest.raises(LatexError, match="did not finish within 3 s"):
            compile_pdf(tex, timeout=3)
    finally:
        done.set()
        watcher.join()
    assert seen, "the compile should have started pdflatex"
    assert [p.name for p in tmp_path.iterdir()] == ["loop.tex"]
    assert not [pid for pid in seen if alive(pid)]


def _looping_build(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    page = templates / "handout.tex.j2"
    page.write_text(page.read_text().replace("((* block body *))", "((* block body *))" + LOOP, 1))
    scratch = tmp_path / "scratch"  # derive's temporary folders go here, so the test can see them all
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "PYTHONPATH": str(ROOT)}
    specs = [str(EXAMPLES / name) for name in ("toy-111.toml", "mazur-222.toml", "ng-222.toml")]
    process = subprocess.Popen([sys.executable, "-m", "derive", "build", *specs, "--out", str(tmp_path / "out"),
                                "--templates", str(templates), "--jobs", "1"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=_as_from_a_terminal)
    return process, scratch


def _as_from_a_terminal() -> None:
    # A shell without job control starts `cmd &` with SIGINT ignored, and the child inherits that (Python
    # then installs no KeyboardInterrupt handler); a user's Ctrl-C comes from a terminal, where it is not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@needs_latex
@needs_proc
@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGKILL, -9)],
                         ids=["ctrl-c", "sigterm", "sigkill"])
def test_stopping_derive_stops_its_latex(tmp_path, signum, status):
    process, scratch = _looping_build(tmp_path)
    try:
        assert wait_until(lambda: any("tex" in name for name in descendants(process.pid).values()), 120), \
            process.stderr.read().decode() if process.poll() is not None else "no pdflatex started"
        time.sleep(0.3)
        children = descendants(process.pid)
        started = time.monotonic()
        process.send_signal(signum)
        assert process.wait(timeout=10) == status
        stopped = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
    if signum != signal.SIGKILL:
        assert stopped < 2.0, stopped  # queued compiles cancelled, the running one killed
        assert process.stderr.read().decode().strip().endswith("interrupted" if signum == signal.SIGINT else "terminated")
        assert list(scratch.iterdir()) == []  # every temporary folder removed
    # Even after SIGKILL, which runs no code in derive, the parent-death signal ends pdflatex.
    assert wait_until(lambda: not [pid for pid in children if alive(pid)], 5), \
        {pid: name for pid, name in children.items() if alive(pid)}
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.pdf"))
