"""The spec: what a lecturer wrote in a TOML file, read with tomllib and validated field by field.

Nothing here builds symbols; the result is plain, immutable data that `network.py` reads.
Every refusal is a `SpecError` naming the file, the field and what was expected.
"""
from __future__ import annotations

import difflib
import json
import keyword
import math
import re
import sys
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import SpecError, escape_controls
from ..files import Unreadable, read_small_file
from .magnitudes import SMALLEST_MAGNITUDE, TooSmall, checked_float, underflow_problem, written_nonzero  # noqa: F401 (spec's names)

ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity", "softmax")
LOSSES = ("half_sse", "sse", "half_mse", "mse", "bce", "bce_mean", "cross_entropy", "cross_entropy_mean")
NOTATIONS = ("ng", "nielsen", "welch", "qbus")  # the files in derive/notation/profiles/ (a test keeps them equal)
LAYOUTS = ("out_in", "in_out")

# The engine (derivation, proof, check, gradients.py, answers.json) grows linearly with the
# number of weights and takes 128 units a layer; the worksheets print wide layers in blocks of
# columns and show representative units of a wide net, so the width is not a page limit.
MAX_WIDTH = 128
MAX_COMPUTING_LAYERS = 10
MAX_EXAMPLES = 1000
NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,63}")
MAX_TITLE = 200
# One scalar formula per parameter is derived, proved, checked and emitted: past this the
# generated module runs past ~10 MB and a build past the benchmark's time targets.
MAX_PARAMETERS = 50_000
# A spec with the largest allowed data (1000 examples of 32 numbers, x and y) is well under this;
# anything bigger is not a spec (and /dev/zero or a FIFO must not be read forever).
MAX_FILE_BYTES = 4_000_000

TOP_KEYS = ("name", "title", "module", "network", "values", "notation", "variants")
# The generated module's file name (without .py): importable, so no hyphens; never a Python keyword
# or a module it imports itself (a numpy.py beside it would be imported in numpy's place).
MODULE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
DEFAULT_MODULE = "gradients"
NETWORK_KEYS = ("layers", "activation", "bias", "loss", "skip", "l2", "l2_scale")
# How λ enters J = loss + c·λ·ΣW²: a fixed table of the courses' conventions, looked up, never evaluated.
L2_SCALES = ("1/(2m)", "1/m", "1/2", "1")
NOTATION_KEYS = ("style",)
VALUE_KEYS_FIXED = ("x", "y", "learning_rate", "layout", "seed", "data", "inputs", "target")
VARIANT_KEYS = ("weights", "inputs", "targets", "decimals", "avoid_kinks")
MAX_VARIANT_DECIMALS = 4  # drawn numbers are printed as written: short enough to work by hand


@dataclass(frozen=True)
class Skip:
    """An extra dense connection from layer `src` to layer `dst` (dst >= src + 2)."""

    src: int
    dst: int

    @property
    def name(self) -> str:
        # W<dst>_<src>: the weights into layer dst from layer src, shape (n_dst, n_src).
        return f"W{self.dst}_{self.src}"


@dataclass(frozen=True)
class Values:
    """Numbers for worked answers, already in canonical layout (W of shape (n_l, n_{l-1}))."""

    x: tuple[tuple[float, ...], ...]
    y: tuple[tuple[float, ...], ...]
    params: dict[str, tuple] = field(hash=False)
    learning_rate: float | None
    layout: str = "out_in"
    seed: int | None = None


@dataclass(frozen=True)
class Variants:
    """What `derive class` redraws for each student ([variants]); None = not redrawn, [values] stays."""

    weights: tuple[float, float] | None = None
    inputs: tuple[float, float] | None = None
    targets: tuple[float, float] | None = None
    decimals: int = 2
    avoid_kinks: bool = True


