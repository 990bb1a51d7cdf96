"""LaTeX worksheets: a handout, an exercise sheet and a worked-answer sheet, in one notation profile.

Everything here turns the derivation (plain data) into printed pieces: LaTeX strings made by
`sympy.latex` with the profile's `symbol_names`, and small lists of them. The Jinja2 templates in
`templates/` only place these pieces on the page. Numbers on the answer sheet come from
`compute_answers` (the generated code); `worked` only formats them.

This module gathers the pieces into one context shared by the three templates; each kind of piece
has its own module: `typeset` (printing in a profile), `equations` (forward pass, loss, δ, vector
form, the four equations), `path_sums` (paths, counts, the proof sentence), `columns` (the
lab sheet's columns reading of the paths), `slopes` (the activations' derivatives), `diagram` (TikZ),
`stepwise` (one rule per line), `worked` (the numbers), `scope` (one example's J_n or the batch's J),
`regularization` (an L2 term's sentences and questions) and `texenv` (templates and escaping).
"""
from __future__ import annotations

import copy
from pathlib import Path

import jinja2

from ..engine import activations
from ..engine.derivation import Derivation, data_term
from ..errors import TemplateError
from ..notation.names import Profile, get_profile
from . import equations, path_sums, questions, regularization, scope
from .columns import columns
from .diagram import network_diagram
from .path_sums import proof_sentence
from .settle import FIGURES
from .slopes import WORDS as ACTIVATION_WORDS
from .slopes import activation_derivations
from .stepwise import stepwise
from .texenv import default_template_dir, escape_latex, make_env, template_error
from .typeset import Typesetter
from .worked import worked

__all__ = ["DOCUMENTS", "default_template_dir", "escape_latex", "make_env", "proof_sentence", "render_variants", "render_worksheets"]

DOCUMENTS = ("handout", "exercises", "answers")


def render_worksheets(derivation: Derivation, numbers: dict | None, notation: str | Profile,
                      template_dir: Path | None = None, precision: int = FIGURES, proofs=None) -> dict[str, str]:
    """The three documents as LaTeX text: {"handout.tex", "exercises.tex", "answers.tex"}.

    `proofs` is what `derive.proof.prove(derivation)` returns; when given, the handout's counting
    section states that the path sum equals the δ form for every parameter, and how that was checked.
    """
    context = _context(Typesetter(derivation, get_profile(notation), precision), numbers)
    context["proof"] = proof_sentence(proofs) if proofs is not None else ""
    env = make_env(template_dir)
    return {f"{doc}.tex": _render(env, f"{doc}.tex.j2", context, template_dir) for doc in DOCUMENTS}


def render_variants(derivation: Derivation, worked_list, notation: str | Profile, template_dir: Path | None = None,
                    precision: int = FIGURES, documents: tuple[str, ...] = ("exercises", "answers")):
    """For each student of a class set, the chosen documents as LaTeX text.

    `worked_list` holds one `worked(...)` result per student (their numbers, figures settled on
    them, as `derive build` prints them). Only those differ between students, so the symbolic pieces
    (diagram, path sums, δ equations) are typeset once and each student costs one template render.
    """
    ts = Typesetter(derivation, get_profile(notation), precision)
    shared = _context(ts, None)
    shared["proof"] = ""
    env = make_env(template_dir)
    for sheet in worked_list:
        context = dict(shared, has_numbers=True, worked=sheet)
        context["questions"] = questions.questions(ts, shared["question_pieces"], sheet)
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
    except (jinja2.TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError, RecursionError) as exc:
        # Runtime mistakes and sandbox refusals (a template reaching for Python internals): file and line.
        raise TemplateError(template_error(exc, Path(folder), name)) from None


