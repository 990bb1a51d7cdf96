"""derive: a small neural network in, its complete and checked backpropagation derivation out.

    import derive
    d = derive.load("net.toml")      # a path, or the spec's TOML text: a Derivation
    d.answers(); d.module; d.paths("W1[0,0]", notation=True); d.path_count("W1[0,0]"); d.source(); d.worksheets()
    d.explain("W1[0,0]")             # rendered LaTeX in Jupyter, as is d itself
    derive.build(["net.toml"], "output")   # what `derive build` does

Bad specs raise `derive.SpecError` (a `derive.DeriveError`) with the line the command line prints.
"""
from .errors import DeriveError, SpecError
from .version import __version__

__all__ = ["Derivation", "DeriveError", "Explanation", "NamedFactor", "SpecError", "__version__", "build", "load"]

_API = ("Derivation", "Explanation", "NamedFactor", "build", "load")


def __getattr__(name: str):
    # The API pulls in SymPy (half a second); `derive --version` and the CLI's argument errors do not need it.
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'derive' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