@dataclass(frozen=True)
class Spec:
    name: str
    title: str
    layers: tuple[int, ...]
    activations: tuple[str, ...]
    biases: tuple[bool, ...]
    loss: str
    skips: tuple[Skip, ...]
    values: Values | None
    notation: str
    source: str = "<spec>"
    module: str = DEFAULT_MODULE  # the generated module's file name, without .py
    l2: float = 0.0  # λ of the L2 term on every weight matrix (skips too, never biases); 0: none
    l2_scale: str = "1/(2m)"  # one of L2_SCALES
    variants: Variants | None = None  # only `derive class` reads it

    @property
    def depth(self) -> int:
        """Number of computing layers L (the input is layer 0)."""
        return len(self.layers) - 1

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Canonical parameter names in canonical order, with their shapes."""
        shapes: dict[str, tuple[int, ...]] = {}
        for l in range(1, self.depth + 1):
            shapes[f"W{l}"] = (self.layers[l], self.layers[l - 1])
            for skip in self.skips_into(l):
                shapes[skip.name] = (self.layers[l], self.layers[skip.src])
            if self.biases[l - 1]:
                shapes[f"b{l}"] = (self.layers[l],)
        return shapes

    def skips_into(self, layer: int) -> tuple[Skip, ...]:
        return tuple(sorted((s for s in self.skips if s.dst == layer), key=lambda s: s.src))

    def sources_of(self, layer: int) -> tuple[int, ...]:
        """The layers whose activations feed layer `layer`: the previous one, then any skips."""
        return (layer - 1,) + tuple(s.src for s in self.skips_into(layer))

    def weight_name(self, dst: int, src: int) -> str:
        return f"W{dst}" if src == dst - 1 else Skip(src, dst).name


# ---------------------------------------------------------------------------------------------
# Reading


def load_spec(path: str | Path) -> Spec:
    """Read and validate one spec file."""
    source = one_line(str(path))
    try:
        raw = read_small_file(path, MAX_FILE_BYTES)
    except Unreadable as why:
        problem = {"missing": "no such file",
                   "folder": "is a folder, expected a .toml spec file",
                   "special": "is not a regular file (a device, pipe or socket), expected a .toml spec file",
                   "too_big": f"is {why.detail} bytes; a spec is at most {MAX_FILE_BYTES} bytes",
                   "grew": f"is larger than {MAX_FILE_BYTES} bytes, the most a spec may be",
                   "error": f"cannot be read ({why.detail})"}[why.reason]
        raise SpecError(source, "file", problem) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(source, "file", f"is not UTF-8 text (bad byte at offset {exc.start})") from None
    return parse_spec(text, source, Path(path).parent)


def parse_spec(text: str, source: str = "<spec>", folder: Path | None = None) -> Spec:
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark, as some Windows editors write: not part of the TOML
    try:
        data = tomllib.loads(text, parse_float=checked_float)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(source, "file", f"is not valid TOML ({one_line(str(exc))})") from None
    except RecursionError:
        raise SpecError(source, "file", "is not valid TOML for derive (arrays or tables nested too deeply)") from None
    except ValueError as exc:  # tomllib lets int()'s refusal of a whole number over 4300 digits through
        raise SpecError(source, "file", f"is not valid TOML for derive ({one_line(str(exc)).split(';')[0]})") from None
    return validate(data, source, folder)


def one_line(text: str) -> str:
    """`text` with line breaks, control and bidirectional characters escaped, so a message stays one safe line."""
    return escape_controls(text)


def validate(data: dict[str, Any], source: str = "<spec>", folder: Path | None = None) -> Spec:
    """`folder` is the spec file's own, where a `[values] data` CSV file is looked for."""
    v = _Validator(source)
    v.folder = folder
    v.keys(data, "", TOP_KEYS, required=("name", "network"))
    name = v.string(data["name"], "name")
    if not NAME_PATTERN.fullmatch(name):
        v.fail("name", f"{name!r} is not allowed; use 1-64 lowercase letters, digits and hyphens, starting with a letter")
    title = v.string(data.get("title", name), "title")
    module = check_module_name(v.string(data.get("module", DEFAULT_MODULE), "module"),
                               lambda problem: v.fail("module", problem))
    if len(title) > MAX_TITLE:
        v.fail("title", f"is {len(title)} characters long; at most {MAX_TITLE} fit a worksheet heading")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in title):
        v.fail("title", "contains a control character or line break (newline, tab, ...); use a single line of text")
    foreign = sorted({c for c in title if not _typesettable(c)})
    if foreign:
        shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in foreign[:8]) + (f" and {len(foreign) - 8} more" if len(foreign) > 8 else "")
        v.fail("title", f"contains characters the worksheets cannot typeset (pdflatex with Latin fonts): {shown}; "
                        "use Latin letters, accents and punctuation")

    net = v.table(data["network"], "network")
    v.keys(net, "network", NETWORK_KEYS, required=("layers", "activation", "loss"))
    layers = _layers(v, net["layers"])
    depth = len(layers) - 1
    activations = v.per_layer(net["activation"], "network.activation", depth, str)
    for i, act in enumerate(activations):
        where = "network.activation" if isinstance(net["activation"], str) else f"network.activation[{i}]"
        v.choice(act, where, ACTIVATIONS)
        if act == "softmax" and i != depth - 1:
            v.fail(where, "softmax is only allowed in the output layer (its units are coupled)")
    if activations[-1] == "softmax" and layers[-1] < 2:
        v.fail("network.layers", "a softmax output layer needs at least 2 units")
    biases = v.per_layer(net.get("bias", True), "network.bias", depth, bool)
    loss = v.choice(v.string(net["loss"], "network.loss"), "network.loss", LOSSES)
    out = activations[-1]
    if loss.startswith("bce") and out != "sigmoid":
        v.fail("network.loss", f"{loss} needs a sigmoid output layer (outputs must lie in (0, 1)), got {out}")
    if loss.startswith("cross_entropy") and out not in ("softmax", "sigmoid"):
        v.fail("network.loss", f"{loss} needs a softmax or sigmoid output layer (outputs must lie in (0, 1)), got {out}")
    skips = _skips(v, net.get("skip", []), depth)
    count = sum(layers[s.dst] * layers[s.src] for s in skips)
    count += sum(layers[l] * layers[l - 1] + (layers[l] if biases[l - 1] else 0) for l in range(1, depth + 1))
    if count > MAX_PARAMETERS:
        v.fail("network.layers", f"{list(layers)} with these skips has {count} parameters; at most {MAX_PARAMETERS}: "
                                 "derive writes one formula per parameter, and past that the module and worksheets are unreadable")

    l2 = v.number(net["l2"], "network.l2") if "l2" in net else 0.0
    if l2 < 0:
        v.fail("network.l2", f"must be at least 0 (the weight of the L2 term), got {l2}")
    l2_scale = v.choice(v.string(net["l2_scale"], "network.l2_scale"), "network.l2_scale", L2_SCALES) \
        if "l2_scale" in net else "1/(2m)"

    notation = "ng"
    if "notation" in data:
        table = v.table(data["notation"], "notation")
        v.keys(table, "notation", NOTATION_KEYS)
        if "style" in table:
            notation = v.string(table["style"], "notation.style")
            if not notation.endswith(".toml"):  # a lecturer's own profile: a path relative to the spec, read at build time
                v.choice(notation, "notation.style", NOTATIONS)

    spec = Spec(name, title, layers, tuple(activations), tuple(biases), loss, skips, None, notation, source, module, l2, l2_scale)
    if "values" in data:
        values = _values(v, v.table(data["values"], "values"), spec)
        spec = Spec(name, title, layers, tuple(activations), tuple(biases), loss, skips, values, notation, source, module, l2, l2_scale)
    if "variants" in data:
        variants = _variants(v, v.table(data["variants"], "variants"), spec)
        spec = replace(spec, variants=variants)
    return spec


