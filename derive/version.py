"""derive's version: one number, read by the command line, the generated module's header and the build key."""
__version__ = "0.1.0"

MAX_CODE_BYTES = 16_000_000  # one of derive's own modules (they are all far smaller)


def code_digest() -> bytes:
    """One digest of derive's own Python files, for the build and class keys: a changed derive rebuilds.

    Standard library only, each file read through the guarded reader (bounded, never a FIFO).
    """
    import hashlib
    from pathlib import Path

    from .files import read_small_file

    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" not in path.parts and path.is_file():
            name = path.relative_to(root).as_posix().encode()
            digest.update(hashlib.sha256(name).digest() + hashlib.sha256(read_small_file(path, MAX_CODE_BYTES)).digest())
    return digest.digest()
