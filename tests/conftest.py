from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis is deterministic by default (CI cannot see a machine's database, and a run must not
# depend on luck): the same examples on every run, a failure printed with its reproduce blob.
# `python -m pytest --hypothesis-profile=explore` draws new random examples, five times as many.
settings.register_profile("ci", max_examples=100, derandomize=True, database=None, print_blob=True, deadline=None)
settings.register_profile("explore", max_examples=500, derandomize=False, print_blob=True, deadline=None)
settings.load_profile("ci")  # before the plugin loads --hypothesis-profile, and before any test's @settings


def examples(count: int) -> int:
    """A property test's number of examples: `count` in CI, scaled like the profile's max_examples."""
    return max(1, count * settings.default.max_examples // 100)


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
