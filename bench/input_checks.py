"""What the generated module's input checks cost at one example, where they weigh the most.

    python bench/input_checks.py            # prints a Markdown table (about a minute)
    python bench/input_checks.py --quick    # a short smoke run
    python bench/input_checks.py --values   # only the value checks (NaN/±inf, bce targets) at 1 and 1,000 examples

For every benchmark network of bench/run.py, `gradients(params, X, Y)` at 1 example is timed three
ways, interleaved with the hand-written backprop (bench/handwritten.py) as in run.py, and given as
a ratio to it:
- checked: the module as derive writes it (`_arrays` checks shapes, keys, dtypes, one-hot rows);
- before: the same module with the `_arrays` of derive before the checks (dtype conversion only);
- unchecked: the same module trusting its input (`_arrays` returns its arguments).
The goal (bench/RESULTS.md, issue 4) is that the checked matrix form stays faster at one example
than jax.jit(jax.grad), whose ratio to the same hand-written backprop RESULTS.md records; this
script reads that ratio from RESULTS.md rather than needing JAX installed.

On a busy machine the interleaved ratios move by ±0.1, more than the checks cost; so `_arrays` is
also timed alone (fastest of many repeats, which load can only slow down), and its extra cost over
the old `_arrays`, as a share of one gradient call, is added to RESULTS.md's matrix ratio: the
ratio RESULTS.md would show with the checks, to hold against its JAX ratio.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import timeit
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy  # noqa: E402
from handwritten import make_backprop  # noqa: E402
from run import NETWORKS, interleaved  # noqa: E402  (also puts the repository on sys.path)

from derive.code.codegen import load_module, module_source  # noqa: E402
from derive.engine.derivation import derive  # noqa: E402
from derive.engine.network import build_network  # noqa: E402
from derive.engine.spec import parse_spec  # noqa: E402
from derive.numbers.reference import random_problem  # noqa: E402


def _arrays_before(params, X, Y=None):
    """derive's `_arrays` before the input checks: a dtype fast path, conversion otherwise."""
    dtype = X.dtype if type(X) is numpy.ndarray else None
    if dtype is not None and dtype.kind == 'f' and (Y is None or (type(Y) is numpy.ndarray and Y.dtype is dtype)):
        for v in params.values():
            if type(v) is not numpy.ndarray or v.dtype is not dtype:
                break
        else:
            return params, X, Y
    raise AssertionError("the benchmark passes float64 arrays only")


def _arrays_trusting(params, X, Y=None):
    return params, X, Y


