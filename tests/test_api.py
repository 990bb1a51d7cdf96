"""The Python API gives what the command line gives: same numbers, same files, same errors."""
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from conftest import EXAMPLES, spec_text

import derive
from derive.cli import main
from derive.sheets.latex import have_latex

MAZUR = EXAMPLES / "mazur-222.toml"


@pytest.fixture(scope="module")
def mazur():
    return derive.load(MAZUR)


def test_the_package_offers_the_api():
    assert {"load", "build", "Derivation", "Explanation", "SpecError", "DeriveError", "__version__"} <= set(dir(derive))
    assert derive.Derivation is derive.api.Derivation and issubclass(derive.SpecError, derive.DeriveError)


def test_answers_are_the_cli_json(mazur, capsys):
    assert main(["answers", str(MAZUR), "--json"]) == 0
    assert mazur.answers(arrays=False) == json.loads(capsys.readouterr().out)
    assert mazur.answers()["loss"] == pytest.approx(0.298371108760, rel=1e-11)  # Mazur's published J


def _lists(value):
    return {k: _lists(v) for k, v in value.items()} if isinstance(value, dict) else (
        value.tolist() if isinstance(value, np.ndarray) else value)


# biases and one example; a batch; bce; no biases and three examples; L2 and seeded weights
ARRAY_SPECS = ["mazur-222", "welch-231-batch", "classification-231", "iris-423"]


@pytest.mark.parametrize("name", ARRAY_SPECS + ["l2"])
def test_answers_are_arrays_shaped_as_the_module_and_lose_nothing(name, tmp_path, capsys):
    """d.answers() holds NumPy arrays; as lists they are exactly `derive answers --json` and answers.json."""
    if name == "l2":
        (tmp_path / "l2.toml").write_text(spec_text([2, 3, 1], name="l2", extra="l2 = 0.1\n[values]\n"
                                                    "x = [[0.5, -1.0], [0.2, 0.3]]\ny = [[1.0], [0.0]]\nseed = 3\nlearning_rate = 0.5\n"))
        spec = tmp_path / "l2.toml"
    else:
        spec = EXAMPLES / f"{name}.toml"
    d = derive.load(spec)
    numbers = d.answers()
    assert main(["answers", str(spec), "--json"]) == 0
    assert _lists(numbers) == json.loads(capsys.readouterr().out) == d.answers(arrays=False)
    [result] = derive.build(spec, tmp_path / "out", pdf=False)
    assert _lists(numbers) == json.loads((result.folder / "answers.json").read_text())
    params, X, Y = numbers["parameters"], numbers["inputs"]["x"], numbers["inputs"]["y"]
    grads = d.module.gradients(params, X, Y)
    for section in ("parameters", "gradients", "updated"):
        for k, v in numbers.get(section, {}).items():
            assert isinstance(v, np.ndarray) and v.dtype == np.float64 and v.shape == grads[k].shape, (section, k)
    for section in ("forward", "delta"):
        assert all(isinstance(v, np.ndarray) and v.shape[0] == numbers["examples"] for v in numbers[section].values())
    assert X.shape == (numbers["examples"], d.spec.layers[0]) and isinstance(numbers["loss"], float)
    for k in params:
        np.testing.assert_allclose(grads[k], numbers["gradients"][k], rtol=1e-9, atol=1e-15)
    if name == "l2":
        assert numbers["l2"]["weights"] == ["W1", "W2"]  # names stay a list of names


def test_a_path_and_the_same_text_give_the_same_derivation(mazur, tmp_path):
    text = MAZUR.read_text()
    for spec in (text, str(MAZUR), MAZUR, text.replace("\n", "\r\n")):
        d = derive.load(spec)
        assert d.answers(arrays=False) == mazur.answers(arrays=False) and d.source() == mazur.source()
    # a one-line string is a file name, even when such a file holds TOML
    (tmp_path / "x = 1").write_text(text)
    assert derive.load(str(tmp_path / "x = 1")).spec.name == "mazur-222"


