"""Every student's sheet in one LaTeX document: one pdflatex run per combined file instead of one
per student (a run costs about a second of start-up and font loading; a page costs milliseconds).

The per-student texts come from the ordinary templates; this module keeps the first one's preamble,
and puts each student's body after a page break, with the page number restarting and the student's
name and id in the running header (each name in the font encodings its script needs, derive.sheets.scripts;
a name the TeX installation cannot set is replaced by the id, and `unprintable_names` says whose). article's \\maketitle disables itself after one use, so its
definitions are saved in the preamble and restored before each student.
"""
from __future__ import annotations

import re

from ..errors import DeriveError
from ..sheets import scripts
from ..sheets.texenv import escape_latex
from .roster import Student

BEGIN, END = r"\begin{document}", r"\end{document}"

# After the sheet's own preamble: a header with the student, and \maketitle made reusable.
CLASS_PREAMBLE = r"""
\usepackage{fancyhdr}
\setlength{\headheight}{14pt}% room for a \small header line (fancyhdr warns below 12pt + depth)
\newcommand{\derivestudent}{}
\fancypagestyle{derivestudentpage}{%
  \fancyhf{}%
  \fancyhead[L]{\small\derivestudent}%
  \fancyhead[R]{\small page \thepage}%
  \renewcommand{\headrulewidth}{0.4pt}}
% \maketitle sets its page to "plain": give that page the student's header too.
\fancypagestyle{plain}{\pagestyle{derivestudentpage}}
\pagestyle{derivestudentpage}
\makeatletter
\let\derive@savedmaketitle\maketitle
\let\derive@savedinnermaketitle\@maketitle
\let\derive@savedtitle\@title
\let\derive@savedtitlecmd\title
\let\derive@savedauthor\author
\let\derive@saveddate\date
\let\derive@savedthanks\thanks
\let\derive@savedand\and
\newcommand{\derivestartstudent}[1]{%
  \clearpage
  \setcounter{page}{1}%
  \renewcommand{\derivestudent}{#1}%
  \global\let\maketitle\derive@savedmaketitle
  \global\let\@maketitle\derive@savedinnermaketitle
  \global\let\title\derive@savedtitlecmd
  \global\let\author\derive@savedauthor
  \global\let\date\derive@saveddate
  \global\let\thanks\derive@savedthanks
  \global\let\and\derive@savedand
  \global\let\@title\derive@savedtitle
  \gdef\@author{}\gdef\@date{}}
\makeatother
"""


def split_document(text: str) -> tuple[str, str]:
    """(preamble, body) of one rendered sheet."""
    start, end = text.find(BEGIN), text.rfind(END)
    if start < 0 or end < start:
        raise DeriveError("a worksheet template produced no \\begin{document} ... \\end{document}")
    return text[:start], text[start + len(BEGIN):end]


def student_heading(student: Student) -> str:
    """The student's name as written and their id; the id alone when the name cannot be set."""
    name = scripts.latex_text(student.name) if student.name else None
    return rf"{name}\quad\texttt{{{escape_latex(student.id)}}}" if name else rf"\texttt{{{escape_latex(student.id)}}}"


def unprintable_names(students: list[Student]) -> list[str]:
    """One line for each student whose name this TeX installation cannot set (their sheets show the id)."""
    lines = []
    for student in students:
        missing = scripts.unprintable(student.name) if student.name else []
        if missing:
            shown = ", ".join(f"U+{ord(c):04X}" for c in missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
            lines.append(f"student {student.id}: name {student.name!r} cannot be typeset by this TeX installation "
                         f"(no font for {shown}); the sheets print the id {student.id} in its place")
    return lines


_PICTURE = re.compile(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", re.DOTALL)


def shared_pictures(bodies: list[str]) -> list[str]:
    """The TikZ pictures that are the same on every student's sheet (the network diagram)."""
    return [p for p in dict.fromkeys(_PICTURE.findall(bodies[0])) if all(p in b for b in bodies[1:])]


def combined_document(students: list[Student], texts: list[str]) -> str:
    """One document with every student's sheet, in roster order.

    A picture every student shares is drawn once into a box and the box placed on each sheet:
    TikZ is most of a sheet's compile time, and a box costs nothing to place again.
    """
    preamble, _ = split_document(texts[0])
    bodies = []
    for text in texts:
        own_preamble, body = split_document(text)
        if own_preamble != preamble:
            # The preamble holds the title; students share it, so a difference means a template put numbers there.
            raise DeriveError("the worksheet preambles differ between students; a class set needs numbers only in the body")
        bodies.append(body.strip("\n"))
    names = scripts.encodings_needed(s.name for s in students)
    parts = [preamble.rstrip("\n"), CLASS_PREAMBLE.strip("\n"), scripts.preamble(names), BEGIN]
    pictures = shared_pictures(bodies)
    for i, picture in enumerate(pictures):
        box = rf"\derivepicture{_letters(i)}"
        parts += [rf"\newsavebox{{{box}}}", rf"\sbox{{{box}}}{{{picture}}}"]
        bodies = [b.replace(picture, rf"\usebox{{{box}}}") for b in bodies]
    for student, body in zip(students, bodies):
        parts.append(rf"\derivestartstudent{{{student_heading(student)}}}")
        parts.append(body)
    parts.append(END)
    return "\n".join(parts) + "\n"


def _letters(i: int) -> str:
    """A TeX control-sequence suffix (letters only) for the i-th shared picture."""
    out = ""
    while True:
        out = chr(ord("a") + i % 26) + out
        i = i // 26 - 1
        if i < 0:
            return out
