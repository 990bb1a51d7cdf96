r"""Names in any script pdfLaTeX can set: each word in the font encoding the TeX installation has for it.

pdfLaTeX's fonts hold 256 glyphs each, so a name beyond Latin needs another font encoding: T5 for
Vietnamese, T2A for Cyrillic, LGR for Greek, CJKutf8 for Chinese and Japanese. LaTeX does not switch
by itself (a bare `Ольга` in T1 text is an error), so the choice is made here, word by word, from what
the installation actually has: an encoding counts only when its `.def`, its `.dfu` (which characters
it spells, read from the file itself: no hand-made table), its `.fd` and a Type 1 file of its fonts are
found by kpsewhich (once per run). A Han character counts only when the CJK font's metric file for it
has the glyph. A name with a character none of them has is unprintable, and the caller says so.

LGR puts Greek letters where ASCII has Latin ones (`a` is α), so an LGR run holds Greek letters only.
Each printed name carries its own text as the PDF's ActualText, so searching and copying the PDF give
the name as written even where a letter is built from an accent (Romanian ș is s with a comma below).
"""
from __future__ import annotations

import functools
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# (encoding, the files it needs besides its .def and .dfu, the font family it is set in: "" keeps the sheet's). T1 is the
# sheets' own encoding; the others are tried in this order, each for a whole word where it can.
ENCODINGS = (
    ("T1", ("t1lmr.fd", "lmr10.pfb"), ""),
    ("T5", ("t5lmr.fd", "lmr10.pfb"), ""),
    ("T2A", ("t2acmr.fd", "sfrm1000.pfb"), "cmr"),  # Latin Modern has no Cyrillic: CM-Super's Computer Modern
    ("LGR", ("lgrlmr.fd", "grmn1000.pfb"), ""),
)
WHOLE_WORD = ("T1", "T5", "T2A")  # ASCII-based encodings: a word may be set in one of them whole
# Symbols every encoding sets (the kernel's own and textcomp's, which switch to TS1 by themselves).
SHARED = ("utf8.def", "ts1enc.dfu")
CJK_FILES = ("CJKutf8.sty", "c70gbsn.fd", "gbsnu4e.tfm", "gbsnu4e.pfb")
CJK_FAMILY = "gbsn"  # Arphic's GB song: simplified Chinese and kana (GB 2312)

_DECLARED = re.compile(r"^\\DeclareUnicodeCharacter\{([0-9A-Fa-f]{4,6})\}", re.M)
_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "#": r"\#", "$": r"\$", "%": r"\%", "&": r"\&",
    "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}",
    "|": r"\textbar{}", "\u2013": "--", "\u2014": "---", "\u2018": "`", "\u2019": "'", "\u201c": "``", "\u201d": "''",
}


@dataclass(frozen=True)
class Installed:
    """What the TeX installation can set: each usable encoding's characters beyond ASCII, its font family."""
    coverage: dict[str, frozenset[str]]
    families: dict[str, str]
    cjk_metrics: Path | None = None  # the folder of the CJK font's per-block .tfm files, when CJKutf8 works

    def covers(self, encoding: str, ch: str) -> bool:
        if encoding == "CJK":
            return self.cjk_has(ch)
        if encoding == "LGR":  # Greek letters only: LGR's ASCII positions hold Greek
            return ch in self.coverage.get("LGR", ()) and unicodedata.name(ch, "").startswith("GREEK")
        return encoding in self.coverage and (" " <= ch <= "~" or ch in self.coverage[encoding])

    def cjk_has(self, ch: str) -> bool:
        return self.cjk_metrics is not None and ord(ch) > 0x2000 and _has_glyph(self.cjk_metrics, ord(ch))


@functools.lru_cache(maxsize=1)
def installed() -> Installed:
    """Ask kpsewhich once which encodings, fonts and CJK files this TeX installation has."""
    names = [*SHARED, *CJK_FILES]
    for encoding, files, _ in ENCODINGS:
        names += [f"{encoding.lower()}enc.def", f"{encoding.lower()}enc.dfu", *files]
    found = _kpsewhich(names)
    shared = frozenset().union(*(_declared(found[n]) for n in SHARED if n in found))
    coverage, families = {}, {}
    for encoding, files, family in ENCODINGS:
        low = encoding.lower()
        if all(n in found for n in (f"{low}enc.def", f"{low}enc.dfu", *files)):
            coverage[encoding] = _declared(found[f"{low}enc.dfu"]) | (shared if encoding != "LGR" else frozenset())
            families[encoding] = family
    cjk = found["gbsnu4e.tfm"].parent if all(n in found for n in CJK_FILES) else None
    return Installed(coverage, families, cjk)


