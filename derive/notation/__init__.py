"""Notation: how a course writes the canonical symbols (θ^(l)_ij, w^l_jk, W^(1) as inputs × units …).

    profile     a notation profile as data: a small TOML file, read, validated and frozen (`Profile`)
    names       a profile applied to one network: the LaTeX of every symbol (`Names`, `symbol_names`)
    plaintext   the same names as plain Unicode text, for terminal tables and LMS titles
    mathml      derive's TeX (names, worked lines, givens) as MathML 2 presentation markup, for QTI 2.1
    profiles/   the built-in profiles: ng, nielsen, welch, qbus

May import: `derive.engine`, derive's foundation modules. The model never depends on this room:
notation is a rendering choice.
"""