def _variants(v: _Validator, table: dict[str, Any], spec: Spec) -> Variants:
    v.keys(table, "variants", VARIANT_KEYS)
    if spec.values is None:
        v.fail("variants", "needs a [values] table: it is the template (number of examples, whatever is not redrawn)")
    ranges = {}
    for key in ("weights", "inputs", "targets"):
        if key in table:
            raw = table[key]
            if not (isinstance(raw, list) and len(raw) == 2):
                v.fail(f"variants.{key}", f"expected a range [low, high] like [-1.0, 1.0], got {_shape_of(raw)}")
            low, high = (v.number(x, f"variants.{key}[{i}]") for i, x in enumerate(raw))
            if low > high:
                v.fail(f"variants.{key}", f"low {low} is above high {high}")
            ranges[key] = (low, high)
    decimals = table.get("decimals", 2)
    if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= MAX_VARIANT_DECIMALS:
        v.fail("variants.decimals", f"expected a whole number from 0 to {MAX_VARIANT_DECIMALS}, got "
                                    f"{_short(decimals) if isinstance(decimals, int) and not isinstance(decimals, bool) else _kind(decimals)}")
    kinks = table.get("avoid_kinks", True)
    if not isinstance(kinks, bool):
        v.fail("variants.avoid_kinks", f"expected true or false, got {_kind(kinks)}")
    if "targets" in ranges and spec.loss.startswith(("bce", "cross_entropy")) and not 0 <= ranges["targets"][0] <= ranges["targets"][1] <= 1:
        v.fail("variants.targets", f"must lie in [0, 1] for {spec.loss}, got {list(ranges['targets'])}")
    return Variants(ranges.get("weights"), ranges.get("inputs"), ranges.get("targets"), decimals, kinks)


