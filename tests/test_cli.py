"""The command line, as a user meets it: derive paths / answers / check / build."""
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import EXAMPLES, ROOT

from derive.cli import main


def test_paths_json_for_the_222_network(capsys):
    assert main(["paths", str(EXAMPLES / "ng-222.toml"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["total_paths"], out["total_factors"]) == (12, 52)
    assert out["parameters"]["W1[0,1]"] == {"paths": 2, "factors": 10}
    assert out["parameters"]["W2[1,0]"] == {"paths": 1, "factors": 3}


def test_answers_json_has_every_section(capsys):
    assert main(["answers", str(EXAMPLES / "mazur-222.toml"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"loss", "forward", "delta", "gradients", "updated"} <= set(out)
    assert np.shape(out["gradients"]["W1"]) == (2, 2) and np.shape(out["gradients"]["b2"]) == (2,)
    assert np.shape(out["forward"]["a2"]) == (1, 2) and np.shape(out["delta"]["delta1"]) == (1, 2)


def test_answers_tables_are_readable(capsys):
    assert main(["answers", str(EXAMPLES / "welch-231.toml")]) == 0
    out = capsys.readouterr().out
    assert "J = 0.0133709" in out and "0.913529" in out


def test_check_passes_and_reports_differences(capsys):
    assert main(["check", str(EXAMPLES / "iris-423.toml")]) == 0
    out = capsys.readouterr().out
    assert "vs finite diff." in out and "MISMATCH" not in out and "path sum = δ form for 14 parameters" in out


def test_check_without_values_uses_seeded_random_values(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text('name = "s"\n[network]\nlayers = [3, 4, 2]\nactivation = ["relu", "softmax"]\nloss = "cross_entropy"\n')
    assert main(["check", str(spec)]) == 0
    assert "seeded random values" in capsys.readouterr().out


def test_a_bad_spec_is_one_line_and_exit_2(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "bad"\n[network]\nlayers = [2, 0, 1]\nactivation = "sigmoid"\nloss = "half_sse"\n')
    assert main(["paths", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "network.layers[1]" in err


def test_generated_module_imports_from_anywhere_and_needs_only_numpy(tmp_path):
    from derive.code.codegen import module_source
    from derive.engine.derivation import derive
    from derive.engine.network import build_network
    from derive.engine.spec import load_spec

    path = tmp_path / "gradients.py"
    path.write_text(module_source(derive(build_network(load_spec(EXAMPLES / "mazur-222.toml")))))
    code = ("import importlib.util, sys, numpy as np\n"
            f"spec = importlib.util.spec_from_file_location('g', {str(path)!r}); g = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(g)\n"
            "assert 'sympy' not in sys.modules and 'derive' not in sys.modules\n"
            "p = {'W1': np.array([[.15, .2], [.25, .3]]), 'b1': np.array([.35, .35]), 'W2': np.array([[.4, .45], [.5, .55]]), 'b2': np.array([.6, .6])}\n"
            "print(round(float(g.loss(p, [[.05, .1]], [[.01, .99]])), 9))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0.298371109"


def test_python_dash_m_works():
    out = subprocess.run([sys.executable, "-m", "derive", "paths", str(EXAMPLES / "toy-111.toml")],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and "2 paths, 8 factors" in out.stdout


def test_a_closed_pipe_is_not_a_traceback(tmp_path):
    """`derive answers SPEC | head -1`: the reader leaves early; derive stops quietly."""
    spec = tmp_path / "many.toml"  # 1,000 examples: far more output than a pipe buffers
    rows = ", ".join(f"[{i / 1000}, {1 - i / 1000}]" for i in range(1000))
    spec.write_text(f'name = "many"\n[network]\nlayers = [2, 3, 1]\nactivation = "sigmoid"\nloss = "half_sse"\n'
                    f"[values]\nx = [{rows}]\ny = [{', '.join('0.5' for _ in range(1000))}]\nseed = 1\n")
    proc = subprocess.Popen([sys.executable, "-m", "derive", "answers", str(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait()
    assert "Traceback" not in err and proc.returncode in (0, 141)


def test_version_and_a_bare_derive(capsys):
    import pytest

    from derive import __version__
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out == f"derive {__version__}\n"
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: derive") and all(c in err for c in ("build", "answers", "check", "paths", "--version"))


def test_every_argument_has_help():
    import argparse

    from derive.cli import make_parser

    parser = make_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(sub.choices) == {"build", "answers", "check", "paths", "train", "class"}
    for p in (parser, *sub.choices.values()):
        for action in p._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help and action.help != argparse.SUPPRESS, (p.prog, action.dest)
    for choice in sub._choices_actions:
        assert choice.help, choice.dest


def test_check_answers_and_paths_take_several_specs(capsys):
    toy, ng = str(EXAMPLES / "toy-111.toml"), str(EXAMPLES / "ng-222.toml")
    assert main(["check", toy, ng, "--no-proof"]) == 0
    out = capsys.readouterr().out
    assert "toy-111: checked on spec values" in out and "ng-222: checked on spec values" in out
    assert main(["answers", toy, ng, "--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert list(both) == ["toy-111", "ng-222"] and both["ng-222"]["network"] == "ng-222"
    assert main(["paths", toy, ng, "--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert both["ng-222"]["total_paths"] == 12 and both["toy-111"]["total_paths"] == 2
    assert main(["paths", toy, ng]) == 0
    assert "toy-111: 2 parameters" in (out := capsys.readouterr().out) and "ng-222: 8 parameters" in out


def test_one_bad_spec_costs_the_others_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[network]\nlayers = [2, 0, 1]\nactivation = "sigmoid"\nloss = "half_sse"\n')
    toy, ng = str(EXAMPLES / "toy-111.toml"), str(EXAMPLES / "ng-222.toml")
    assert main(["paths", toy, str(bad), ng, "--json"]) == 2
    captured = capsys.readouterr()
    assert list(json.loads(captured.out)) == ["toy-111", "ng-222"]
    assert captured.err.count("\n") == 1 and "bad.toml: network.layers[1]" in captured.err
    assert main(["answers", str(bad), toy]) == 2
    assert "toy-111: 1 example(s)" in capsys.readouterr().out
    assert main(["paths", toy, toy, "--json"]) == 2  # keyed by name: the second would hide the first
    assert "is also the name of another spec" in capsys.readouterr().err


def test_the_module_file_name_can_be_chosen(tmp_path, capsys):
    toy = EXAMPLES / "toy-111.toml"
    named = tmp_path / "named.toml"
    named.write_text(toy.read_text().replace('name = "toy-111"', 'name = "toy-two"\nmodule = "toy_two"'))
    out = tmp_path / "out"
    assert main(["build", "--no-pdf", "--out", str(out), "--module-name", "toy_one", str(toy)]) == 0
    assert main(["build", "--no-pdf", "--out", str(out), str(named), str(EXAMPLES / "ng-222.toml")]) == 0
    assert (out / "toy-111" / "toy_one.py").is_file() and not (out / "toy-111" / "gradients.py").exists()
    assert (out / "toy-two" / "toy_two.py").is_file() and (out / "ng-222" / "gradients.py").is_file()
    # both imported side by side, each by its own name
    script = ("import sys; sys.path[:0] = sys.argv[1:3]; import toy_one, toy_two;"
              "print(toy_one.__file__ != toy_two.__file__, toy_one.LAYERS == toy_two.LAYERS)")
    done = subprocess.run([sys.executable, "-c", script, str(out / "toy-111"), str(out / "toy-two")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.split() == ["True", "True"], done.stderr
    capsys.readouterr()
    for name in ("toy-one", "Toy", "1toy", "class", "numpy", "math", "", "a" * 65):
        assert main(["build", "--no-pdf", "--out", str(out), "--module-name", name, str(toy)]) == 2
        assert capsys.readouterr().err.startswith("derive: error: --module-name: ")
        named.write_text(toy.read_text().replace('name = "toy-111"', f'name = "toy-two"\nmodule = "{name}"'))
        assert main(["paths", str(named)]) == 2
        assert capsys.readouterr().err.startswith(f"derive: error: {named}: module: ")


def test_answers_tables_follow_the_specs_layout_and_profile(capsys):
    # welch-231 writes W1 as in_out (2 × 3, as the welch sheet shows it); canonical W1 is 3 × 2
    assert main(["answers", str(EXAMPLES / "welch-231.toml")]) == 0
    out = capsys.readouterr().out
    assert "names as on the welch sheets" in out and "in_out" in out
    block = out[out.index("dJ/dW(1)"):out.index("dJ/dW(2)")]
    assert block.count("[") == 2 and block.splitlines()[0].count("0.") == 3  # 2 rows of 3
    assert "ŷ" in out and "δ(3)" in out
    assert main(["answers", str(EXAMPLES / "nielsen-121.toml")]) == 0
    out = capsys.readouterr().out
    assert "names as on the nielsen sheets" in out and "de/dw²" in out and "z²" in out and " e = " in out
    assert main(["answers", str(EXAMPLES / "welch-231.toml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layout"].startswith("canonical (out, in)") and np.shape(data["gradients"]["W1"]) == (3, 2)


@pytest.mark.parametrize("command", ["build", "answers", "check", "paths", "train", "class"])
def test_every_command_escapes_the_path_it_refuses(tmp_path, capsys, command):
    missing = tmp_path / "no\x1b[2J\u202e.toml"
    extra = {"train": ["--epochs", "1"], "class": ["--students", "2"]}.get(command, [])
    if command in ("build", "train", "class"):
        extra += ["--out", str(tmp_path / "o")]
    assert main([command, str(missing), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no\\u001b[2J\\u202e.toml" in err and "\x1b" not in err and "\u202e" not in err, err
