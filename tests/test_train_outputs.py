"""`derive train`'s files come from one run (issue 22): under --no-pdf an earlier training.pdf made from
other settings is removed (it said η = 0.1 and 50 epochs beside a JSON of 3 epochs at 0.9), one that
still shows this run stays; killed at any write point and run again, the folder is a fresh run's.
The PDF is faked (a digest of the report's text) so that this runs without TeX."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from killing import killed_at
from test_train import ONE_HOT7, _spec

import derive.training.output as train_output
from derive import outputs
from derive.cli import main


@pytest.fixture
def fake_latex(monkeypatch):
    def compile_pdf(tex: Path) -> Path:
        pdf = tex.with_suffix(".pdf")
        pdf.write_bytes(b"%PDF-fake " + hashlib.sha256(tex.read_bytes()).hexdigest().encode())
        return pdf

    monkeypatch.setattr(train_output, "have_latex", lambda: True)
    monkeypatch.setattr(train_output, "compile_pdf", compile_pdf)
    monkeypatch.setattr(os, "fsync", lambda fd: None)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.name != outputs.MANIFEST}


def train(spec, out, *options) -> int:
    return main(["train", str(spec), "--out", str(out), *options])


def test_the_issues_example_epochs_50_then_3_at_another_rate_without_pdf(tmp_path, fake_latex, capsys):
    spec = _spec(tmp_path, ["tanh", "softmax"], "cross_entropy_mean", ONE_HOT7)
    out = tmp_path / "out"
    assert train(spec, out, "--epochs", "50") == 0
    assert (out / "t" / "training.pdf").is_file()
    assert train(spec, out, "--epochs", "3", "--lr", "0.9", "--no-pdf") == 0
    assert sorted(files_of(out / "t")) == ["training.json"]
    assert '"epochs": 3' in (out / "t" / "training.json").read_text()


def test_a_pdf_that_still_shows_this_run_stays_under_no_pdf(tmp_path, fake_latex):
    spec = _spec(tmp_path, ["tanh", "softmax"], "cross_entropy_mean", ONE_HOT7)
    out = tmp_path / "out"
    assert train(spec, out, "--epochs", "5") == 0
    before = files_of(out / "t")
    assert train(spec, out, "--epochs", "5", "--no-pdf") == 0
    assert files_of(out / "t") == before
    assert main(["build", str(spec), "--out", str(out), "--no-pdf"]) == 0
    assert files_of(out / "t")["training.pdf"] == before["training.pdf"]  # a build leaves the training files alone


def test_a_person_edited_pdf_is_not_removed(tmp_path, fake_latex):
    spec = _spec(tmp_path, ["tanh", "softmax"], "cross_entropy_mean", ONE_HOT7)
    out = tmp_path / "out"
    assert train(spec, out, "--epochs", "5") == 0
    (out / "t" / "training.pdf").write_bytes(b"annotated by hand")
    assert train(spec, out, "--epochs", "3", "--no-pdf") == 0
    assert (out / "t" / "training.pdf").read_bytes() == b"annotated by hand"



def test_killed_at_every_write_point_then_run_again_is_a_fresh_run(tmp_path, fake_latex, monkeypatch):
    spec = _spec(tmp_path, ["tanh", "softmax"], "cross_entropy_mean", ONE_HOT7)
    first, final = ("--epochs", "50"), ("--epochs", "3", "--lr", "0.9", "--no-pdf")
    pristine = tmp_path / "pristine"
    assert main(["build", str(spec), "--out", str(pristine), "--no-pdf"]) == 0 and train(spec, pristine, *first) == 0
    want = tmp_path / "want"
    assert main(["build", str(spec), "--out", str(want), "--no-pdf"]) == 0 and train(spec, want, *final) == 0
    points = []
    shutil.copytree(pristine, tmp_path / "count")
    monkeypatch.setattr(outputs, "_checkpoint", lambda step, path: points.append(step))
    assert train(spec, tmp_path / "count", *final) == 0
    assert len(points) >= 5
    for kill_at in range(len(points)):
        out = tmp_path / f"run{kill_at}"
        shutil.copytree(pristine, out)
        killed_at(monkeypatch, kill_at, train, spec, out, *final)
        assert train(spec, out, *final) == 0
        assert files_of(out / "t") == files_of(want / "t"), kill_at
        assert set(outputs.read_manifest(out / "t")["files"]) == set(files_of(want / "t")), kill_at
        assert not list((out / "t").glob(".derive-tmp.*")), kill_at


UNSAFE = ("\x1b[2J", "\u202e", "\u2066", "\x07")


def test_messages_escape_the_out_folder_the_user_typed(tmp_path, fake_latex, capsys):
    spec = _spec(tmp_path, ["tanh", "softmax"], "cross_entropy_mean", ONE_HOT7)
    out = tmp_path / ("o" + "".join(UNSAFE))
    assert train(spec, out, "--epochs", "2") == 0
    assert train(spec, out, "--epochs", "2", "--json") == 0
    captured = capsys.readouterr()
    assert "\\u001b[2J\\u202e" in captured.out + captured.err
    assert not any(c in captured.out + captured.err for c in UNSAFE)
