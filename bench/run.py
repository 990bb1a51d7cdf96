"""Speed at every size: the whole `derive build` command first, then its stages, memory, gradients.

Gradient speed is measured against a hand-written NumPy backprop.

    python bench/run.py            # the full run; writes bench/RESULTS.md
    python bench/run.py --quick    # a short smoke run: the whole command on the three small targets only
    python bench/run.py --commands # only the whole-command section again, in place in bench/RESULTS.md

The whole command is timed as a user runs it: `python -m derive build SPEC --out DIR --force`
(with and without --no-pdf) in a fresh process, from start to exit, with --timings so that the
process itself reports its stages (import, parse, derive, emit, load, check, answers, prove,
render, compile, write); whatever the stages do not account for (interpreter start-up and exit)
is shown as "other". Wall time, CPU time (user + system) and peak RSS come from wait4() on that
process: on a loaded machine the wall time includes waiting for a core, the CPU time does not.

Not part of the test suite. Every gradient time is a ratio to the hand-written NumPy backprop in
bench/handwritten.py, timed in the same process and interleaved with the code being compared
(repeat r of every contender runs before repeat r + 1 of any), each repeat long enough (≥ 20 ms
by default), and the ratio reported is the median over repeats of (contender / baseline in the same
round), because these machines are noisy.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
import timeit
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import comparators  # noqa: E402
import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402
from handwritten import make_backprop  # noqa: E402
from sympy.core.cache import clear_cache  # noqa: E402

from derive.code.codegen import load_module, module_source  # noqa: E402
from derive.engine.derivation import derive  # noqa: E402
from derive.engine.network import build_network  # noqa: E402
from derive.engine.spec import parse_spec  # noqa: E402
from derive.numbers.reference import random_problem  # noqa: E402


@dataclass(frozen=True)
class Net:
    label: str
    layers: tuple[int, ...]
    activation: tuple[str, ...]  # one per computing layer
    bias: bool
    loss: str

    def toml(self) -> str:
        acts = "[" + ", ".join(f'"{a}"' for a in self.activation) + "]"
        x = ", ".join(f"{0.1 * (k + 1):.1f}" for k in range(self.layers[0]))
        n = self.layers[-1]
        y = ", ".join("1.0" if k == 0 else "0.0" for k in range(n)) if self.activation[-1] == "softmax" else \
            ", ".join(f"{0.9 - 0.8 * k / max(1, n - 1):.2f}" for k in range(n))
        slug = re.sub(r"[^a-z0-9]+", "-", self.label.lower()).strip("-")
        return (f'name = "bench-{slug}"\n'
                f"[network]\nlayers = {list(self.layers)}\nactivation = {acts}\n"
                f'bias = {str(self.bias).lower()}\nloss = "{self.loss}"\n'
                f"[values]\nx = [[{x}]]\ny = [[{y}]]\nseed = 1\n")


def sigmoid_net(*layers: int) -> Net:
    return Net("-".join(map(str, layers)), layers, ("sigmoid",) * (len(layers) - 1), False, "half_sse")


NETWORKS = [
    sigmoid_net(2, 2, 2),
    sigmoid_net(4, 8, 3),
    sigmoid_net(3, 5, 5, 5, 2),
    sigmoid_net(8, 16, 16, 4),
    Net("8-16-16-4 tanh/softmax+b", (8, 16, 16, 4), ("tanh", "tanh", "softmax"), True, "cross_entropy"),
]
GROWTH_K = range(1, 7)
SIZES = (1, 1_000, 100_000)

# Targets of issue 4 (2-core machine).
PIPELINE_TARGET_S = {"3-5-5-5-2": 0.5, "8-16-16-4": 2.0}
PEAK_TARGET_MB = 500.0
MATRIX_TARGET = 1.3  # at 1,000 examples, every sigmoid network
SCALAR_TARGET = {"3-5-5-5-2": 8.0}  # at 1,000 examples


# ---------------------------------------------------------------------------------------------
# The whole command, as a user runs it


COMMAND_NETS = [  # the issue-10 targets: whole process, seconds, without PDFs / with PDFs
    (Net("3-5-5-5-2 sigmoid+b", (3, 5, 5, 5, 2), ("sigmoid",) * 4, True, "half_sse"), 1.0, None),
    (Net("8-16-16-4 sigmoid", (8, 16, 16, 4), ("sigmoid",) * 3, False, "half_sse"), 2.0, None),
    (Net("8-8-8-8-3 tanh/softmax+b", (8, 8, 8, 8, 3), ("tanh",) * 3 + ("softmax",), True, "cross_entropy_mean"), 2.0, None),
    (Net("5-50-7 relu/softmax+b", (5, 50, 7), ("relu", "softmax"), True, "cross_entropy_mean"), None, None),
    (Net("10x32 tanh/softmax+b", (32,) * 11, ("tanh",) * 9 + ("softmax",), True, "cross_entropy_mean"), 30.0, 90.0),
]
# The largest spec the new limits allow (49,536 parameters); timed without PDFs only, in the full run.
LARGEST_NET = Net("128-128-128-128 tanh/softmax+b", (128,) * 4, ("tanh", "tanh", "softmax"), True, "cross_entropy_mean")
# Growth of the whole command: ten computing layers of width w (softmax output), ≥ 6 sizes.
GROWTH_WIDTHS = (4, 8, 12, 16, 20, 24, 28, 32)
STAGE_ORDER = ("import", "parse", "derive", "emit", "load", "check", "answers", "prove", "render", "compile", "write")


def run_command(net: Net, pdf: bool, workdir: Path) -> dict:
    """One `derive build` process for `net`: wall and CPU seconds, peak RSS and the stages it reports."""
    spec = workdir / f"{net.label.split()[0]}.toml"
    spec.write_text(net.toml())
    command = [sys.executable, "-m", "derive", "build", str(spec), "--out", str(workdir / "out"), "--force", "--timings"]
    if not pdf:
        command.append("--no-pdf")
    with open(workdir / "stderr.txt", "w+b") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)  # this process's own rusage: CPU and peak RSS
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"derive build failed for {net.label}:\n{text}")
    stages = {name: float(ms) / 1e3 for name, ms in re.findall(r"(\w+) (\d+) ms", text.split("timings:", 1)[-1])}
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024, "stages": stages}


def timed_command(net: Net, pdf: bool, workdir: Path, repeats: int) -> dict:
    """The median run of `repeats` by wall time (its CPU time, peak RSS and stages), and every run's wall time."""
    runs = sorted((run_command(net, pdf, workdir) for _ in range(repeats)), key=lambda r: r["wall"])
    best = dict(runs[len(runs) // 2])
    best["walls"] = [r["wall"] for r in runs]
    best["other"] = max(0.0, best["wall"] - sum(best["stages"].values()))
    return best


def parameters_of(net: Net) -> int:
    return sum(math.prod(shape) for shape in parse_spec(net.toml()).parameter_shapes().values())


def command_times(quick: bool) -> dict:
    import tempfile

    from derive.sheets.latex import have_latex

    latex = have_latex()
    rows = []
    nets = COMMAND_NETS[:3] if quick else COMMAND_NETS
    with tempfile.TemporaryDirectory(prefix="derive-bench-") as tmp:
        work = Path(tmp)
        for net, target, pdf_target in nets:
            print(f"… derive build {net.label}", file=sys.stderr, flush=True)
            big = math.prod(net.layers) > 10**6
            repeats = 1 if quick else (2 if big else 3)
            row = {"net": net, "target": target, "pdf_target": pdf_target, "params": parameters_of(net),
                   "nopdf": timed_command(net, False, work, repeats)}
            if latex and not quick:
                row["pdf"] = timed_command(net, True, work, 1 if big else 2)
            rows.append(row)
        largest = None
        if not quick:
            print(f"… derive build {LARGEST_NET.label}", file=sys.stderr, flush=True)
            largest = {"net": LARGEST_NET, "params": parameters_of(LARGEST_NET), "nopdf": timed_command(LARGEST_NET, False, work, 1)}
        growth_rows = []
        for w in (GROWTH_WIDTHS[:3] if quick else GROWTH_WIDTHS):
            net = Net(f"10x{w} tanh/softmax+b", (w,) * 11, ("tanh",) * 9 + ("softmax",), True, "cross_entropy_mean")
            print(f"… derive build {net.label} (growth)", file=sys.stderr, flush=True)
            weights = parameters_of(net)
            growth_rows.append({"net": net, "weights": weights, "run": timed_command(net, False, work, 1)})
    return {"rows": rows, "largest": largest, "growth": growth_rows, "latex": latex}


def s(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.2f}"


def command_lines(c: dict) -> list[str]:
    head = ["network", "params", "whole command s (no PDF)", "CPU s", "peak RSS MB", "with PDFs s", "CPU s", "peak RSS MB",
            *[f"{k} s" for k in STAGE_ORDER], "other s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = c["rows"] + ([c["largest"]] if c["largest"] else [])
    for r in rows:
        a, b = r["nopdf"], r.get("pdf")
        stages = dict(a["stages"])
        if b is not None:
            stages["compile"] = b["stages"].get("compile", math.nan)
        lines.append("| " + " | ".join([
            r["net"].label, f"{r['params']:,}", s(a["wall"]), s(a["cpu"]), f"{a['rss_mb']:.0f}",
            s(b["wall"]) if b else "—", s(b["cpu"]) if b else "—", f"{b['rss_mb']:.0f}" if b else "—",
            *[s(stages.get(k, math.nan)) if k in stages else "—" for k in STAGE_ORDER], s(a["other"])]) + " |")
    return lines


def command_growth_lines(c: dict) -> list[str]:
    g = c["growth"]
    lines = ["| network | weights | whole command s | CPU s | stages without import s | µs / weight (stages) |",
             "|---|---|---|---|---|---|"]
    for r in g:
        work = sum(v for k, v in r["run"]["stages"].items() if k != "import")
        lines.append(f"| {r['net'].label} | {r['weights']:,} | {s(r['run']['wall'])} | {s(r['run']['cpu'])} | {s(work)} | "
                     f"{1e6 * work / r['weights']:.0f} |")
    if len(g) >= 2:
        xs = [r["weights"] for r in g]
        for label, ys in (("whole command (wall)", [r["run"]["wall"] for r in g]),
                          ("whole command (CPU)", [r["run"]["cpu"] for r in g]),
                          ("stages without import", [sum(v for k, v in r["run"]["stages"].items() if k != "import") for r in g])):
            a, b, r2 = linear_fit(xs, ys)
            lines.append("")
            lines.append(f"- {label}: least squares ≈ {a:.2f} s + {1e6 * b:.0f} µs × weights (R² = {r2:.3f}); "
                         f"log-log slope {loglog_slope(xs, ys):.2f} over {len(xs)} sizes")
    return lines


def command_targets(c: dict) -> list[str]:
    out = []
    for r in c["rows"]:
        for key, limit, what in (("nopdf", r["target"], "--no-pdf"), ("pdf", r["pdf_target"], "with PDFs")):
            run = r.get(key)
            if limit is None or run is None:
                continue
            out.append(f"- whole `derive build {what}`, {r['net'].label}: {run['wall']:.2f} s wall "
                       f"(runs: {', '.join(f'{w:.2f}' for w in run['walls'])}; CPU {run['cpu']:.2f} s) vs < {limit:.0f} s — "
                       f"{'MET' if run['wall'] < limit else 'MISSED'}")
    if c["largest"]:
        run = c["largest"]["nopdf"]
        out.append(f"- largest spec the limits allow ({c['largest']['net'].label}, {c['largest']['params']:,} parameters), "
                   f"whole `derive build --no-pdf`: {run['wall']:.1f} s wall, CPU {run['cpu']:.1f} s (no target set; "
                   f"slowest stages: {', '.join(f'{k} {v:.1f} s' for k, v in sorted(run['stages'].items(), key=lambda kv: -kv[1])[:3])})")
    g = c["growth"]
    if len(g) >= 6:
        xs = [r["weights"] for r in g]
        ys = [sum(v for k, v in r["run"]["stages"].items() if k != "import") for r in g]
        slope = loglog_slope(xs[len(xs) // 2:], ys[len(ys) // 2:])
        out.append(f"- growth of the build's stages with the number of weights, log-log slope over the larger half of "
                   f"{len(xs)} sizes: {slope:.2f} (1 = linear) — {'MET' if slope <= 1.15 else 'MISSED'}")
    return out


# ---------------------------------------------------------------------------------------------
# Machine


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        blas = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # the layout of numpy's build config is not a public API
        blas = "unknown"
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features  # private; informative only
        simd = ", ".join(f"{k} {'yes' if features.get(k) else 'no'}" for k in ("AVX2", "FMA3", "AVX512F"))
    except Exception:
        simd = "unknown"
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") if k in os.environ}
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "nproc": str(os.cpu_count()),
        "affinity": str(len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else "?",
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sympy": sp.__version__,
        "blas": blas,
        "simd": simd,
        "load": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "env": ", ".join(f"{k}={v}" for k, v in env.items()) or "none of OPENBLAS_CORETYPE / OPENBLAS_NUM_THREADS / OMP_NUM_THREADS set",
    }


# ---------------------------------------------------------------------------------------------
# Pipeline: spec -> derivation -> module -> worksheets


RENDER_ERRORS: dict[str, str] = {}


def load_worksheets():
    """render_worksheets, or None while derive/sheets/render.py does not exist yet (or does not import)."""
    try:
        from derive.sheets.render import render_worksheets
    except Exception as exc:  # being written by someone else: any failure means "not available"
        RENDER_ERRORS["import"] = f"{type(exc).__name__}: {exc}"
        return None
    return render_worksheets


def worked_numbers(derivation, source):
    from derive.numbers.answers import compute_answers

    return compute_answers(derivation, load_module(source)) if derivation.network.spec.values is not None else None


def pipeline_once(net: Net, render) -> tuple[dict[str, float], object, str]:
    """One cold run (SymPy's cache cleared): seconds for derive, emit and render."""
    clear_cache()
    gc.collect()
    t0 = time.perf_counter()
    spec = parse_spec(net.toml())
    derivation = derive(build_network(spec))
    t1 = time.perf_counter()
    source = module_source(derivation)
    t2 = time.perf_counter()
    times = {"derive": t1 - t0, "emit": t2 - t1, "render": math.nan}
    if render is not None:
        numbers = worked_numbers(derivation, source)  # the answers are computed, not rendered: untimed
        t3 = time.perf_counter()
        try:
            render(derivation, numbers, spec.notation)
        except Exception as exc:  # still being written by someone else: report, do not stop
            RENDER_ERRORS[net.label] = f"{type(exc).__name__}: {exc}"
        else:
            times["render"] = time.perf_counter() - t3
    return times, derivation, source


def pipeline_times(net: Net, repeats: int, render) -> tuple[dict[str, float], object, str]:
    runs = []
    for _ in range(repeats):
        times, derivation, source = pipeline_once(net, render)
        runs.append(times)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    med["total"] = statistics.median(sum(v for v in r.values() if not math.isnan(v)) for r in runs)
    return med, derivation, source


def memory_child(index: int, traced: bool) -> None:
    """In a fresh process, derive + emit + render (with the worked numbers) once and print JSON:
    the tracemalloc peak when `traced`, else the process's max RSS (tracemalloc's own bookkeeping
    would inflate the RSS, so the two are measured in separate processes)."""
    net = NETWORKS[index]
    render = load_worksheets()
    spec = parse_spec(net.toml())
    if traced:
        tracemalloc.start()
    derivation = derive(build_network(spec))
    source = module_source(derivation)
    if render is not None:
        try:
            render(derivation, worked_numbers(derivation, source), spec.notation)
        except Exception:
            pass  # reported by the timing run
    if traced:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(json.dumps({"peak_mb": peak / 2**20}))
    else:
        print(json.dumps({"rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak resident set. VmHWM first: getrusage's ru_maxrss survives exec, so a child
    started while the benchmark holds its 100,000-example arrays would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def memory(index: int) -> dict[str, float]:
    result = {"peak_mb": math.nan, "rss_mb": math.nan}
    for flag in ("--memory-child", "--rss-child"):
        out = subprocess.run([sys.executable, str(Path(__file__).resolve()), flag, str(index)],
                             capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL, timeout=600)
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            continue
        result.update(json.loads(out.stdout.strip().splitlines()[-1]))
    return result


# ---------------------------------------------------------------------------------------------
# Gradient speed


def calibrated(fn, min_time: float) -> tuple[timeit.Timer, int]:
    """A timer for `fn` and a number of calls per repeat that takes at least `min_time` seconds."""
    timer = timeit.Timer(fn)
    fn()  # warm up: first-call costs are not what is measured
    number = 1
    while True:
        took = timer.timeit(number)
        if took >= min_time:
            return timer, number
        number = max(2 * number, math.ceil(1.2 * number * min_time / max(took, 1e-9)))


def interleaved(contenders: dict[str, object], repeats: int, min_time: float) -> dict[str, list[float]]:
    """Seconds per call of every zero-argument callable, one sample per repeat, measured round-robin
    (repeat r of every contender runs before repeat r + 1 of any)."""
    timers = {name: calibrated(fn, min_time) for name, fn in contenders.items()}
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, (timer, number) in timers.items():
            samples[name].append(timer.timeit(number) / number)
    return samples


def check_same(spec, got: dict, want: dict, what: str) -> None:
    for name, w in want.items():
        g = np.asarray(got[name]).reshape(np.shape(w))
        if not np.allclose(g, w, rtol=1e-9, atol=1e-12):
            raise SystemExit(f"{spec.name}: {what} disagrees with the hand-written backprop on {name}")


def gradient_ratios(net: Net, source: str, sizes, repeats: int, min_time: float) -> dict[int, dict[str, float]]:
    spec = parse_spec(net.toml())
    module = load_module(source, "bench_" + spec.name.replace("-", "_"))
    baseline = make_backprop(spec)
    optional = {"torch": comparators.make_torch(spec), "jax": comparators.make_jax(spec)}
    results: dict[int, dict[str, float]] = {}
    for m in sizes:
        params, X, Y = random_problem(spec, seed=m, examples=m)
        want = baseline(params, X, Y)
        check_same(spec, module.gradients(params, X, Y), want, "gradients")
        check_same(spec, module.gradients_scalar(params, X, Y), want, "gradients_scalar")
        contenders = {
            "hand": lambda: baseline(params, X, Y),
            "matrix": lambda: module.gradients(params, X, Y),
            "scalar": lambda: module.gradients_scalar(params, X, Y),
        }
        for name, prepare in optional.items():
            if prepare is not None:
                try:
                    contenders[name] = prepare(params, X, Y)
                except Exception as exc:  # an optional comparator must never stop the run
                    print(f"  {name} skipped on {net.label}: {exc}", file=sys.stderr)
        t = interleaved(contenders, repeats, min_time)
        # The ratio of each repeat to the baseline's repeat right before it (same machine load),
        # then the median of those ratios.
        results[m] = {"hand_s": statistics.median(t["hand"]),
                      **{k: statistics.median(c / h for c, h in zip(v, t["hand"])) for k, v in t.items() if k != "hand"}}
    return results


# ---------------------------------------------------------------------------------------------
# Growth: 3-5^k-2


def delta_form_size(derivation) -> int:
    """Nodes of every δ definition and every gradient expression (placeholders count as leaves)."""
    exprs = list(derivation.delta_expr.values()) + list(derivation.gradient.values())
    return sum(sum(1 for _ in sp.preorder_traversal(e)) for e in exprs)


def growth(repeats: int, ks, grad_repeats: int, min_time: float) -> list[dict]:
    rows = []
    for k in ks:
        net = sigmoid_net(3, *([5] * k), 2)
        times, derivation, source = pipeline_times(net, repeats, None)
        weights = len(derivation.parameters)
        # One example, where each layer's fixed cost per NumPy call shows against JAX's fused call.
        at_one = gradient_ratios(net, source, (1,), grad_repeats, min_time)[1]
        rows.append({"k": k, "layers": net.label, "derive_s": times["derive"], "emit_s": times["emit"],
                     "size": delta_form_size(derivation), "weights": weights, "paths": derivation.total_paths,
                     "at_one": at_one})
    return rows


def linear_fit(xs, ys) -> tuple[float, float, float]:
    """Least squares y ≈ a + b·x; returns a, b and R²."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    a = my - b * mx
    total = sum((y - my) ** 2 for y in ys)
    residual = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    return a, b, 1 - residual / total if total else 1.0


def loglog_slope(xs, ys) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


# ---------------------------------------------------------------------------------------------
# Report


def ms(s: float) -> str:
    return "n/a" if math.isnan(s) else f"{1e3 * s:.0f}" if s >= 0.1 else f"{1e3 * s:.1f}"


def us(s: float) -> str:
    return f"{1e6 * s:,.0f}" if s >= 1e-4 else f"{1e6 * s:.1f}"


def ratio(r: dict, key: str) -> str:
    return f"{r[key]:.2f}" if key in r else "—"


def main_table(rows, sizes) -> list[str]:
    size_names = " / ".join(f"{m:,}" for m in sizes)
    head = ["network", "params", "derive ms", "emit ms", "render ms", "total ms", "tracemalloc peak MB", "max RSS MB",
            f"hand-written µs ({size_names})", "matrix ×", "scalar ×", "torch ×", "jax ×"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        g = r["grad"]
        per = lambda key: " / ".join(ratio(g[m], key) for m in sizes)
        lines.append("| " + " | ".join([
            r["net"].label, str(r["params"]), ms(r["times"]["derive"]), ms(r["times"]["emit"]), ms(r["times"]["render"]),
            ms(r["times"]["total"]), f"{r['mem']['peak_mb']:.1f}", f"{r['mem']['rss_mb']:.0f}",
            " / ".join(us(g[m]["hand_s"]) for m in sizes), per("matrix"), per("scalar"), per("torch"), per("jax"),
        ]) + " |")
    return lines


def growth_table(rows) -> list[str]:
    lines = ["| k | network | weights | paths | δ-form nodes | nodes / weight | derive ms | µs / weight | emit ms "
             "| 1 example: hand-written µs | matrix × | jax × |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        one = r["at_one"]
        lines.append(f"| {r['k']} | {r['layers']} | {r['weights']} | {r['paths']:,} | {r['size']:,} | "
                     f"{r['size'] / r['weights']:.1f} | {ms(r['derive_s'])} | {1e6 * r['derive_s'] / r['weights']:.0f} | {ms(r['emit_s'])} "
                     f"| {us(one['hand_s'])} | {ratio(one, 'matrix')} | {ratio(one, 'jax')} |")
    return lines


def targets(rows, grow, sizes) -> list[str]:
    out = []
    by = {r["net"].label: r for r in rows}
    for label, limit in PIPELINE_TARGET_S.items():
        t = by[label]["times"]["total"]
        note = "" if not math.isnan(by[label]["times"]["render"]) else " (render not available: derive + emit only)"
        out.append(f"- in-process derive + emit + render only (issue 4; NOT the whole command, which the section above times), "
                   f"{label}: {1e3 * t:.0f} ms vs < {1e3 * limit:.0f} ms — {'MET' if t < limit else 'MISSED'}{note}")
    peak = max(r["mem"]["peak_mb"] for r in rows)
    rss = max(r["mem"]["rss_mb"] for r in rows)
    out.append(f"- peak memory: tracemalloc ≤ {peak:.1f} MB, max RSS ≤ {rss:.0f} MB vs < {PEAK_TARGET_MB:.0f} MB — "
               f"{'MET' if max(peak, rss) < PEAK_TARGET_MB else 'MISSED'}")
    if len(grow) >= 2:
        slope = loglog_slope([g["weights"] for g in grow], [g["derive_s"] for g in grow])
        per_w = [g["derive_s"] / g["weights"] for g in grow]
        a, b, r2 = linear_fit([g["weights"] for g in grow], [g["derive_s"] for g in grow])
        out.append(f"- derive time vs weights: log-log slope {slope:.2f} (1 = linear, below 1 = a fixed cost still dominates), "
                   f"µs/weight {1e6 * per_w[0]:.0f} → {1e6 * per_w[-1]:.0f} over k = {grow[0]['k']}…{grow[-1]['k']}; "
                   f"least squares: derive ≈ {1e3 * a:.1f} ms + {1e6 * b:.0f} µs × weights (R² = {r2:.3f}) — "
                   f"{'MET' if slope <= 1.1 else 'MISSED'}")
    for r in rows:
        at_one = r["grad"][1]
        for name in ("torch", "jax"):
            if name in at_one:
                x, y = at_one["matrix"], at_one[name]
                out.append(f"- matrix form at 1 example vs {name}, {r['net'].label}: {x:.2f}× vs {y:.2f}× the hand-written "
                           f"backprop — {'MET (faster)' if x < y else 'MISSED (slower)'}")
    if 1000 in sizes:
        for r in rows:
            if r["net"].activation[-1] != "sigmoid":
                continue
            x = r["grad"][1000]["matrix"]
            out.append(f"- matrix form at 1,000 examples, {r['net'].label}: {x:.2f}× vs ≤ {MATRIX_TARGET}× — {'MET' if x <= MATRIX_TARGET else 'MISSED'}")
        for label, limit in SCALAR_TARGET.items():
            x = by[label]["grad"][1000]["scalar"]
            out.append(f"- scalar form at 1,000 examples, {label}: {x:.2f}× vs ≤ {limit}× — {'MET' if x <= limit else 'MISSED'}")
    return out


def build_times() -> dict:
    """`derive build` of every bundled example into a fresh folder, then again with nothing changed."""
    import subprocess
    import tempfile

    from derive.sheets.latex import have_latex

    with tempfile.TemporaryDirectory(prefix="derive-bench-") as out:
        command = [sys.executable, "-m", "derive", "build", "--out", out]
        times = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=HERE.parent)
            times.append(time.perf_counter() - start)
        pdfs = len(list(Path(out).rglob("*.pdf")))
    return {"cold": times[0], "warm": times[1], "pdfs": pdfs, "latex": have_latex()}


def build_lines(b: dict) -> list[str]:
    what = f"{b['pdfs']} PDFs compiled in parallel on {os.cpu_count()} cores" if b["latex"] else "no TeX installed: .tex only"
    return [f"- `derive build` of every bundled example ({what}): {b['cold']:.1f} s vs < {BUILD_COLD_S:.0f} s — "
            f"{'MET' if b['cold'] < BUILD_COLD_S else 'MISSED'}",
            f"- a second `derive build` with nothing changed: {b['warm']:.2f} s vs < {BUILD_WARM_S:.0f} s — "
            f"{'MET' if b['warm'] < BUILD_WARM_S else 'MISSED'}"]


BUILD_COLD_S, BUILD_WARM_S = 60.0, 3.0


def command_section(c: dict) -> list[str]:
    lines = ["## The whole command: `derive build`, process start to exit", "",
             "Each row is one fresh `python -m derive build SPEC --out DIR --force --timings` process (with `--no-pdf`, "
             "then without it), timed from start to exit: the median of the runs listed under Targets. CPU = user + "
             "system seconds of that process (the wall time also holds any wait for a core on a busy machine). Peak RSS "
             "from wait4(). The stage columns are what the process reports for itself with --timings (import = loading "
             "derive, SymPy, NumPy and Jinja; compile = the PDFs, from the run with PDFs); other = wall time no stage "
             "accounts for (interpreter start-up and exit). Stages are wall times, so on a busy machine they grow with "
             "the load as the whole does. Specs: one example each (x = 0.1, 0.2, …; one-hot y), biases where marked +b.", ""]
    lines += command_lines(c)
    lines += ["", "### Growth of the whole command with the number of weights", "",
              "Ten computing layers of w units (tanh, softmax output, biases, cross_entropy_mean), one run each, no PDFs.", ""]
    lines += command_growth_lines(c)
    lines += ["", "### Targets (whole command)", ""] + command_targets(c)
    return lines


def header(info: dict, quick: bool) -> list[str]:
    return ["# derive benchmark" + (" (quick smoke run)" if quick else ""), "",
            f"Run {info['date']} on {info['nproc']} CPUs (affinity {info['affinity']}), {info['cpu']}; "
            f"Python {info['python']}, NumPy {info['numpy']} ({info['blas']}; SIMD: {info['simd']}), SymPy {info['sympy']}. "
            f"Environment: {info['env']}. Load average (1/5/15 min) at the start: {info['load']}, "
            f"at the end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}.", ""]


def report(info, rows, grow, sizes, quick: bool, builds: dict | None = None, commands: dict | None = None) -> str:
    lines = header(info, quick) + (command_section(commands) if commands else []) + ["", "## Stages in one process, and gradient speed", ""]
    lines += ["Other work on the machine "
             "(and OpenBLAS's threads waiting for a busy core) shows up as noise in the absolute times; "
             "the ratios are measured interleaved to cancel most of it. At 100,000 examples the hand-written and matrix "
             "forms spend their time in multi-threaded BLAS products and the scalar form does not; under load the threaded "
             "ones are slowed the most, so a ratio below 1 there is load, not speed.", "",
             "Times are medians. derive = TOML text → parse_spec → build_network → derive (SymPy cache cleared "
             "before every run); emit = module_source; render = render_worksheets (the three .tex texts, no PDF; "
             "the worked numbers it needs are computed beforehand, untimed). Memory is measured in fresh processes "
             "per network, each doing derive + worked numbers + emit + render once: the tracemalloc peak in one, "
             "the max RSS (interpreter, NumPy and SymPy included) in another without tracemalloc.", "",
             "Gradient columns are the median time per gradient evaluation of the hand-written NumPy backprop "
             "(bench/handwritten.py), then each contender as a ratio to it (median over interleaved rounds of "
             "contender ÷ baseline in the same round), at "
             + ", ".join(f"{m:,}" for m in sizes) + " examples (float64). "
             "— means not installed (torch, jax).", ""]
    lines += main_table(rows, sizes)
    if RENDER_ERRORS:
        lines += ["", "render n/a: " + "; ".join(f"{k}: {v}" for k, v in sorted(RENDER_ERRORS.items()))]
    lines += ["", "## Growth: 3-5^k-2 (sigmoid, no biases)", "",
              "δ-form nodes = SymPy nodes of every δ definition plus every per-parameter gradient; paths = chain-rule "
              "paths from every weight to J (summed), which the derivation counts but never expands. The last three "
              "columns time one gradient at 1 example as in the table above: each layer adds about ten NumPy calls "
              "to the matrix form and less to JAX's one fused call, so deep enough networks favour JAX there.", ""]
    lines += growth_table(grow)
    lines += ["", "## Targets of the in-process stages and of the generated code", ""] + targets(rows, grow, sizes) + (build_lines(builds) if builds else [])
    return "\n".join(lines) + "\n"


def rerun_command_section(info: dict, output: Path) -> int:
    """Time the whole command again (a quieter moment, say) and replace only that section of `output`."""
    commands = command_times(False)
    section = command_section(commands)
    section.insert(1, f"\nRe-run on its own {info['date']}; load average (1/5/15 min) at the start: {info['load']}, at the end: "
                      f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    text = output.read_text(encoding="utf-8")
    start, end = text.index("## The whole command"), text.index("## Stages in one process")
    text = text[:start] + "\n".join(section) + "\n\n" + text[end:]
    print("\n".join(section))
    tmp = output.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, output)
    print(f"wrote {output}", file=sys.stderr)
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run: the whole command on the three small targets, one run each")
    parser.add_argument("--commands", action="store_true",
                        help="re-run only the whole-command section (full repeats) and put it in place of that section of bench/RESULTS.md")
    parser.add_argument("--output", type=Path, default=None, help="where to write the markdown (default bench/RESULTS.md for a full run, nothing for --quick)")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="rerun with OPENBLAS_NUM_THREADS / OMP_NUM_THREADS set to this (a diagnostic: threaded BLAS "
                             "suffers most when other work holds a core); the main run leaves the environment as it is")
    parser.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rss-child", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    n = args.blas_threads
    if n is not None and (os.environ.get("OPENBLAS_NUM_THREADS"), os.environ.get("OMP_NUM_THREADS")) != (str(n), str(n)):
        # BLAS reads its thread count when NumPy is first imported: start again in a new process.
        env = {**os.environ, "OPENBLAS_NUM_THREADS": str(n), "OMP_NUM_THREADS": str(n)}
        os.execve(sys.executable, [sys.executable, str(Path(__file__).resolve()), *argv], env)
    if args.memory_child is not None or args.rss_child is not None:
        traced = args.memory_child is not None
        memory_child(args.memory_child if traced else args.rss_child, traced)
        return 0
    quick = args.quick
    info = machine()
    if args.commands:
        return rerun_command_section(info, args.output or HERE / "RESULTS.md")
    commands = command_times(quick)
    if quick:
        text = "\n".join(header(info, quick) + command_section(commands)) + "\n"
        print(text)
        if args.output is not None:
            args.output.write_text(text, encoding="utf-8")
        return 0
    sizes = SIZES[:2] if quick else SIZES
    pipe_repeats, grad_repeats, min_time = (3, 3, 0.005) if quick else (7, 9, 0.02)
    render = load_worksheets()
    if render is None:
        print("derive/sheets/render.py not found: render columns are n/a", file=sys.stderr)
    pipeline_once(NETWORKS[0], render)  # warm up imports and first-call costs
    rows = []
    for i, net in enumerate(NETWORKS):
        print(f"… {net.label}", file=sys.stderr, flush=True)
        times, derivation, source = pipeline_times(net, pipe_repeats, render)
        rows.append({"net": net, "params": len(derivation.parameters), "times": times, "mem": memory(i),
                     "grad": gradient_ratios(net, source, sizes, grad_repeats, min_time)})
    print("… growth", file=sys.stderr, flush=True)
    grow = growth(pipe_repeats, range(1, 4) if quick else GROWTH_K, grad_repeats, min_time)
    print("… derive build", file=sys.stderr, flush=True)
    builds = None if quick else build_times()
    text = report(info, rows, grow, sizes, quick, builds, commands)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    text += f"\nBenchmark process max RSS: {rss:.0f} MB.\n"
    print(text)
    output = args.output or (None if quick else HERE / "RESULTS.md")
    if output is not None:
        tmp = output.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output)
        print(f"wrote {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
