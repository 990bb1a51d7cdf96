"""The generated module's front door: its input checks, and the helpers a student reaches for.

Every public function of gradients.py starts with `_arrays(params, X, Y)`, which either recognises
the common call (float arrays of one dtype in the right shapes) with a few identity and tuple tests,
or hands over to `_check`, which converts what can be converted (lists, integers) and otherwise
raises one ValueError naming the argument, the expected shape and what it got. Numbers a spec
refuses are refused here too: NaN or ±inf in X or Y (one dot-product pass each), and for a bce loss
targets outside [0, 1]. A wrong shape that
NumPy would broadcast (labels as a column, one target row for many examples) must never reach the
arithmetic: it gives a plausible, wrong loss.

The helpers: `init_params(seed)` draws weights as the spec's `seed` does (spec.random_parameters),
`predict(params, X)` is the output layer's activation, `step(params, X, Y, lr)` one gradient step.
"""
from __future__ import annotations

from ..engine.spec import Spec


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def input_check_lines(spec: Spec) -> list[str]:
    """Source lines of `_arrays` and `_check` for one spec's module."""
    shapes = spec.parameter_shapes()
    n_in, n_out = spec.layers[0], spec.layers[-1]
    one_hot = spec.activations[-1] == "softmax"
    # Targets are probabilities for bce and cross-entropy (the spec refuses others); softmax's are one-hot.
    unit_targets = spec.loss.startswith(("bce", "cross_entropy")) and not one_hot
    expected = ", ".join(f"{k}: {_shape_text(s)}" for k, s in shapes.items())
    y_fast = f"(type(Y) is numpy.ndarray and Y.dtype is dtype and Y.shape == (shape[0], {n_out}))"
    lines = [
        f"_SHAPES = {tuple(shapes.items())!r}",
        f"_EXPECTED = {'{' + expected + '}'!r}",
        "",
        "",
        "def _arrays(params, X, Y=None):",
        '    """The arguments checked (see `_check`), in one real floating dtype: float32 stays float32."""',
        "    # The common call is recognised with identity and tuple tests (well under a microsecond at",
        "    # one example, where a gradient costs ~10 µs); anything else goes to `_check`, which explains.",
        f"    if type(X) is numpy.ndarray and type(params) is dict and len(params) == {len(shapes)}:",
        "        dtype, shape = X.dtype, X.shape",
        f"        if dtype.kind == 'f' and len(shape) == 2 and shape[1] == {n_in} and shape[0] and (",
        f"                Y is None or {y_fast}):",
        "            for name, expected in _SHAPES:",
        "                value = params.get(name)",
        "                if type(value) is not numpy.ndarray or value.dtype is not dtype or value.shape != expected:",
        "                    break",
        "            else:",
    ]
    y_ok = "_one_hot(Y)" if one_hot else "_unit(Y)" if unit_targets else "_finite(Y)"
    lines += [
        f"                if _finite(X) and (Y is None or {y_ok}):",
        "                    return params, X, Y",
        "    return _check(params, X, Y)",
        "",
        "",
        "def _finite(A):",
        '    """No NaN or ±inf in A, in one pass: a sum (a small array\'s in Python, cheaper than NumPy\'s',
        '    call; a large one\'s of squares, in one dot product) is finite; if it overflowed, look again."""',
        "    if A.size <= 64:",
        "        total = sum(A.ravel().tolist())",
        "        return total - total == 0 or bool(numpy.isfinite(A).all())",
        "    flat = A.reshape(-1)",
        "    return bool(flat.dot(flat) < numpy.inf) or bool(numpy.isfinite(A).all())",
        "",
        "",
    ]
    if unit_targets:
        lines += [
            "def _unit(Y):",
            '    """Every target from 0 to 1, as the loss needs (NaN fails the comparison)."""',
            "    if Y.shape[0] == 1:",
            "        return all(0.0 <= v <= 1.0 for v in Y.tolist()[0])  # one row: cheaper than two reductions",
            "    return bool(0.0 <= Y.min()) and bool(Y.max() <= 1.0)",
            "",
            "",
        ]
    if one_hot:
        lines += [
            "def _one_hot(Y):",
            '    """Every row one 1 and the rest 0 (as the softmax loss assumes)."""',
            "    m, n = Y.shape",
            "    if m == 1:",
            "        # One row: list.count on its Python floats is ~5x cheaper than NumPy's reductions.",
            "        row = Y.tolist()[0]",
            "        return row.count(1.0) == 1 and row.count(0.0) == n - 1",
            "    # m nonzero entries with every row summing to 1 leaves one nonzero per row, equal to 1.",
            "    return numpy.count_nonzero(Y) == m and bool((Y.sum(1) == 1).all())",
            "",
            "",
        ]
    hint = f"; for integer class labels use np.eye({n_out})[labels]" if one_hot else ""
    lines += [
        "def _check(params, X, Y):",
        '    """Convert lists and integers; refuse anything else with one ValueError naming the argument."""',
        "    if not isinstance(params, dict):",
        "        raise ValueError(f'params: expected a dict of arrays {_EXPECTED}, got {type(params).__name__}')",
        "    for name, expected in _SHAPES:",
        "        if name not in params:",
        "            raise ValueError(f'params: {name!r} is missing; expected {_EXPECTED}')",
        "    for name in params:",
        "        if name not in PARAMETERS:",
        "            raise ValueError(f'params: unknown key {name!r}; expected exactly {_EXPECTED}')",
        "    named = [('X', X)] + [(f'params[{name!r}]', params[name]) for name, _ in _SHAPES]",
        "    named += [] if Y is None else [('Y', Y)]",
        "    arrays = []",
        "    for label, value in named:",
        "        try:",
        "            array = numpy.asarray(value)",
        "        except (ValueError, TypeError) as exc:  # ragged lists",
        "            raise ValueError(f'{label}: expected an array of numbers, got {type(value).__name__} ({exc})') from None",
        "        if array.dtype.kind not in 'fiu':",
        "            raise ValueError(f'{label}: expected real floating or integer numbers, got dtype {array.dtype}')",
        "        arrays.append(array)",
        "    floats = [a.dtype for a in arrays if a.dtype.kind == 'f']",
        "    # The arguments' own float type (float32 stays float32); integers alone become float64.",
        "    dtype = numpy.result_type(*floats) if floats else numpy.dtype(numpy.float64)",
        "    arrays = [a if a.dtype == dtype else a.astype(dtype) for a in arrays]",
        "    X = arrays[0]",
        f"    if X.ndim != 2 or X.shape[1] != {n_in}:",
        f"        tip = ' (one example: X.reshape(1, -1))' if X.shape == ({n_in},) else ''",
        f"        raise ValueError(f'X: expected shape (m, {n_in}), one row per example, got {{X.shape}}{{tip}}')",
        "    m = X.shape[0]",
        "    if m < 1:",
        f"        raise ValueError(f'X: expected at least one example (m >= 1), got shape {{X.shape}}')",
        "    if not _finite(X):",
        "        row, column = (int(i) for i in numpy.argwhere(~numpy.isfinite(X))[0])",
        "        raise ValueError(f'X: expected finite numbers, got {X[row, column]} at row {row}, column {column}')",
        "    checked = {}",
        "    for (name, expected), array in zip(_SHAPES, arrays[1:]):",
        "        if array.shape != expected:",
        "            tip = ' (transposed? W<l> is (n_l, n_{l-1}), as in nn.Linear)' if array.shape == expected[::-1] else ''",
        "            raise ValueError(f'params[{name!r}]: expected shape {expected}, got {array.shape}{tip}')",
        "        checked[name] = array",
        "    if Y is None:",
        "        return checked, X, None",
        "    Y = arrays[-1]",
    ]
    if n_out == 1:
        lines += ["    if Y.shape == (m,):",
                  "        Y = Y.reshape(m, 1)  # one output: a flat Y is one number per example"]
    also = f" or ({{m}},)" if n_out == 1 else ""
    lines += [f"    if Y.shape != (m, {n_out}):"]
    if one_hot:  # labels as a column or a flat vector: the classic mistake, with its fix
        lines += [f"        tip = {hint!r} if Y.ndim < 2 or Y.shape[1] == 1 else ''"]
    lines += [f"        raise ValueError(f'Y: expected shape ({{m}}, {n_out}){also}, one row per example of X, got {{Y.shape}}"
              + ("{tip}')" if one_hot else "')")]
    if one_hot:
        lines += [
            "    if not _one_hot(Y):",
            "        row = next(r for r in range(m) if sorted(Y[r].tolist()) != [0.0] * (Y.shape[1] - 1) + [1.0])",
            f"        raise ValueError(f'Y: expected one-hot rows for the softmax output (one 1, the rest 0), got row {{row}} = {{Y[row].tolist()}}{hint}')",
        ]
    if unit_targets:
        lines += [
            "    if not _unit(Y):",
            "        row, column = (int(i) for i in numpy.argwhere(~((Y >= 0) & (Y <= 1)))[0])",
            f"        raise ValueError(f'Y: expected targets from 0 to 1 for the {spec.loss} loss, got {{Y[row, column]}} "
            "at row {row}, column {column}')",
        ]
    elif not one_hot:  # one-hot rows are finite already
        lines += [
            "    if not _finite(Y):",
            "        row, column = (int(i) for i in numpy.argwhere(~numpy.isfinite(Y))[0])",
            "        raise ValueError(f'Y: expected finite numbers, got {Y[row, column]} at row {row}, column {column}')",
        ]
    lines += ["    return checked, X, Y", "", ""]
    return lines


