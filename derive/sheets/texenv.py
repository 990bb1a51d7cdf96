"""The Jinja2 environment for the LaTeX templates, and escaping user text for LaTeX.

The delimiters are nbconvert's LaTeX-safe ones (`((* block *))`, `((( value )))`, `((= comment =))`)
so they never clash with TeX braces; a missing value fails loudly (`StrictUndefined`); nothing is
escaped unless a template asks for it with the `escape_latex` filter.

Templates are rendered in Jinja2's sandbox: a template folder copied from a colleague is code someone
else wrote, and the sandbox refuses the attribute walks (`cycler.__init__.__globals__.os`) that would let
it run Python. A refusal is a TemplateError naming the template file and line.
"""
from __future__ import annotations

import re
from pathlib import Path

import jinja2
import jinja2.sandbox


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


class _FolderLoader(jinja2.FileSystemLoader):
    """FileSystemLoader that reads only regular files inside the folder (a symlink out of it is refused)."""

    def __init__(self, folder: Path):
        super().__init__(str(folder))
        self.folder = Path(folder).resolve()

    def get_source(self, environment, template):
        path = (self.folder / template).resolve()
        if self.folder not in path.parents or not path.is_file():
            raise jinja2.TemplateNotFound(template)
        return super().get_source(environment, template)
