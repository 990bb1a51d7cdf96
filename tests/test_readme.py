"""The README and the manual show what derive really does: the set-up is the README's, and the spec
example (docs/spec.md), the sample outputs (docs/commands.md) and the notebook sample (docs/api.md)
run and are current, read from the page they are on."""
import re
import subprocess

import pytest
from conftest import ROOT

from derive.cli import main

README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
SPEC_PAGE = (DOCS / "spec.md").read_text()
COMMANDS_PAGE = (DOCS / "commands.md").read_text()
API_PAGE = (DOCS / "api.md").read_text()
SPEC_EXAMPLE = re.compile(r"\A# The spec file\n\n```toml\n(.*?)```", re.S)  # the page's first block


def test_the_docs_spec_example_is_a_valid_spec_with_a_skip(tmp_path, capsys):
    block = SPEC_EXAMPLE.search(SPEC_PAGE).group(1)
    spec = tmp_path / "mazur.toml"
    spec.write_text(block)
    assert main(["check", str(spec)]) == 0
    assert "MISMATCH" not in capsys.readouterr().out


def sample(command: str) -> list[str]:
    """The lines docs/commands.md prints under `$ derive <command>`."""
    block = re.search(rf"\$ derive {re.escape(command)}\n(.*?)```", COMMANDS_PAGE, re.S).group(1)
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


def test_the_docs_samples_are_what_derive_prints(capsys):
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
    from derive.numbers.check import ROUNDING, CheckReport, Comparison

    def report(noise):
        return CheckReport("t", "spec values", 0.25, (
            Comparison("loss vs backprop", noise, "J", 1e-12, True),
            Comparison("gradients (matrix form) vs finite diff.", 1.82e-10, "W1[1,0]", 1e-7, True)))

    assert report(0.0).lines() == report(3.72e-16).lines() == report(0.99 * ROUNDING).lines()
    assert "< 1e-14" in report(0.0).lines()[1] and " at " not in report(0.0).lines()[1]
    assert report(2 * ROUNDING).lines() != report(3 * ROUNDING).lines()  # above it, the measurement
    assert "1.82e-10 at W1[1,0]" in report(0.0).lines()[2]


def test_the_docs_spec_example_gives_the_loss_the_page_states():
    import derive

    block = SPEC_EXAMPLE.search(SPEC_PAGE).group(1)
    with_skip = derive.load(block).answers()["loss"]
    without = derive.load(block.replace("skip = [[0, 2]]", "").replace("W2_0 = [[0.1, 0.2], [0.3, 0.4]]", "")).answers()["loss"]
    assert f"J = {with_skip:.6f}" in SPEC_PAGE and f"his J = {without:.6f}" in SPEC_PAGE
    assert without == derive.load(ROOT / "examples" / "mazur-222.toml").answers()["loss"]


def test_the_docs_notebook_sample_runs():
    block = re.search(r"In a notebook.*?```python\n(.*?)```", API_PAGE, re.S).group(1)
    names: dict = {}
    exec(compile(block, "docs/api.md notebook sample", "exec"), names)  # the page's own code, as a reader runs it
    g, X, Y = names["g"], names["X"], names["Y"]
    assert g.loss(names["params"], X, Y) < g.loss(g.init_params(0), X, Y)
    assert "\\underbrace" in names["d"].explain("W1[0,1]")._repr_latex_()


def setup_lines() -> tuple[str, str]:
    block = re.search(r"\A# derive\n\n```sh\n(.*?)```", README, re.S).group(1)
    install, tests = [line.split("   #")[0].strip() for line in block.strip().splitlines()]
    return install, tests


def apt_packages(command: str) -> set[str]:
    """The packages an `apt-get install` command line (backslash continuations and all) names."""
    words = re.search(r"apt-get install (.*?)(?:&&|>|$)", command.replace("\\\n", " "), re.S).group(1).split()
    return {w for w in words if not w.startswith("-")}


def test_the_setup_is_two_commands_and_ci_runs_the_second():
    install, tests = setup_lines()
    assert "python3 -m venv" in install and "pip install ." in install and install.endswith("derive build")
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()
    # the packages the README installs are the ones CI installs, in the same way (no recommended extras)
    assert apt_packages(install) == apt_packages(ci) | {"python3-venv"}  # CI needs no virtual environment
    assert "--no-install-recommends" in install and "--no-install-recommends" in ci


@pytest.mark.parametrize("has_sudo", [False, True], ids=["root shell without sudo", "user with sudo"])
def test_the_install_line_runs_as_root_and_as_a_user(tmp_path, has_sudo):
    """The README's apt-get part in sh, with apt-get (and sudo) replaced by scripts that log their call."""
    install, _ = setup_lines()
    apt_part = install[:install.index(" && python3 -m venv")]
    log = tmp_path / "log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stubs = {"apt-get": f'echo "apt-get $*" >> {log}\n'}
    if has_sudo:
        stubs["sudo"] = f'echo "sudo" >> {log}\nexec "$@"\n'
    for name, body in stubs.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(0o755)
    done = subprocess.run(["/bin/sh", "-c", apt_part], env={"PATH": str(bin_dir)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    apt_calls = [c for c in calls if c.startswith("apt-get")]
    assert apt_calls[0] == "apt-get update" and apt_packages(apt_calls[1]) == apt_packages(install)
    assert calls.count("sudo") == (2 if has_sudo else 0)


def test_hypothesis_draws_the_same_examples_in_ci_and_new_ones_on_demand():
    from hypothesis import settings

    ci, explore = settings.get_profile("ci"), settings.get_profile("explore")
    assert ci.derandomize and ci.database is None and ci.print_blob
    assert not explore.derandomize and explore.max_examples > ci.max_examples
    assert "--hypothesis-profile=explore" in README and "--hypothesis-profile=explore" in (DOCS / "contributing.md").read_text()
    # no test file sets its own seed behaviour or database: every @settings inherits the profile's
    for path in sorted((ROOT / "tests").glob("*.py")):
        if path.name != "conftest.py":
            assert not re.search(r"\b(derandomize|database)\s*=", path.read_text()), path.name


def test_getting_started_gives_the_readmes_two_commands():
    page = (DOCS / "getting-started.md").read_text()
    block = re.search(r"```sh\n(.*?)```", page, re.S).group(1)
    assert block == re.search(r"\A# derive\n\n```sh\n(.*?)```", README, re.S).group(1)


def test_the_readmes_three_lines_run(tmp_path, capsys):
    block = re.search(r"## In three lines\n\n```sh\n(.*?)```", README, re.S).group(1)
    commands = [line.split("   #")[0].split() for line in block.strip().splitlines()]
    assert len(commands) == 3 and all(c[0] == "derive" for c in commands)
    for command in commands:
        argv = [ROOT / a if a.startswith("examples/") else a for a in command[1:]]
        extra = ["--out", str(tmp_path), "--no-pdf"] if argv[0] == "build" else []  # the PDFs are test_fonts' part
        assert main([str(a) for a in argv] + extra) == 0, command
    assert (tmp_path / "mazur-222" / "gradients.py").is_file() and (tmp_path / "mazur-222" / "handout.tex").is_file()
    assert "path sum = δ form" in capsys.readouterr().out
