"""Which files of a template folder a template may read, and their digest for the build key.

A template may extend or include a file of its own folder (or a subfolder) only when its name ends
in one of TEMPLATE_SUFFIXES, it is a regular file (a FIFO or device could block or never end), it
lies inside the folder once links are followed, and it is at most MAX_TEMPLATE_BYTES. texenv's
loader reads only such files, and the build key hashes exactly these and nothing else, so that
editing any of them rebuilds while `--templates /usr` is refused after a bounded look (at most
MAX_ENTRIES names) instead of reading the whole tree. Standard library only: the up-to-date check
uses it without importing Jinja2, SymPy or NumPy.
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path, PurePosixPath

from ..errors import TemplateError

# What a template or an include is: Jinja2 templates, and TeX or text a template pastes in.
TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2", ".tex", ".sty", ".cls", ".def", ".cfg", ".txt")
MAX_TEMPLATE_BYTES = 1_000_000  # derive's own templates are under 20 kB each
MAX_TEMPLATE_FILES = 500
MAX_TOTAL_BYTES = 16_000_000
MAX_ENTRIES = 5_000  # names looked at (files and folders of any kind) before the folder is refused
MAX_DEPTH = 8
CHUNK = 1 << 20


def may_be_template(name: str) -> bool:
    """A name a template may extend or include (`handout.tex.j2`, `sub/macros.tex`)."""
    parts = PurePosixPath(name).parts
    return (0 < len(parts) <= MAX_DEPTH and ".." not in parts and not name.startswith("/")
            and parts[-1].endswith(TEMPLATE_SUFFIXES))


def refuse(folder: Path, problem: str):
    raise TemplateError(f"{folder}: {problem}")


def template_files(folder: Path) -> list[tuple[str, Path]]:
    """(relative name, path) of every file a template in `folder` may read, sorted by name.

    Raises TemplateError when the folder is too large to be a template folder, or when a file with
    a template's name is not a regular file or is too large to be a template.
    """
    root = Path(folder).resolve()
    found: list[tuple[str, Path]] = []
    seen_dirs = {root}
    entries = total = 0
    bad_file = None
    pending = [(root, "")]
    while pending:
        here, prefix = pending.pop()
        try:
            with os.scandir(here) as it:
                listing = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            refuse(here, f"cannot be read ({exc.strerror or exc})")
        for entry in listing:
            entries += 1
            if entries > MAX_ENTRIES:
                refuse(folder, f"holds more than {MAX_ENTRIES} files and folders; a template folder holds the templates "
                               f"and the files they include (copy derive's templates/ folder and edit it)")
            name = prefix + entry.name
            try:
                is_dir = entry.is_dir()  # through a link: a linked folder inside this one is read like its own
            except OSError:
                continue
            if is_dir:
                target = Path(entry.path).resolve()
                if name.count("/") + 1 < MAX_DEPTH and target not in seen_dirs and target.is_relative_to(root):
                    seen_dirs.add(target)
                    pending.append((Path(entry.path), name + "/"))
                continue
            if not may_be_template(name):
                continue
            path = Path(entry.path)
            if not path.resolve().is_relative_to(root):
                continue  # a link out of the folder: the loader refuses it, so it is no template
            try:
                info = path.stat()
            except OSError:
                continue  # a broken link
            # A bad file is reported once the whole folder is seen: a folder far too large to be a
            # template folder (/usr) is better told so than that one of its files is too large.
            if not stat.S_ISREG(info.st_mode):
                bad_file = bad_file or (path, "is not a regular file (a FIFO, device or socket); a template or an include must be one")
                continue
            if info.st_size > MAX_TEMPLATE_BYTES:
                bad_file = bad_file or (path, f"is {info.st_size} bytes; a template or an include is at most {MAX_TEMPLATE_BYTES}")
                continue
            total += info.st_size
            found.append((name, path))
            if len(found) > MAX_TEMPLATE_FILES or total > MAX_TOTAL_BYTES:
                refuse(folder, f"holds more than {MAX_TEMPLATE_FILES} templates or {MAX_TOTAL_BYTES} bytes of them; "
                               "a template folder holds the templates and the files they include")
    if bad_file:
        refuse(*bad_file)
    return sorted(found)


def file_digest(path: Path, limit: int = MAX_TEMPLATE_BYTES) -> bytes:
    """SHA-256 of a regular file, read in chunks of at most 1 MB and never past `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        refuse(path, f"cannot be read ({exc.strerror or exc})")
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            refuse(path, "is not a regular file (a FIFO, device or socket); a template or an include must be one")
        digest, size = hashlib.sha256(), 0
        while chunk := handle.read(CHUNK):
            size += len(chunk)
            if size > limit:
                refuse(path, f"is larger than {limit} bytes, the most a template or an include may be")
            digest.update(chunk)
    return digest.digest()


def folder_digest(folder: Path) -> bytes:
    """One digest of every file a template in `folder` may read: their names and their bytes."""
    digest = hashlib.sha256()
    for name, path in template_files(folder):
        digest.update(hashlib.sha256(name.encode()).digest() + file_digest(path))
    return digest.digest()
