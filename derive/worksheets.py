"""LaTeX worksheets: a handout, an exercise sheet and a worked-answer sheet, in one notation profile.

Everything here turns the derivation (plain data) into printed pieces: LaTeX strings made by
`sympy.latex` with the profile's `symbol_names`, and small lists of them. The Jinja2 templates in
`templates/` only place these pieces on the page. Numbers on the answer sheet come from
`compute_answers` (the generated code); `worked` only formats them.

This module gathers the pieces into one context shared by the three templates; each kind of piece
has its own module: `typeset` (printing in a profile), `equations` (forward pass, loss, δ, vector
form), `path_sums` (paths, counts, the proof sentence), `diagram` (TikZ), `stepwise` (one rule per
line), `worked` (the numbers) and `texenv` (templates and escaping).
"""
from __future__ import annotations

from pathlib import Path

import jinja2

from . import activations, equations, path_sums
from .derivation import Derivation
from .diagram import network_diagram
from .errors import TemplateError
from .notation import get_profile
from .path_sums import proof_sentence
from .stepwise import stepwise
from .texenv import default_template_dir, escape_latex, make_env
from .typeset import Typesetter
from .worked import worked

__all__ = ["DOCUMENTS", "default_template_dir", "escape_latex", "make_env", "proof_sentence", "render_variants", "render_worksheets"]

DOCUMENTS = ("handout", "exercises", "answers")


def render_worksheets(derivation: Derivation, numbers: dict | None, notation: str,
                      template_dir: Path | None = None, precision: int = 4, proofs=None) -> dict[str, str]:
    """The three documents as LaTeX text: {"handout.tex", "exercises.tex", "answers.tex"}.

    `proofs` is what `derive.proof.prove(derivation)` returns; when given, the handout's counting
    section states that the path sum equals the δ form for every parameter, and how that was checked.
    """
    context = _context(Typesetter(derivation, get_profile(notation), precision), numbers)
    context["proof"] = proof_sentence(proofs) if proofs is not None else ""
    env = make_env(template_dir)
    return {f"{doc}.tex": _render(env, f"{doc}.tex.j2", context, template_dir) for doc in DOCUMENTS}


def render_variants(derivation: Derivation, numbers_list, notation: str, template_dir: Path | None = None,
                    precision: int = 4, documents: tuple[str, ...] = ("exercises", "answers")):
    """For each numbers object (one per student of a class set), the chosen documents as LaTeX text.

    Only the worked numbers differ between students, so the symbolic pieces (diagram, path sums,
    δ equations) are typeset once and each student costs one `worked` and one template render.
    """
    ts = Typesetter(derivation, get_profile(notation), precision)
    shared = _context(ts, None)
    shared["proof"] = ""
    env = make_env(template_dir)
    for numbers in numbers_list:
        context = dict(shared, has_numbers=True, worked=worked(ts, numbers))
        yield {f"{doc}.tex": _render(env, f"{doc}.tex.j2", context, template_dir) for doc in documents}


def _render(env: jinja2.Environment, name: str, context: dict, template_dir: Path | None) -> str:
    """One template, with a template's mistakes reported as one line naming the file and line."""
    folder = template_dir if template_dir is not None else default_template_dir()
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"{folder}: {exc.name}: template not found (copy derive's templates/ folder and edit it)") from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or folder / name}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{folder / name}: {exc}") from None


def _context(ts: Typesetter, numbers: dict | None) -> dict:
    ctx = {
        "title": ts.spec.title,
        "name": ts.spec.name,
        "profile": ts.p.name,
        "notation": ts.p.description,
        "summary": _summary(ts),
        "cost": ts.p.cost,
        "cost_full": ts.p.cost_full,
        "large": ts.large,
        "diagram": network_diagram(ts),
        "forward": equations.forward(ts),
        "forward_vector": equations.forward_vector(ts),
        "loss": equations.loss(ts),
        "shown": [path_sums.parameter_section(ts, k) for k in ts.shown],
        "all_sums": path_sums.all_sums(ts),
        "counts": path_sums.counts(ts),
        "deltas": equations.deltas(ts),
        "backward_vector": equations.backward_vector(ts),
        "general": equations.general(ts),
        "stepwise": stepwise(ts),
        "dimensions": equations.dimensions(ts),
        "has_numbers": numbers is not None,
        "rounding": (f"Values are computed in double precision and rounded only for display to "
                     f"{ts.precision} decimals; a value that would show as zero is given to two significant figures."),
    }
    ctx["worked"] = worked(ts, numbers) if numbers is not None else None
    ctx["chain_exercise"] = path_sums.chain_exercise(ts, ts.shown[0])
    return ctx


def _summary(ts: Typesetter) -> str:
    widths = ", ".join(str(w) for w in ts.spec.layers)
    acts = sorted(set(ts.spec.activations), key=ts.spec.activations.index)
    act_text = ", ".join(f"${activations.LATEX_NAME[a]}$ ({a})" for a in acts)
    bias = "with biases" if all(ts.spec.biases) else ("without biases" if not any(ts.spec.biases) else "with biases in some layers")
    skips = ""
    if ts.spec.skips:
        skips = "; skip connections " + ", ".join(
            f"${ts.names.matrix(s.name)}$ from layer {ts.names.layer(s.src)} to layer {ts.names.layer(s.dst)}"
            for s in ts.spec.skips)
    loss = ts.net.loss
    return (f"Layer widths {widths} (input first), activation {act_text}, {bias}{skips}; "
            f"loss {LOSS_WORDS.get(loss.name, loss.name.replace('_', ' '))}: ${ts.p.cost_full} = {ts.loss_formula()}$.")


# The loss's name as a sentence says it ("loss half sse" reads as a typo).
LOSS_WORDS = {
    "half_sse": "half the sum of squared errors",
    "sse": "sum of squared errors",
    "half_mse": "half the mean squared error",
    "mse": "mean squared error",
    "bce": "binary cross-entropy",
    "bce_mean": "mean binary cross-entropy",
    "cross_entropy": "cross-entropy",
    "cross_entropy_mean": "mean cross-entropy",
}
