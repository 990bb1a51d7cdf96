"""A bug in derive that one spec trips costs the other specs nothing (issue 19).

Before: a spec whose worked numbers raised decimal.InvalidOperation stopped `derive build` with a
traceback, and the valid specs after it were never written. Now any unexpected exception in one spec
is one line, `derive: error: FILE: internal error (Type: message); ...`, the other specs are built or
printed, and the exit status is 1. Ctrl-C and SIGTERM still stop everything (130, 143). The bug is
injected here by replacing one stage of the pipeline for one spec only.
"""
from __future__ import annotations

import json

import pytest
from conftest import spec_text

import derive.api
import derive.builder
from derive.cli import main

VALUES = "[values]\nx = [[0.5]]\ny = [[0.25]]\nW1 = [[0.3]]\nb1 = [0.1]\n"


def three_specs(tmp_path):
    """good-a, broken, good-b: the broken one in the middle, so the one after it is seen too."""
    paths = []
    for name in ("good-a", "broken", "good-b"):
        path = tmp_path / f"{name}.toml"
        path.write_text(spec_text([1, 1], name=name, extra=VALUES))
        paths.append(path)
    return paths


def broken_for(name, stage, exc=ValueError("cannot convert NaN to integer ratio")):
    """`stage`, raising `exc` for the spec named `name` (its first argument is the spec's derivation)."""
    def replaced(*args, **kwargs):
        first = args[0]
        spec = getattr(getattr(first, "network", None), "spec", None) or getattr(first, "spec", None)
        if spec is not None and spec.name == name or str(first).endswith(f"{name}.toml"):
            raise exc
        return stage(*args, **kwargs)
    return replaced


def internal_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "internal error" in line]


def test_a_build_writes_the_other_specs_and_reports_the_bug_in_one_line(tmp_path, monkeypatch, capsys):
    paths = three_specs(tmp_path)
    monkeypatch.setattr(derive.builder, "render_worksheets", broken_for("broken", derive.builder.render_worksheets))
    out = tmp_path / "out"
    assert main(["build", *map(str, paths), "--out", str(out), "--no-pdf"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert internal_lines(err) == [f"derive: error: {paths[1]}: internal error (ValueError: cannot convert NaN to integer "
                                   "ratio); this is a bug in derive, please report it with this spec file "
                                   "(DERIVE_TRACEBACK=1 shows where it happened)"]
    assert len(err.splitlines()) == 1
    for name in ("good-a", "good-b"):
        assert (out / name / "answers.tex").is_file(), name
    assert not (out / "broken").exists()  # nothing half-written


def test_a_bug_and_a_bad_spec_together_exit_2(tmp_path, monkeypatch, capsys):
    paths = three_specs(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(spec_text([1, 1], loss="no-such-loss", name="bad"))
    monkeypatch.setattr(derive.builder, "render_worksheets", broken_for("broken", derive.builder.render_worksheets))
    assert main(["build", *map(str, paths), str(bad), "--out", str(tmp_path / "out"), "--no-pdf", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(internal_lines(err)) == 1 and "bad.toml: network.loss" in err


def test_the_traceback_is_there_on_request(tmp_path, monkeypatch, capsys):
    paths = three_specs(tmp_path)
    monkeypatch.setattr(derive.builder, "render_worksheets", broken_for("broken", derive.builder.render_worksheets))
    monkeypatch.setenv("DERIVE_TRACEBACK", "1")
    assert main(["build", *map(str, paths), "--out", str(tmp_path / "out"), "--no-pdf", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "in replaced" in err


@pytest.mark.parametrize("command", [["answers"], ["answers", "--json"], ["check", "--no-proof"], ["paths"], ["paths", "--json"]])
def test_answers_check_and_paths_print_the_other_specs(tmp_path, monkeypatch, capsys, command):
    paths = three_specs(tmp_path)
    monkeypatch.setattr(derive.api, "load", broken_for("broken", derive.api.load))
    assert main([*command, *map(str, paths)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert len(internal_lines(captured.err)) == 1 and str(paths[1]) in captured.err
    if "--json" in command:
        assert set(json.loads(captured.out)) == {"good-a", "good-b"}
    else:
        assert "good-a" in captured.out and "good-b" in captured.out and "broken" not in captured.out


def test_a_bug_in_the_middle_of_a_command_is_caught_per_spec(tmp_path, monkeypatch, capsys):
    """Deeper than loading: the answers of one spec raise (as the saturated bce spec's worked numbers did)."""
    import derive.numbers.answers

    paths = three_specs(tmp_path)
    monkeypatch.setattr(derive.numbers.answers, "compute_answers", broken_for("broken", derive.numbers.answers.compute_answers))
    assert main(["answers", *map(str, paths)]) == 1
    captured = capsys.readouterr()
    assert len(internal_lines(captured.err)) == 1 and "good-b" in captured.out


def test_ctrl_c_still_stops_the_whole_build(tmp_path, monkeypatch, capsys):
    paths = three_specs(tmp_path)
    monkeypatch.setattr(derive.builder, "render_worksheets",
                        broken_for("broken", derive.builder.render_worksheets, KeyboardInterrupt()))
    out = tmp_path / "out"
    assert main(["build", *map(str, paths), "--out", str(out), "--no-pdf"]) == 130
    err = capsys.readouterr().err
    assert "derive: interrupted" in err and "internal error" not in err
    assert not (out / "good-b").exists()  # stopped, as asked


def test_sigterm_still_stops_the_whole_build(tmp_path, monkeypatch, capsys):
    from derive.cli import Terminated

    paths = three_specs(tmp_path)
    monkeypatch.setattr(derive.builder, "render_worksheets", broken_for("broken", derive.builder.render_worksheets, Terminated()))
    assert main(["build", *map(str, paths), "--out", str(tmp_path / "out"), "--no-pdf"]) == 143
    err = capsys.readouterr().err
    assert "derive: terminated" in err and "internal error" not in err


def test_a_bug_in_a_class_set_is_one_line(tmp_path, monkeypatch, capsys):
    import derive.classset.build

    spec = tmp_path / "cls.toml"
    spec.write_text(spec_text([1, 1], name="cls", extra=VALUES + "[variants]\nweights = [-1.0, 1.0]\n"))
    monkeypatch.setattr(derive.classset.build, "worked", broken_for("cls", derive.classset.build.worked))
    assert main(["class", str(spec), "--students", "2", "--out", str(tmp_path / "out"), "--no-pdf"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert err.startswith(f"derive: error: {spec}: internal error (ValueError: ")
    assert not (tmp_path / "out" / "cls").exists()
