r"""Compile a .tex file to PDF safely: argument lists, no shell escape, a time limit, a scratch folder.

The PDF is copied next to the .tex only when the compilation succeeded, through a temporary file
and `os.replace`, so a failed run never leaves a broken or stale-looking PDF behind.

What TeX may do (the trust model for template folders): pdflatex runs with shell escape off and
`openin_any=p`, but pdfTeX primitives such as `\pdfobj file`, `\pdfximage` and `\pdffiledump` read
files past that setting. So on Linux every compile runs inside a Landlock sandbox (the kernel's
unprivileged file-access control): it may read only the TeX installation and system libraries and
read and write only its scratch folder, so no other file of the user (home, /etc, the specs) is
readable to a template, whatever primitive it uses. Where the kernel lacks Landlock, derive
compiles only its own templates (which print every user string through `escape_latex`) and
refuses to compile a `--templates` folder's output.

LaTeX dies with derive: pdflatex is run directly (rerun while the log asks for it, as latexmk
would), in its own process group, with a parent-death signal (SIGKILL when derive dies, even by
SIGKILL) and a CPU-time limit; `cancel_all()` stops every running compile (Ctrl-C).
"""
from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from ..errors import LatexError

try:
    import resource
except ImportError:  # Windows: no CPU limit, no parent-death signal, no sandbox
    resource = None

PDFLATEX_FLAGS = ("-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode", "-file-line-error")
MAX_RUNS = 3  # pdflatex runs per document: one, plus reruns while the log asks for them (cross-references)
RERUN_MARKS = ("Rerun to get", "Label(s) may have changed", "Rerun LaTeX")


def have_latex() -> bool:
    """True when pdflatex is on PATH."""
    return shutil.which("pdflatex") is not None