def _context(ts: Typesetter, numbers: dict | None) -> dict:
    """The templates' values. The chain-rule paths, δ and the worked lines follow the loss's own
    derivation (`data_term`: one example's term Jₙ); the counts are the whole derivation's, with an
    L2 term's direct path of one factor per weight."""
    full = ts.d
    if full.regularization:
        ts = copy.copy(ts)
        ts.d = data_term(full)
    ctx = {
        "title": ts.spec.title,
        "name": ts.spec.name,
        "profile": ts.p.name,
        "notation": ts.p.description,
        "summary": _summary(ts),
        "cost": ts.p.cost,
        "cost_full": ts.p.cost_full,
        "learning_rate": ts.p.learning_rate,
        # The profile's letters for the templates' prose ("δ always means ∂J/∂z", "compute every z and a").
        "symbols": {"delta": ts.p.delta, "preactivation": ts.p.preactivation, "activation": ts.p.activation_letter,
                    "target": ts.p.target, "examples": ts.p.examples, "cost": ts.p.cost,
                    "learning_rate": ts.p.learning_rate, "hadamard": ts.p.hadamard, "function": _unit_function(ts),
                    "inputs": ts.names.vector("x"), "targets": ts.names.vector("y")},
        "one_cost": scope.one_cost(ts),
        "per_example": scope.per_example(ts),
        "relu_note": _relu_note(ts),
        "large": ts.large,
        "diagram": network_diagram(ts),
        "forward": equations.forward(ts),
        "forward_vector": equations.forward_vector(ts),
        "loss": equations.loss(ts),
        "shown": [path_sums.parameter_section(ts, k) for k in ts.shown],
        "all_sums": path_sums.all_sums(ts),
        "counts": path_sums.counts(ts, full),
        "deltas": equations.deltas(ts),
        "backward_vector": equations.backward_vector(ts),
        "general": equations.general(ts),
        "stepwise": stepwise(ts),
        "columns": columns(ts),
        "slopes": [dict(s, title=ACTIVATION_WORDS[s["name"]]) for s in activation_derivations(ts)],
        "four_equations": equations.four_equations(ts),
        "dimensions": equations.dimensions(ts),
        "has_numbers": numbers is not None,
        # The L2 term's sentences, question and notes (None without one); its worked lines are in worked.regularization.
        "regularization": regularization.context(ts, full),
    }
    if ctx["regularization"] is not None:  # J's definition includes the term
        ctx["loss"] = dict(ctx["loss"], general=ctx["loss"]["general"] + " + " + ctx["regularization"]["short_term"])
    ctx["worked"] = worked(ts, numbers) if numbers is not None else None
    ctx["chain_exercise"] = path_sums.chain_exercise(ts)
    # The exercise and answer sheets iterate over the same questions (data first: derive/sheets/questions.py).
    ctx["question_pieces"] = questions.symbolic(ts, ctx["chain_exercise"], ctx["regularization"], ctx["counts"])
    ctx["questions"] = questions.questions(ts, ctx["question_pieces"], ctx["worked"])
    return ctx


def _summary(ts: Typesetter) -> str:
    widths = ", ".join(str(w) for w in ts.spec.layers)
    acts = sorted(set(ts.spec.activations), key=ts.spec.activations.index)
    act_text = ", ".join(_activation_words(ts, a) for a in acts)
    if all(ts.spec.biases) or not any(ts.spec.biases):
        bias = "with biases" if all(ts.spec.biases) else "without biases"
    else:
        layers = [str(ts.names.layer(l)) for l in range(1, ts.L + 1) if ts.spec.biases[l - 1]]
        bias = f"with biases into layer{'s' if len(layers) > 1 else ''} {' and '.join(layers)} only"
    skips = ""
    if ts.spec.skips:
        skips = "; skip connections " + ", ".join(
            f"${ts.names.matrix(s.name)}$ from layer {ts.names.layer(s.src)} to layer {ts.names.layer(s.dst)}"
            + (f" (the spec's [{s.src}, {s.dst}]: the spec counts the input as layer 0)" if ts.p.first_layer else "")
            for s in ts.spec.skips)
    loss = ts.net.loss
    l2 = ""
    if ts.net.l2 is not None:
        l2 = rf", plus the L2 term ${regularization.short_term(ts)}$ over every weight $w$" + (" (not the biases)" if any(ts.spec.biases) else "")
    return (f"Layer widths {widths} (input first), activation {act_text}, {bias}{skips}; "
            f"loss {LOSS_WORDS.get(loss.name, loss.name.replace('_', ' '))}: ${ts.p.cost_full} = {ts.loss_formula()}${l2}.")


def _activation_words(ts: Typesetter, name: str) -> str:
    """σ (sigmoid); g = σ (sigmoid) where the profile writes the activation with its letter; tanh, not tanh (tanh)."""
    own, shown = activations.LATEX_NAME[name], ts.names.function(name)
    math = own if shown == own else f"{shown} = {own}"
    plain = own.replace(r"\operatorname{", "").rstrip("}").lstrip("\\").lower()
    return f"${math}$" if plain == name else f"${math}$ ({name})"
def _unit_function(ts: Typesetter) -> str:
    """A unit's function as the sections write it (ng's σ, nielsen's g); the profile's letter for a
    network that mixes element-wise functions, each layer then writing its own."""
    own = {a for a in ts.spec.activations if a not in ("identity", "softmax")}
    return ts.names.function(own.pop()) if len(own) == 1 else ts.p.activation


def _relu_note(ts: Typesetter) -> str:
    """ReLU's slope at the kink, stated on every sheet of a network that uses ReLU."""
    if "relu" not in ts.spec.activations:
        return ""
    return (r"$\operatorname{ReLU}'(z) = 1$ for $z > 0$ and $0$ for $z \le 0$: at the kink $z = 0$ this sheet "
            r"takes $\operatorname{ReLU}'(0) = 0$.")


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