def test_errors_are_the_cli_spec_errors(tmp_path, capsys):
    bad = spec_text([2, 0, 1])
    (tmp_path / "bad.toml").write_text(bad)
    assert main(["paths", str(tmp_path / "bad.toml")]) == 2
    cli_line = capsys.readouterr().err.strip()
    with pytest.raises(derive.SpecError) as from_file:
        derive.load(tmp_path / "bad.toml")
    assert cli_line == f"derive: error: {from_file.value}"
    with pytest.raises(derive.SpecError, match=r"^<text>: network\.layers\[1\]: width must be at least 1, got 0$") as from_text:
        derive.load(bad)
    assert from_text.value.field == "network.layers[1]"
    with pytest.raises(derive.SpecError, match=r"^nope\.toml: file: no such file$"):
        derive.load("nope.toml")
    with pytest.raises(derive.SpecError, match="TOML text for a spec has several lines"):
        derive.load('name = "one-line"')
    with pytest.raises(derive.DeriveError, match="--notation: 'bishop' is not one of ng, nielsen, welch, qbus"):
        derive.load(MAZUR, notation="bishop")
    with pytest.raises(derive.SpecError, match="values: is missing"):
        derive.load(spec_text([2, 1])).answers()
    with pytest.raises(TypeError):
        derive.load(42)


def test_module_source_and_worksheets_are_what_build_writes(mazur, tmp_path):
    results = derive.build([MAZUR], tmp_path, pdf=False)
    folder = results[0].folder
    assert (folder / "gradients.py").read_text() == mazur.source()
    for name, text in mazur.worksheets().items():
        assert (folder / name).read_text() == text
    assert mazur.module.__name__ == "gradients"
    params = mazur.answers()["parameters"]
    X, Y = np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
    assert mazur.module.loss(params, X, Y) == pytest.approx(mazur.answers()["loss"], rel=1e-14)


def test_paths_are_the_derivations_and_count_as_the_cli(mazur, capsys):
    assert main(["paths", str(MAZUR), "--json"]) == 0
    assert mazur.paths_summary() == json.loads(capsys.readouterr().out)
    for key in ("W1[0,0]", "b1[1]", "W2[1,0]", "b2[0]"):
        paths = mazur.paths(key)
        assert len(paths) == mazur.path_count(key) == mazur.paths_summary()["parameters"][key]["paths"]
        parameter = mazur.derivation.parameter(key).symbol
        for path in paths:  # from J down to the parameter, each factor feeding the next
            assert path[0].numerator == mazur.derivation.network.J and path[-1].denominator == parameter
            assert all(a.denominator == b.numerator for a, b in zip(path, path[1:]))
    assert mazur.path_count("W1[0,0]") == 2 and mazur.path_count("W2[0,0]") == 1
    with pytest.raises(KeyError, match=r"has no parameter 'W3\[0,0\]'; its parameters are W1\[0,0\]"):
        mazur.paths("W3[0,0]")


def test_paths_in_the_sheets_notation():
    """paths(key, notation=True): each factor also as the worksheets write it, in the derivation's profile."""
    ng = derive.load(EXAMPLES / "ng-222.toml", notation="ng")
    plain, named = ng.paths("W1[0,1]"), ng.paths("W1[0,1]", notation=True)
    assert len(named) == len(plain) == ng.path_count("W1[0,1]") == 2
    assert all(tuple(n.factor for n in np_) == p for np_, p in zip(named, plain))  # the same factors, in order
    first = named[0]
    assert [n.text for n in first] == ["∂J/∂a(3)₁", "∂a(3)₁/∂z(3)₁", "∂z(3)₁/∂a(2)₁", "∂a(2)₁/∂z(2)₁", "∂z(2)₁/∂θ(1)₁₂"]
    assert first[2].latex == r"\frac{\partial z^{(3)}_{1}}{\partial a^{(2)}_{1}}" and first[2].value_latex == r"\theta^{(2)}_{11}"
    assert first[-1].latex == r"\frac{\partial z^{(2)}_{1}}{\partial \theta^{(1)}_{12}}" and first[-1].value_latex == "x_{2}"
    assert first[3].value_latex == r"a^{(2)}_{1} \left(1 - a^{(2)}_{1}\right)"
    # the internal names never show: a2_0, z1_0, W1_0_1 are 0-based keys, the sheet's are 1-based in θ
    assert not any(re.search(r"[azW]\d_\d", n.latex + n.text + n.value_latex) for path in named for n in path)
    # the factor is the sheet's: the same key in welch (W(1) is inputs × units) and nielsen (w^l_jk, ŷ, e)
    welch = derive.load(EXAMPLES / "ng-222.toml", notation="welch").paths("W1[0,1]", notation=True)[0]
    assert welch[-1].text == "∂z(2)₁/∂W(1)₂₁" and welch[0].text == "∂J/∂ŷ₁"
    nielsen = derive.load(EXAMPLES / "ng-222.toml", notation="nielsen").paths("W1[0,1]", notation=True)[0]
    assert [n.text for n in nielsen][::4] == ["∂e/∂ŷ₁", "∂z²₁/∂w²₁₂"]
    # every factor's LaTeX is what the handout prints for that path
    handout = ng.worksheets()["handout.tex"]
    assert " ".join(n.latex for n in first) in handout
    with pytest.raises(TypeError, match="notation: expected True or False"):
        ng.paths("W1[0,1]", notation="ng")


