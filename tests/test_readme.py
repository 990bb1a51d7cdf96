"""The README shows what derive really does: its spec example runs and its sample outputs are current."""
import re

from derive.cli import main

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_the_readme_spec_example_is_a_valid_spec_with_a_skip(tmp_path, capsys):
    block = re.search(r"## The spec file\n\n```toml\n(.*?)```", README, re.S).group(1)
    spec = tmp_path / "mazur.toml"
    spec.write_text(block)
    assert main(["check", str(spec)]) == 0
    assert "MISMATCH" not in capsys.readouterr().out


def sample(command: str) -> list[str]:
    """The lines the README prints under `$ derive <command>`."""
    block = re.search(rf"\$ derive {re.escape(command)}\n(.*?)```", README, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and line.strip() != "..."]


MEASURED = re.compile(r"\d\.\d+e[-+]\d+")  # a measured difference, as check prints it (1.82e-10)


def same_up_to_the_last_figure(shown: str, printed: str) -> bool:
    """The lines agree, except that a measured difference may be one off in its last figure: the
    finite differences' error carries a machine's rounding (its libm, its BLAS) there."""
    if MEASURED.split(shown) != MEASURED.split(printed):
        return False
    for a, b in zip(MEASURED.findall(shown), MEASURED.findall(printed)):
        mantissa, exponent = a.split("e")
        unit = 10.0 ** (int(exponent) - (len(mantissa) - 2))
        if abs(float(a) - float(b)) > 1.01 * unit:
            return False
    return True


def test_the_readme_samples_are_what_derive_prints(capsys):
    for command in ("paths examples/ng-222.toml", "answers examples/toy-111.toml", "check examples/mazur-222.toml"):
        words = command.split()
        assert main([words[0], str(ROOT / words[1])]) == 0
        printed = capsys.readouterr().out.splitlines()
        for line in sample(command):
            assert any(same_up_to_the_last_figure(line, p) for p in printed), (command, line)


def test_the_last_figure_rule_is_that_and_no_more():
    line = "  gradients (matrix form) vs finite diff.  largest relative difference 1.82e-10 at W1[1,0] (tolerance 1e-07) ok"
    assert same_up_to_the_last_figure(line, line.replace("1.82e-10", "1.83e-10"))
    assert not same_up_to_the_last_figure(line, line.replace("1.82e-10", "1.84e-10"))
    assert not same_up_to_the_last_figure(line, line.replace("1.82e-10", "1.82e-11"))
    assert not same_up_to_the_last_figure(line, line.replace("W1[1,0]", "W1[0,1]"))


def test_check_prints_rounding_as_its_bound_not_as_a_machines_noise():
    """Two machines whose rounding differs (0.00e+00 here, 3.72e-16 there) print the same report."""
    from derive.check import ROUNDING, CheckReport, Comparison

    def report(noise):
        return CheckReport("t", "spec values", 0.25, (
            Comparison("loss vs backprop", noise, "J", 1e-12, True),
            Comparison("gradients (matrix form) vs finite diff.", 1.82e-10, "W1[1,0]", 1e-7, True)))

    assert report(0.0).lines() == report(3.72e-16).lines() == report(0.99 * ROUNDING).lines()
    assert "< 1e-14" in report(0.0).lines()[1] and " at " not in report(0.0).lines()[1]
    assert report(2 * ROUNDING).lines() != report(3 * ROUNDING).lines()  # above it, the measurement
    assert "1.82e-10 at W1[1,0]" in report(0.0).lines()[2]


def test_the_readme_spec_example_gives_the_loss_the_readme_states():
    import derive

    block = re.search(r"## The spec file\n\n```toml\n(.*?)```", README, re.S).group(1)
    with_skip = derive.load(block).answers()["loss"]
    without = derive.load(block.replace("skip = [[0, 2]]", "").replace("W2_0 = [[0.1, 0.2], [0.3, 0.4]]", "")).answers()["loss"]
    assert f"J = {with_skip:.6f}" in README and f"his J = {without:.6f}" in README
    assert without == derive.load(ROOT / "examples" / "mazur-222.toml").answers()["loss"]


def test_the_readme_notebook_sample_runs():
    block = re.search(r"In a notebook.*?```python\n(.*?)```", README, re.S).group(1)
    names: dict = {}
    exec(compile(block, "README notebook sample", "exec"), names)  # the README's own code, as a reader runs it
    g, X, Y = names["g"], names["X"], names["Y"]
    assert g.loss(names["params"], X, Y) < g.loss(g.init_params(0), X, Y)
    assert "\\underbrace" in names["d"].explain("W1[0,1]")._repr_latex_()


def test_the_setup_is_two_commands_and_ci_runs_the_second():
    block = re.search(r"\A# derive\n\n```sh\n(.*?)```", README, re.S).group(1)
    install, tests = [line.split("   #")[0].strip() for line in block.strip().splitlines()]
    assert "python3 -m venv" in install and "pip install ." in install and install.endswith("derive build")
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()
    # the TeX Live packages the README installs are the ones CI installs
    packages = re.search(r"apt-get install -y (.*?) &&", install).group(1).split()
    for package in packages:
        assert package in ci or package == "python3-venv", package  # CI needs no virtual environment
