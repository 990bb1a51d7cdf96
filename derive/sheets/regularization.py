"""What the sheets say about an L2 term (network.l2): J = Σₙ Jₙ + c·Σw² over every weight, never a bias.

The chain-rule paths, δ and the fill-in exercise follow one example's term Jₙ of the loss (the
typesetter holds `derivation.data_term`); this module states the rest, as data for the templates:
the term in the profile's letters and the spec's scale, the one extra path of one factor that
every weight gains (its counts from the full derivation), why δ does not change and how the
gradient does, why biases are left out, and the exercise sheet's question. The worked numbers
are in `lines` (`_l2_lines`) and `worked_tex` (`_l2_render`).
"""
from __future__ import annotations

import sympy as sp

from ..engine.derivation import Derivation
from .decimals import printed_decimal
from .typeset import Typesetter


def names(ts: Typesetter) -> dict:
    """symbol_names with λ."""
    return {**ts.sym, ts.net.l2.symbol: r"\lambda"}


def coefficient(ts: Typesetter) -> str:
    """c(λ, m) as printed: \\frac{\\lambda}{2 m} for the default scale."""
    return ts.tex(ts.net.l2.coefficient, names(ts))


def slope(ts: Typesetter) -> str:
    """2c, the factor of w in ∂J/∂w: \\frac{\\lambda}{m} for the default scale."""
    return ts.tex(2 * ts.net.l2.coefficient, names(ts))


def gradient_term(ts: Typesetter, name: str, entry: bool = False) -> str:
    """" + λ/m W" added to weight matrix `name`'s gradient (its generic entry with `entry`); "" for a
    bias or a spec without the term."""
    if ts.net.l2 is None or name.startswith("b"):
        return ""
    return rf" + {slope(ts)}\, {ts.names.entry(name) if entry else ts.names.matrix(name)}"


MAX_MATRICES_SUMMED = 3  # weight matrices written out in J's display; with more, Σ over every weight w


def term(ts: Typesetter) -> str:
    """c·Σ over the weight matrices of Σ_{jk} w_{jk}², in the profile's letters (c·Σ_w w² past
    MAX_MATRICES_SUMMED matrices, whose sums would run off the line; the text lists the matrices)."""
    if len(ts.weight_matrices) > MAX_MATRICES_SUMMED:
        return short_term(ts)
    row, col = ts.p.index_letters
    parts = [rf"\sum_{{{row},{col}}} \left({ts.names.entry(name)}\right)^{{2}}" for name in ts.weight_matrices]
    body = parts[0] if len(parts) == 1 else r"\left(" + " + ".join(parts) + r"\right)"
    return rf"{coefficient(ts)} {body}"


def square(ts: Typesetter) -> str:
    """A weight squared in the sheet's notation: w^{2}, or (w)^{2} where a bare superscript names a
    layer (nielsen's w^{2} is layer 2's weights)."""
    return r"w^{2}" if ts.p.parens else r"\left(w\right)^{2}"


def short_term(ts: Typesetter) -> str:
    """c·Σ_w w², for inline text once the sheet has said that w runs over every weight."""
    return rf"{coefficient(ts)} \sum_{{w}} {square(ts)}"