def test_explain_shows_the_paths_the_factoring_and_the_delta_form(mazur):
    hidden = derive.load(MAZUR, notation="nielsen").explain("W1[0,0]")
    assert (hidden.path_count, hidden.factor_count, len(hidden.paths)) == (2, 10, 2)
    tex = hidden._repr_latex_()
    assert r"\text{W1[0,0]: 2 paths, 10 factors}" in tex
    assert r"\frac{\partial e}{\partial w^{2}_{11}}" in tex and r"\underbrace" in tex
    assert r"\delta^{2}_{1} = \left(w^{3}_{11}\, \delta^{3}_{1} + w^{3}_{21}\, \delta^{3}_{2}\right)" in tex
    assert "pathblue" not in tex and r"\textcolor{blue}" in tex  # colours a notebook knows
    output = mazur.explain("W2[0,0]")
    assert output.path_count == 1 and output.delta == "" and r"\delta" in output.result
    deep = derive.load(spec_text([3, 5, 5, 5, 2], bias=False)).explain("W1[0,0]")
    # 50 paths are too many to list: the collecting step is written in grouped form (Σ over the next layer's units)
    assert deep.path_count == 50 and deep.paths == () and r"\sum_{k=1}^{5}" in deep.factoring[0]
    assert deep.delta.startswith(r"\delta^{(2)}_{1} = \left(\theta^{(2)}_{11}\, \delta^{(3)}_{1} + ")  # still the δ form
    assert _balanced(tex) and _balanced(mazur._repr_latex_()) and _balanced(deep._repr_latex_())
    assert r"\begin{aligned}" in mazur._repr_latex_() and "mazur-222" in repr(mazur)


def _balanced(tex: str) -> bool:
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0 and tex.count("$$") % 2 == 0