def check_module_name(module: str, fail) -> str:
    """`module` if it can name the generated module's file; otherwise calls fail(problem)."""
    if not MODULE_PATTERN.fullmatch(module):
        fail(f"{one_line(repr(module))} is not allowed; use 1-64 lowercase letters, digits and underscores, "
             "starting with a letter (it becomes <module>.py, imported by that name)")
    elif keyword.iskeyword(module):
        fail(f"{module!r} is a Python keyword, which cannot be imported")
    elif module == "numpy" or module in sys.stdlib_module_names:
        # a script run beside it would import it in place of the real one (NumPy imports math, ...)
        fail(f"{module!r} would hide {'NumPy' if module == 'numpy' else 'the Python module of that name'}; choose another name")
    return module


# What a worksheet title can hold: printable Latin-1 and the dashes and quotes escape_latex spells out.
_TITLE_EXTRAS = frozenset("\u2013\u2014\u2018\u2019\u201c\u201d")


def _typesettable(c: str) -> bool:
    return 32 <= ord(c) < 127 or 160 <= ord(c) <= 255 or c in _TITLE_EXTRAS


def _layers(v: _Validator, raw: Any) -> tuple[int, ...]:
    if not isinstance(raw, list):
        v.fail("network.layers", f"expected a list of layer widths like [2, 2, 2], got {_kind(raw)}")
    if len(raw) < 2:
        v.fail("network.layers", "needs at least an input and an output layer, e.g. [2, 1]")
    if len(raw) - 1 > MAX_COMPUTING_LAYERS:
        v.fail("network.layers", f"has {len(raw) - 1} computing layers; at most {MAX_COMPUTING_LAYERS} fit a worksheet")
    widths = []
    for i, w in enumerate(raw):
        where = f"network.layers[{i}]"
        if isinstance(w, bool) or not isinstance(w, int):
            v.fail(where, f"expected a whole number of units, got {_kind(w)}")
        if w < 1:
            v.fail(where, f"width must be at least 1, got {_short(w)}")
        if w > MAX_WIDTH:
            v.fail(where, f"width {_short(w)} is over the limit of {MAX_WIDTH} units a layer")
        widths.append(w)
    return tuple(widths)


def _skips(v: _Validator, raw: Any, depth: int) -> tuple[Skip, ...]:
    if not isinstance(raw, list):
        v.fail("network.skip", f"expected a list of [from, to] layer pairs like [[0, 2]], got {_kind(raw)}")
    skips: list[Skip] = []
    for i, pair in enumerate(raw):
        where = f"network.skip[{i}]"
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, int) and not isinstance(p, bool) for p in pair)):
            v.fail(where, "expected a pair of layer numbers [from, to]")
        src, dst = pair
        if not (0 <= src <= depth and 0 <= dst <= depth):
            v.fail(where, f"layers must be between 0 (input) and {depth} (output), got [{_short(src)}, {_short(dst)}]")
        if dst <= src:
            v.fail(where, f"goes backwards or to itself ([{src}, {dst}]); a skip must go forward")
        if dst == src + 1:
            v.fail(where, f"duplicates the dense connection from layer {src} to layer {dst}")
        if Skip(src, dst) in skips:
            v.fail(where, f"[{src}, {dst}] is listed twice")
        skips.append(Skip(src, dst))
    return tuple(sorted(skips, key=lambda s: (s.dst, s.src)))


