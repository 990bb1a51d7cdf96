"""Students' names in their own scripts: which font encoding sets each word, read from the TeX installation.

The class set's PDFs themselves (every name in the text, Type 1 fonts, a fresh font cache) are checked
in test_fonts.py; here the choice of encodings, checked against the installed .dfu files independently
of derive's reading of them, and what happens on a machine that lacks a script's packages.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata

import pytest

from derive.classset import documents
from derive.classset.roster import Student
from derive.sheets import scripts

pytestmark = pytest.mark.skipif(shutil.which("kpsewhich") is None, reason="TeX Live (kpsewhich) is not installed")

NAMES = {
    "Łukasz Wąsik": {"T1"}, "Jiří Dvořák": {"T1"}, "Ayşe Yılmaz": {"T1"}, "Þóra Sigurðardóttir": {"T1"},
    "Jürgen Großmann": {"T1"}, "Cœur Lefèvre": {"T1"}, "Ana-Maria Ștefănescu Țîru": {"T1"},
    "Nguyễn Thị Minh Khai": {"T5", "T1"}, "Ольга Иванова": {"T2A", "T1"}, "Γιώργος Παπαδόπουλος": {"LGR", "T1"},
    "王芳": {"CJK"},
}


def needs(*encodings):
    have = scripts.installed()
    missing = [e for e in encodings if (e == "CJK" and have.cjk_metrics is None) or (e != "CJK" and e not in have.coverage)]
    return pytest.mark.skipif(bool(missing), reason=f"TeX Live here has no {', '.join(missing)}")


def dfu_characters(encoding: str) -> set[str]:
    """The characters an encoding's .dfu declares, read here without derive's reader."""
    path = subprocess.run(["kpsewhich", f"{encoding.lower()}enc.dfu"], capture_output=True, text=True).stdout.strip()
    with open(path, encoding="utf-8", errors="replace") as f:
        return {chr(int(code, 16)) for code in re.findall(r"\\DeclareUnicodeCharacter\{([0-9A-F]+)\}", f.read())}


@needs("T5", "T2A", "LGR", "CJK")
@pytest.mark.parametrize("name", NAMES)
def test_each_word_goes_into_an_encoding_that_spells_every_letter_of_it(name):
    runs = scripts.runs(name)
    assert runs is not None and "".join(piece for _, piece in runs) == unicodedata.normalize("NFC", name)
    assert {e for e, piece in runs if piece.strip()} | {"T1"} == NAMES[name] | {"T1"}
    for encoding, piece in runs:
        if encoding == "CJK":
            continue
        declared = dfu_characters(encoding)
        assert all(" " <= ch <= "~" or ch in declared for ch in piece if encoding != "LGR"), (name, encoding, piece)
        if encoding == "LGR":  # LGR's ASCII positions hold Greek letters: only Greek goes in
            assert all(ch in declared and not ch.isascii() for ch in piece), (name, piece)


@needs("LGR")
def test_a_latin_letter_or_hyphen_never_goes_into_a_greek_run():
    runs = scripts.runs("Γιώργος-Andreas Νικολάου (2)")
    assert runs == [("LGR", "Γιώργος"), ("T1", "-Andreas "), ("LGR", "Νικολάου"), ("T1", " (2)")]


@needs("T2A")
def test_a_word_in_one_encoding_is_set_whole_and_specials_are_escaped():
    tex = scripts.latex_text("Ольга O’Brien & {x}_1")
    assert r"\deriverun{T2A}{cmr}{Ольга}" in tex and r"\deriverun{T1}{}{ O'Brien \& \{x\}\_1}" in tex
    # the name as written, for searching and copying, whatever glyphs set it
    assert "FEFF" + "Ольга O’Brien & {x}_1".encode("utf-16-be").hex().upper() in tex


@needs("CJK")
def test_han_prints_only_where_the_chinese_font_has_the_glyph():
    assert scripts.runs("王芳") == [("CJK", "王芳")]
    assert scripts.unprintable("東京 太郎") == ["東"]  # traditional/Japanese 東 is not in GB 2312 (its 东 is)
    assert scripts.unprintable("김민준") == ["김", "민", "준"]  # no Korean font


def test_a_character_no_font_has_makes_the_name_unprintable():
    assert scripts.runs("Smile 😀 Face") is None
    assert scripts.unprintable("Smile 😀 Face") == ["😀"]
    assert scripts.latex_text("Smile 😀 Face") is None


@pytest.fixture
def latin_only(monkeypatch):
    """A TeX Live without texlive-lang-* or CJK: kpsewhich finds only the base encodings' files."""
    real = scripts._kpsewhich

    def base_only(names):
        return {n: p for n, p in real(names).items() if not n.startswith(("t5", "t2a", "lgr", "CJK", "c70", "gbsn"))}

    scripts.installed.cache_clear()
    monkeypatch.setattr(scripts, "_kpsewhich", base_only)
    yield scripts.installed()
    scripts.installed.cache_clear()


def test_without_the_name_packages_latin_names_print_and_the_others_are_reported(latin_only):
    assert set(latin_only.coverage) == {"T1"} and latin_only.cjk_metrics is None
    students = [Student("s1", "Łukasz Wąsik"), Student("s2", "Ольга Иванова"), Student("s3", "王芳"), Student("s4")]
    lines = documents.unprintable_names(students)
    assert lines == [
        "student s2: name 'Ольга Иванова' cannot be typeset by this TeX installation (no font for U+0418, U+041E, "
        "U+0430, U+0432, U+0433, U+043B, U+043D, U+043E and 1 more); the sheets print the id s2 in its place",
        "student s3: name '王芳' cannot be typeset by this TeX installation (no font for U+738B, U+82B3); "
        "the sheets print the id s3 in its place"]
    assert documents.student_heading(students[1]) == r"\texttt{s2}"
    assert r"\deriverun{T1}{}{Łukasz Wąsik}" in documents.student_heading(students[0])
    sheet = "\\documentclass{article}\n\\begin{document}\nbody\n\\end{document}\n"
    tex = documents.combined_document(students, [sheet] * len(students))
    assert "T2A" not in tex and "CJKutf8" not in tex  # nothing this TeX lacks is asked for
