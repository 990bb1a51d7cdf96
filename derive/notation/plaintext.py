r"""A notation profile's LaTeX names as plain Unicode text, for the terminal tables of `derive answers`.

The names are short TeX math (`\Theta^{(1)}_{\cdot 0}`, `\mathbf{Z}^{(2)}`, `w^{1\to 3}`, `\hat{y}`),
read here by a small parser rather than by string replacements, so that no backslash, brace, `^` or
`_` reaches the text:

* a command becomes its character (Greek letters, ·, →, ᵀ, …), an accent combines with its
  letter (ŷ), and a font command (`\mathbf`, `\boldsymbol`, …) leaves its argument;
* a layer superscript in parentheses stays on the line, as the README writes it (Θ(1), z(2));
  any other superscript or subscript is written in Unicode's raised or lowered characters when
  it has them (w², θ₁₀, Θ(1)·₀), and in parentheses or brackets on the line when it has not
  (w(1→3));
* an unknown command is written as its name without the backslash.
"""
from __future__ import annotations

import unicodedata

_GREEK = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon "
          "phi chi psi omega").split()
SYMBOLS = dict(zip(_GREEK, "αβγδεζηθικλμνξοπρστυφχψω")) | dict(zip((g.capitalize() for g in _GREEK), "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ"))
SYMBOLS |= {"varepsilon": "ε", "vartheta": "ϑ", "varphi": "φ", "varrho": "ϱ", "varsigma": "ς", "varpi": "ϖ",
            "ell": "ℓ", "partial": "∂", "nabla": "∇", "cdot": "·", "cdots": "⋯", "ldots": "…", "dots": "…",
            "times": "×", "odot": "⊙", "circ": "∘", "otimes": "⊗", "oplus": "⊕", "ast": "∗", "star": "⋆",
            "to": "→", "rightarrow": "→", "leftarrow": "←", "mapsto": "↦", "top": "ᵀ", "intercal": "ᵀ",
            "prime": "′", "infty": "∞", "sum": "Σ", "prod": "Π", "pm": "±", "mp": "∓", "le": "≤", "ge": "≥",
            "leq": "≤", "geq": "≥", "neq": "≠", "approx": "≈", "in": "∈", "colon": ":", "vert": "|", "mid": "|",
            "lbrace": "{", "rbrace": "}", "langle": "⟨", "rangle": "⟩", "log": "log", "ln": "ln", "exp": "exp",
            "quad": " ", "qquad": " ", "left": "", "right": "", "big": "", "Big": "", "bigl": "", "bigr": "",
            "Bigl": "", "Bigr": "", "displaystyle": "", "textstyle": "", "limits": "", "nolimits": ""}
CONTROL_SYMBOLS = {",": " ", ";": " ", ":": " ", "!": "", " ": " ", "{": "{", "}": "}", "_": "_", "&": "&",
                   "%": "%", "#": "#", "$": "$", "|": "‖"}
ACCENTS = {"hat": "\u0302", "widehat": "\u0302", "bar": "\u0304", "overline": "\u0305", "tilde": "\u0303",
           "widetilde": "\u0303", "vec": "\u20d7", "dot": "\u0307", "ddot": "\u0308", "check": "\u030c",
           "breve": "\u0306", "acute": "\u0301", "grave": "\u0300"}
FONTS = {"mathbf", "boldsymbol", "bm", "mathrm", "mathit", "mathsf", "mathtt", "mathcal", "mathscr", "mathfrak",
         "mathbb", "mathnormal", "text", "textbf", "textit", "textrm", "textsf", "texttt", "textup", "mbox",
         "hbox", "operatorname", "ensuremath", "underline", "mathring"}

RAISED = dict(zip("0123456789+-−=()aehijklmnoprstuvwxyzbcdfgTᵀ′",
                  "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵉʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᵇᶜᵈᶠᵍᵀᵀ′"))
LOWERED = dict(zip("0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
INDEX_MARKS = "·, "  # kept as they are among raised or lowered indices (Θ(1)·₀: column 0 of Θ(1))


def plain(tex: str) -> str:
    """`tex` (one name of a notation profile) as plain Unicode text."""
    text, _ = _sequence(tex, 0)
    return unicodedata.normalize("NFC", text).strip()


def _sequence(tex: str, i: int) -> tuple[str, int]:
    """Text up to the closing brace of the current group (or the end), and where it stopped."""
    out: list[str] = []
    while i < len(tex) and tex[i] != "}":
        if tex[i] in "^_":
            raised = tex[i] == "^"
            arg, i = _argument(tex, i + 1)
            out.append(_raised(arg) if raised else _lowered(arg))
            continue
        piece, i = _atom(tex, i)
        out.append(piece)
    return "".join(out), i


def _atom(tex: str, i: int) -> tuple[str, int]:
    """One letter, group or command (with its argument, for accents and fonts)."""
    c = tex[i]
    if c == "{":
        inner, i = _sequence(tex, i + 1)
        return inner, i + 1  # past the closing brace (or the end)
    if c == "\\":
        j = i + 1
        while j < len(tex) and tex[j].isalpha():
            j += 1
        if j == i + 1:  # a control symbol: \, \; \{ ...
            symbol = tex[i + 1:i + 2]
            return CONTROL_SYMBOLS.get(symbol, symbol), i + 2
        name = tex[i + 1:j]
        while j < len(tex) and tex[j] == " ":  # the space after a control word only ends it
            j += 1
        if name in ACCENTS:
            arg, j = _argument(tex, j)
            return (arg + ACCENTS[name]) if len(arg) == 1 else arg, j
        if name in FONTS:
            return _argument(tex, j)
        if name == "frac":
            top, j = _argument(tex, j)
            bottom, j = _argument(tex, j)
            return f"{top}/{bottom}", j
        return SYMBOLS.get(name, name), j
    return (" " if c == "~" else c), i + 1


def _argument(tex: str, i: int) -> tuple[str, int]:
    """The argument of ^, _ or a command: a group, a command, or one character."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex) or tex[i] == "}":
        return "", i
    return _atom(tex, i)


def _raised(text: str) -> str:
    if text.startswith("(") and text.endswith(")"):
        return text  # the course's layer in parentheses: on the line, Θ(1)
    if all(c in RAISED or c in INDEX_MARKS for c in text):
        return "".join(RAISED.get(c, c) for c in text)
    return f"({text})"


def _lowered(text: str) -> str:
    if all(c in LOWERED or c in INDEX_MARKS for c in text):
        return "".join(LOWERED.get(c, c) for c in text)
    return f"[{text}]"
