"""The command line, as a user meets it: derive paths / answers / check / build."""
import json
import subprocess
import sys

import numpy as np

from derive.cli import main

from conftest import EXAMPLES, ROOT


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
    from derive.codegen import module_source
    from derive.derivation import derive
    from derive.network import build_network
    from derive.spec import load_spec

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
    assert "names as on the nielsen sheets" in out and "de/dw^2" in out and "z^2" in out and " e = " in out
    assert main(["answers", str(EXAMPLES / "welch-231.toml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layout"].startswith("canonical (out, in)") and np.shape(data["gradients"]["W1"]) == (3, 2)
