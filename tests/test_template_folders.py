"""A template folder is read as templates, not as a disk: the build key hashes only what a template
may read (template_files), in bounded chunks, and a folder that cannot be a template folder is refused
in one line before any work (issue 22: `--templates /usr` took 46 s and 319 MB, a 3 GB sparse file
gave a MemoryError)."""
import os
import shutil

import pytest
from conftest import EXAMPLES, ROOT

from derive.cli import main
from derive.errors import TemplateError
from derive.sheets import template_files as tf


def copied_templates(tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", folder)
    return folder


def build(tmp_path, folder):
    out = tmp_path / "out"
    return main(["build", str(EXAMPLES / "toy-111.toml"), "--out", str(out), "--no-pdf", "--templates", str(folder)]), out


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_folder_with_more_names_than_a_template_folder_has_is_refused_after_a_bounded_look(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tf, "MAX_ENTRIES", 40)
    folder = copied_templates(tmp_path)
    for i in range(50):
        (folder / f"data{i}.bin").write_bytes(b"x")
    code, out = build(tmp_path, folder)
    assert code == 2 and "holds more than 40 files and folders" in error_line(capsys) and not out.exists()


def test_a_huge_sparse_file_that_no_template_can_read_costs_nothing(tmp_path, capsys):
    folder = copied_templates(tmp_path)
    with open(folder / "disk.img", "wb") as handle:
        handle.truncate(3 << 30)  # 3 GB, sparse: the old key read it whole
    code, out = build(tmp_path, folder)
    assert code == 0 and (out / "toy-111" / "handout.tex").is_file()


def test_a_huge_file_with_a_templates_name_is_refused_not_read(tmp_path, capsys):
    folder = copied_templates(tmp_path)
    with open(folder / "macros.tex", "wb") as handle:
        handle.truncate(3 << 30)
    code, out = build(tmp_path, folder)
    err = error_line(capsys)
    assert code == 2 and "macros.tex: is 3221225472 bytes; a template or an include is at most" in err and not out.exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_with_a_templates_name_is_refused_without_waiting_for_a_writer(tmp_path, capsys):
    folder = copied_templates(tmp_path)
    os.mkfifo(folder / "extra.txt")
    code, out = build(tmp_path, folder)
    assert code == 2 and "extra.txt: is not a regular file" in error_line(capsys) and not out.exists()


def test_a_template_may_include_only_files_with_a_templates_name(tmp_path, capsys):
    folder = copied_templates(tmp_path)
    page = folder / "handout.tex.j2"
    page.write_text(page.read_text().replace("((* block body *))", "((* block body *))((* include 'notes.bin' *))", 1))
    (folder / "notes.bin").write_text("not hashed, so never read")
    code, out = build(tmp_path, folder)
    assert code == 2 and "notes.bin: a template may extend or include only files of its own folder named" in error_line(capsys)


def test_the_key_hashes_exactly_the_files_a_template_may_read(tmp_path):
    folder = copied_templates(tmp_path)
    (folder / "sub").mkdir()
    (folder / "sub" / "macros.tex").write_text("a")
    (folder / "photo.png").write_bytes(b"b")
    names = [name for name, _ in tf.template_files(folder)]
    assert "sub/macros.tex" in names and "photo.png" not in names and "handout.tex.j2" in names
    before = tf.folder_digest(folder)
    (folder / "photo.png").write_bytes(b"c")
    assert tf.folder_digest(folder) == before
    (folder / "sub" / "macros.tex").write_text("d")
    assert tf.folder_digest(folder) != before


def test_a_file_is_hashed_in_chunks_and_never_past_its_limit(tmp_path, monkeypatch):
    path = tmp_path / "big.tex"
    path.write_bytes(b"y" * (3 * tf.CHUNK + 5))
    import hashlib
    assert tf.file_digest(path, limit=4 * tf.CHUNK) == hashlib.sha256(path.read_bytes()).digest()
    with pytest.raises(TemplateError, match="is larger than"):
        tf.file_digest(path, limit=2 * tf.CHUNK)


def test_the_key_functions_import_neither_sympy_nor_numpy():
    import subprocess
    import sys
    code = ("import sys; from derive.sheets.template_files import folder_digest; from derive.version import code_digest; "
            f"folder_digest(__import__('pathlib').Path({str(ROOT / 'templates')!r})); code_digest(); "
            "print(sorted(m for m in ('sympy', 'numpy', 'jinja2') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
