"""The Jinja2 environment for the LaTeX templates, and escaping user text for LaTeX.

The delimiters are nbconvert's LaTeX-safe ones (`((* block *))`, `((( value )))`, `((= comment =))`)
so they never clash with TeX braces; a missing value fails loudly (`StrictUndefined`); nothing is
escaped unless a template asks for it with the `escape_latex` filter.

Templates are rendered in Jinja2's sandbox: a template folder copied from a colleague is code someone
else wrote, and the sandbox refuses the attribute walks (`cycler.__init__.__globals__.os`) that would let
it run Python. A refusal is a TemplateError naming the template file and line. What a template may
read (names, size, kind of file) is template_files' rule, which the build key hashes.
"""
from __future__ import annotations

import re
from pathlib import Path

import jinja2
import jinja2.sandbox

from ..errors import TemplateError
from ..files import Unreadable, read_small_file
from .template_files import MAX_DEPTH, MAX_TEMPLATE_BYTES, TEMPLATE_SUFFIXES, may_be_template


def default_template_dir() -> Path:
    from ..resources import template_folder

    return template_folder()


_ESCAPES = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&",
    "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}",
    "|": r"\textbar{}", "\u2013": "--", "\u2014": "---", "\u2018": "`", "\u2019": "'", "\u201c": "``", "\u201d": "''",
}


# A word longer than this may break anywhere (a 200-letter title must not run off the page).
LONG_WORD = 20


def untypesettable(text: str) -> list[str]:
    """The characters of `text` the worksheets cannot typeset (pdflatex with T1 fonts: Latin-1 only)."""
    return sorted({ch for ch in str(text) if ord(ch) < 32 or 127 <= ord(ch) < 160 or ord(ch) > 255})


def escape_latex(text: str) -> str:
    """Any user string as literal text: TeX specials escaped, characters pdflatex lacks become '?'.

    Specs refuse such characters in titles (spec.validate), so '?' is only a last line of defence.
    """
    out = []
    for word in re.split(r"(\s+)", str(text)):
        pieces = []
        for ch in word:
            if ch in _ESCAPES:
                pieces.append(_ESCAPES[ch])
            elif ord(ch) < 32 or 127 <= ord(ch) < 160 or ord(ch) > 255:
                pieces.append("?")
            else:
                pieces.append(ch)
        out.append(r"\allowbreak{}".join(pieces) if len(word) > LONG_WORD else "".join(pieces))
    return "".join(out)


def template_error(exc: BaseException, folder: Path, name: str) -> str:
    """`file:line: problem` for an error raised while a template ran, from the template frames of its traceback."""
    where, line = str(folder / name), None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2") or Path(filename).parent == Path(folder):
            where, line = filename, tb.tb_lineno
        tb = tb.tb_next
    message = getattr(exc, "message", None) or str(exc)
    return f"{where}:{line}: {message}" if line is not None else f"{where}: {message}"


def make_env(template_dir: Path | None = None) -> jinja2.Environment:
    folder = Path(template_dir) if template_dir is not None else default_template_dir()
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        loader=_FolderLoader(folder),
        block_start_string="((*", block_end_string="*))",
        variable_start_string="(((", variable_end_string=")))",
        comment_start_string="((=", comment_end_string="=))",
        line_statement_prefix=None, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
    )
    env.filters["escape_latex"] = escape_latex
    return env


class _FolderLoader(jinja2.BaseLoader):
    """Reads only what template_files admits: a template's name, a regular file inside the folder
    (a symlink out of it is refused), at most MAX_TEMPLATE_BYTES, read without waiting on a FIFO.
    The build key hashes the same files (template_files.folder_digest)."""

    def __init__(self, folder: Path):
        self.shown = Path(folder)
        self.folder = Path(folder).resolve()

    def get_source(self, environment, template):
        if not may_be_template(template):
            raise TemplateError(f"{self.shown / template}: a template may extend or include only files of its own folder "
                                f"named *{', *'.join(TEMPLATE_SUFFIXES)} (at most {MAX_DEPTH} folders deep)")
        path = (self.folder / template).resolve()
        if self.folder not in path.parents or not path.is_file():
            raise jinja2.TemplateNotFound(template)
        try:
            raw = read_small_file(path, MAX_TEMPLATE_BYTES)
        except Unreadable as why:
            if why.reason == "missing":
                raise jinja2.TemplateNotFound(template) from None
            problem = {"too_big": f"is {why.detail} bytes; a template or an include is at most {MAX_TEMPLATE_BYTES}",
                       "grew": f"is larger than {MAX_TEMPLATE_BYTES} bytes, the most a template or an include may be",
                       "special": "is not a regular file (a FIFO, device or socket); a template or an include must be one",
                       "folder": "is a folder, expected a template"}.get(why.reason, f"cannot be read ({why.detail})")
            raise TemplateError(f"{self.shown / template}: {problem}") from None
        try:
            source = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TemplateError(f"{self.shown / template}: is not UTF-8 text (bad byte at offset {exc.start})") from None
        mtime = path.stat().st_mtime_ns

        def unchanged() -> bool:
            try:
                return path.stat().st_mtime_ns == mtime
            except OSError:
                return False

        return source, str(path), unchanged
