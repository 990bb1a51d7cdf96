"""derive installs like a library: a wheel carries its templates and examples and builds from any folder.

The wheel is built from a copy of the repository without network (`--no-build-isolation`, the
environment's own setuptools and wheel) and installed without dependencies into a fresh virtual
environment that sees this one's NumPy, SymPy and Jinja2 (`--system-site-packages`, plus a .pth
naming this environment's site-packages when the tests themselves run in a virtual environment).
"""
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

from derive.sheets.latex import have_latex

SKIP = shutil.ignore_patterns(".git", "output", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis")


def run(*args, cwd, **kwargs):
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    shutil.copytree(ROOT, source, ignore=SKIP)
    run(sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "--no-index", "-q", "-w", tmp / "dist", ".", cwd=source)
    (built,) = (tmp / "dist").glob("derive-*.whl")
    return built


def test_the_wheel_carries_the_templates_and_every_bundled_example(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, pattern in (("templates", "*.j2"), ("examples", "*.toml")):
        for path in (ROOT / folder).glob(pattern):
            assert f"derive/{folder}/{path.name}" in names


def test_an_installed_wheel_builds_the_bundled_examples_from_any_folder(wheel, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--system-site-packages", venv, cwd=tmp_path)
    bin_dir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    if sys.prefix != sys.base_prefix:
        # Run from a virtual environment (the README's set-up), the new one's "system" packages are
        # the base Python's, not this environment's NumPy, SymPy and Jinja2: list those after its own.
        inner = run(bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip()
        outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        (Path(inner) / "outer-environment.pth").write_text("".join(f"{p}\n" for p in sorted(outer)))
    run(bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    where = run(bin_dir / "python", "-c", "import derive; print(derive.__file__)", cwd=tmp_path)
    assert str(venv) in where  # the wheel's derive, not this checkout's
    assert run(bin_dir / "derive", "--version", cwd=tmp_path).strip().startswith("derive ")
    # Every subpackage of the source imports from the wheel (the package list in pyproject.toml is explicit).
    packages = sorted(".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "derive").rglob("__init__.py"))
    assert {"derive.classset", "derive.sheets"} <= set(packages)
    imported = run(bin_dir / "python", "-c", f"import {', '.join(packages)}; print({packages[-1]}.__file__)", cwd=tmp_path)
    assert str(venv) in imported
    work = tmp_path / "elsewhere"
    work.mkdir()
    printed = run(bin_dir / "derive", "build", "--no-pdf", cwd=work)  # every bundled example, from package data
    for spec in (ROOT / "examples").glob("*.toml"):
        folder = work / "output" / spec.stem
        assert {"gradients.py", "handout.tex", "exercises.tex", "answers.tex"} <= {p.name for p in folder.iterdir()}, printed
    if have_latex():  # one example with its PDFs, from the installed package's own copy of it
        example = run(bin_dir / "python", "-c", "import derive.resources as r; print(r.examples_folder() / 'toy-111.toml')", cwd=work).strip()
        assert str(venv) in example
        run(bin_dir / "derive", "build", example, "--out", "pdfs", cwd=work)
        assert (work / "pdfs" / "toy-111" / "answers.pdf").stat().st_size > 1000
    # an editable install of the same source finds them in the repository's folders instead
    source = next(wheel.parent.parent.glob("src"))
    run(bin_dir / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-e", source, cwd=tmp_path)
    assert str(source) in run(bin_dir / "python", "-c", "import derive; print(derive.__file__)", cwd=work)
    run(bin_dir / "derive", "build", "--no-pdf", "--out", "editable", cwd=work)
    assert {p.name for p in (work / "editable").iterdir()} == {p.stem for p in (ROOT / "examples").glob("*.toml")}
