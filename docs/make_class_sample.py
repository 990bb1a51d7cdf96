"""Regenerate the class-set samples in docs/img/ (run from the repository root):

    python docs/make_class_sample.py

Builds the README's class set (examples/ng-222.toml, examples/class-roster.csv, seed 2026) and crops
the top of two students' exercise sheets from the combined exercises.pdf at 80 dpi.
Needs pdflatex, pdftotext and pdftoppm (poppler-utils).
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from derive.classset.build import build_class  # noqa: E402
from derive.classset.roster import load_roster  # noqa: E402

DPI = 80


def main() -> int:
    students = load_roster(ROOT / "examples" / "class-roster.csv")
    with tempfile.TemporaryDirectory() as tmp:
        folder = build_class(ROOT / "examples" / "ng-222.toml", students, 2026, Path(tmp), ("pdf",)).folder
        pdf = folder / "exercises.pdf"
        pages = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout.split("\f")
        for student in students[:2]:
            page = 1 + next(i for i, text in enumerate(pages) if student.id in text)
            out = ROOT / "docs" / "img" / f"class-{student.id}"
            # The header, the title and the given numbers: the top 57 % of an A4 page.
            subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-singlefile", "-f", str(page), "-l", str(page),
                            "-x", "0", "-y", "0", "-W", str(int(8.27 * DPI)), "-H", str(int(11.69 * DPI * 0.57)),
                            str(pdf), str(out)], check=True)
            print(f"wrote {out}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