def helper_lines(spec: Spec) -> list[str]:
    """Source lines of init_params, predict and step."""
    last = spec.depth
    return [
        "def init_params(seed=0):",
        '    """Parameters as the spec\'s `seed` draws them: uniform in [-1, 1], rounded to two decimals.',
        "",
        "    One numpy.random.default_rng(seed) stream, drawn parameter by parameter in PARAMETERS order.",
        '    """',
        "    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or not 0 <= seed < 2**32:",
        "        raise ValueError(f'seed: expected a whole number from 0 to 2**32 - 1, got {seed!r}')",
        "    rng = numpy.random.default_rng(int(seed))",
        "    return {name: numpy.round(rng.uniform(-1.0, 1.0, size=shape), 2) for name, shape in _SHAPES}",
        "",
        "",
        "def predict(params, X):",
        f'    """The network\'s outputs a{last}, one row per example."""',
        f'    return forward(params, X)["a{last}"]',
        "",
        "",
        "def step(params, X, Y, lr):",
        '    """New parameters after one gradient-descent step p - lr * dJ/dp (the arguments are not changed)."""',
        "    if isinstance(lr, bool) or not isinstance(lr, (int, float, numpy.integer, numpy.floating)) or not 0 < lr < float('inf'):",
        "        raise ValueError(f'lr: expected a positive number, got {lr!r}')",
        "    params, X, Y = _arrays(params, X, Y)",
        "    grads = gradients(params, X, Y)",
        "    rate = X.dtype.type(lr)  # a number of the working dtype: float32 parameters stay float32",
        "    return {name: params[name] - rate * grads[name] for name, _ in _SHAPES}",
        "",
        "",
    ]
