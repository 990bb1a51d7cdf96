"""derive build: the main job, on the bundled examples and on a single spec."""
import json
import time

import pytest

from derive.cli import main

from conftest import EXAMPLES


def test_build_writes_every_artefact_and_the_same_bytes_twice(tmp_path, capsys):
    out = tmp_path / "out"
    spec = str(EXAMPLES / "mazur-222.toml")
    assert main(["build", spec, "--out", str(out), "--no-pdf"]) == 0
    folder = out / "mazur-222"
    names = {"gradients.py", "answers.json", "handout.tex", "exercises.tex", "answers.tex"}
    assert names <= {p.name for p in folder.iterdir()}
    first = {n: (folder / n).read_bytes() for n in names}
    assert json.loads(first["answers.json"])["loss"] == pytest.approx(0.298371109, abs=1e-9)
    assert "PDFs skipped" in capsys.readouterr().out
    # Forced rebuild in a fresh folder: byte-identical .tex and .py.
    other = tmp_path / "again"
    assert main(["build", spec, "--out", str(other), "--no-pdf"]) == 0
    assert {n: (other / "mazur-222" / n).read_bytes() for n in names} == first


def test_a_second_build_with_nothing_changed_is_skipped(tmp_path, capsys):
    out = tmp_path / "out"
    spec = str(EXAMPLES / "toy-111.toml")
    assert main(["build", spec, "--out", str(out), "--no-pdf"]) == 0
    capsys.readouterr()
    assert main(["build", spec, "--out", str(out), "--no-pdf"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_a_bad_spec_among_good_ones_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[network]\nlayers = [2, 2]\nactivation = "softmax"\nloss = "bce"\n')
    out = tmp_path / "out"
    assert main(["build", str(EXAMPLES / "toy-111.toml"), str(bad), "--out", str(out), "--no-pdf"]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "network.loss" in err


def test_every_bundled_example_builds(tmp_path, examples_dir):
    out = tmp_path / "out"
    assert main(["build", "--out", str(out), "--no-pdf"]) == 0
    for spec in examples_dir.glob("*.toml"):
        folder = out / spec.stem
        assert (folder / "gradients.py").is_file() and (folder / "handout.tex").is_file()
        assert "the sum over its paths equals its $\\delta$ form" in (folder / "handout.tex").read_text()


def test_a_template_that_breaks_latex_names_the_document_and_writes_nothing(tmp_path, capsys):
    from derive.latex import have_latex
    from conftest import ROOT
    import shutil

    if not have_latex():
        pytest.skip("no pdflatex")
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    handout = templates / "handout.tex.j2"
    handout.write_text(handout.read_text().replace("((* block body *))", "((* block body *))\\undefinedcommand", 1))
    out = tmp_path / "out"
    code = main(["build", str(EXAMPLES / "toy-111.toml"), "--out", str(out), "--templates", str(templates)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{out / 'toy-111' / 'handout.tex'}: LaTeX failed" in err and "Undefined control sequence" in err
    assert not (out / "toy-111" / "handout.pdf").exists() and not (out / "toy-111" / "gradients.py").exists()
