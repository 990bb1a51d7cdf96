"""The command line: parses, calls the library, prints, and maps errors to exit codes.

Exit status: 0 success, 1 a check found a mismatch or derive itself failed (an internal error: one line
naming the spec, the other specs still done), 2 bad input (one line on stderr), 130 interrupted
(Ctrl-C), 143 terminated (SIGTERM). Every message is printed with control and bidirectional
characters escaped, so a key name or path cannot rewrite the terminal line it is shown on.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from .engine.spec import NOTATIONS
from .errors import CheckFailed, DeriveError, InternalError, escape_controls, printable_lines
from .version import __version__

SPEC_HELP = "a spec file (TOML); see the README's 'The spec file'"


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="derive", description="Backpropagation derivations, worksheets and checked NumPy gradients from a network spec.",
                                     epilog="Exit status: 0 success, 1 a check found a mismatch, 2 bad input, 130 interrupted.")
    parser.add_argument("--version", action="version", version=f"derive {__version__}", help="print derive's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    b = sub.add_parser("build", help="write the gradient module, answers.json and the worksheets for each spec",
                       description="Derive, check and write every spec's gradient module, answers.json and worksheets (and PDFs).")
    b.add_argument("specs", nargs="*", type=Path, metavar="SPEC", help=f"{SPEC_HELP} (default: every bundled example)")
    b.add_argument("--out", type=Path, default=Path("output"), help="output folder; each spec gets <out>/<name>/ (default: output/)")
    b.add_argument("--notation", metavar="NAME|FILE.toml",
                   help=f"override the spec's notation profile: {', '.join(NOTATIONS)}, or a profile file (a copy of one in derive/notation/profiles/)")
    b.add_argument("--no-pdf", action="store_true", help="write the .tex files only")
    b.add_argument("--force", action="store_true", help="overwrite files even if they were edited by hand")
    b.add_argument("--templates", type=Path, help="a folder of templates to use instead of derive's own")
    b.add_argument("--jobs", type=int, help="LaTeX compilations run at once (default: number of cores)")
    b.add_argument("--module-name", metavar="NAME", help="file name of the gradient module, without .py (default: the "
                   "spec's `module` key, else gradients), so that two can be imported side by side")
    b.add_argument("--quiet", action="store_true", help="print nothing but errors (no per-spec lines, no progress)")
    b.add_argument("--timings", action="store_true", help="after each spec, print how long each stage took (on stderr)")

    a = sub.add_parser("answers", help="print the worked numbers of specs with [values]",
                       description="Print every z, a, δ, gradient and updated parameter for the spec's [values].")
    a.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help=SPEC_HELP)
    a.add_argument("--json", action="store_true", help="JSON instead of tables: one object (several specs: one object keyed by spec name)")

    c = sub.add_parser("check", help="compare generated gradients with an independent backprop and finite differences",
                       description="Check the generated gradients against derive/reference.py and finite differences, "
                                   "and prove path sum = δ form for every parameter. Exit status 1 on any mismatch.")
    c.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help=SPEC_HELP)
    c.add_argument("--seed", type=int, default=0, help="seed for random values when the spec has none (default: 0)")
    c.add_argument("--no-proof", action="store_true", help="skip the path-sum = δ-form proof")

    p = sub.add_parser("paths", help="count the chain-rule paths and factors of every parameter",
                       description="Count the chain-rule paths from every parameter to the loss, and their factors.")
    p.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help=SPEC_HELP)
    p.add_argument("--json", action="store_true", help="JSON instead of a table: one object (several specs: one object keyed by spec name)")

    t = sub.add_parser("train", help="train the spec's network with the generated gradients; loss and accuracy per epoch")
    t.add_argument("spec", type=Path, metavar="SPEC", help=SPEC_HELP)
    t.add_argument("--epochs", type=int, default=100, help="passes over the training examples (default 100)")
    t.add_argument("--batch-size", type=int, metavar="B", help="1: online SGD, B > 1: mini-batches (default: the full batch)")
    t.add_argument("--lr", type=float, metavar="ETA", help="learning rate (default: the spec's learning_rate)")
    t.add_argument("--shuffle", type=int, metavar="SEED", help="shuffle the examples each epoch with this seed")
    t.add_argument("--test-split", type=int, metavar="K", help="hold out K examples for testing")
    t.add_argument("--split-seed", type=int, default=0, metavar="S", help="seed that draws the held-out examples (default 0)")
    t.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    t.add_argument("--out", type=Path, default=Path("output"), help="writes OUT/<name>/training.json and training.pdf (default: output/)")
    t.add_argument("--no-pdf", action="store_true", help="write training.json only")
    t.add_argument("--force", action="store_true", help="overwrite files even if they were edited by hand")

    k = sub.add_parser("class", help="a class set: every student their own numbers, sheets, answer key and LMS exports",
                       description="One derivation, every student's own numbers: combined exercise and answer PDFs, "
                                   "variants.json, Moodle XML, QTI 2.1, Canvas QTI 1.2 and answers.csv, every answer checked.")
    k.add_argument("spec", type=Path, help="a spec with [values] and a [variants] table")
    who = k.add_mutually_exclusive_group(required=True)
    who.add_argument("--students", type=int, help="N numbered students s001 ... sN")
    who.add_argument("--roster", type=Path, help="a CSV with columns id,name (other columns kept in answers.csv)")
    k.add_argument("--seed", type=int, default=0, help="the class seed: a student's numbers depend on it and their id only")
    k.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output/); writes OUT/<name>/class/")
    k.add_argument("--no-pdf", action="store_true", help="no combined PDFs (the exports and variants.json only)")
    k.add_argument("--formats", help="comma-separated: pdf,moodle,qti,canvas,csv (default: all)")
    k.add_argument("--notation", metavar="NAME|FILE.toml",
                   help=f"override the spec's notation profile: {', '.join(NOTATIONS)}, or a profile file")
    k.add_argument("--per-student", action="store_true",
                   help="also students/<id>/exercises.pdf and answers.pdf (one pdflatex run each: slow for a large class)")
    k.add_argument("--force", action="store_true", help="overwrite files even if they were edited by hand")
    return parser


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that every `finally` (temporary folders, LaTeX) runs."""