def recorded_ratios() -> dict[str, tuple[float, float]]:
    """(matrix ×, jax ×) at 1 example per network label, from bench/RESULTS.md's main table."""
    ratios = {}
    for line in (HERE / "RESULTS.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 13 and re.fullmatch(r"[\d.]+ / .*", cells[12]):
            ratios[cells[0]] = (float(cells[9].split(" / ")[0]), float(cells[12].split(" / ")[0]))
    return ratios


def fastest_us(fn, number: int, repeats: int) -> float:
    return 1e6 * min(timeit.repeat(fn, number=number, repeat=repeats)) / number


def measure(net, repeats: int, min_time: float) -> dict[str, float]:
    spec = parse_spec(net.toml())
    source = module_source(derive(build_network(spec)))
    variants = {name: load_module(source, f"bench_{name}") for name in ("checked", "before", "unchecked")}
    variants["before"]._arrays = _arrays_before  # the module's functions look `_arrays` up at call time
    variants["unchecked"]._arrays = _arrays_trusting
    params, X, Y = random_problem(spec, seed=1, examples=1)
    baseline = make_backprop(spec)
    want = variants["unchecked"].gradients(params, X, Y)
    for name, module in variants.items():
        got = module.gradients(params, X, Y)
        assert all(numpy.array_equal(got[k], want[k]) for k in want), name
    contenders = {"hand": lambda: baseline(params, X, Y)}
    contenders.update({name: (lambda m=m: m.gradients(params, X, Y)) for name, m in variants.items()})
    t = interleaved(contenders, repeats, min_time)
    out = {"hand_us": 1e6 * statistics.median(t["hand"])}
    for name in variants:
        out[name] = statistics.median(c / h for c, h in zip(t[name], t["hand"]))
        out[name + "_us"] = 1e6 * statistics.median(t[name])
    checked = variants["checked"]
    out["alone_us"] = fastest_us(lambda: checked._arrays(params, X, Y), 20_000, repeats)
    out["before_alone_us"] = fastest_us(lambda: _arrays_before(params, X, Y), 20_000, repeats)
    out["gradient_us"] = fastest_us(lambda: checked.gradients(params, X, Y), 2_000, repeats)
    return out


def value_checks(net, examples: int, repeats: int) -> dict[str, float]:
    """What the value checks (issue 22: no NaN or ±inf in X and Y, bce targets in [0, 1]) cost in one
    gradient call: those checks alone (fastest of many repeats) against the whole call."""
    spec = parse_spec(net.toml())
    module = load_module(module_source(derive(build_network(spec))), "bench_values")
    params, X, Y = random_problem(spec, seed=1, examples=examples)
    y_check = module._one_hot if hasattr(module, "_one_hot") else getattr(module, "_unit", module._finite)
    y_checked = "one-hot (before)" if y_check is getattr(module, "_one_hot", None) else y_check.__name__
    number = 20_000 if examples == 1 else 500
    x_us = fastest_us(lambda: module._finite(X), number, repeats)
    y_us = 0.0 if y_checked == "one-hot (before)" else fastest_us(lambda: y_check(Y), number, repeats)
    gradient_us = fastest_us(lambda: module.gradients(params, X, Y), max(50, number // 10), repeats)
    return {"x_us": x_us, "y_us": y_us, "y_check": y_checked, "gradient_us": gradient_us}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter repeats")
    parser.add_argument("--values", action="store_true", help="only the value checks, at 1 and 1,000 examples")
    args = parser.parse_args(argv)
    repeats, min_time = (5, 0.005) if args.quick else (31, 0.02)
    if args.values:
        print("| network | examples | X finite µs | Y check µs (which) | gradients µs | share of the call |")
        print("|---|---|---|---|---|---|")
        for net in NETWORKS:
            for examples in (1, 1000):
                r = value_checks(net, examples, repeats)
                share = (r["x_us"] + r["y_us"]) / r["gradient_us"]
                print(f"| {net.label} | {examples} | {r['x_us']:.2f} | {r['y_us']:.2f} ({r['y_check']}) | "
                      f"{r['gradient_us']:.1f} | {100 * share:.1f}% |", flush=True)
        return 0
    recorded = recorded_ratios()
    print("| network | hand-written µs | checked × | before × | unchecked × | `_arrays` alone µs (before) | extra ÷ gradient "
          "| RESULTS.md matrix × → with checks | jax × (RESULTS.md) | faster than jax |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for net in NETWORKS:
        r = measure(net, repeats, min_time)
        extra = max(0.0, r["alone_us"] - r["before_alone_us"]) / r["gradient_us"]
        matrix, jax = recorded.get(net.label, (None, None))
        projected = None if matrix is None else matrix * (1 + extra)
        verdict = "—" if jax is None else ("yes" if projected < jax and r["checked"] < jax else "NO")
        print(f"| {net.label} | {r['hand_us']:.1f} | {r['checked']:.2f} | {r['before']:.2f} | {r['unchecked']:.2f} | "
              f"{r['alone_us']:.2f} ({r['before_alone_us']:.2f}) | {100 * extra:.1f}% | "
              f"{'—' if matrix is None else f'{matrix:.2f} → {projected:.2f}'} | {'—' if jax is None else f'{jax:.2f}'} | {verdict} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
