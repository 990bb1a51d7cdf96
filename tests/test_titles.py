"""Titles keep their characters (Latin-1 accents, dashes, quotes) or are refused naming the ones the
sheets cannot typeset; a long unbreakable word breaks instead of running off the page."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import spec_text

from derive.cli import main
from derive.sheets.latex import compile_with_log, have_latex, overfull_boxes
from derive.sheets.texenv import LONG_WORD, escape_latex

needs_latex = pytest.mark.skipif(not have_latex(), reason="pdflatex is not installed")
LONG = "Backpropagation" * 11  # 165 letters without a space
ACCENTS = "Rétropropagation – «Œuvre» naïve: 5 € ≠ ¿qué?"  # ≠, €, Œ are outside Latin-1


def test_a_long_word_may_break_anywhere_and_short_ones_stay_whole():
    assert escape_latex("short words stay") == "short words stay"
    broken = escape_latex("x" * (LONG_WORD + 1))
    assert broken.count("\\allowbreak{}") == LONG_WORD
    assert escape_latex("a_b") == "a\\_b"


@pytest.mark.parametrize("title,shown", [
    ("Backprop 中文", "'中' (U+4E2D), '文' (U+6587)"),
    ("Gradients 😀", "'😀' (U+1F600)"),
    (ACCENTS, "'Œ' (U+0152), '€' (U+20AC), '≠' (U+2260)"),
])
def test_a_title_the_sheets_cannot_typeset_is_refused_naming_the_characters(tmp_path, capsys, title, shown):
    spec = tmp_path / "t.toml"
    spec.write_text(f'title = "{title}"\n' + spec_text([1, 1]))
    assert main(["paths", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"derive: error: {spec}: title: contains characters the worksheets cannot typeset")
    assert shown in err and err.count("\n") == 1


@needs_latex
def test_accents_are_kept_and_a_200_letter_title_stays_on_the_page(tmp_path, capsys):
    title = "Rétropropagation – «naïve» " + LONG
    spec = tmp_path / "t.toml"
    spec.write_text(f'title = "{title}"\n' + spec_text([1, 1], name="long-title"))
    out = tmp_path / "out"
    assert main(["build", str(spec), "--out", str(out), "--no-pdf"]) == 0
    tex = out / "long-title" / "handout.tex"
    pdf, log = compile_with_log(tex, timeout=120, single_pass=True)
    shutil.copy(pdf, tmp_path.parent / "long-title-handout.pdf")  # kept for a look (pdftoppm)
    assert not [line for line in overfull_boxes(log) if "title" in line or "lines 3" in line], overfull_boxes(log)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "Rétropropagation" in text and "naïve" in text  # (dashes and quotes need lmodern: issue 9)
        assert LONG in text.replace("\n", "").replace("-", "")
