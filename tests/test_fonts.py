"""Every kind of document derive writes uses vector fonts that a fresh machine has.

A fresh machine (a new container, CI) has no TeX font cache, and the sandbox rightly stops mktexpk
from writing one: a document that asks for a font without a Type 1 file of the packages the README
installs fails there, or gets bitmap (Type 3) fonts, while a developer's machine with a cache (or
with cm-super, which Debian's texlive-lang-* pull in) shows nothing wrong. So each document is
compiled by the command that writes it, with an empty HOME and TeX caches, and pdffonts must list
only embedded Type 1 fonts from those packages.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLES

from derive.cli import main
from derive.notation.names import PROFILES
from derive.sheets.latex import have_latex

pytestmark = pytest.mark.skipif(not have_latex() or shutil.which("pdffonts") is None,
                                reason="pdflatex or pdffonts is not installed")

# The Type 1 fonts of the packages the README's first line installs: Latin Modern (lmodern) and the
# AMS set in texlive-base (Computer Modern, the AMS symbols, Euler). Not cm-super's SF* fonts.
README_FONTS = ("LM", "CM", "MSAM", "MSBM", "EU")


def pdf_fonts(pdf) -> list[dict[str, str]]:
    """pdffonts' table as rows {name, type, encoding, emb, ...} (its columns are fixed-width)."""
    lines = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True, timeout=60,
                           stdin=subprocess.DEVNULL).stdout.splitlines()
    header, rule, rows = lines[0], lines[1], lines[2:]
    spans, start = [], 0
    for dashes in rule.split(" "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 1
    names = [header[a:b].strip() for a, b in spans]
    return [{name: row[a:b].strip() for name, (a, b) in zip(names, spans)} for row in rows]


def font_problems(pdf, allowed=README_FONTS) -> list[str]:
    problems = []
    for font in pdf_fonts(pdf):
        name = font["name"].split("+")[-1]  # the subset tag (ABCDEF+) says nothing about the font
        if font["type"] != "Type 1":
            problems.append(f"{pdf.name}: {name} is {font['type']}")
        if font["emb"] != "yes":
            problems.append(f"{pdf.name}: {name} is not embedded")
        if not name.startswith(allowed):
            problems.append(f"{pdf.name}: {name} is not from the packages the README installs")
    return problems


@pytest.fixture
def fresh_tex(tmp_path, monkeypatch):
    """An empty HOME, TEXMFHOME, TEXMFVAR, TEXMFCONFIG, TEXMFCACHE and XDG_CACHE_HOME, as on a new machine."""
    for variable in ("HOME", "TEXMFHOME", "TEXMFVAR", "TEXMFCONFIG", "TEXMFCACHE", "XDG_CACHE_HOME"):
        folder = tmp_path / "fresh" / variable.lower()
        folder.mkdir(parents=True)
        monkeypatch.setenv(variable, str(folder))
    return tmp_path / "out"


def test_the_pdf_fonts_reader_reads_pdffonts_columns(tmp_path):
    from derive.sheets.latex import compile_pdf

    tex = tmp_path / "t.tex"
    tex.write_text("\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{lmodern}"
                   "\\pagestyle{empty}\\begin{document}\\texttt{x} $x$\\end{document}\n")
    fonts = pdf_fonts(compile_pdf(tex))
    assert {f["name"].split("+")[-1] for f in fonts} == {"LMMono10-Regular", "LMMathItalic10-Regular"}
    assert {(f["type"], f["emb"]) for f in fonts} == {("Type 1", "yes")}


def test_every_document_derive_writes_has_embedded_vector_fonts(fresh_tex, capsys):
    out = fresh_tex
    problems, pdfs = [], []
    for profile in PROFILES:  # handout, exercises and answers in every profile
        assert main(["build", str(EXAMPLES / "mazur-222.toml"), "--out", str(out / profile), "--notation", profile]) == 0
        pdfs += sorted((out / profile / "mazur-222").glob("*.pdf"))
    assert main(["train", str(EXAMPLES / "iris-423.toml"), "--epochs", "20", "--out", str(out / "train")]) == 0
    pdfs += [out / "train" / "iris-423" / "training.pdf"]
    assert main(["class", str(EXAMPLES / "ng-222.toml"), "--students", "2", "--formats", "pdf", "--per-student",
                 "--out", str(out / "class")]) == 0
    pdfs += sorted((out / "class").rglob("*.pdf"))
    capsys.readouterr()
    assert {p.name for p in pdfs} == {"handout.pdf", "exercises.pdf", "answers.pdf", "training.pdf"}
    assert len(pdfs) == 3 * len(PROFILES) + 1 + 2 + 2 * 2
    for pdf in pdfs:
        problems += [f"{pdf.relative_to(out).parent}/{p}" for p in font_problems(pdf)]
    assert not problems, "\n".join(problems)


# A roster's names add the fonts of the name packages the README installs: CM-Super (Cyrillic, SF*),
# the Greek cbfonts (gr*) and Arphic's GB song (gbsnu*); Vietnamese is Latin Modern's own T5.
NAME_FONTS = (*README_FONTS, "SF", "gr", "gbsnu")
ROSTER = {
    "s-pl": "Łukasz Wąsik", "s-cz": "Jiří Dvořák", "s-vi": "Nguyễn Thị Minh Khai", "s-ru": "Ольга Иванова",
    "s-zh": "王芳", "s-el": "Γιώργος Παπαδόπουλος", "s-tr": "Ayşe Yılmaz", "s-is": "Þóra Sigurðardóttir",
    "s-de": "Jürgen Großmann", "s-fr": "Cœur-Aimée Lefèvre", "s-ro": "Ana-Maria Ștefănescu Țîru",
    "s-tex": "O’Brien & {Smith}_1 ~50%", "s-emoji": "Smile 😀 Face",
}


def test_a_class_set_prints_every_name_as_written_in_vector_fonts(fresh_tex, capsys):
    """Names in Latin (Polish, Czech, Vietnamese, Turkish, Icelandic, German, French, Romanian's comma
    below), Cyrillic, Greek and Chinese: each exactly in the PDFs' text, in embedded Type 1 fonts, on a
    machine whose TeX has made no font yet (Debian makes Cyrillic metrics on first use); an emoji name is
    reported in one line and the student's id printed instead."""
    import unicodedata

    from derive.sheets.scripts import installed

    if not all(e in installed().coverage for e in ("T5", "T2A", "LGR")) or installed().cjk_metrics is None:
        pytest.skip("the name packages the README installs are not all installed")
    out = fresh_tex
    out.mkdir()
    roster = out / "roster.csv"
    roster.write_text("id,name\n" + "".join(f'{sid},"{name}"\n' for sid, name in ROSTER.items()), encoding="utf-8")
    assert main(["class", str(EXAMPLES / "ng-222.toml"), "--roster", str(roster), "--formats", "pdf",
                 "--out", str(out / "class")]) == 0
    printed = capsys.readouterr().out.splitlines()
    reports = [line for line in printed if "cannot be typeset" in line]
    assert reports == ["ng-222: student s-emoji: name 'Smile 😀 Face' cannot be typeset by this TeX installation "
                       "(no font for U+1F600); the sheets print the id s-emoji in its place"]
    folder = out / "class" / "ng-222" / "class"
    for pdf in (folder / "exercises.pdf", folder / "answers.pdf"):
        assert font_problems(pdf, NAME_FONTS) == []
        fonts = {f["name"].split("+")[-1] for f in pdf_fonts(pdf)}
        assert {"SFRM1000", "grmn1000"} <= fonts and any(f.startswith("gbsnu") for f in fonts)
        text = unicodedata.normalize("NFC", subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                                            check=True, timeout=60, stdin=subprocess.DEVNULL).stdout)
        for sid, name in ROSTER.items():
            if sid != "s-emoji":
                assert unicodedata.normalize("NFC", name) in text, (pdf.name, name)
        assert "Smile" not in text and "s-emoji" in text
    # The Cyrillic metrics TeX made went to derive's own cache, not into the (empty) TEXMFVAR.
    import os

    assert list((out.parent / "fresh" / "xdg_cache_home" / "derive" / "texfonts").rglob("larm1000.tfm"))
    assert not any(Path(os.environ["TEXMFVAR"]).rglob("*.tfm"))
