"""`derive answers` writes plain text: the profiles' LaTeX names as Unicode, never TeX syntax."""
import re

import pytest
from specgen import generate

from derive.cli import main
from derive.engine.spec import parse_spec
from derive.notation.names import PROFILES
from derive.notation.plaintext import plain


@pytest.mark.parametrize("tex, text", [
    (r"\Theta^{(1)}", "Θ(1)"),
    (r"\Theta^{(1)}_{\cdot 0}", "Θ(1)·₀"),  # ng's bias: column 0 of Θ(1)
    (r"\Theta^{(1\to 3)}", "Θ(1→3)"),
    (r"w^{2}", "w²"),
    (r"w^{1\to 3}", "w(1→3)"),
    (r"\delta^{3}", "δ³"),
    (r"\hat{y}", "ŷ"),
    (r"\mathbf{Z}^{(2)}", "Z(2)"),
    (r"f(\mathbf{X}, \mathbf{W})", "f(X, W)"),
    (r"\theta^{(2)}_{10}", "θ(2)₁₀"),
    (r"\boldsymbol{\sigma}^\top", "σᵀ"),
    (r"x_{hidden}", "x[hidden]"),
    (r"\mathcal{L}(\mathbf{W})", "L(W)"),
    (r"\unknown{q}", "unknownq"),
])
def test_a_name_in_plain_text(tex, text):
    assert plain(tex) == text


TEX_SYNTAX = re.compile(r"[\\{}_^]")


def _with(text: str, profile: str, layout: str) -> str:
    text = re.sub(r'^layout = ".*"\n', "", text, flags=re.M)
    text = re.sub(r'^style = ".*"$', f'style = "{profile}"', text, flags=re.M)
    return text.replace("[values]\n", f'[values]\nlayout = "{layout}"\n')


SMALL = [(name, text) for name, text in generate(0, 36) if max(parse_spec(text, name).layers) <= 8][:8]


@pytest.mark.parametrize("layout", ["out_in", "in_out"])
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_name_of_every_profile_is_plain_text(tmp_path, capsys, profile, layout):
    kinds = set()
    for name, text in SMALL:
        spec = parse_spec(_with(text, profile, layout), name)
        assert spec.notation == profile and spec.values.layout == layout
        kinds |= {"skip" if "_" in key else key[0] for key in spec.parameter_shapes()}
        path = tmp_path / f"{name}.toml"
        path.write_text(_with(text, profile, layout))
        assert main(["answers", str(path)]) == 0
        out = capsys.readouterr().out
        header, _, tables = out.partition("\n\n")
        assert not TEX_SYNTAX.search(header.splitlines()[0]), header  # the cost's name
        for section in tables.split("\n\n"):
            title, *rows = section.splitlines()
            names = [row.split(" [")[0].strip() for row in rows if not row.startswith("   ")]
            assert all(names) and len(set(names)) == len(names), (name, section)  # one name each, none twice
            bad = [n for n in names if TEX_SYNTAX.search(n)]
            assert not bad, (name, profile, layout, bad)
    assert kinds == {"W", "b", "skip"}  # weights, biases and skip matrices were all printed
