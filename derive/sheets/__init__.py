"""The worksheets stage: the derivation, printed in a notation profile as a handout, an exercise
sheet and a worked-answer sheet (LaTeX text; compiling is `derive.latex`'s job).

`render` gathers one context for the three templates; each kind of printed piece has its own
module here: `typeset`, `equations`, `path_sums`, `columns`, `slopes`, `diagram`, `stepwise`, `worked`,
`scope`, `regularization` (what the sheets say about an L2 term), `texenv`.
"""
from .render import DOCUMENTS, render_variants, render_worksheets

__all__ = ["DOCUMENTS", "render_variants", "render_worksheets"]
