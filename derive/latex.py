"""Compile a .tex file to PDF safely: argument lists, no shell escape, a time limit, a scratch folder.

The PDF is copied next to the .tex only when the compilation succeeded, through a temporary file
and `os.replace`, so a failed run never leaves a broken or stale-looking PDF behind.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from .errors import LatexError

PDFLATEX_FLAGS = ("-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode", "-file-line-error")


def have_latex() -> bool:
    """True when pdflatex is on PATH (latexmk is used too when present)."""
    return shutil.which("pdflatex") is not None


def _environment(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TEXMFHOME", "TEXMFVAR", "TEXMFCONFIG")}
    env.setdefault("PATH", os.defpath)
    # Paranoid mode: TeX may only read and write files below the working folder.
    env["openout_any"] = "p"
    env["openin_any"] = "p"
    env["TEXMFOUTPUT"] = str(workdir)
    env["SOURCE_DATE_EPOCH"] = "0"
    env["FORCE_SOURCE_DATE"] = "1"
    return env


def commands(stem: str, single_pass: bool = False) -> list[list[str]]:
    """The argument lists to run in the scratch folder (latexmk if present, else pdflatex twice).

    `single_pass` runs pdflatex once: enough for derive's worksheets, which have no cross-references
    or table of contents, and about three times faster than latexmk (used by the compile-everything test).
    """
    latexmk = shutil.which("latexmk")
    if single_pass:
        return [[shutil.which("pdflatex") or "pdflatex", *PDFLATEX_FLAGS, f"{stem}.tex"]]
    if latexmk:
        # -norc: no rc file from the lecturer's home or the folder can change what runs.
        return [[latexmk, "-norc", "-pdf", "-silent", *[f"-latexoption={flag}" for flag in PDFLATEX_FLAGS], f"{stem}.tex"]]
    pdflatex = shutil.which("pdflatex") or "pdflatex"
    run = [pdflatex, *PDFLATEX_FLAGS, f"{stem}.tex"]
    return [run, run]


def log_excerpt(log: str, after: int = 3, limit: int = 40) -> str:
    """The error lines of a TeX log (those starting with "!", or file:line: errors) and a few after each."""
    lines = log.splitlines()
    keep: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("!") or (": " in line and line.split(":")[1:2] and line.split(":")[1].strip().isdigit()
                                    and line.split(":")[0].endswith(".tex")):
            keep.extend(lines[i:i + 1 + after])
            if len(keep) >= limit:
                break
    return "\n".join(keep[:limit])


def compile_pdf(tex_path: Path, timeout: float = 120) -> Path:
    """Compile `tex_path` and place `<stem>.pdf` next to it; raise LatexError with the log's errors."""
    return compile_with_log(tex_path, timeout)[0]


def compile_with_log(tex_path: Path, timeout: float = 120, single_pass: bool = False) -> tuple[Path, str]:
    """`compile_pdf`, also returning the text of the final .log (for overfull-box checks)."""
    tex_path = Path(tex_path)
    if not have_latex():
        raise LatexError("pdflatex is not installed (install TeX Live, e.g. texlive-latex-recommended)")
    stem = "document"
    target = tex_path.with_suffix(".pdf")
    with tempfile.TemporaryDirectory(prefix="derive-latex-") as tmp:
        work = Path(tmp)
        shutil.copyfile(tex_path, work / f"{stem}.tex")
        env = _environment(work)
        log_file = work / f"{stem}.log"
        for argv in commands(stem, single_pass):
            proc = _run(argv, work, env, timeout, tex_path)
            if proc.returncode != 0:
                log = log_file.read_text(errors="replace") if log_file.exists() else proc.stdout.decode(errors="replace")
                excerpt = log_excerpt(log) or log[-2000:]
                raise LatexError(f"{tex_path}: LaTeX failed:\n{excerpt}")
        pdf = work / f"{stem}.pdf"
        if not pdf.exists():
            raise LatexError(f"{tex_path}: LaTeX produced no PDF")
        log = log_file.read_text(errors="replace") if log_file.exists() else ""
        fd, partial = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".pdf.part", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(pdf, partial)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return target, log


def _run(argv: list[str], work: Path, env: dict, timeout: float, tex_path: Path) -> subprocess.CompletedProcess:
    """Run one command in its own process group, so a time-out ends latexmk's pdflatex too."""
    with subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, start_new_session=True) as proc:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise LatexError(f"{tex_path}: LaTeX did not finish within {timeout:g} s") from None
    return subprocess.CompletedProcess(argv, proc.returncode, out)


def unicode_errors(log: str) -> list[str]:
    """Lines of a TeX log about characters pdflatex cannot typeset (a literal δ in a Python string)."""
    return [line for line in log.splitlines()
            if "Unicode character" in line or "Missing character" in line or "not set up for use with LaTeX" in line]


def overfull_boxes(log: str, limit_pt: float = 10.0) -> list[str]:
    """Lines of a TeX log reporting an overfull \\hbox wider than `limit_pt`."""
    import re

    found = []
    for line in log.splitlines():
        m = re.match(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\)", line)
        if m and float(m.group(1)) > limit_pt:
            found.append(line)
    return found
