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


def test_the_readme_samples_are_what_derive_prints(capsys):
    for command in ("paths examples/ng-222.toml", "answers examples/toy-111.toml", "check examples/mazur-222.toml"):
        words = command.split()
        assert main([words[0], str(ROOT / words[1])]) == 0
        printed = capsys.readouterr().out.splitlines()
        for line in sample(command):
            assert line in printed, (command, line)
