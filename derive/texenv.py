"""The Jinja2 environment for the LaTeX templates, and escaping user text for LaTeX.

The delimiters are nbconvert's LaTeX-safe ones (`((* block *))`, `((( value )))`, `((= comment =))`)
so they never clash with TeX braces; a missing value fails loudly (`StrictUndefined`); nothing is
escaped unless a template asks for it with the `escape_latex` filter.
"""
from __future__ import annotations

from pathlib import Path

import jinja2


def default_template_dir() -> Path:
    from .resources import template_folder

    return template_folder()


_ESCAPES = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&",
    "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}",
    "|": r"\textbar{}", "\u2013": "--", "\u2014": "---", "\u2018": "`", "\u2019": "'", "\u201c": "``", "\u201d": "''",
}


def escape_latex(text: str) -> str:
    """Any user string as literal text: TeX specials escaped, characters pdflatex lacks become '?'."""
    out = []
    for ch in str(text):
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 32 or 127 <= ord(ch) < 160 or ord(ch) > 255:
            out.append("?")
        else:
            out.append(ch)
    return "".join(out)


def make_env(template_dir: Path | None = None) -> jinja2.Environment:
    folder = Path(template_dir) if template_dir is not None else default_template_dir()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        block_start_string="((*", block_end_string="*))",
        variable_start_string="(((", variable_end_string=")))",
        comment_start_string="((=", comment_end_string="=))",
        line_statement_prefix=None, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
    )
    env.filters["escape_latex"] = escape_latex
    return env