def _values(v: _Validator, table: dict[str, Any], spec: Spec) -> Values:
    shapes = spec.parameter_shapes()
    for key in table:
        if key in shapes or not _PARAMETER_NAME.fullmatch(key):
            continue
        canonical = _canonical(key)
        if canonical in shapes:  # W01, b001, W03_01: the same parameter written with leading zeros
            v.fail(_join("values", key), f"unknown key; did you mean {canonical!r}? (parameters are written without leading zeros)")
        v.fail(_join("values", key), f"the network has no {canonical}: {_why_no_parameter(spec, key)}; its parameters are {', '.join(shapes)}")
    v.keys(table, "values", VALUE_KEYS_FIXED + tuple(shapes), required=() if "data" in table else ("x", "y"))
    layout = "out_in"
    if "layout" in table:
        layout = v.choice(v.string(table["layout"], "values.layout"), "values.layout", LAYOUTS)
    n_in, n_out = spec.layers[0], spec.layers[-1]
    if "data" in table:
        x, y = _csv_rows(v, table, n_in, n_out)
    else:
        for key in ("inputs", "target"):
            if key in table:
                v.fail(f"values.{key}", "names columns of a CSV file; give the file as values.data")
        x = _rows(v, table["x"], "values.x", n_in, "input")
        y = _rows(v, table["y"], "values.y", n_out, "output")
    if len(x) != len(y):
        v.fail("values.y", f"has {len(y)} rows but values.x has {len(x)}; give one target row per example")
    if len(x) > MAX_EXAMPLES:
        v.fail("values.x", f"has {len(x)} examples; at most {MAX_EXAMPLES} fit an answer sheet")
    out = spec.activations[-1]
    if out == "softmax":
        for r, row in enumerate(y):
            if sorted(row) != [0.0] * (n_out - 1) + [1.0]:
                v.fail(f"values.y[{r}]", f"must be one-hot for a softmax output (one 1, the rest 0), got {list(row)}")
    if spec.loss.startswith(("bce", "cross_entropy")):
        for r, row in enumerate(y):
            for c, t in enumerate(row):
                if not 0.0 <= t <= 1.0:
                    v.fail(f"values.y[{r}][{c}]", f"{t} is outside [0, 1], required by {spec.loss}")
    rate = None
    if "learning_rate" in table:
        rate = v.number(table["learning_rate"], "values.learning_rate")
        if rate <= 0:
            v.fail("values.learning_rate", f"must be positive, got {rate}")
    seed = None
    if "seed" in table:
        seed = table["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
            v.fail("values.seed", f"expected a whole number from 0 to 2**32 - 1, got {_short(seed) if isinstance(seed, int) else _kind(seed)}")
    given = [n for n in shapes if n in table]
    missing = [n for n in shapes if n not in table]
    if missing and seed is None:
        v.fail(f"values.{missing[0]}", f"is missing; give every parameter ({', '.join(shapes)}) or a seed for random ones")
    if given and seed is not None:
        v.fail("values.seed", f"cannot be combined with explicit parameters ({', '.join(given)}); give one or the other")
    params: dict[str, tuple] = {}
    if seed is not None:
        params = random_parameters(shapes, seed)
    for pname in given:
        params[pname] = _parameter(v, table[pname], f"values.{pname}", shapes[pname], layout)
    return Values(x, y, params, rate, layout, seed)


def _csv_rows(v: _Validator, table: dict[str, Any], n_in: int, n_out: int):
    """x and y from the CSV file `values.data` names (csv_data.py reads and checks it)."""
    from .csv_data import read_examples

    for key in ("x", "y"):
        if key in table:
            v.fail(f"values.{key}", "cannot be combined with values.data; give the examples one way")
    if "target" not in table:
        v.fail("values.target", 'is missing; name the CSV column(s) to predict, e.g. target = "species"')
    data = v.string(table["data"], "values.data")
    names = lambda raw, where: [v.string(n, f"{where}[{i}]") for i, n in enumerate(raw)] if isinstance(raw, list) \
        else [v.string(raw, where)]
    target = names(table["target"], "values.target")
    inputs = names(table["inputs"], "values.inputs") if "inputs" in table else None
    x, y, _ = read_examples(v.source, v.folder, data, inputs, target, n_in, n_out,
                            MAX_FILE_BYTES, MAX_EXAMPLES, 1e6)
    return x, y


_PARAMETER_NAME = re.compile(r"(?P<kind>[Wb])(?P<dst>[0-9]{1,12})(?:_(?P<src>[0-9]{1,12}))?")  # leading zeros allowed: W0001 → W1


def _canonical(key: str) -> str:
    """A parameter key as derive names it: W01 → W1, W03_001 → W3_1."""
    match = _PARAMETER_NAME.fullmatch(key)
    src = match["src"]
    return f"{match['kind']}{int(match['dst'])}" + (f"_{int(src)}" if src is not None else "")


def _why_no_parameter(spec: Spec, key: str) -> str:
    """Why the canonical form of `key` (a W or b name that the network lacks) is not a parameter."""
    match = _PARAMETER_NAME.fullmatch(key)
    dst, src = int(match["dst"]), match["src"]
    if not 1 <= dst <= spec.depth:
        return f"its layers are 1 to {spec.depth}"
    if match["kind"] == "b":
        return f"network.bias is false for layer {dst}" if src is None else "biases have no _<from> part"
    if src is None:
        return f"layer {dst} has no weights"  # unreachable: every computing layer has W<l>
    if int(src) == dst - 1:
        return f"the weights into layer {dst} from layer {dst - 1} are W{dst}, without a _<from> part"
    return f"network.skip has no [{int(src)}, {dst}]"


def random_parameters(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, tuple]:
    """Seeded weights in [-1, 1], rounded to two decimals so a worksheet can print them exactly."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {n: _as_tuple(np.round(rng.uniform(-1.0, 1.0, size=s), 2)) for n, s in shapes.items()}


def _as_tuple(arr) -> tuple:
    return tuple(_as_tuple(a) for a in arr) if getattr(arr, "ndim", 0) > 1 else tuple(float(a) for a in arr)


def _rows(v: _Validator, raw: Any, where: str, width: int, what: str) -> tuple[tuple[float, ...], ...]:
    if not isinstance(raw, list) or not raw:
        v.fail(where, f"expected a non-empty list of rows, one per example, got {'an empty list' if raw == [] else _kind(raw)}")
    if width == 1 and all(not isinstance(r, list) for r in raw):
        raw = [[r] for r in raw]  # a single unit may be written as a flat list, one number per example
    if any(isinstance(r, list) for r in raw) and not all(isinstance(r, list) for r in raw):
        flat = " (or a flat list of numbers, one per example, for a single unit)" if width == 1 else ""
        v.fail(where, f"mixes numbers and rows; write one row of {width} number{'s' if width != 1 else ''} per example, "
                      f"e.g. [[{', '.join(['0.5'] * width)}], [{', '.join(['1.0'] * width)}]]{flat}")
    rows = []
    for r, row in enumerate(raw):
        if not isinstance(row, list):
            v.fail(f"{where}[{r}]", f"expected a row of {width} numbers, got {_kind(row)}")
        if len(row) != width:
            v.fail(f"{where}[{r}]", f"has {len(row)} numbers but the {what} layer has {width} units")
        rows.append(tuple(v.number(val, f"{where}[{r}][{c}]") for c, val in enumerate(row)))
    return tuple(rows)


def _parameter(v: _Validator, raw: Any, where: str, shape: tuple[int, ...], layout: str) -> tuple:
    if len(shape) == 1:
        if isinstance(raw, list) and len(raw) == shape[0] and all(not isinstance(r, list) for r in raw):
            return tuple(v.number(val, f"{where}[{i}]") for i, val in enumerate(raw))
        v.fail(where, f"expected a list of {shape[0]} numbers (one per unit), got {_shape_of(raw)}")
    rows, cols = shape if layout == "out_in" else (shape[1], shape[0])
    if not (isinstance(raw, list) and len(raw) == rows and all(isinstance(r, list) and len(r) == cols for r in raw)):
        hint = "(units in this layer, units feeding it)" if layout == "out_in" else "(units feeding it, units in this layer) as values.layout = \"in_out\""
        v.fail(where, f"expected shape ({rows}, {cols}) {hint}, got {_shape_of(raw)}")
    matrix = [[v.number(val, f"{where}[{r}][{c}]") for c, val in enumerate(row)] for r, row in enumerate(raw)]
    if layout == "in_out":
        matrix = [list(col) for col in zip(*matrix)]
    return tuple(tuple(row) for row in matrix)


def _short(number: int) -> str:
    """A whole number for a message, abbreviated when a hostile spec makes it thousands of digits long."""
    text = str(number) if abs(number) < 10**30 else f"{'-' if number < 0 else ''}1e{len(str(abs(number))) - 1}"
    return text


def _kind(value: Any) -> str:
    names = {bool: "true/false", int: "a whole number", float: "a number", str: "a string", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _shape_of(raw: Any) -> str:
    if not isinstance(raw, list):
        return _kind(raw)
    if all(isinstance(r, list) for r in raw) and raw:
        lengths = sorted({len(r) for r in raw})
        return f"{len(raw)} rows of {'/'.join(map(str, lengths))} numbers"
    return f"a list of {len(raw)}"


class _Validator:
    def __init__(self, source: str):
        self.source = source
        self.folder: Path | None = None

    def fail(self, where: str, problem: str):
        raise SpecError(self.source, where, problem)

    def keys(self, table: dict, where: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()):
        for key in table:
            if key not in allowed:
                close = _closest(key, allowed)
                hint = f"; did you mean {close[0]!r}?" if close else f"; expected one of {', '.join(allowed)}"
                self.fail(_join(where, key), f"unknown key{hint}")
        for key in required:
            if key not in table:
                self.fail(_join(where, key), f"is missing; {REQUIRED_HINTS.get(key, 'it is required')}")

    def table(self, raw: Any, where: str) -> dict:
        if not isinstance(raw, dict):
            self.fail(where, f"expected a table ([{where}]), got {_kind(raw)}")
        return raw

    def string(self, raw: Any, where: str) -> str:
        if not isinstance(raw, str):
            self.fail(where, f"expected a string, got {_kind(raw)}")
        return raw

    def choice(self, raw: str, where: str, options: tuple[str, ...]) -> str:
        if raw not in options:
            close = _closest(raw, options)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.fail(where, f"{raw!r} is not one of {', '.join(options)}{hint}")
        return raw

    def number(self, raw: Any, where: str) -> float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            self.fail(where, f"expected a number, got {_kind(raw)}")
        if isinstance(raw, int) and abs(raw) > 10**6:  # also whole numbers too large for a float
            self.fail(where, "is too large for a worked example; keep magnitudes at most 1e6")
        if not math.isfinite(raw):
            self.fail(where, f"must be a finite number, got {raw}")
        if isinstance(raw, TooSmall):
            self.fail(where, underflow_problem(raw.written))
        if abs(raw) > 1e6:
            self.fail(where, f"{raw} is too large for a worked example; keep magnitudes at most 1e6")
        return float(raw)

    def per_layer(self, raw: Any, where: str, depth: int, kind: type) -> list:
        if isinstance(raw, kind):
            return [raw] * depth
        if isinstance(raw, list):
            if len(raw) != depth:
                self.fail(where, f"has {len(raw)} entries but the network has {depth} computing layers")
            for i, item in enumerate(raw):
                if not isinstance(item, kind):
                    self.fail(f"{where}[{i}]", f"expected {_kind(kind())}, got {_kind(item)}")
            return list(raw)
        self.fail(where, f"expected {_kind(kind())} or a list of one per computing layer, got {_kind(raw)}")


def _closest(word: str, options: tuple[str, ...]) -> list[str]:
    """The valid option a mistyped word was probably meant to be: same letters in another case, or similar."""
    same = [o for o in options if o.lower() == word.lower()]
    return same or difflib.get_close_matches(word, options, n=1)


REQUIRED_HINTS = {
    "name": 'e.g. name = "my-network" (lowercase letters, digits and hyphens)',
    "network": "add a [network] table with layers, activation and loss",
    "layers": "e.g. layers = [2, 2, 1] (input width, hidden widths, output width)",
    "activation": f"one of {', '.join(ACTIVATIONS)}, or a list with one per computing layer",
    "loss": f"one of {', '.join(LOSSES)}",
    "x": "one row of inputs per example, e.g. x = [[0.05, 0.10]]",
    "y": "one row of targets per example, e.g. y = [[0.01, 0.99]]",
}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _join(where: str, key: str) -> str:
    # A key that is not a bare TOML key is shown quoted (and escaped), as TOML would write it.
    shown = key if _BARE_KEY.fullmatch(key) else one_line(json.dumps(key, ensure_ascii=False))
    return f"{where}.{shown}" if where else shown
