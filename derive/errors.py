"""Errors derive reports to its user as one line each."""


class DeriveError(Exception):
    """Base class: anything derive refuses, with a message fit for one line."""


class SpecError(DeriveError):
    """A spec file is malformed: names the file, the field and what is expected."""

    def __init__(self, source: str, field: str, problem: str):
        self.source, self.field, self.problem = source, field, problem
        super().__init__(f"{source}: {field}: {problem}")


class OutputError(DeriveError):
    """A generated file cannot be written safely (for example, a person edited it)."""


class LatexError(DeriveError):
    """pdflatex failed; the message carries the relevant lines of its log."""


class TemplateError(DeriveError):
    """A worksheet template is missing or has a mistake: names the file and, where known, the line."""


class ProfileError(SpecError):
    """A notation profile is malformed: names the file, the field and what is expected."""
