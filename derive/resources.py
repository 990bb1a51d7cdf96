"""Where derive's own templates and bundled examples are, however derive was installed.

The repository keeps templates/ and examples/ at its top level; pyproject.toml maps them into the
package (`derive.templates`, `derive.examples`), so a wheel or `pip install .` has them inside
derive/, found through importlib.resources. A source checkout or an editable install has no such
folders inside derive/: there they are the repository's own, beside the package.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def bundled_folder(name: str) -> Path:
    """derive's own `templates` or `examples` folder."""
    packaged = files("derive") / name
    # Installed as files on disk (every way pip installs derive): a real folder, as Jinja2 needs.
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / name


def template_folder() -> Path:
    return bundled_folder("templates")


def examples_folder() -> Path:
    return bundled_folder("examples")
