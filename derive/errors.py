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



class DeriveError(Exception):
    """Base class: anything derive refuses, with a message fit for one line."""


class SpecError(DeriveError):
    """A spec file is malformed: names the file, the field and what is expected."""

    def __init__(self, source: str, field: str, problem: str):
        self.source, self.field, self.problem = source, field, problem
        super().__init__(f"{source}: {field}: {problem}")


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