def _kpsewhich(names: list[str]) -> dict[str, Path]:
    """{file name: path} for the names kpsewhich finds (it prints nothing for the others)."""
    kpsewhich = shutil.which("kpsewhich")
    if kpsewhich is None:
        return {}
    try:
        out = subprocess.run([kpsewhich, *names], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return {Path(line).name: Path(line) for line in out.splitlines() if line.strip()}


def _declared(path: Path) -> frozenset[str]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return frozenset()
    return frozenset(chr(int(code, 16)) for code in _DECLARED.findall(text))


@functools.lru_cache(maxsize=4096)
def _has_glyph(folder: Path, code: int) -> bool:
    """True when the CJK font's metric for code's 256-character block has that character (TFM char_info)."""
    data = _tfm(folder / f"{CJK_FAMILY}u{code >> 8:02x}.tfm")
    if len(data) < 24:
        return False
    lh, bc, ec = (int.from_bytes(data[i:i + 2], "big") for i in (2, 4, 6))
    low = code & 0xFF
    if not bc <= low <= ec:
        return False
    at = 24 + 4 * lh + 4 * (low - bc)
    return at < len(data) and data[at] != 0  # width index 0: no such character


@functools.lru_cache(maxsize=256)
def _tfm(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


# ---------------------------------------------------------------------------------------------

def runs(text: str, have: Installed | None = None) -> list[tuple[str, str]] | None:
    """`text` (NFC) as (encoding, piece) runs, spaces in T1; None when some character has no encoding.

    A word goes whole into the first of T1, T5, T2A that sets all of it; otherwise each character
    stays in the run before it if that run's encoding sets it, or starts a run in the first that does.
    """
    have = have or installed()
    out: list[tuple[str, str]] = []
    for word in re.split(r"(\s+)", unicodedata.normalize("NFC", str(text))):
        if not word:
            continue
        if word.isspace():
            out.append(("T1", " "))
            continue
        whole = next((e for e in WHOLE_WORD if all(have.covers(e, ch) for ch in word)), None)
        if whole is not None:
            out.append((whole, word))
            continue
        pieces: list[tuple[str, str]] = []
        for ch in word:
            if pieces and have.covers(pieces[-1][0], ch):
                pieces[-1] = (pieces[-1][0], pieces[-1][1] + ch)
                continue
            encoding = next((e for e in (*WHOLE_WORD, "LGR", "CJK") if have.covers(e, ch)), None)
            if encoding is None:
                return None
            pieces.append((encoding, ch))
        out += pieces
    merged: list[tuple[str, str]] = []
    for encoding, piece in out:
        if merged and merged[-1][0] == encoding:
            merged[-1] = (encoding, merged[-1][1] + piece)
        else:
            merged.append((encoding, piece))
    return merged


def unprintable(text: str, have: Installed | None = None) -> list[str]:
    """The characters of `text` that no installed encoding sets (empty when it prints)."""
    have = have or installed()
    return sorted({ch for ch in unicodedata.normalize("NFC", str(text))
                   if not ch.isspace() and not any(have.covers(e, ch) for e in (*WHOLE_WORD, "LGR", "CJK"))})


def encodings_needed(texts, have: Installed | None = None) -> tuple[str, ...]:
    """The encodings (and "CJK") the printable ones of `texts` use, in ENCODINGS order."""
    have = have or installed()
    used = {e for t in texts for e, _ in (runs(t, have) or ())}
    return tuple(e for e in (*(e for e, _, _ in ENCODINGS), "CJK") if e in used)


def preamble(encodings: tuple[str, ...], have: Installed | None = None) -> str:
    r"""The preamble lines that make `encodings` available, the document's default encoding kept.

    `\deriverun{ENC}{family}{text}` sets text in one encoding; `\derivecjk{text}` in the CJK font.
    """
    have = have or installed()
    extra = [e for e in encodings if e not in ("T1", "CJK")]
    lines = [r"\makeatletter",
             r"\let\derive@encodingdefault\encodingdefault",
             rf"\usepackage[{','.join([*extra, 'T1'])}]{{fontenc}}% the name's encodings; loading keeps the sheet's own below",
             r"\let\encodingdefault\derive@encodingdefault",
             r"\fontencoding{\encodingdefault}\selectfont",
             r"\makeatother",
             r"\newcommand{\deriverun}[3]{{\fontencoding{#1}\if\relax\detokenize{#2}\relax\else\fontfamily{#2}\fi\selectfont #3}}"]
    if "CJK" in encodings:
        lines += [r"\usepackage{CJKutf8}", rf"\newcommand{{\derivecjk}}[1]{{\begin{{CJK}}{{UTF8}}{{{CJK_FAMILY}}}#1\end{{CJK}}}}"]
    return "\n".join(lines)


def latex_text(text: str, have: Installed | None = None) -> str | None:
    """`text` as LaTeX in the encodings it needs, with its own ActualText; None when it cannot be set."""
    have = have or installed()
    parts = runs(text, have)
    if parts is None:
        return None
    body = []
    for encoding, piece in parts:
        if encoding == "CJK":
            body.append(rf"\derivecjk{{{piece}}}")
            continue
        escaped = "".join(_SPECIALS.get(ch, ch) for ch in piece) if encoding != "LGR" else piece
        family = have.families.get(encoding, "")
        body.append(rf"\deriverun{{{encoding}}}{{{family}}}{{{escaped}}}")
    actual = "FEFF" + unicodedata.normalize("NFC", str(text)).encode("utf-16-be").hex().upper()
    # pdfTeX's marked content: a PDF reader searches and copies the ActualText, not the glyphs' names.
    return rf"\pdfliteral page{{/Span <</ActualText <{actual}>>> BDC}}{''.join(body)}\pdfliteral page{{EMC}}"
