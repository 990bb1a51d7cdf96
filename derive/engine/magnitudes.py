"""The smallest number a spec or its CSV may write: an underflow refused as overflow is (stdlib only)."""
from __future__ import annotations

import sys


# The smallest magnitude a written nonzero number may have: below it a float is subnormal (fewer
# digits) or 0.0, so 1e-400 would silently become 0, as 1e400 would become inf.
SMALLEST_MAGNITUDE = sys.float_info.min  # 2.2250738585072014e-308


class TooSmall(float):
    """A float that underflowed as written (`1e-400`): `number()` refuses it, naming its field."""

    written: str


def written_nonzero(text: str) -> bool:
    """Whether a decimal number as written (`1e-400`, `0.000`, `-0_0.1E5`) has a nonzero digit before its exponent."""
    return any(c in "123456789" for c in text.lower().split("e")[0])


def checked_float(text: str) -> float:
    """tomllib's float for `text`; a nonzero number too small for a float is marked (TooSmall)."""
    value = float(text)
    if abs(value) < SMALLEST_MAGNITUDE and written_nonzero(text):
        value = TooSmall(value)
        value.written = text
    return value


def underflow_problem(written: str) -> str:
    becomes = "it would become 0" if float(written) == 0 else "a float keeps only some of its digits"
    return (f"{written[:24]} is too small to compute with ({becomes}); a nonzero magnitude "
            f"is at least {SMALLEST_MAGNITUDE:.4g}: write 0 for zero")
