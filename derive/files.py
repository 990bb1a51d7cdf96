"""Reading a small file the user names (a spec, a notation profile, a CSV of examples).

Opened without waiting, so that a FIFO cannot hang derive; refused unless it is a regular file (the
check is made on the open file, so nothing can be swapped in between); read only up to its limit.
Each caller words the refusal for its own kind of file.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class Unreadable(Exception):
    """Why a file was not read: `reason` is one of REASONS, `detail` the OS's words or the size."""

    REASONS = ("missing", "folder", "special", "too_big", "grew", "error")  # "error" also for a name no system can open

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def read_small_file(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of the regular file at `path` (through symlinks), at most `limit` of them."""
    try:
        fd = os.open(Path(path), os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except UnicodeEncodeError:  # a lone surrogate in the name (through the API): no file system can hold it
        raise Unreadable("error", "the name cannot be encoded as a file name") from None
    except ValueError:  # a NUL in the name (through the API): no file has that name
        raise Unreadable("error", "the name contains a NUL character") from None
    except TypeError:  # not a path at all (through the API)
        raise Unreadable("error", f"expected a file name, got {type(path).__name__}") from None
    except FileNotFoundError:
        raise Unreadable("missing") from None
    except IsADirectoryError:
        raise Unreadable("folder") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO with no writer
            raise Unreadable("special") from None
        raise Unreadable("error", exc.strerror or str(exc)) from None
    info = os.fstat(fd)
    problem = ("folder" if stat.S_ISDIR(info.st_mode) else "special" if not stat.S_ISREG(info.st_mode) else
               "too_big" if info.st_size > limit else None)
    if problem:
        os.close(fd)
        raise Unreadable(problem, str(info.st_size))
    with os.fdopen(fd, "rb") as handle:
        try:
            raw = handle.read(limit + 1)
        except OSError as exc:
            raise Unreadable("error", exc.strerror or str(exc)) from None
    if len(raw) > limit:  # it grew while being read
        raise Unreadable("grew")
    return raw
