"""Errors derive reports to its user as one line each, and printing them safely."""
import unicodedata

# Control characters, line and paragraph separators, and format characters (the bidirectional
# overrides U+202A-U+202E and isolates U+2066-U+2069 among them) would reorder, hide or split a line
# on a terminal: a message shows them as escapes instead.
UNSAFE_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """`text` with every control, format (bidi) and separator character escaped: one safe line."""
    return "".join(_NAMED.get(c) or (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
                   if unicodedata.category(c) in UNSAFE_CATEGORIES else c for c in str(text))


def printable_lines(message: str) -> list[str]:
    """A message as lines fit for a terminal: split at its line breaks, each line escaped."""
    return [escape_controls(line) for line in str(message).split("\n")]


def xml_unsafe(text: str) -> list[str]:
    """The characters of `text` no XML 1.0 export can carry, or that Unicode reserves as non-characters.

    C0 controls (tab, line feed and carriage return included: the strings derive exports are single
    lines), DEL and the C1 controls, lone surrogates (which no UTF-8 file can hold), U+FFFE and U+FFFF
    and the other 64 non-characters (U+FDD0-U+FDEF, U+xFFFE and U+xFFFF of every plane).
    """
    return sorted({c for c in str(text) if ord(c) < 32 or 127 <= ord(c) < 160 or 0xD800 <= ord(c) <= 0xDFFF
                   or 0xFDD0 <= ord(c) <= 0xFDEF or (ord(c) & 0xFFFE) == 0xFFFE})


def shown_characters(chars: list[str], most: int = 6) -> str:
    """Characters for a message as code points (U+FFFF), since they cannot be shown as themselves."""
    shown = ", ".join(f"U+{ord(c):04X}" for c in chars[:most])
    return shown + (f" and {len(chars) - most} more" if len(chars) > most else "")


class DeriveError(Exception):
    """Base class: anything derive refuses, with a message fit for one line.

    The command line prints it as `derive: error: <message>`. Besides `SpecError` (what the user
    gave is refused), derive raises `CheckFailed` (the generated gradients disagree with the
    independent backprop), `OutputError` (a file cannot be written safely, e.g. one a person
    edited), `LatexError`, `TemplateError` and `InternalError` (a bug in derive).

    Examples
    --------
    >>> import derive
    >>> try:
    ...     derive.load("missing.toml")
    ... except derive.DeriveError as error:
    ...     print(f"derive: error: {error}")
    derive: error: missing.toml: file: no such file
    """


class SpecError(DeriveError):
    """What the user gave is refused: a spec, roster, profile, template folder or argument.

    Its message is the one line the command line prints: the file, the field, what is expected.

    Parameters
    ----------
    source : str
        The file (or `<text>` for a spec given as text, or the option) that holds the mistake.
    field : str
        Where in it, e.g. `network.layers[1]`, `values.W1`, `line 4: group`.
    problem : str
        What is wrong and what is expected.

    Attributes
    ----------
    source, field, problem : str
        As given.

    Examples
    --------
    >>> import derive
    >>> try:
    ...     derive.load('''
    ... name = "bad"
    ... [network]
    ... layers = [2, 0, 1]
    ... activation = "sigmoid"
    ... loss = "half_sse"
    ... ''')
    ... except derive.SpecError as error:
    ...     caught = error
    >>> caught.field, caught.problem
    ('network.layers[1]', 'width must be at least 1, got 0')
    >>> str(caught)
    '<text>: network.layers[1]: width must be at least 1, got 0'
    """

    def __init__(self, source: str, field: str, problem: str):
        self.source, self.field, self.problem = source, field, problem
        super().__init__(f"{source}: {field}: {problem}")


class ArgumentError(SpecError):
    """A command-line option, or the API argument of the same name, is refused: `option: problem`.

    A SpecError like every other refusal of what the user gave, so that the API raises one error type.
    """

    def __init__(self, option: str, problem: str):
        self.source, self.field, self.problem = option, "", problem
        DeriveError.__init__(self, f"{option}: {problem}")


class ArgumentTypeError(ArgumentError, TypeError):
    """An API argument of the wrong type: a SpecError, and the TypeError Python code expects."""


class ParameterKeyError(SpecError, KeyError):
    """A parameter key the network does not have (`Derivation.explain("W9[0,0]")`): a SpecError and a KeyError."""

    def __init__(self, source: str, key: str, problem: str):
        super().__init__(source, "parameter", problem)
        self.key = key

    def __str__(self) -> str:  # KeyError's own __str__ would show the message as a quoted repr
        return Exception.__str__(self)


class CheckFailed(DeriveError):
    """The generated gradients disagree with the independent backprop or finite differences (exit status 1).

    Its message is one line per failing comparison, each naming the spec file and the parameter.
    """


class OutputError(DeriveError):
    """A generated file cannot be written safely (for example, a person edited it)."""


class LatexError(DeriveError):
    """pdflatex failed; the message carries the relevant lines of its log."""


class TemplateError(DeriveError):
    """A worksheet template is missing or has a mistake: names the file and, where known, the line."""


class ProfileError(SpecError):
    """A notation profile is malformed: names the file, the field and what is expected."""


class InternalError(DeriveError):
    """An unexpected exception while one spec was worked on: a bug in derive, not in the spec.

    Its message is one line naming the spec and the exception, so that a multi-spec command reports
    it and goes on with the other specs; `original` keeps the exception (DERIVE_TRACEBACK=1 prints it).
    """

    MAX_DETAIL = 300  # characters of the exception's own message (a 10,000-digit number is not shown whole)

    def __init__(self, source, original: BaseException):
        self.source, self.original = source, original
        detail = " ".join(str(original).split())
        if len(detail) > self.MAX_DETAIL:
            detail = detail[:self.MAX_DETAIL] + " ..."
        what = f"{type(original).__name__}: {detail}" if detail else type(original).__name__
        super().__init__(f"{source}: internal error ({what}); this is a bug in derive, please report it "
                         "with this spec file (DERIVE_TRACEBACK=1 shows where it happened)")
