"""A template folder from someone else cannot run code or read files (docs/guarantees.md's trust model).

Jinja2 renders every template in its sandbox; TeX compiles in a Landlock sandbox that can read only
the TeX installation and its scratch folder, so pdfTeX's file-reading primitives that ignore
`openin_any` (`\\pdfobj file`, `\\pdfximage`, `\\pdffiledump`) find nothing to read.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import EXAMPLES, ROOT

from derive.cli import main
from derive.errors import LatexError
from derive.sheets import latex
from derive.sheets.latex import compile_pdf, have_latex, sandbox_available

needs_latex = pytest.mark.skipif(not have_latex(), reason="pdflatex is not installed")
needs_sandbox = pytest.mark.skipif(not sandbox_available(), reason="the kernel has no Landlock (Linux 5.13+)")


def templates_with(tmp_path: Path, text: str, name: str = "handout.tex.j2") -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", folder)
    page = folder / name
    page.write_text(page.read_text().replace("((* block body *))", "((* block body *))\n" + text, 1))
    return folder


@pytest.mark.parametrize("attack", [
    "((( cycler.__init__.__globals__.os.popen('touch {marker}').read() )))",
    "((( lipsum.__globals__['os'].popen('touch {marker}').read() )))",
    "((( joiner.__init__.__globals__['__builtins__']['open']('{marker}', 'w') )))",
    "((( ''.__class__.__mro__[1].__subclasses__() )))",
    "((( namespace.__init__.__globals__ )))",
    "((( range.__self__ )))",
], ids=["cycler-globals", "lipsum-globals", "joiner-builtins", "str-subclasses", "namespace-globals", "range-self"])
def test_a_template_cannot_run_python(tmp_path, capsys, attack):
    marker = tmp_path / "pwned"
    folder = templates_with(tmp_path, attack.format(marker=marker))
    out = tmp_path / "out"
    code = main(["build", str(EXAMPLES / "toy-111.toml"), str(EXAMPLES / "mazur-222.toml"), "--out", str(out), "--no-pdf",
                 "--templates", str(folder)])
    err = capsys.readouterr().err
    assert code == 2
    assert not marker.exists()
    assert err.count("\n") == 1 and "Traceback" not in err, err  # one line, once, for both specs
    line = 1 + (folder / "handout.tex.j2").read_text().split("\n").index(attack.format(marker=marker))
    assert err.startswith(f"derive: error: {folder / 'handout.tex.j2'}:{line}: "), err
    assert "unsafe" in err or "undefined" in err or "has no attribute" in err
    assert not out.exists()  # nothing written


def test_a_template_cannot_read_through_a_symlink_out_of_its_folder(tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET")
    folder = templates_with(tmp_path, "((* include 'leak.txt' *))")
    (folder / "leak.txt").symlink_to(secret)
    out = tmp_path / "out"
    assert main(["build", str(EXAMPLES / "toy-111.toml"), "--out", str(out), "--no-pdf", "--templates", str(folder)]) == 2
    assert "leak.txt" in capsys.readouterr().err
    assert not out.exists()


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT-42\n")
    return secret


def _pdf_text(pdf: Path) -> bytes:
    import re
    import zlib

    data = pdf.read_bytes()
    text = data
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            text += zlib.decompress(m.group(1))
        except zlib.error:
            pass
    return text


READS = {
    "pdfobj-file": "\\immediate\\pdfobj file {{{path}}}\\pdfrefobj\\pdflastobj",
    "pdffiledump": "\\edef\\leak{{\\pdffiledump length 17 {{{path}}}}}\\message{{LEAK[\\leak]}}\\leak",
    "openin": "\\newread\\r\\openin\\r={path} \\ifeof\\r\\else\\read\\r to\\leak \\message{{LEAK[\\leak]}}\\leak\\fi",
    "input-absolute": "\\input{{{path}}}",
}


@needs_latex
@needs_sandbox
@pytest.mark.parametrize("primitive", sorted(READS))
def test_tex_cannot_read_a_file_outside_its_folder(tmp_path, primitive):
    secret = _secret(tmp_path)
    tex = tmp_path / "work" / "attack.tex"
    tex.parent.mkdir()
    tex.write_text("\\documentclass{article}\\begin{document}\n" + READS[primitive].format(path=secret)
                   + "\nx\\end{document}\n")
    try:
        pdf = compile_pdf(tex, timeout=60, trusted=False)
    except LatexError as exc:
        assert "SECRET" not in str(exc)
        return
    assert b"SECRET-CONTENT" not in _pdf_text(pdf)
    assert b"534543524554" not in _pdf_text(pdf)  # nor as the hex \pdffiledump gives


@needs_latex
@needs_sandbox
def test_pdfximage_cannot_embed_an_outside_pdf(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    source = outside / "secret.tex"
    source.write_text("\\documentclass{article}\\begin{document}SECRETPAGE\\end{document}\n")
    secret_pdf = compile_pdf(source, timeout=60)  # a real PDF, readable by derive, outside the sandbox
    tex = tmp_path / "attack.tex"
    tex.write_text("\\documentclass{article}\\begin{document}\\pdfximage{" + str(secret_pdf)
                   + "}\\pdfrefximage\\pdflastximage\\end{document}\n")
    with pytest.raises(LatexError, match="Permission denied|cannot open|cannot find"):
        compile_pdf(tex, timeout=60, trusted=False)


@needs_latex
def test_without_the_sandbox_the_attack_works_and_untrusted_text_is_refused(tmp_path, monkeypatch):
    """The reason for the sandbox: openin_any=p alone lets \\pdfobj file read any file."""
    secret = _secret(tmp_path)
    tex = tmp_path / "work" / "attack.tex"
    tex.parent.mkdir()
    tex.write_text("\\documentclass{article}\\begin{document}\n" + READS["pdfobj-file"].format(path=secret)
                   + "\nx\\end{document}\n")
    monkeypatch.setattr(latex, "_landlock_abi", 0)  # as on a kernel without Landlock
    assert b"SECRET-CONTENT" in _pdf_text(compile_pdf(tex, timeout=60, trusted=True))
    tex.with_suffix(".pdf").unlink()
    with pytest.raises(LatexError, match="not compiled: it comes from a template folder that is not derive's own"):
        compile_pdf(tex, timeout=60, trusted=False)
    assert not tex.with_suffix(".pdf").exists()


@needs_latex
@needs_sandbox
def test_a_template_folder_reading_a_file_fails_the_build_in_the_sandbox(tmp_path, capsys):
    secret = _secret(tmp_path)
    folder = templates_with(tmp_path, READS["pdfobj-file"].format(path=secret))
    out = tmp_path / "out"
    assert main(["build", str(EXAMPLES / "toy-111.toml"), "--out", str(out), "--templates", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{out / 'toy-111' / 'handout.tex'}: LaTeX failed" in err and "Permission denied" in err
    assert "SECRET" not in err
    assert not (out / "toy-111").exists()


def test_without_the_sandbox_a_template_folder_gets_its_tex_but_no_pdf(tmp_path, capsys, monkeypatch):
    import derive.builder

    monkeypatch.setattr(derive.builder, "sandbox_available", lambda: False)
    monkeypatch.setattr(derive.builder, "have_latex", lambda: True)
    monkeypatch.setattr(derive.builder, "compile_text", lambda *a, **k: pytest.fail("must not compile"))
    folder = templates_with(tmp_path, "")
    out = tmp_path / "out"
    assert main(["build", str(EXAMPLES / "toy-111.toml"), "--out", str(out), "--templates", str(folder)]) == 0
    assert "no Landlock sandbox" in capsys.readouterr().out
    assert (out / "toy-111" / "handout.tex").is_file() and not list((out / "toy-111").glob("*.pdf"))
