"""Compiling the worksheets: no LaTeX errors, no overfull boxes, pages that are not blank, safe failure."""
from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_worksheets import NET_222, NET_231, VALUES_222, build

from derive.errors import LatexError
from derive.sheets.latex import compile_pdf, compile_with_log, have_latex, log_excerpt, overfull_boxes
from derive.sheets.render import render_worksheets

needs_latex = pytest.mark.skipif(not have_latex(), reason="pdflatex is not installed")


def png_ink(path: Path) -> float:
    """Fraction of non-white pixels in an 8-bit RGB/gray PNG, decoded with the standard library."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    channels = {0: 1, 2: 3, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    ink = 0
    for row in range(height):
        f = raw[row * (stride + 1)]
        line = bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        ink += sum(1 for v in line[::channels] if v < 200)
        prev = line
    return ink / (width * height)


CASES = [(net, profile) for net in ("222", "231") for profile in ("ng", "nielsen", "welch")]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """Render and compile all three documents for both nets in all profiles, in parallel."""
    if not have_latex():
        pytest.skip("pdflatex is not installed")
    root = tmp_path_factory.mktemp("pdf")
    jobs = []
    for net, profile in CASES:
        d, numbers = build(NET_222 + VALUES_222 if net == "222" else NET_231)
        for name, tex in render_worksheets(d, numbers, profile).items():
            path = root / f"{net}-{profile}-{name}"
            path.write_text(tex)
            jobs.append(path)

    def one(path):
        try:
            return path, compile_with_log(path, timeout=120), None
        except LatexError as exc:
            return path, None, exc

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, jobs))


@needs_latex
def test_all_documents_compile_without_overfull_boxes(compiled):
    assert len(compiled) == 18
    for path, result, error in compiled:
        assert error is None, f"{path.name}: {error}"
        pdf, log = result
        assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")
        assert not overfull_boxes(log, 10.0), f"{path.name}: {overfull_boxes(log, 10.0)}"


@needs_latex
@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm is not installed")
def test_first_page_is_not_blank(compiled, tmp_path):
    path, result, error = next(c for c in compiled if c[0].name == "222-ng-handout.tex")
    assert error is None
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(result[0]), str(tmp_path / "page")],
                   check=True, stdin=subprocess.DEVNULL, timeout=60)
    png = next(tmp_path.glob("page*.png"))
    assert png_ink(png) > 0.005


@needs_latex
def test_failure_leaves_no_pdf_and_reports_the_log(tmp_path):
    tex = tmp_path / "broken.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\\undefinedmacro\\end{document}\n")
    with pytest.raises(LatexError) as info:
        compile_pdf(tex, timeout=60)
    assert "Undefined control sequence" in str(info.value)
    assert not (tmp_path / "broken.pdf").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["broken.tex"]


@needs_latex
def test_no_shell_escape_and_paranoid_reads(tmp_path):
    tex = tmp_path / "evil.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\\immediate\\write18{touch pwned}"
                   "\\openin1=/etc/hostname \\ifeof1 closed\\else open\\fi\\end{document}\n")
    compile_pdf(tex, timeout=60)
    assert (tmp_path / "evil.pdf").exists()
    assert not (tmp_path / "pwned").exists()


def test_log_excerpt_keeps_error_lines():
    log = "noise\n! Undefined control sequence.\nl.3 \\foo\n\nmore\nnoise\n"
    assert log_excerpt(log).splitlines()[:2] == ["! Undefined control sequence.", "l.3 \\foo"]


def test_overfull_parse():
    log = "Overfull \\hbox (12.5pt too wide) in paragraph at lines 1--2\nOverfull \\hbox (3.0pt too wide) detected at line 9\n"
    assert overfull_boxes(log, 10.0) == ["Overfull \\hbox (12.5pt too wide) in paragraph at lines 1--2"]


# ---------------------------------------------------------------------------------------------
# Every bundled example in every profile, and the networks that stress the layout

import os
import re

from conftest import EXAMPLES, spec_text

from derive.engine.spec import load_spec, parse_spec
from derive.notation.names import PROFILES
from derive.sheets.latex import unicode_errors

# An overfull \hbox of w pt sticks w pt past the right edge of the text block into the 2 cm margin.
# Below 1 pt (0.35 mm, under a pixel at 72 dpi) it is invisible and TeX reports such boxes for
# harmless reasons; anything above that is a formula visibly running out of the text block, on its
# way off the page, and every bundled document is clean at this level, so keep it strict.
OVERFULL_LIMIT_PT = 1.0
MAX_PAGES = 15  # "representative paths only": even the 8-16-16-4 handout must stay a handout

STRESS = {
    "skip-2321": spec_text([2, 3, 2, 1], activation=["tanh", "tanh", "sigmoid"], skip=[[0, 2], [1, 3]], name="skip-2321"),
    "softmax-343": spec_text([3, 4, 3], activation=["sigmoid", "softmax"], loss="cross_entropy_mean", name="softmax-343"),
    "relu-2331": spec_text([2, 3, 3, 1], activation=["relu", "relu", "identity"], name="relu-2331"),
    "wide-8-16-16-4": spec_text([8, 16, 16, 4], name="wide-8-16-16-4"),
}


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    """All three documents of every bundled example and every stress network in every profile,
    compiled in parallel (one pdflatex pass each: the worksheets have no cross-references)."""
    if not have_latex():
        pytest.skip("pdflatex is not installed")
    from derive.engine.derivation import derive
    from derive.engine.network import build_network
    from derive.numbers.answers import compute_answers

    root = tmp_path_factory.mktemp("every")
    specs = [(p.stem, load_spec(p)) for p in sorted(EXAMPLES.glob("*.toml"))]
    specs += [(name, parse_spec(text)) for name, text in STRESS.items()]
    jobs = []
    for name, spec in specs:
        d = derive(build_network(spec))
        numbers = compute_answers(d) if spec.values is not None else None
        for profile in sorted(PROFILES):
            for doc, tex in render_worksheets(d, numbers, profile).items():
                path = root / f"{name}-{profile}-{doc}"
                path.write_text(tex)
                jobs.append((name, path))

    def one(job):
        name, path = job
        try:
            return name, path, compile_with_log(path, timeout=120, single_pass=True), None
        except LatexError as exc:
            return name, path, None, exc

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(one, jobs))


@needs_latex
def test_every_example_in_every_profile_compiles_cleanly(everything):
    examples = [r for r in everything if r[0] not in STRESS]
    per_spec = 3 * len(PROFILES)  # three documents in every profile
    assert len(examples) == 9 * per_spec and len(everything) == (9 + len(STRESS)) * per_spec
    problems = []
    for name, path, result, error in everything:
        tex = path.read_text()
        # A literal δ or θ in a Python string once broke classification-231: pdflatex refuses it.
        # A stray tab (a "\t" in a non-raw Python string) once turned \times into "imes".
        bad = sorted({ch for ch in tex if ord(ch) > 127 or (ord(ch) < 32 and ch != "\n")})
        if bad:
            problems.append(f"{path.name}: non-ASCII characters {bad}")
        if error is not None:
            problems.append(f"{path.name}: {error}")
            continue
        pdf, log = result
        if not pdf.read_bytes().startswith(b"%PDF"):
            problems.append(f"{path.name}: no PDF")
        problems += [f"{path.name}: {line}" for line in unicode_errors(log)]
        problems += [f"{path.name}: {line}" for line in overfull_boxes(log, OVERFULL_LIMIT_PT)]
        pages = re.search(r"Output written on \S+ \((\d+) pages?", log)
        if not pages or int(pages.group(1)) > MAX_PAGES:
            problems.append(f"{path.name}: {pages.group(0) if pages else 'no page count'}")
    assert not problems, "\n".join(problems)


@needs_latex
def test_wide_handout_shows_representatives_only(everything):
    path = next(p for n, p, _, _ in everything if p.name == "wide-8-16-16-4-ng-handout.tex")
    tex = path.read_text()
    assert "only the representative parameters" in tex
    assert r"\vdots" in tex  # a 16-unit layer is drawn as a few units and an ellipsis
    assert r"\cdots" in tex  # and a 16-term z as its first terms, \cdots and its last
    assert r"(n1-8)" not in tex


def test_unicode_error_parse():
    log = "! LaTeX Error: Unicode character δ (U+03B4)\nnot set up for use with LaTeX.\n"
    assert len(unicode_errors(log)) == 2
