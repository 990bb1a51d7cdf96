"""derive as a Python library: `load` a spec into a `Derivation`, `build` specs as the command line does.

    import derive
    d = derive.load("examples/mazur-222.toml")       # or the TOML text itself
    d.answers()["loss"]                               # the numbers of `derive answers --json`
    d.module.gradients(params, X, Y)                  # the generated module, loaded in memory
    d.explain("W1[0,0]")                              # in Jupyter: its paths, the factoring, the δ form

Everything here reads the pipeline's stages (spec → network → derivation → renderers) and adds
nothing of its own: the numbers are the generated module's, the LaTeX is the worksheets'.
Bad input raises the `SpecError` (a `DeriveError`) whose text the command line prints.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .engine.spec import Spec, check_module_name, load_spec, parse_spec
from .errors import ArgumentError, ArgumentTypeError, ParameterKeyError, SpecError
from .notation.profile import Profile

TEXT_SOURCE = "<text>"  # how errors name a spec given as text


def load(spec: str | os.PathLike, notation: str | None = None) -> Derivation:
    """A spec file's path, or a spec's TOML text, derived.

    Parameters
    ----------
    spec : str or os.PathLike
        A string with a line break is the spec's TOML text (a spec needs at least two lines:
        `name` and `[network]`); any other string, or a Path, is the name of a spec file.
    notation : str, optional
        A notation profile (`ng`, `nielsen`, `welch`, `qbus`, or a profile's `.toml` file) that
        overrides the spec's own for the worksheets and the LaTeX; the numbers do not change.

    Returns
    -------
    Derivation
        The spec's network and its derivation; everything else is computed on first use.

    Raises
    ------
    SpecError
        With the line `derive build` prints for the same spec: a missing or malformed file, a
        field out of range, an unknown notation. A `spec` of the wrong type raises a SpecError that
        is also a `TypeError`.

    Examples
    --------
    >>> import derive
    >>> from derive.resources import examples_folder   # the bundled examples, however derive was installed
    >>> d = derive.load(examples_folder() / "mazur-222.toml")
    >>> d
    <derive.Derivation mazur-222: layers [2, 2, 2], half_sse, 12 parameters, 18 paths>
    >>> tiny = derive.load('''
    ... name = "tiny"
    ... [network]
    ... layers = [2, 2, 1]
    ... activation = "sigmoid"
    ... loss = "half_sse"
    ... ''', notation="ng")
    >>> tiny.notation.name, tiny.path_count("W1[0,0]")
    ('ng', 1)
    >>> derive.load("name = 'one line'")
    Traceback (most recent call last):
    ...
    derive.errors.SpecError: name = 'one line': file: no such file (TOML text for a spec has several lines: `name = ...`, then `[network]` ...)
    """
    if isinstance(spec, str) and ("\n" in spec or "\r" in spec):
        parsed = parse_spec(spec, TEXT_SOURCE)
    elif isinstance(spec, (str, os.PathLike)):
        try:
            parsed = load_spec(spec)
        except SpecError as exc:
            if exc.field == "file" and exc.problem == "no such file" and "=" in str(spec):
                raise SpecError(exc.source, "file", "no such file (TOML text for a spec has several lines: "
                                                    "`name = ...`, then `[network]` ...)") from None
            raise
    else:
        raise ArgumentTypeError("derive.load", f"expected a path or a spec's TOML text, got {type(spec).__name__}")
    from .notation.profile import load_profile, resolve_notation

    # The same rules as `derive build`: a name or a profile file; the spec's own file is relative to the spec.
    folder = Path(spec).parent if not isinstance(spec, str) or "\n" not in spec else None
    profile = resolve_notation(notation) if notation is not None else load_profile(parsed.notation, folder)
    return Derivation(parsed, profile)


class Derivation:
    """One spec's derivation with its renderings; everything is computed on first use and kept.

    Made by `load`; in Jupyter it shows its forward equations, loss, δ recursion and gradients in
    matrix form, in its notation profile.

    Parameters
    ----------
    spec : derive.engine.spec.Spec
        The validated spec (`derive.engine.spec.load_spec` or `parse_spec`).
    notation : derive.notation.profile.Profile
        The notation profile the worksheets and the LaTeX are written in.

    Attributes
    ----------
    spec : derive.engine.spec.Spec
        What the spec file says, validated: `spec.name`, `spec.layers`, `spec.loss`, `spec.values` ...
    notation : derive.notation.profile.Profile
        The notation profile in use (`notation.name` is e.g. `'ng'`).
    derivation : derive.engine.derivation.Derivation
        The engine's plain data: the network's SymPy symbols, every local factor, the δ terms, the
        gradients, the path counts.

    Examples
    --------
    >>> import derive
    >>> from derive.resources import examples_folder
    >>> d = derive.load(examples_folder() / "mazur-222.toml")
    >>> d.spec.name, d.spec.layers, d.notation.name
    ('mazur-222', (2, 2, 2), 'nielsen')
    >>> len(d.derivation.parameters)
    12
    """

    def __init__(self, spec: Spec, notation: Profile):
        from .engine.derivation import derive
        from .engine.network import build_network

        self.spec = spec
        self.notation = notation
        self.derivation = derive(build_network(spec))  # the engine's plain data (derive.derivation)

    def __repr__(self) -> str:
        return (f"<derive.Derivation {self.spec.name}: layers {list(self.spec.layers)}, {self.spec.loss}, "
                f"{len(self.derivation.parameters)} parameters, {self.derivation.total_paths} paths>")

    # -- the generated module ------------------------------------------------------------------
    def source(self) -> str:
        """The generated module's text, as `derive build` writes it to `gradients.py`.

        Returns
        -------
        str
            Python source that imports only NumPy.

        Examples
        --------
        >>> import derive
        >>> from derive.resources import examples_folder
        >>> d = derive.load(examples_folder() / "mazur-222.toml")
        >>> "def gradients(params, X, Y):" in d.source()
        True
        """
        return self._source

    @cached_property
    def _source(self) -> str:
        from .code.codegen import module_source

        return module_source(self.derivation)

    @cached_property
    def module(self):
        """The generated module, loaded in memory (named after the spec's `module` key).

        The same code as `source()`, run without writing a file; `inspect.getsource` (Jupyter's
        `??`) shows its functions' lines. Its `__all__` lists its own names: `forward`, `loss`,
        `backward`, `gradients`, `gradients_scalar`, `trace_scalar`, `init_params`, `predict`,
        `step`, `LAYERS`, `PARAMETERS`.

        Returns
        -------
        types.ModuleType

        Examples
        --------
        >>> import numpy as np, derive
        >>> from derive.resources import examples_folder
        >>> g = derive.load(examples_folder() / "mazur-222.toml").module
        >>> params = {"W1": np.array([[.15, .2], [.25, .3]]), "b1": np.array([.35, .35]),
        ...           "W2": np.array([[.4, .45], [.5, .55]]), "b2": np.array([.6, .6])}
        >>> X, Y = np.array([[.05, .1]]), np.array([[.01, .99]])
        >>> round(float(g.loss(params, X, Y)), 9)          # Mazur's published total error
        0.298371109
        >>> g.gradients(params, X, Y)["W1"].shape
        (2, 2)
        """
        from .code.codegen import load_module

        return load_module(self._source, self.spec.module)

    # -- numbers and counts --------------------------------------------------------------------
    def answers(self, arrays: bool = True) -> dict:
        """The worked numbers of the spec's `[values]`: the object of `derive answers --json`.

        Its numbers are NumPy arrays by default, shaped as the generated module takes and returns
        them (`W1` is (units of layer 1, inputs), `b1` (units,), `x`, `y`, `z1`, `a1`, `delta1`
        one row per example), so they can be compared or computed with directly. `arrays=False`
        gives the same object as plain JSON values (nested lists), exactly what `derive answers
        --json` prints and `answers.json` holds; converting either way loses nothing.

        Parameters
        ----------
        arrays : bool, default True
            False for lists instead of arrays.

        Returns
        -------
        dict
            `network`, `layout`, `examples`, `inputs` (`x`, `y`), `parameters`, `arithmetic`,
            `loss`, `forward` (`z1`, `a1`, ...), `delta` (`delta2`, ...), `gradients`, and with a
            learning rate `learning_rate` and `updated`; with L2, `l2`. Text, counts and the loss
            stay Python values.

        Raises
        ------
        SpecError
            When the spec has no `[values]`.

        Examples
        --------
        >>> import numpy as np, derive
        >>> from derive.resources import examples_folder
        >>> d = derive.load(examples_folder() / "mazur-222.toml")
        >>> numbers = d.answers()
        >>> numbers["loss"]
        0.29837110876000267
        >>> numbers["gradients"]["W2"].shape, numbers["gradients"]["b2"].shape
        ((2, 2), (2,))
        >>> params = numbers["parameters"]
        >>> X, Y = numbers["inputs"]["x"], numbers["inputs"]["y"]
        >>> bool(np.allclose(d.module.gradients(params, X, Y)["W1"], numbers["gradients"]["W1"], rtol=1e-12))
        True
        >>> d.answers(arrays=False)["parameters"]["b1"]
        [0.35, 0.35]
        """
        from .numbers.answers import compute_answers

        if self.spec.values is None:
            raise SpecError(self.spec.source, "values", "is missing; answers need [values] with x, y and the parameters")
        if not isinstance(arrays, bool):
            raise ArgumentTypeError("arrays", f"expected True or False, got {type(arrays).__name__}")
        numbers = compute_answers(self.derivation, self.module)
        return _as_arrays(numbers) if arrays else numbers

    def path_count(self, key: str) -> int:
        """How many chain-rule paths lead from parameter `key` to the loss.

        Counted by dynamic programming, without listing the paths (a deep net has millions).

        Parameters
        ----------
        key : str
            A parameter's key in derive's 0-based canonical layout: `"W1[0,0]"` is the weight into
            unit 0 of layer 1 from unit 0 of the inputs, `"b2[1]"` a bias.

        Returns
        -------
        int

        Raises
        ------
        SpecError
            For a key the network does not have (also a `KeyError`), or one that is not a string
            (also a `TypeError`).

        Examples
        --------
        >>> import derive
        >>> from derive.resources import examples_folder
        >>> d = derive.load(examples_folder() / "mazur-222.toml")
        >>> d.path_count("W1[0,0]"), d.path_count("W2[0,0]")
        (2, 1)
        """
        return self.derivation.path_count[self._key(key)].paths

    def paths(self, key: str, notation: bool = False) -> list[tuple]:
        r"""Every chain-rule path from parameter `key` to the loss J, each a tuple of local factors.

        The factors run from J down to the parameter. By default each is the engine's `Factor`:
        SymPy `numerator`, `denominator` and `value` in derive's internal 0-based names (`a2_0`,
        `W2_0_0`). With `notation=True` each is a `NamedFactor` that also carries the factor as
        the worksheets write it in this derivation's notation profile: `latex`, `text` (plain
        Unicode, as `derive answers` and the LMS exports write names) and `value_latex`.

        Parameters
        ----------
        key : str
            A parameter's key, e.g. `"W1[0,0]"` (see `path_count`).
        notation : bool, default False
            True for `NamedFactor`s in the profile's notation.

        Returns
        -------
        list of tuple
            `path_count(key)` paths: check that number before listing millions.

        Raises
        ------
        SpecError
            For a key the network does not have (also a `KeyError`).

        Examples
        --------
        >>> import derive
        >>> from derive.resources import examples_folder
        >>> d = derive.load(examples_folder() / "ng-222.toml", notation="ng")
        >>> first = d.paths("W1[0,0]")[0]
        >>> [f"d{f.numerator}/d{f.denominator}" for f in first]
        ['dJ/da2_0', 'da2_0/dz2_0', 'dz2_0/da1_0', 'da1_0/dz1_0', 'dz1_0/dW1_0_0']
        >>> named = d.paths("W1[0,0]", notation=True)[0]
        >>> " ".join(f.text for f in named)
        '∂J/∂a(3)₁ ∂a(3)₁/∂z(3)₁ ∂z(3)₁/∂a(2)₁ ∂a(2)₁/∂z(2)₁ ∂z(2)₁/∂θ(1)₁₁'
        >>> named[-1].latex
        '\\frac{\\partial z^{(2)}_{1}}{\\partial \\theta^{(1)}_{11}}'
        >>> named[2].value_latex, named[2].factor == first[2]
        ('\\theta^{(2)}_{11}', True)
        """
        paths = self.derivation.paths(self._key(key))
        if not isinstance(notation, bool):
            raise ArgumentTypeError("notation", f"expected True or False, got {type(notation).__name__}")
        if not notation:
            return list(paths)
        named: dict = {}  # one NamedFactor per local factor, shared by the paths through it
        return [tuple(named.get(f) or named.setdefault(f, self._named(f)) for f in path) for path in paths]

    def _named(self, factor) -> NamedFactor:
        from .notation.plaintext import plain

        ts = self._typesetter
        num, den = ts.s(factor.numerator), ts.s(factor.denominator)
        return NamedFactor(factor, ts.partial(factor.numerator, factor.denominator), f"∂{plain(num)}/∂{plain(den)}",
                           ts.factor_value_parts((factor,))[0])

    def paths_summary(self) -> dict:
        """The object of `derive paths --json`: total paths and factors, and both per parameter.

        Returns
        -------
        dict
            `{"total_paths": int, "total_factors": int, "parameters": {key: {"paths": int, "factors": int}}}`.

        Examples
        --------
        >>> import derive
        >>> from derive.resources import examples_folder
        >>> summary = derive.load(examples_folder() / "mazur-222.toml").paths_summary()
        >>> summary["total_paths"], summary["parameters"]["W1[0,0]"]
        (18, {'paths': 2, 'factors': 10})
        """
        d = self.derivation
        return {"total_paths": d.total_paths, "total_factors": d.total_factors,
                "parameters": {k: {"paths": c.paths, "factors": c.factors} for k, c in d.path_count.items()}}

    def _key(self, key: str) -> str:
        if not isinstance(key, str):
            raise ArgumentTypeError("key", f"expected a parameter key such as 'W1[0,0]', got {type(key).__name__}")
        if key not in self.derivation.path_count:
            keys = list(self.derivation.path_count)
            shown = ", ".join(keys[:6]) + (", ..." if len(keys) > 6 else "")
            raise ParameterKeyError(self.spec.source, key, f"{self.spec.name} has no parameter {key!r}; its parameters are {shown}")
        return key

    # -- LaTeX ---------------------------------------------------------------------------------
    def worksheets(self, templates: str | os.PathLike | None = None) -> dict[str, str]:
        r"""The worksheets' LaTeX texts, as `derive build` writes them (no PDF is compiled).

        Parameters
        ----------
        templates : str or os.PathLike, optional
            A template folder to use instead of derive's own (`derive build --templates`).

        Returns
        -------
        dict of str to str
            `{"handout.tex": ..., "exercises.tex": ..., "answers.tex": ...}`; without `[values]`
            the exercise and answer sheets have no numbers to work.

        Raises
        ------
        SpecError
            When `templates` is not a folder.
        derive.errors.TemplateError
            When a template is missing or has a mistake (a `DeriveError`).

        Examples
        --------
        >>> import derive
        >>> from derive.resources import examples_folder
        >>> sheets = derive.load(examples_folder() / "toy-111.toml").worksheets()
        >>> sorted(sheets)
        ['answers.tex', 'exercises.tex', 'handout.tex']
        >>> "\\documentclass" in sheets["handout.tex"], "\\begin{document}" in sheets["answers.tex"]
        (True, True)
        """
        from .engine.proof import prove
        from .sheets.render import render_worksheets

        numbers = self.answers(arrays=False) if self.spec.values is not None else None
        proofs = prove(self.derivation)
        folder = _folder_argument(templates, "templates") if templates is not None else None
        return render_worksheets(self.derivation, numbers, self.notation, folder, proofs=proofs)

    @cached_property
    def _typesetter(self):
        from .notation.names import get_profile
        from .sheets.typeset import Typesetter

        return Typesetter(self.derivation, get_profile(self.notation), 4)

    def explain(self, key: str) -> Explanation:
        r"""One parameter's derivation: its chain-rule paths, how they factor into δ, and the δ form.

        Parameters
        ----------
        key : str
            A parameter's key, e.g. `"W1[0,0]"` (see `path_count`).

        Returns
        -------
        Explanation
            LaTeX in this derivation's notation profile; Jupyter renders it.

        Raises
        ------
        SpecError
            For a key the network does not have (also a `KeyError`).

        Examples
        --------
        >>> import derive
        >>> from derive.resources import examples_folder
        >>> e = derive.load(examples_folder() / "toy-111.toml").explain("W1[0,0]")
        >>> e.path_count, e.factor_count
        (1, 5)
        >>> e.lhs
        '\\frac{\\partial J}{\\partial \\theta^{(1)}_{11}}'
        """
        from .sheets.path_sums import parameter_section

        ts = self._typesetter
        section = parameter_section(ts, self._key(key))
        delta_line = section["factoring"]["delta_line"]
        p = self.derivation.parameter(key)
        if not delta_line and p.layer < ts.L:
            # Too many paths to write the grouping out; the δ recursion it leads to still fits a line.
            delta_line = rf"{ts.s(ts.net.delta[p.layer][p.index[0]])} = {ts.hidden_delta(ts.net.z[p.layer][p.index[0]])}"
        return Explanation(key, section["paths"], section["factors"], section["lhs"], tuple(section["leibniz"]),
                           tuple(section["factoring"]["lines"]), delta_line, section["result"])

    def _repr_latex_(self) -> str:
        from .sheets import equations

        ts = self._typesetter
        backward = equations.backward_vector(ts)
        rows = [*equations.forward_vector(ts), rf"{ts.p.cost_full} &= {ts.loss_formula()}",
                *backward["lines"], *backward["gradients"]]
        title = rf"\text{{{_text(self.spec.title)}: layers {', '.join(map(str, self.spec.layers))}, {self.notation.name} notation}}"
        return _display(title) + _display(_aligned(rows))


@dataclass(frozen=True)
class NamedFactor:
    r"""One local derivative of a chain-rule path, as the worksheets write it (`Derivation.paths(key, notation=True)`).

    Attributes
    ----------
    factor : derive.engine.derivation.Factor
        The engine's factor: SymPy `numerator`, `denominator` and `value` in derive's internal
        0-based names (`a2_0`, `W2_0_0`).
    latex : str
        The derivative in the profile's notation, e.g. `\frac{\partial J}{\partial a^{(3)}_{1}}` in ng.
    text : str
        The same as plain Unicode text, e.g. `∂J/∂a(3)₁`.
    value_latex : str
        Its value in the profile's notation, e.g. `a^{(3)}_{1} \left(1 - a^{(3)}_{1}\right)`.
    """

    factor: object  # derive.engine.derivation.Factor (imported with SymPy on first use, not here)
    latex: str
    text: str
    value_latex: str


@dataclass(frozen=True)
class Explanation:
    r"""What `Derivation.explain(key)` shows: LaTeX strings in the spec's notation profile.

    In Jupyter it renders as the parameter's paths summed, their grouping into δ, the result and
    the δ recursion.

    Attributes
    ----------
    key : str
        The parameter, e.g. `"W1[0,0]"`.
    path_count : int
        How many chain-rule paths lead from it to J.
    factor_count : int
        How many local factors those paths hold together.
    lhs : str
        ∂J/∂θ in the profile's notation.
    paths : tuple of str
        Each path as a product of local derivatives (empty when too many to list).
    factoring : tuple of str
        `&= ...` lines grouping the paths until δ appears.
    delta : str
        δ = (Σ w δ) σ'(z): the recursion (empty for an output-layer parameter).
    result : str
        ∂J/∂θ = δ · input.

    Examples
    --------
    >>> import derive
    >>> from derive.resources import examples_folder
    >>> e = derive.load(examples_folder() / "mazur-222.toml").explain("W1[0,0]")
    >>> e.key, e.path_count, len(e.paths)
    ('W1[0,0]', 2, 2)
    >>> e.delta.startswith("\\delta^{2}_{1} =")
    True
    """

    key: str
    path_count: int
    factor_count: int
    lhs: str  # ∂J/∂θ
    paths: tuple[str, ...]  # each path as a product of local derivatives (empty when too many to list)
    factoring: tuple[str, ...]  # "&= ..." lines grouping the paths until δ appears
    delta: str  # δ = (Σ w δ) σ'(z): the recursion (empty for an output-layer parameter)
    result: str  # ∂J/∂θ = δ · input

    def _repr_latex_(self) -> str:
        # too many paths to list: the grouped collecting step (Σ over the next layer's units) stands for them
        sums = [rf"{self.lhs} &= {self.paths[0]}"] + [rf"&\quad + {p}" for p in self.paths[1:]] if self.paths else []
        factoring = list(self.factoring)
        if not sums and factoring:
            factoring[0] = self.lhs + " " + factoring[0]
        head = _display(rf"\text{{{self.key}: {self.path_count} path{'s' if self.path_count != 1 else ''}, "
                        rf"{self.factor_count} factors}}")
        parts = [head, _display(_aligned(sums + factoring)), _display(self.result)]
        if self.delta:
            parts.append(_display(self.delta))
        return "".join(parts)


def _as_arrays(value):
    """The answers object with its numbers as float64 arrays: every list of numbers, nested or not."""
    if isinstance(value, dict):
        return {k: _as_arrays(v) for k, v in value.items()}
    if isinstance(value, list) and not any(isinstance(v, str) for v in value):  # l2's weights are names
        return np.array(value, dtype=np.float64)
    return value


def _colours_for_mathjax(tex: str) -> str:
    # The worksheets define pathblue, pathorange, ... in their preamble; a notebook knows the CSS names.
    return re.sub(r"\\textcolor\{path(\w+)\}", r"\\textcolor{\1}", tex)


def _aligned(rows: list[str]) -> str:
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def _display(tex: str) -> str:
    return "$$" + _colours_for_mathjax(tex) + "$$\n"


def _text(title: str) -> str:
    """A title inside \\text{}: TeX's specials as plain characters (it is the spec's own string)."""
    from .sheets.texenv import escape_latex

    return escape_latex(title)


def build(specs=(), out: str | os.PathLike = "output", *, notation: str | None = None, pdf: bool = True,
          force: bool = False, templates: str | os.PathLike | None = None, jobs: int | None = None,
          module_name: str | None = None, on_result=None, progress=None):
    """`derive build`: the same checks, the same files, one result per spec.

    Parameters
    ----------
    specs : path or iterable of paths
        Spec files; one path alone is one spec. Empty: every bundled example.
    out : str or os.PathLike, default "output"
        The folder each spec's folder `<out>/<name>/` is written into.
    notation : str, optional
        A profile overriding each spec's (`--notation`).
    pdf : bool, default True
        False writes the `.tex` files without compiling them (`--no-pdf`).
    force : bool, default False
        Overwrite files edited since derive wrote them (`--force`).
    templates : str or os.PathLike, optional
        A template folder instead of derive's own (`--templates`).
    jobs : int, optional
        How many specs to build at once (`--jobs`); at least 1.
    module_name : str, optional
        The generated module's file name instead of `gradients` (`--module-name`).
    on_result : callable, optional
        Called with each spec's result as it is done.
    progress : derive.progress.Progress, optional
        Reports the work as it goes.

    Returns
    -------
    list of derive.builder.BuildResult
        One per spec, in order: its `folder`, the files `written`, and `error` (a `DeriveError`)
        when that spec was refused or failed; the other specs are still built.

    Raises
    ------
    SpecError
        For a bad argument, before any work (with the command line's line for the option; a
        wrong type is also a `TypeError`).

    Examples
    --------
    >>> import tempfile, derive
    >>> from derive.resources import examples_folder
    >>> with tempfile.TemporaryDirectory() as out:
    ...     [result] = derive.build(examples_folder() / "toy-111.toml", out, pdf=False)
    ...     sorted(result.written), result.error
    (['answers.json', 'answers.tex', 'exercises.tex', 'gradients.py', 'handout.tex'], None)
    >>> derive.build(["x.toml"], "output", jobs=0)
    Traceback (most recent call last):
    ...
    derive.errors.ArgumentError: --jobs: must be at least 1, got 0
    """
    from .builder import build as build_all

    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]  # one spec, not the characters of its name
    try:
        specs = list(specs)
    except TypeError:
        raise ArgumentTypeError("specs", f"expected spec files, got {type(specs).__name__}") from None
    paths = [_path_argument(s, "specs") for s in specs]
    out = _path_argument(out, "--out")
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool)):
        raise ArgumentTypeError("--jobs", f"expected a whole number, got {type(jobs).__name__}")
    if jobs is not None and jobs < 1:
        raise ArgumentError("--jobs", f"must be at least 1, got {jobs}")
    if templates is not None:
        templates = _folder_argument(templates, "--templates")
    if notation is not None and not isinstance(notation, str):
        raise ArgumentTypeError("--notation", f"expected a profile's name or a .toml file, got {type(notation).__name__}")
    if module_name is not None:
        if not isinstance(module_name, str):
            raise ArgumentTypeError("--module-name", f"expected a name, got {type(module_name).__name__}")

        def refuse(problem):
            raise ArgumentError("--module-name", problem)
        check_module_name(module_name, refuse)
    return build_all(paths, out, notation, pdf, force, templates, jobs, module_name, on_result, progress)


def _path_argument(value, option: str) -> Path:
    """A file or folder name given to the API, refused as a SpecError if no system could open it."""
    if not isinstance(value, (str, os.PathLike)) or isinstance(value, bytes):
        raise ArgumentTypeError(option, f"expected a file or folder name, got {type(value).__name__}")
    path = Path(value)
    text = str(path)
    if "\0" in text:
        raise ArgumentError(option, f"{text!r} contains a NUL character; no file has that name")
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        raise ArgumentError(option, f"{text!r} cannot be encoded as a file name") from None
    return path


def _folder_argument(value, option: str) -> Path:
    path = _path_argument(value, option)
    if not path.is_dir():
        raise ArgumentError(option, f"{path} is not a folder")
    return path