def context(ts: Typesetter, full: Derivation) -> dict | None:
    """Everything the three sheets print about the L2 term, or None for a spec without one.

    `ts` prints the loss's own derivation (`data_term`); `full` is the derivation with the term's
    direct edges, whose path counts the sheets print."""
    l2 = ts.net.l2
    if l2 is None:
        return None
    cost, one = ts.p.cost, rf"{ts.p.cost}_{{n}}"
    lam = _decimal(l2.value)
    weights = [ts.names.matrix(n) for n in ts.weight_matrices]
    biases = [ts.names.matrix(n) for n in ts.matrices if n.startswith("b")]
    skips = [ts.names.matrix(s.name) for s in ts.spec.skips]
    key = ts.shown[0]
    w = ts.pname(key)
    before, after = ts.d.path_count[key], full.path_count[key]
    direct = len(full.regularization)  # the direct edges w → J of the derivation
    c, k = coefficient(ts), slope(ts)
    listing = _listed([f"${n}$" for n in weights])
    definition = rf"{cost} = \sum_{{n}} {one} + {term(ts)}"
    short = rf"{cost} = \sum_{{n}} {one} + {short_term(ts)}"  # inline, after the display has said what Σ w² runs over
    scale = ts.spec.l2_scale
    W = ts.p.matrix_letter  # the course's letter for a weight matrix (Θ in ng), not a generic W
    why_biases = ("The biases are left out, as is usual: the term is there to keep "
                  "the weights, which multiply the inputs, small, so that no input or unit dominates and the fitted function "
                  "stays smooth; a bias multiplies no input, there is one per unit against many weights, and shrinking it "
                  "would only shift the units' outputs without making the function any smoother.")
    if not biases:
        why_biases = "This network has no biases; had it any, the term would leave them out: " + why_biases[len("The biases are left out, as is usual: "):]
    # The scale as the coefficient the sheet's formulas use, in maths: the spec's `1/(2m)` is its syntax, not the course's.
    intro = (rf"The spec adds an L2 term (weight decay) with $\lambda = {lam}$, weighted by ${c}$: "
             rf"\[ {definition}, \]"
             rf"the sum running over every entry of every weight matrix ({listing}"
             + (r", the skip connections' included" if skips else "") + "). " + why_biases)
    paths = (rf"Each weight now reaches ${cost}$ along one more path: directly, through the L2 term, with the one factor "
             rf"$\frac{{\partial {cost}}}{{\partial w}} = {k}\, w$ (the derivative of ${c} {square(ts)}$). "
             rf"So ${w}$ reaches ${cost}$ along {before.paths} + 1 = {after.paths} paths with "
             rf"{before.factors} + 1 = {after.factors} factors, and the counts in Section 5 include these {direct} direct "
             rf"paths, one per weight. The paths of Sections 2 and 3 are those through the network, of one example's term ${one}$.")
    delta = (rf"The L2 term contains no ${ts.p.preactivation}$, so $\delta = \frac{{\partial {cost}}}{{\partial {ts.p.preactivation}}}$ does not "
             rf"change and is computed exactly as below. Only each weight's gradient gains the term's factor: "
             rf"\[ \frac{{\partial {cost}}}{{\partial {W}}} = (\text{{the }}\delta\text{{ term of Section 3}}) + {k}\, {W} \]"
             rf"for every weight matrix ${W}$ ({listing})"
             + ("; the biases' gradients are those of the loss alone." if biases else ", as Sections 3 and 4 write."))
    scope = (rf"${cost}$ adds the examples' terms and the L2 term, ${short}$ (Section 1); only example $n$'s term depends "
             rf"on that example's ${ts.p.preactivation}$ and ${ts.p.activation_letter}$, and the L2 term on none of them. So the paths below give ${one}$'s derivative, and "
             rf"a parameter's gradient adds them over the examples, plus, for a weight $w$, the L2 term's ${k}\, w$: "
             rf"$\frac{{\partial {cost}}}{{\partial w}} = \sum_{{n}} \frac{{\partial {one}}}{{\partial w}} + {k}\, w$ "
             rf"(Section 3 writes that sum in matrix form).")
    not_biases = " (not the biases)" if biases else ""  # a net without biases is not told what to leave out
    question = (rf"\textbf{{L2 term.}} With $\lambda = {lam}$, compute $\sum {square(ts)}$ over every weight{not_biases}, "
                rf"the L2 term ${c} \sum {square(ts)}$"
                + (rf" and the regularized loss ${cost} = \sum_n {one} + {c}\sum {square(ts)}$."
                   if 2 * l2.coefficient == l2.symbol else  # λ/2·Σw²: the factor of w in the gradient is λ itself
                   rf", the regularized loss ${cost} = \sum_n {one} + {c}\sum {square(ts)}$, and the term's derivative "
                   rf"$\partial \left({c} \sum {square(ts)}\right)/\partial w$ that every weight's gradient gains, in symbols and in numbers."))
    gradient_note = (rf"Each weight's gradient is the regularized one, $\frac{{\partial {cost}}}{{\partial w}} = "
                     rf"\sum_n \frac{{\partial {one}}}{{\partial w}} + {k}\, w$" + ("; the biases' are not regularized." if biases else "."))
    gradient_question = "Include the L2 term in every weight's gradient" + (" (the biases have none)." if biases else ".")
    # A spec without numbers: the same question in symbols, and its answer.
    symbolic_question = (rf"\textbf{{L2 term.}} With ${definition}$, write $\frac{{\partial {cost}}}{{\partial W}}$ for a weight "
                         rf"matrix $W$ and $\frac{{\partial {cost}}}{{\partial b}}$ for a bias vector $b$. Does $\delta$ change?")
    symbolic_answer = (rf"\textbf{{L2 term.}} Each weight also reaches ${cost}$ directly, along one path of one factor "
                       rf"$\frac{{\partial {cost}}}{{\partial w}} = {k}\, w$, so "
                       rf"$\frac{{\partial {cost}}}{{\partial W}} = (\text{{the }}\delta\text{{ term}}) + {k}\, W$ for every weight "
                       rf"matrix ({listing}); the L2 term leaves out the biases, whose gradients do not change, and it contains no "
                       rf"${ts.p.preactivation}$, so $\delta$ does not change.")
    update_note = rf"The step uses the regularized gradients."
    return {"lambda": lam, "scale": scale, "coefficient": c, "slope": k, "term": term(ts), "short_term": short_term(ts),
            "definition": definition,
            "weights": weights, "biases": biases, "direct_paths": direct,
            "example": {"name": w, "paths": before.paths, "factors": before.factors,
                        "paths_with": after.paths, "factors_with": after.factors},
            "handout": [intro, paths, delta], "scope": scope, "question": question,
            "gradient_note": gradient_note, "gradient_question": gradient_question,
            "symbolic_question": symbolic_question, "symbolic_answer": symbolic_answer, "update_note": update_note,
            "counts_note": (rf"The counts include the L2 term's {direct} direct paths of one factor, one per weight "
                            rf"($\frac{{\partial {cost}}}{{\partial w}} = {k}\, w$).")}


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _decimal(value: sp.Rational) -> str:
    """λ as the spec wrote it (its decimal; a whole number without a point)."""
    from fractions import Fraction


    return printed_decimal(Fraction(int(value.p), int(value.q)), None)