def font_cache() -> Path | None:
    """derive's own folder for the fonts TeX makes on first use (Cyrillic metrics), or None if it cannot be made.

    Debian ships the LH Cyrillic fonts as METAFONT sources only: mktextfm makes each metric once, and
    the sandbox lets it write only here and in the scratch folder, so they are made once per user,
    not once per compile (about 0.8 s a shape), and never into the user's own TeX tree.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "derive" / "texfonts"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK | os.X_OK) else None


def _environment(workdir: Path, fonts: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TEXMFHOME", "TEXMFVAR", "TEXMFCONFIG")}
    env.setdefault("PATH", os.defpath)
    # Fonts made on first use go to VARTEXFONTS (which kpathsea also searches), their scratch files to TMPDIR.
    env["VARTEXFONTS"] = str(fonts or workdir / "texfonts")
    env["MT_FEATURES"] = "appendonlydir:varfonts"
    env["TMPDIR"] = str(workdir)
    # Paranoid mode: TeX may only read and write files below the working folder.
    env["openout_any"] = "p"
    env["openin_any"] = "p"
    env["TEXMFOUTPUT"] = str(workdir)
    env["SOURCE_DATE_EPOCH"] = "0"
    env["FORCE_SOURCE_DATE"] = "1"
    return env


def commands(stem: str, single_pass: bool = False) -> list[list[str]]:
    """The pdflatex argument list to run in the scratch folder (once, or up to MAX_RUNS times)."""
    return [[shutil.which("pdflatex") or "pdflatex", *PDFLATEX_FLAGS, f"{stem}.tex"]]


# ---------------------------------------------------------------------------------------------
# The sandbox: Landlock through raw system calls (no dependency), set up in the child before exec.

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446
_PR_SET_PDEATHSIG, _PR_SET_NO_NEW_PRIVS = 1, 38
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_ALL_FS = (1 << 13) - 1  # every file-system right of Landlock ABI 1 (write, remove, make_*)
_READ = _EXECUTE | _READ_FILE | _READ_DIR
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE
SYSTEM_READABLE = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc/texmf", "/etc/ld.so.cache",
                   "/var/lib/texmf", "/opt/texlive", "/dev/null", "/dev/urandom")
TEX_VARIABLES = ("TEXMFROOT", "TEXMFDIST", "TEXMFMAIN", "TEXMFLOCAL", "TEXMFSYSVAR", "TEXMFSYSCONFIG",
                 "TEXMFVAR", "TEXMFCONFIG", "TEXMFHOME", "TEXMFCACHE")

_libc = ctypes.CDLL(None, use_errno=True) if os.name == "posix" else None
_landlock_lock = threading.Lock()
_landlock_abi: int | None = None
_tex_folders: tuple[str, ...] | None = None


def sandbox_available() -> bool:
    """True when the kernel offers Landlock (Linux 5.13 and later, when enabled)."""
    global _landlock_abi
    with _landlock_lock:
        if _landlock_abi is None:
            _landlock_abi = 0
            if _libc is not None and os.uname().sysname == "Linux":
                try:
                    _landlock_abi = max(0, int(_libc.syscall(_SYS_CREATE_RULESET, None, 0, 1)))
                except (AttributeError, OSError):
                    _landlock_abi = 0
        return _landlock_abi > 0


def _readable_folders() -> tuple[str, ...]:
    """The TeX installation's folders (asked of kpsewhich once) and the system's libraries."""
    global _tex_folders
    with _landlock_lock:
        if _tex_folders is None:
            found: list[str] = []
            kpsewhich = shutil.which("kpsewhich")
            if kpsewhich:
                try:
                    out = subprocess.run([kpsewhich, *[f"-var-value={v}" for v in TEX_VARIABLES]], capture_output=True,
                                         text=True, timeout=30, stdin=subprocess.DEVNULL).stdout
                    for line in out.splitlines():
                        found.extend(part.strip("!{}") for part in line.replace(",", ":").split(":") if part.strip("!{}"))
                except (OSError, subprocess.SubprocessError):
                    pass
            _tex_folders = tuple(dict.fromkeys(p for p in (*SYSTEM_READABLE, *found) if os.path.isabs(p) and os.path.exists(p)))
        return _tex_folders


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _child_setup(work: Path, sandbox: bool, cpu_seconds: int, fonts: Path | None = None):
    """The function run in the child between fork and exec: everything it needs is prepared here."""
    parent = os.getpid()
    rules = []
    if sandbox:
        for folder in _readable_folders():
            rules.append((folder, _READ if os.path.isdir(folder) else
                          _READ_FILE | _WRITE_FILE if folder.startswith("/dev/") else _READ_FILE | _EXECUTE))
        rules.append((str(work), _ALL_FS))
        if fonts is not None:
            rules.append((str(fonts), _ALL_FS))  # mktextfm's metrics (TeX itself writes only below work: openout_any=p)
    ruleset_attr = ctypes.c_uint64(_ALL_FS)
    syscall, prctl = getattr(_libc, "syscall", None), getattr(_libc, "prctl", None)  # prctl: Linux only

    def setup():
        # Die with derive: SIGKILL when the thread that started us ends (derive killed, even by SIGKILL).
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:
                os._exit(1)
        if resource is not None:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        if not sandbox:
            return
        fd = syscall(_SYS_CREATE_RULESET, ctypes.byref(ruleset_attr), 8, 0)
        if fd < 0:
            os._exit(126)
        for path, rights in rules:
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            attr = _PathBeneath(rights, pfd)
            syscall(_SYS_ADD_RULE, fd, 1, ctypes.byref(attr), 0)
            os.close(pfd)
        if prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or syscall(_SYS_RESTRICT_SELF, fd, 0) != 0:
            os._exit(126)  # never compile unconfined when confinement was asked for
        os.close(fd)

    return setup


# ---------------------------------------------------------------------------------------------
# Running compiles, and stopping them all

_running: set[subprocess.Popen] = set()
_running_lock = threading.Lock()
_cancelled = threading.Event()


def cancel_all() -> None:
    """Stop every compile now and refuse new ones (Ctrl-C): each pdflatex's process group is killed."""
    _cancelled.set()
    with _running_lock:
        for proc in list(_running):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass


def reset_cancel() -> None:
    _cancelled.clear()


