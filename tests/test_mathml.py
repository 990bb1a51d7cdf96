"""derive.notation.mathml: derive's TeX as MathML 2 presentation markup (for QTI 2.1 items)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from derive.classset.variant import mathml_html
from derive.notation.mathml import Unsupported, math

M = "{http://www.w3.org/1998/Math/MathML}"


def _tree(tex: str, display: bool = False) -> ET.Element:
    return ET.fromstring(math(tex, display).replace("<m:math", '<m:math xmlns:m="http://www.w3.org/1998/Math/MathML"', 1))


def _shape(el: ET.Element) -> str:
    """An element as tag(children) with its token text: compact enough to compare whole."""
    name = el.tag.removeprefix(M)
    if len(el) == 0:
        return f"{name}:{el.text or ''}"
    return f"{name}(" + " ".join(_shape(c) for c in el) + ")"


def test_the_forms_derive_writes():
    assert _shape(_tree(r"\frac{\partial J}{\partial \theta^{(1)}_{11}}")) == (
        "math(mrow(mfrac(mrow(mo:∂ mi:J) mrow(mo:∂ msubsup(mi:θ mrow(mn:11) mrow(mo:( mn:1 mo:)))))))")
    assert _shape(_tree(r"\sum_{n=1}^{m} x_{n}")) == "math(mrow(munderover(mo:∑ mrow(mi:n mo:= mn:1) mrow(mi:m)) msub(mi:x mrow(mi:n))))"
    assert _shape(_tree(r"\left(-0.5\right) \cdot 3.1\times 10^{-5}")) == (
        "math(mrow(mo:( mo:− mn:0.5 mo:) mo:· mn:3.1 mo:× msup(mn:10 mrow(mo:− mn:5))))")
    assert _shape(_tree(r"\hat{y}\, \mathbf{W} \operatorname{ReLU}'")) == (
        'math(mrow(mover(mrow(mi:y) mo:^) mspace: mi:W mi:ReLU mo:′))')
    assert _shape(_tree(r"X = \begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}\ \text{(one example per row)}")) == (
        "math(mrow(mi:X mo:= mrow(mo:[ mtable(mtr(mtd(mn:1) mtd(mn:2)) mtr(mtd(mn:3) mtd(mn:4))) mo:]) mspace: mtext:(one example per row)))")
    assert _tree("x", display=True).get("display") == "block"


@pytest.mark.parametrize("tex", [r"\sqrt{2}", r"\frac{1}{2", r"\begin{align} x \end{align}", r"\mathbf{2x}", "x}"])
def test_unknown_tex_is_refused_and_kept_as_tex(tex):
    with pytest.raises(Unsupported):
        math(tex)
    assert mathml_html(tex).startswith("\\(")  # the export keeps it as TeX rather than print it wrong


@pytest.mark.parametrize("profile", ["ng", "nielsen", "welch", "qbus"])
def test_every_profiles_maths_converts(tmp_path, profile):
    """Each built-in notation's names and worked lines become MathML in qti.zip: no piece falls back to TeX."""
    from derive.classset.build import build_class
    from derive.classset.roster import numbered

    spec = Path(__file__).parent.parent / "examples" / "ng-222.toml"
    folder = build_class(spec, numbered(2), 1, tmp_path, ("qti",), notation=profile).folder
    with zipfile.ZipFile(folder / "qti.zip") as z:
        for name in z.namelist():
            if name.startswith("items/"):
                text = z.read(name).decode()
                assert "<m:math" in text and "\\(" not in text and "\\[" not in text, (profile, name)
