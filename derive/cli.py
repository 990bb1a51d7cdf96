"""The command line: parses, calls the library, prints, and maps errors to exit codes.

Exit status: 0 success, 1 a check found a mismatch, 2 bad input (one line on stderr), 130 interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import DeriveError
from .spec import NOTATIONS


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="derive", description="Backpropagation derivations, worksheets and checked NumPy gradients from a network spec.")
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="write gradients.py, answers.json and the worksheets for each spec")
    b.add_argument("specs", nargs="*", type=Path, help="spec files (default: every bundled example)")
    b.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output/)")
    b.add_argument("--notation", choices=NOTATIONS, help="override the spec's notation profile")
    b.add_argument("--no-pdf", action="store_true", help="write the .tex files only")
    b.add_argument("--force", action="store_true", help="overwrite files even if they were edited by hand")
    b.add_argument("--templates", type=Path, help="a folder of templates to use instead of derive's own")
    b.add_argument("--jobs", type=int, help="LaTeX compilations run at once (default: number of cores)")

    a = sub.add_parser("answers", help="print the worked numbers of a spec with [values]")
    a.add_argument("spec", type=Path)
    a.add_argument("--json", action="store_true", help="one JSON object instead of tables")

    c = sub.add_parser("check", help="compare generated gradients with an independent backprop and finite differences")
    c.add_argument("spec", type=Path)
    c.add_argument("--seed", type=int, default=0, help="seed for random values when the spec has none")
    c.add_argument("--no-proof", action="store_true", help="skip the path-sum = δ-form proof")

    k = sub.add_parser("class", help="a class set: every student their own numbers, sheets, answer key and LMS exports")
    k.add_argument("spec", type=Path, help="a spec with [values] and a [variants] table")
    who = k.add_mutually_exclusive_group(required=True)
    who.add_argument("--students", type=int, help="N numbered students s001 ... sN")
    who.add_argument("--roster", type=Path, help="a CSV with columns id,name (other columns kept in answers.csv)")
    k.add_argument("--seed", type=int, default=0, help="the class seed: a student's numbers depend on it and their id only")
    k.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output/); writes OUT/<name>/class/")
    k.add_argument("--no-pdf", action="store_true", help="no combined PDFs (the exports and variants.json only)")
    k.add_argument("--formats", help="comma-separated: pdf,moodle,qti,canvas,csv (default: all)")
    k.add_argument("--notation", choices=NOTATIONS, help="override the spec's notation profile")
    k.add_argument("--per-student", action="store_true",
                   help="also students/<id>/exercises.pdf and answers.pdf (one pdflatex run each: slow for a large class)")
    k.add_argument("--force", action="store_true", help="overwrite files even if they were edited by hand")

    p = sub.add_parser("paths", help="count the chain-rule paths and factors of every parameter")
    p.add_argument("spec", type=Path)
    p.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except DeriveError as exc:
        print(f"derive: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("derive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`derive paths big.toml | head`): stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _derivation(path: Path):
    from .derivation import derive
    from .network import build_network
    from .spec import load_spec

    return derive(build_network(load_spec(path)))


def cmd_build(args) -> int:
    from .build import build

    if args.jobs is not None and args.jobs < 1:
        raise DeriveError(f"--jobs: must be at least 1, got {args.jobs}")
    if args.templates is not None and not args.templates.is_dir():
        raise DeriveError(f"--templates: {args.templates} is not a folder")
    results = build(args.specs, args.out, args.notation, not args.no_pdf, args.force, args.templates, args.jobs)
    for r in results:
        if r.skipped:
            print(f"{r.spec.name}: up to date ({r.folder})")
            continue
        state = f"wrote {', '.join(r.written)}" if r.written else "unchanged"
        print(f"{r.spec.name}: {state} in {r.folder}; check {r.check.comparisons[0].worst:.1e} vs backprop, "
              f"{r.check.comparisons[2].worst:.1e} vs finite differences")
        if r.pdf_note:
            print(f"{r.spec.name}: {r.pdf_note}")
    return 0


def cmd_answers(args) -> int:
    from .answers import compute_answers

    derivation = _derivation(args.spec)
    if derivation.network.spec.values is None:
        raise DeriveError(f"{args.spec}: values: is missing; answers need [values] with x, y and the parameters")
    numbers = compute_answers(derivation)
    if args.json:
        print(json.dumps(numbers, indent=2))
        return 0
    print(f"{numbers['network']}: {numbers['examples']} example(s), J = {numbers['loss']:.6g}")
    for title, table in (("forward", numbers["forward"]), ("delta", numbers["delta"]),
                         ("gradients", numbers["gradients"]), ("updated", numbers.get("updated", {}))):
        if table:
            print(f"\n{title}:")
            for name, value in table.items():
                print(f"  {name:<8} {_format(value)}")
    return 0


def _format(value) -> str:
    if isinstance(value, list) and value and isinstance(value[0], list):
        return "\n           ".join("[" + "  ".join(f"{v: .6f}" for v in row) + "]" for row in value)
    if isinstance(value, list):
        return "[" + "  ".join(f"{v: .6f}" for v in value) + "]"
    return f"{value:.6f}"


def cmd_check(args) -> int:
    from .check import check_module
    from .codegen import load_module, module_source
    from .proof import prove

    derivation = _derivation(args.spec)
    spec = derivation.network.spec
    report = check_module(spec, load_module(module_source(derivation)), args.seed)
    for line in report.lines():
        print(line)
    if not args.no_proof:
        proofs = prove(derivation)
        methods = {}
        for p in proofs:
            methods[p.method] = methods.get(p.method, 0) + 1
        summary = ", ".join(f"{n} {method}" for method, n in sorted(methods.items()))
        print(f"  path sum = δ form for {len(proofs)} parameters ({summary})")
    return 0 if report.ok else 1


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
    print(f"{r.spec.name}: {r.students} students, every answer checked against the independent backprop; {state} in {r.folder}")
    if r.pdf_note:
        print(f"{r.spec.name}: {r.pdf_note}")
    return 0


def cmd_paths(args) -> int:
    derivation = _derivation(args.spec)
    counts = derivation.path_count
    if args.json:
        print(json.dumps({"total_paths": derivation.total_paths, "total_factors": derivation.total_factors,
                          "parameters": {k: {"paths": c.paths, "factors": c.factors} for k, c in counts.items()}}, indent=2))
        return 0
    print(f"{derivation.network.spec.name}: {len(counts)} parameters, {derivation.total_paths} paths, {derivation.total_factors} factors")
    for key, c in counts.items():
        print(f"  {key:<12} {c.paths:>8} path{'s' if c.paths != 1 else ' '} {c.factors:>9} factors")
    return 0


COMMANDS = {"build": cmd_build, "answers": cmd_answers, "check": cmd_check, "paths": cmd_paths, "class": cmd_class}