def _terminate(signum, frame):
    raise Terminated


def print_error(exc: BaseException) -> None:
    for line in printable_lines(str(exc)):
        print(f"derive: error: {line}", file=sys.stderr)
    if isinstance(exc, InternalError) and os.environ.get("DERIVE_TRACEBACK"):
        import traceback

        traceback.print_exception(exc.original, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    code = _run(argv)
    if argv is None:
        # Run as a program (not called from Python): leave without tearing down SymPy's object
        # graph, which takes ~0.15 s of a small build; everything derive writes is closed by now.
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    return code


def _run(argv: list[str] | None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        return COMMANDS[args.command](args)
    except (CheckFailed, InternalError) as exc:  # a mismatch found, or derive's own bug: 1, as for build
        print_error(exc)
        return 1
    except DeriveError as exc:
        print_error(exc)
        return 2
    except KeyboardInterrupt:
        print("derive: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("derive: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:
        # The reader went away (`derive paths big.toml | head`): stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # derive's own bug in a one-spec command (class, train): one line, not a traceback
        print_error(InternalError(getattr(args, "spec", None) or f"derive {args.command}", exc))
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def for_each_spec(paths: list[Path], run, as_json: bool = False) -> int:
    """run(derivation) -> (status, text or JSON value) for each spec; a bad spec costs only its own output.

    Text is printed as each spec finishes (blank line between specs); JSON is one value for one
    spec, one object keyed by spec name for several. Exit status: the worst of the specs' (2 for
    a refused spec, then 1 for a mismatch or an internal error, then 0).
    """
    from .api import load

    status, results = 0, {}
    for path in paths:
        try:
            derivation = load(path)
            name = derivation.spec.name
            if as_json and name in results:
                raise DeriveError(f"{path}: name: {name!r} is also the name of another spec given; --json keys its output by name")
            code, output = run(derivation)
        except DeriveError as exc:
            print_error(exc)
            status = 2
            continue
        except Exception as exc:  # derive's own bug, in this spec only: the others are still printed
            print_error(InternalError(path, exc))
            status = max(status, 1)
            continue
        status = max(status, code)
        if as_json:
            results[name] = output
        else:
            print(("\n" if results else "") + output, flush=True)
            results[name] = None
    if as_json and results:
        print(json.dumps(results if len(paths) > 1 else next(iter(results.values())), indent=2))
    return status


def cmd_build(args) -> int:
    import time

    start = time.perf_counter()
    from .api import build
    from .progress import Progress

    imported = time.perf_counter() - start
    errors: list[DeriveError] = []

    def report(r) -> None:
        # Printed as soon as each spec is done, so a long build shows its results as it goes.
        if r.error is not None:
            errors.append(r.error)
            return
        if args.timings:
            print(f"{r.spec.name}: timings: import {1e3 * imported:.0f} ms, {r.stages.line()}", file=sys.stderr, flush=True)
        if args.quiet:
            return
        if r.skipped:
            print(escape_controls(f"{r.spec.name}: up to date ({r.folder})"), flush=True)
            return
        state = f"wrote {', '.join(r.written)}" if r.written else "unchanged"
        print(escape_controls(f"{r.spec.name}: {state} in {r.folder}; check {r.check.comparisons[0].shown(2)} vs backprop, "
                              f"{r.check.comparisons[2].shown(2)} vs finite differences"), flush=True)
        skipped = [name for c in r.check.comparisons for name in c.skipped]
        if skipped:
            print(f"{r.spec.name}: not differenced, a ReLU kink lies within the step: {', '.join(skipped)}", flush=True)
        if r.pdf_note:
            print(escape_controls(f"{r.spec.name}: {r.pdf_note}"), flush=True)

    progress = Progress(enabled=False if args.quiet else None)
    build(args.specs, args.out, notation=args.notation, pdf=not args.no_pdf, force=args.force,
          templates=args.templates, jobs=args.jobs, module_name=args.module_name, on_result=report, progress=progress)
    # A spec that failed cost the others nothing; its lines come last, each message once (a broken
    # template fails every spec the same way).
    unique: dict[str, DeriveError] = {}
    for e in errors:
        unique.setdefault(str(e), e)
    for e in unique.values():
        print_error(e)
    if not errors:
        return 0
    # Bad input says 2; a failed check or derive's own error (an internal error) alone says 1.
    return 1 if all(isinstance(e, (CheckFailed, InternalError)) for e in errors) else 2


def cmd_answers(args) -> int:
    def one(d):
        numbers = d.answers(arrays=False)
        if args.json:
            return 0, numbers
        return 0, "\n".join(_readable(d.spec, numbers, d.notation))

    return for_each_spec(args.specs, one, args.json)


def _readable(spec, numbers: dict, profile) -> list[str]:
    """The answers as tables, in the names of the notation profile and the spec's values.layout."""
    from .notation.names import Names
    from .notation.plaintext import plain as _plain

    names = Names(spec, profile)
    in_out = spec.values.layout == "in_out"
    l2 = f" (with the L2 term, λ = {numbers['l2']['lambda']:g}, scale {numbers['l2']['scale']})" if "l2" in numbers else ""
    out = [f"{numbers['network']}: {numbers['examples']} example(s), {_plain(names.p.cost)} = {numbers['loss']:.6g}{l2}",
           f"names as on the {profile.name} sheets; one row per example; weight matrices as the spec writes them "
           f"({'in_out: one row per unit feeding the layer' if in_out else 'out_in: one row per unit of the layer'})"]

    def matrix(name: str, value):
        if in_out and not name.startswith("b"):
            value = [list(col) for col in zip(*value)]
        return value

    sections = [("forward", [(_plain(names.vector(k[0], int(k[1:]))), v) for k, v in numbers["forward"].items()]),
                ("delta", [(_plain(names.vector("delta", int(k[5:]))), v) for k, v in numbers["delta"].items()]),
                ("gradients", [(f"d{_plain(names.p.cost)}/d{_plain(names.matrix(k))}", matrix(k, v))
                               for k, v in numbers["gradients"].items()]),
                ("updated", [(_plain(names.matrix(k)), matrix(k, v)) for k, v in numbers.get("updated", {}).items()])]
    for title, rows in sections:
        if rows:
            out.append(f"\n{title}:")
            width = max(len(n) for n, _ in rows)
            for name, value in rows:
                out.append(f"  {name:<{width}} {_format(value, width + 3)}")
    return out


def _format(value, indent: int = 11) -> str:
    if isinstance(value, list) and value and isinstance(value[0], list):
        return ("\n" + " " * indent).join("[" + " ".join(f"{v: .6g}".ljust(13) for v in row).rstrip() + "]" for row in value)
    if isinstance(value, list):
        return "[" + " ".join(f"{v: .6g}".ljust(13) for v in value).rstrip() + "]"
    return f"{value:.6g}"


def cmd_check(args) -> int:
    from .engine.proof import prove
    from .numbers.check import check_module

    def one(d):
        report = check_module(d.spec, d.module, args.seed)
        lines = report.lines()
        for line in report.failures(d.spec.source):
            print(f"derive: error: {escape_controls(line)}", file=sys.stderr)
        if not args.no_proof:
            from .engine.proof import bits, failure_bound

            proofs = prove(d.derivation)
            lines.append(f"  path sum = δ form for {len(proofs)} parameters (polynomial identity test at {proofs[0].points} "
                         f"random points modulo 2^61 - 1; a difference would pass unnoticed with probability "
                         f"< 2^-{bits(failure_bound(proofs))})")
        return (0 if report.ok else 1), "\n".join(lines)

    return for_each_spec(args.specs, one)


def cmd_class(args) -> int:
    from .classset.build import build_class, parse_formats
    from .classset.roster import load_roster, numbered

    if not 0 <= args.seed < 2**32:
        raise DeriveError(f"--seed: expected a whole number from 0 to 2**32 - 1, got {args.seed}")
    formats = parse_formats(args.formats, not args.no_pdf)
    students = load_roster(args.roster) if args.roster is not None else numbered(args.students)
    r = build_class(args.spec, students, args.seed, args.out, formats, args.force, args.notation, per_student=args.per_student)
    shown = [w for w in r.written if not w.startswith("students/")]
    if len(shown) < len(r.written):
        shown.append(f"{len(r.written) - len(shown)} files in students/")
    state = f"wrote {', '.join(shown)}" if shown else "unchanged"
    if r.removed:  # an earlier run's files this one does not make: gone, so the folder is one run's
        gone = [w for w in r.removed if not w.startswith("students/")]
        gone += [f"{len(r.removed) - len(gone)} files in students/"] if len(gone) < len(r.removed) else []
        state += f"; removed {', '.join(gone)} of an earlier run"
    print(escape_controls(f"{r.spec.name}: {r.students} student{'' if r.students == 1 else 's'}, every answer checked against the independent backprop; "
                          f"{state} in {r.folder}"))
    if r.pdf_note:
        print(escape_controls(f"{r.spec.name}: {r.pdf_note}"))
    if "pdf" in formats:
        from .classset.documents import unprintable_names

        for line in unprintable_names(students):
            print(escape_controls(f"{r.spec.name}: {line}"))
    return 0


def cmd_paths(args) -> int:
    def one(d):
        if args.json:
            return 0, d.paths_summary()
        counts = d.derivation.path_count
        direct = len(d.derivation.regularization)
        l2 = f" (with the L2 term: {direct} weights reach J directly, 1 more path of 1 factor each)" if direct else ""
        lines = [f"{d.spec.name}: {len(counts)} parameters, {d.derivation.total_paths} paths, {d.derivation.total_factors} factors{l2}"]
        lines += [f"  {key:<12} {c.paths:>8} path{'s' if c.paths != 1 else ' '} {c.factors:>9} factors" for key, c in counts.items()]
        return 0, "\n".join(lines)

    return for_each_spec(args.specs, one, args.json)


def _derivation(path: Path):
    from .api import load

    return load(path).derivation


def cmd_train(args) -> int:
    from .training.output import print_table, progress_bar, write_training
    from .training.train import settings_for, train

    derivation = _derivation(args.spec)
    settings = settings_for(derivation, args.epochs, args.batch_size, args.lr, args.shuffle, args.test_split, args.split_seed)
    bar = progress_bar(settings.epochs, sys.stderr) if not args.json and sys.stderr.isatty() else None
    training = train(derivation, settings, progress=bar)
    note = write_training(training, derivation.network.spec, args.out, pdf=not args.no_pdf, force=args.force)
    if args.json:
        from .training.train import as_json, dumps

        sys.stdout.write(dumps(as_json(training)))
        print(escape_controls(note), file=sys.stderr)
    else:
        print_table(training, sys.stdout)
        print(escape_controls(note))
    return 0


COMMANDS = {"build": cmd_build, "answers": cmd_answers, "check": cmd_check, "paths": cmd_paths, "train": cmd_train,
            "class": cmd_class}