def log_excerpt(log: str, after: int = 3, limit: int = 40) -> str:
    """The error lines of a TeX log (those starting with "!", or file:line: errors) and a few after each."""
    lines = log.splitlines()
    keep: list[str] = []
    for i, line in enumerate(lines):
        if line.startswith("!") or line.endswith(": Permission denied") or (": " in line and line.split(":")[1:2] and line.split(":")[1].strip().isdigit()
                                    and line.split(":")[0].endswith(".tex")):
            keep.extend(lines[i:i + 1 + after])
            if len(keep) >= limit:
                break
    return "\n".join(keep[:limit])


def compile_pdf(tex_path: Path, timeout: float = 120, trusted: bool = True) -> Path:
    """Compile `tex_path` and place `<stem>.pdf` next to it; raise LatexError with the log's errors.

    `trusted` is False for text from a template folder that is not derive's own: without the
    Landlock sandbox such text is not compiled at all.
    """
    return compile_with_log(tex_path, timeout, trusted=trusted)[0]


def compile_with_log(tex_path: Path, timeout: float = 120, single_pass: bool = False, trusted: bool = True) -> tuple[Path, str]:
    """`compile_pdf`, also returning the text of the final .log (for overfull-box checks)."""
    tex_path = Path(tex_path)
    if not have_latex():
        raise LatexError("pdflatex is not installed (install TeX Live, e.g. texlive-latex-recommended)")
    sandbox = sandbox_available()
    if not trusted and not sandbox:
        raise LatexError(f"{tex_path}: not compiled: it comes from a template folder that is not derive's own, and "
                         "this system has no Landlock sandbox (Linux 5.13 or later) to keep TeX from reading other "
                         "files; use --no-pdf and compile it yourself if you trust the templates")
    stem = "document"
    target = tex_path.with_suffix(".pdf")
    with tempfile.TemporaryDirectory(prefix="derive-latex-") as tmp:
        work = Path(tmp)
        shutil.copyfile(tex_path, work / f"{stem}.tex")
        fonts = font_cache()
        env = _environment(work, fonts)
        log_file = work / f"{stem}.log"
        argv = commands(stem)[0]
        for run in range(1 if single_pass else MAX_RUNS):
            proc = _run(argv, work, env, timeout, tex_path, sandbox, fonts)
            log = log_file.read_text(errors="replace") if log_file.exists() else ""
            if proc.returncode != 0:
                # pdfTeX's own fatal errors ("!pdfTeX error: ... cannot open file") reach the terminal only.
                terminal = proc.stdout.decode(errors="replace")
                excerpt = log_excerpt(log) or log_excerpt(terminal) or terminal[-2000:]
                raise LatexError(f"{tex_path}: LaTeX failed:\n{excerpt}")
            if not any(mark in log for mark in RERUN_MARKS):
                break
        pdf = work / f"{stem}.pdf"
        if not pdf.exists():
            raise LatexError(f"{tex_path}: LaTeX produced no PDF")
        fd, partial = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".pdf.part", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(pdf, partial)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return target, log


def _run(argv: list[str], work: Path, env: dict, timeout: float, tex_path: Path, sandbox: bool,
         fonts: Path | None = None) -> subprocess.CompletedProcess:
    """Run pdflatex in its own process group, tied to derive's life, so a time-out or Ctrl-C ends it."""
    if _cancelled.is_set():
        raise KeyboardInterrupt
    setup = _child_setup(work, sandbox, int(timeout) + 5, fonts) if os.name == "posix" else None
    with subprocess.Popen(argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=setup) as proc:
        with _running_lock:
            _running.add(proc)
        try:
            if _cancelled.is_set():
                os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise LatexError(f"{tex_path}: LaTeX did not finish within {timeout:g} s") from None
        except BaseException:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            raise
        finally:
            with _running_lock:
                _running.discard(proc)
    if _cancelled.is_set():
        raise KeyboardInterrupt
    if proc.returncode == 126 and sandbox:
        raise LatexError(f"{tex_path}: could not set up the sandbox LaTeX runs in")
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