@pytest.mark.skipif(not have_latex(), reason="needs pdflatex")
def test_the_notebook_latex_compiles(mazur, tmp_path):
    # Jupyter typesets _repr_latex_ with MathJax; amsmath's LaTeX is the stricter judge of the same text.
    body = "\n\n".join(obj._repr_latex_() for obj in (mazur, mazur.explain("W1[0,0]"), mazur.explain("b2[1]"),
                                                     derive.load(EXAMPLES / "welch-231.toml").explain("W1[0,0]"),
                                                     derive.load(spec_text([3, 5, 5, 5, 2])).explain("W1[0,0]")))
    doc = tmp_path / "notebook.tex"
    doc.write_text("\\documentclass{article}\\usepackage{amsmath,amssymb,xcolor}\\begin{document}\n" + body + "\n\\end{document}\n")
    done = subprocess.run([shutil.which("pdflatex"), "-no-shell-escape", "-halt-on-error", "-interaction=nonstopmode", doc.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-3000:]


def test_build_refuses_what_the_cli_refuses(tmp_path):
    for kwargs, message in (({"jobs": 0}, "--jobs: must be at least 1"), ({"templates": tmp_path / "none"}, "is not a folder"),
                            ({"notation": "bishop"}, "--notation: 'bishop' is not one of"),
                            ({"module_name": "my-grads"}, "--module-name: 'my-grads' is not allowed")):
        with pytest.raises(derive.DeriveError, match=message):
            derive.build([MAZUR], tmp_path, pdf=False, **kwargs)
    assert not list(tmp_path.iterdir())
    (result,) = derive.build(MAZUR, tmp_path, pdf=False, module_name="mazur_grads")  # one spec, not its characters
    assert "mazur_grads.py" in result.written


def test_the_generated_functions_show_their_source(mazur):
    """Jupyter's `??` reads inspect.getsource; the module is loaded from a string, not a file."""
    import inspect
    import linecache

    source = inspect.getsource(mazur.module.gradients)
    assert source.startswith("def gradients(params, X, Y):") and source in mazur.source()
    assert inspect.getsource(mazur.module.init_params) in mazur.source()
    linecache.checkcache()  # what a traceback does first: the entry stays, there is no file to compare
    assert inspect.getsource(mazur.module.loss) in mazur.source()
    # another module of the same name (a deeper net's gradients) shows its own text, not mazur's
    other = derive.load(spec_text([2, 3, 3, 1], name="other"))
    assert other.module.__name__ == mazur.module.__name__ == "gradients"
    assert inspect.getsource(other.module.gradients) in other.source()
    assert inspect.getsource(other.module.gradients) != inspect.getsource(mazur.module.gradients)


def test_a_generated_modules_public_names_are_its_own(mazur, monkeypatch):
    """`__all__` names what the module defines for its users; NumPy's functions and the helpers stay out."""
    import ast
    import sys

    module = mazur.module
    tree = ast.parse(mazur.source())
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} | {
        t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    assert sorted(module.__all__) == sorted(n for n in defined if not n.startswith("_"))
    monkeypatch.setitem(sys.modules, "mazur_gradients", module)
    names: dict = {}
    exec("from mazur_gradients import *", names)  # what `from gradients import *` brings into a notebook
    assert set(names) - {"__builtins__"} == set(module.__all__)
    assert {"gradients", "loss", "forward", "backward", "step", "predict", "init_params", "LAYERS"} <= set(names)
    assert not {"numpy", "add", "exp", "minimum", "multiply"} & set(names)


# Every bad input through the API raises SpecError (issue 22), with the CLI's one line; a wrong type is
# also the TypeError, an unknown parameter also the KeyError, that Python code expects.
TOY = str(EXAMPLES / "toy-111.toml")
BAD_INPUTS = {
    "a NUL in the spec's name": (lambda t: derive.load("x\x00y"), "the name contains a NUL character", None),
    "a lone surrogate in the name": (lambda t: derive.load("x\ud800y.toml"), "cannot be encoded as a file name", None),
    "a number for a spec": (lambda t: derive.load(123), "expected a path or a spec's TOML text, got int", TypeError),
    "bytes for a spec": (lambda t: derive.load(b"x.toml"), "got bytes", TypeError),
    "TOML with a NUL": (lambda t: derive.load("name = 'a'\n\x00"), "is not valid TOML", None),
    "an unknown notation": (lambda t: derive.load(TOY, notation="nope"), "--notation: 'nope' is not one of", None),
    "a number for a notation": (lambda t: derive.load(TOY, notation=3), "--notation: expected a profile's name", TypeError),
    "an unknown parameter": (lambda t: derive.load(TOY).explain("W9[0,0]"), "has no parameter 'W9[0,0]'", KeyError),
    "a list for a key": (lambda t: derive.load(TOY).paths([1]), "key: expected a parameter key", TypeError),
    "worksheets from no folder": (lambda t: derive.load(TOY).worksheets(t / "nope"), "is not a folder", None),
    "worksheets from a NUL name": (lambda t: derive.load(TOY).worksheets("x\x00"), "contains a NUL character", None),
    "no jobs": (lambda t: derive.build([TOY], t / "o", jobs=0), "--jobs: must be at least 1, got 0", None),
    "jobs as text": (lambda t: derive.build([TOY], t / "o", jobs="2"), "--jobs: expected a whole number", TypeError),
    "no out folder": (lambda t: derive.build([TOY], None), "--out: expected a file or folder name, got NoneType", TypeError),
    "a NUL in out": (lambda t: derive.build([TOY], str(t / "o\x00"), pdf=False), "--out: ", None),
    "a number among the specs": (lambda t: derive.build([3], t / "o", pdf=False), "specs: expected a file", TypeError),
    "a number for the specs": (lambda t: derive.build(3, t / "o", pdf=False), "specs: expected spec files", TypeError),
    "templates that are no folder": (lambda t: derive.build([TOY], t / "o", templates=t / "nope"), "--templates: ", None),
    "a NUL in templates": (lambda t: derive.build([TOY], t / "o", templates="x\x00"), "contains a NUL character", None),
    "a bad module name": (lambda t: derive.build([TOY], t / "o", module_name="1x"), "--module-name: '1x' is not allowed", None),
    "a number for a module name": (lambda t: derive.build([TOY], t / "o", module_name=3), "--module-name: expected a name", TypeError),
    "a number for build's notation": (lambda t: derive.build([TOY], t / "o", notation=3), "--notation: expected", TypeError),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_every_bad_input_through_the_api_is_a_spec_error(tmp_path, case):
    call, words, also = BAD_INPUTS[case]
    with pytest.raises(derive.SpecError) as info:
        call(tmp_path)
    assert words in str(info.value) and "\n" not in str(info.value)
    if also is not None:
        assert isinstance(info.value, also)
    assert not (tmp_path / "o").exists()
