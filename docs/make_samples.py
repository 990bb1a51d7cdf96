"""Regenerate the rendered samples in docs/img/ (run from the repository root):

    python docs/make_samples.py

Renders examples/mazur-222.toml in every notation profile, compiles the handout, finds the page
where section 3 (the error term δ) starts and crops that part of the page with pdftoppm at 80 dpi.
Also renders one whole page of each sheet of mazur-222 in its own profile (nielsen), for the
README's "The worksheets": the handout's chain-rule paths (page 2), the exercise sheet (page 1)
and the worked answers (page 2), as docs/img/sheet-<name>.png.
Needs pdflatex, pdftotext and pdftoppm (poppler-utils).
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from derive.answers import compute_answers  # noqa: E402
from derive.derivation import derive  # noqa: E402
from derive.latex import compile_pdf  # noqa: E402
from derive.network import build_network  # noqa: E402
from derive.notation import PROFILES  # noqa: E402
from derive.proof import prove  # noqa: E402
from derive.spec import load_spec  # noqa: E402
from derive.sheets.render import render_worksheets  # noqa: E402

DPI = 80
HEIGHT_PT = 330  # how much of the page below the section title to keep


def run(*argv: str) -> str:
    return subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120).stdout


def section_start(pdf: Path) -> tuple[int, float]:
    """(page, y in pt) of the heading "3. The error term"."""
    pages = int(re.search(r"Pages:\s+(\d+)", run("pdfinfo", str(pdf))).group(1))
    for page in range(1, pages + 1):
        words = re.findall(r'yMin="([\d.]+)"[^>]*>([^<]*)<', run("pdftotext", "-f", str(page), "-l", str(page), "-bbox", str(pdf), "-"))
        for (y, word), (_, following) in zip(words, words[1:]):
            if word == "3." and following == "The":
                return page, float(y)
    raise SystemExit(f"{pdf}: no section 3")


def main() -> None:
    spec = load_spec(ROOT / "examples" / "mazur-222.toml")
    derivation = derive(build_network(spec))
    numbers = compute_answers(derivation)
    proofs = prove(derivation)
    out = ROOT / "docs" / "img"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for profile in sorted(PROFILES):
            tex = Path(tmp) / f"handout-{profile}.tex"
            tex.write_text(render_worksheets(derivation, numbers, profile, proofs=proofs)["handout.tex"])
            pdf = compile_pdf(tex)
            page, y = section_start(pdf)
            scale = DPI / 72
            top, left = int((y - 10) * scale), int(40 * scale)
            run("pdftoppm", "-png", "-r", str(DPI), "-f", str(page), "-l", str(page), "-singlefile",
                "-x", str(left), "-y", str(top), "-W", str(int((595 - 80) * scale)), "-H", str(int(HEIGHT_PT * scale)),
                str(pdf), str(out / f"handout-{profile}"))
            print(out / f"handout-{profile}.png", (out / f"handout-{profile}.png").stat().st_size, "bytes")
        texts = render_worksheets(derivation, numbers, spec.notation, proofs=proofs)
        for name, page in SHEET_PAGES.items():
            tex = Path(tmp) / f"{name}.tex"
            tex.write_text(texts[f"{name}.tex"])
            run("pdftoppm", "-png", "-r", str(DPI), "-f", str(page), "-l", str(page), "-singlefile",
                str(compile_pdf(tex)), str(out / f"sheet-{name}"))
            print(out / f"sheet-{name}.png", (out / f"sheet-{name}.png").stat().st_size, "bytes")


SHEET_PAGES = {"handout": 2, "exercises": 1, "answers": 2}  # the page of each sheet the README shows


if __name__ == "__main__":
    main()
