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

from .engine.spec import Spec, check_module_name, load_spec, parse_spec
from .errors import ArgumentError, ArgumentTypeError, ParameterKeyError, SpecError
from .notation.profile import Profile

TEXT_SOURCE = "<text>"  # how errors name a spec given as text


def load(spec: str | os.PathLike, notation: str | None = None) -> Derivation:
    """A spec file's path, or a spec's TOML text, derived.

    A string with a line break is TOML text (a spec needs at least two lines: `name` and
    `[network]`); any other string, or a Path, is a file name. `notation` (ng, nielsen, welch)
    overrides the spec's profile for worksheets and LaTeX.
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
    """One spec's derivation with its renderings; everything is computed on first use and kept."""

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
        """The generated module's text, as `derive build` writes it."""
        return self._source

    @cached_property
    def _source(self) -> str:
        from .code.codegen import module_source

        return module_source(self.derivation)

    @cached_property
    def module(self):
        """The generated module, loaded in memory (named after the spec's `module` key)."""
        from .code.codegen import load_module

        return load_module(self._source, self.spec.module)

    # -- numbers and counts --------------------------------------------------------------------
    def answers(self) -> dict:
        """The worked numbers: the same dict as `derive answers --json` (needs [values])."""
        from .numbers.answers import compute_answers

        if self.spec.values is None:
            raise SpecError(self.spec.source, "values", "is missing; answers need [values] with x, y and the parameters")
        return compute_answers(self.derivation, self.module)

    def path_count(self, key: str) -> int:
        """How many chain-rule paths lead from parameter `key` (e.g. "W1[0,0]") to the loss."""
        return self.derivation.path_count[self._key(key)].paths

    def paths(self, key: str) -> list[tuple]:
        """Every chain-rule path from `key` to J: tuples of `Factor`s (numerator, denominator, value),
        from J down to the parameter. Their number is `path_count(key)`: check it before listing millions."""
        return list(self.derivation.paths(self._key(key)))

    def paths_summary(self) -> dict:
        """The object of `derive paths --json`: total paths and factors, and both per parameter."""
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
        """The .tex texts {"handout.tex", "exercises.tex", "answers.tex"}, as `derive build` writes them."""
        from .engine.proof import prove
        from .sheets.render import render_worksheets

        numbers = self.answers() if self.spec.values is not None else None
        proofs = prove(self.derivation)
        folder = _folder_argument(templates, "templates") if templates is not None else None
        return render_worksheets(self.derivation, numbers, self.notation, folder, proofs=proofs)

    @cached_property
    def _typesetter(self):
        from .notation.names import get_profile
        from .sheets.typeset import Typesetter

        return Typesetter(self.derivation, get_profile(self.notation), 4)

    def explain(self, key: str) -> Explanation:
        """One parameter's derivation: its chain-rule paths, how they factor into δ, and the δ form."""
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
class Explanation:
    """What `Derivation.explain(key)` shows; LaTeX strings in the spec's notation profile."""

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
    """`derive build`: the same checks, the same files; returns one `builder.BuildResult` per spec.

    `on_result(result)` is called as each spec is done; `progress` is a `derive.progress.Progress`."""
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
