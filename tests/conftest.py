from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def spec_text(layers, activation="sigmoid", loss="half_sse", bias=True, skip=None, name="t", extra=""):
    """A spec file's text for a network, as a lecturer would write it."""
    act = f'"{activation}"' if isinstance(activation, str) else "[" + ", ".join(f'"{a}"' for a in activation) + "]"
    lines = [f'name = "{name}"', "[network]", f"layers = {list(layers)}", f"activation = {act}",
             f"bias = {str(bias).lower()}", f'loss = "{loss}"']
    if skip:
        lines.append(f"skip = {[list(s) for s in skip]}")
    return "\n".join(lines) + "\n" + extra


@pytest.fixture
def examples_dir():
    return EXAMPLES
