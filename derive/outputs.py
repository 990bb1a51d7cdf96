"""Writing generated files safely: atomically, only when changed, never over a person's edits.

Each output folder keeps a manifest (`.derive-manifest.json`) with the SHA-256 of every file derive
wrote there and the key of the inputs it was built from. A file whose bytes no longer match the
manifest was edited by hand, and derive refuses to replace it unless forced.

A build killed half way (SIGKILL, power cut, full disk) loses nothing: every file is replaced by a
rename, so it holds either its old or its new content. Before the first rename the manifest's
journal records, for every file about to be written, the digest it will have and the name of the
temporary file it will pass through. The journal accumulates: a second or third interrupted build
adds to it, never replaces it, so every version any interrupted build may have left is still
recognised as derive's own, and the next complete build finishes the work and clears the journal.
derive removes only temporary files its journal recorded before creating them
(`.derive-tmp.<name>.<random>`), and files the manifest records as its own, never anything else.

A folder whose files must all come from one run (a class set) is written with `prune=True`: every
file derive wrote there before that this run does not write is removed (refused, without --force,
when a person edited it). A build folder is shared with `derive train`, so a file another run wrote
stays while the file it was made from is unchanged (`sources`).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import stat
import time
from pathlib import Path

from .errors import OutputError

MANIFEST = ".derive-manifest.json"
TEMP_FILE = re.compile(r"\.derive-tmp\.(?P<name>.+)\.[0-9a-f]{8}")
DIGEST = re.compile(r"[0-9a-f]{64}")
# Without a folder lock (no fcntl), only temporary files this old are taken to be left by a dead build.
STALE_SECONDS = 3600

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None


def _checkpoint(step: str, path: Path) -> None:
    """Called before every create, rename and removal in an output folder (tests inject kills here)."""


def plain_name(name: object) -> bool:
    """A file name derive may have written: one path component inside the folder, not the manifest."""
    return (isinstance(name, str) and 0 < len(name) <= 255 and name not in (".", "..", MANIFEST)
            and "/" not in name and "\\" not in name and "\0" not in name and not name.startswith(".derive-tmp."))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: Path) -> dict:
    """The manifest, with every entry validated: plain names and hex digests only (others are dropped).

    Returns {"key", "files": {name: digest}, "pending": {name: [digest, ...]}, "temporaries": [name, ...]}.
    """
    empty = {"key": None, "files": {}, "pending": {}, "temporaries": [], "sources": {}, "manifest_temporary": None}
    try:
        raw = read_regular(folder / MANIFEST, limit=16_000_000)
        data = json.loads(raw.decode("utf-8")) if raw is not None else None
    except (OSError, OutputError, ValueError, RecursionError):
        return empty
    if not (isinstance(data, dict) and isinstance(data.get("files"), dict)):
        return empty
    files = {n: d for n, d in data["files"].items() if plain_name(n) and isinstance(d, str) and DIGEST.fullmatch(d)}
    pending: dict[str, list[str]] = {}
    raw_pending = data.get("pending")
    for name, digests in (raw_pending.items() if isinstance(raw_pending, dict) else ()):
        digests = [digests] if isinstance(digests, str) else digests  # one digest: an older derive's journal
        if plain_name(name) and isinstance(digests, list):
            pending[name] = [d for d in digests if isinstance(d, str) and DIGEST.fullmatch(d)]
    raw_temps = data.get("temporaries")
    temporaries = [t for t in (raw_temps if isinstance(raw_temps, list) else ()) if isinstance(t, str) and TEMP_FILE.fullmatch(t)
                   and "/" not in t and "\0" not in t]
    sources = data.get("sources")
    sources = {n: d for n, d in sources.items() if plain_name(n) and isinstance(d, str) and DIGEST.fullmatch(d)} if isinstance(sources, dict) else {}
    key = data.get("key") if isinstance(data.get("key"), str) else None
    own = data.get("manifest_temporary")
    own = own if isinstance(own, str) and TEMP_FILE.fullmatch(own) and "/" not in own and "\0" not in own else None
    return {"key": key, "files": files, "pending": pending, "temporaries": temporaries, "sources": sources,
            "manifest_temporary": own}


def read_regular(path: Path, limit: int | None = None) -> bytes | None:
    """The bytes of a regular file (through symlinks); None if it does not exist.

    A FIFO, device or socket is refused in one line instead of being read (which could hang forever).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a FIFO with no writer
            raise OutputError(f"{path}: is not a regular file (a FIFO, device or socket); move it away") from None
        raise
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(21, "Is a directory", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise OutputError(f"{path}: is not a regular file (a FIFO, device or socket); move it away")
        with os.fdopen(fd, "rb") as handle:
            fd = None
            return handle.read() if limit is None else handle.read(limit)
    finally:
        if fd is not None:
            os.close(fd)


def _digest_of(path: Path) -> str | None:
    """SHA-256 of a regular file's bytes, None when it is missing or not a regular file."""
    try:
        data = read_regular(path)
    except (OSError, OutputError):
        return None
    return sha256(data) if data is not None else None


def up_to_date(folder: Path, key: str, names: list[str] | None = None) -> bool:
    """True when `folder` was last built from inputs with this key and no file has changed since."""
    manifest = read_manifest(folder)
    if manifest.get("key") != key or manifest["pending"] or manifest["temporaries"]:
        return False
    files = manifest["files"]
    if names is not None and set(names) - set(files):
        return False
    return all(_digest_of(folder / name) == digest for name, digest in files.items())


def _temporary_name(name: str) -> str:
    return f".derive-tmp.{name}.{secrets.token_hex(4)}"


def atomic_write(path: Path, data: bytes, tmp_name: str | None = None) -> None:
    """Write via a temporary file in the same folder and a rename, so readers see old or new, never half.

    The temporary file is created with the usual permissions (0666 less the umask), not mkstemp's 0600.
    An OSError names `path` (the file the user knows), never the temporary.
    """
    tmp = path.parent / (tmp_name or _temporary_name(path.name))
    try:
        _checkpoint("create", tmp)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _checkpoint("rename", path)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:  # Ctrl-C, SIGTERM (the command line's Terminated), SystemExit: no temporary left behind
        tmp.unlink(missing_ok=True)
        raise


def refuse_edited(folder: Path, files: dict[str, bytes], force: bool, manifest: dict | None = None) -> None:
    """Raise before anything is written if a target was edited by hand (or is not derive's)."""
    manifest = manifest if manifest is not None else read_manifest(folder)
    for name in files:
        path = folder / name
        if path.is_dir() or (path.is_symlink() and not path.exists()):
            raise OutputError(f"{path}: is in the way (a folder or broken link where derive writes a file); move it away")
        if path.exists() and not path.is_file():
            raise OutputError(f"{path}: is not a regular file (a FIFO, device or socket); move it away")
    if force:
        return
    for name, data in files.items():
        path = folder / name
        current = read_regular(path)
        if current is None or current == data:
            continue
        known = {manifest["files"].get(name), *manifest["pending"].get(name, ())} - {None}
        if not known:
            raise OutputError(f"{path}: exists and was not written by derive; move it away or use --force to overwrite")
        if sha256(current) not in known:
            raise OutputError(f"{path}: was edited by hand since derive wrote it; use --force to overwrite it")


def _pruned(folder: Path, files: dict[str, bytes], force: bool, manifest: dict) -> list[str]:
    """derive's files in `folder` that a run writing only `files` removes (raises if one was edited).

    A recorded file whose bytes are none of the versions derive wrote was edited by hand: refused
    without `force`, since removing it would lose the edit. Missing files and other kinds of file
    (a folder now in its place) are left alone.
    """
    removed = []
    for name in sorted(set(manifest["files"]) | set(manifest["pending"])):
        if name in files:
            continue
        path = folder / name
        digest = _digest_of(path)
        if digest is None:
            continue
        if digest not in {manifest["files"].get(name), *manifest["pending"].get(name, ())} and not force:
            raise OutputError(f"{path}: was edited by hand since derive wrote it, and this run does not write it; "
                              "move it away or use --force to remove it")
        removed.append(name)
    return removed


def check_outputs(folder: Path, files: dict[str, bytes], force: bool = False, prune: bool = False) -> list[str]:
    """Raise the OutputError that `write_outputs(folder, files, ..., prune=prune)` would raise, writing nothing;
    returns the names of derive's earlier files that it would remove (with `prune`).

    A run that writes several folders checks them all first, so a refusal in the last one leaves
    the first ones as they were.
    """
    try:
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"{folder}: exists and is not a folder; move it away or choose another --out")
        manifest = read_manifest(folder)
        refuse_edited(folder, files, force, manifest)
        return _pruned(folder, files, force, manifest) if prune else []
    except OSError as exc:
        raise OutputError(f"{exc.filename or folder}: cannot be read ({exc.strerror or exc})") from None


def remove_outputs(folder: Path, force: bool = False) -> list[str]:
    """Remove what derive wrote in `folder` (its recorded files, temporaries and manifest), and the
    folder itself once empty; returns the file names removed. A person's files stay (and so the folder)."""
    if not (folder / MANIFEST).is_file():
        return []
    try:
        with _FolderLock(folder) as lock:
            before = read_manifest(folder)
            removed = _pruned(folder, {}, force, before)
            for name in removed:
                _checkpoint("remove", folder / name)
                (folder / name).unlink(missing_ok=True)
            remove_stale_temporaries(folder, lock.held, before)
            _checkpoint("remove", folder / MANIFEST)
            (folder / MANIFEST).unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(f"{exc.filename or folder}: cannot remove ({exc.strerror or exc})") from None
    try:
        folder.rmdir()
    except OSError:
        pass  # a person's file is still in it
    return removed


def remove_stale_temporaries(folder: Path, locked: bool, manifest: dict | None = None) -> list[str]:
    """Delete the temporary files the journal recorded for a build that was killed; returns their names.

    Only names the manifest recorded before they were created are candidates (the manifest names
    its own temporary too); with the folder locked no other derive is writing here, so they are
    stale; without a lock only old ones are removed.
    """
    manifest = manifest if manifest is not None else read_manifest(folder)
    removed = []
    for name in [*manifest["temporaries"], *([manifest["manifest_temporary"]] if manifest["manifest_temporary"] else [])]:
        path = folder / name
        try:
            info = path.lstat()
            if stat.S_ISREG(info.st_mode) and (locked or time.time() - info.st_mtime > STALE_SECONDS):
                _checkpoint("remove", path)
                path.unlink()
                removed.append(name)
        except FileNotFoundError:
            pass
        except OSError:
            pass
    return removed


def write_outputs(folder: Path, files: dict[str, bytes], key: str, force: bool = False,
                  sources: dict[str, str] | None = None, prune: bool = False,
                  source_digests: dict[str, str] | None = None) -> list[str]:
    """Write every file that changed; returns the names written. The manifest is written last.

    `sources` maps a file built from another (handout.pdf) to that file (handout.tex): an earlier
    such file that is not rebuilt now is removed once its source changes, never left looking current.
    A source need not be written itself: `source_digests` gives the SHA-256 of one that is not
    (training.pdf's training.tex). With `prune`, every earlier file of derive's that is not in
    `files` is removed, whatever its source. Every operating-system failure (the folder is a file,
    no permission, disk full) becomes one OutputError naming the path.
    """
    for name in files:
        if not plain_name(name):
            raise OutputError(f"{folder}: {name!r} is not a plain file name derive may write")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{folder}: exists and is not a folder; move it away or choose another --out") from None
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the output folder ({exc.strerror or exc})") from None
    try:
        with _FolderLock(folder) as lock:
            return _write_locked(folder, files, key, force, sources or {}, lock.held, prune, source_digests or {})
    except OSError as exc:
        where = exc.filename or folder
        if isinstance(where, str) and TEMP_FILE.fullmatch(Path(where).name):
            where = folder / MANIFEST
        raise OutputError(f"{where}: cannot write ({exc.strerror or exc})") from None


def _write_locked(folder: Path, files: dict[str, bytes], key: str, force: bool, sources: dict[str, str], locked: bool,
                  prune: bool = False, source_digests: dict[str, str] | None = None) -> list[str]:
    before = read_manifest(folder)
    refuse_edited(folder, files, force, before)
    pruned = _pruned(folder, files, force, before) if prune else []
    remove_stale_temporaries(folder, locked, before)
    leftovers = {name for name in before["temporaries"] if os.path.lexists(folder / name)}
    changed = {}
    for name, data in files.items():
        if read_regular(folder / name) != data:
            changed[name] = data
    new_digests = {name: sha256(data) for name, data in files.items()}
    source_digests = {**(source_digests or {}), **new_digests}
    # Earlier outputs not rebuilt this time (PDFs under --no-pdf) stay on record while unchanged and
    # while the file they were built from is unchanged; a derive-made one whose source changed is stale.
    kept, stale = {}, list(pruned)
    for name in set(before["files"]) | set(before["pending"]):
        if name in files or prune:
            continue
        digest = _digest_of(folder / name)
        if digest is None or digest not in (before["files"].get(name), *before["pending"].get(name, ())):
            continue
        source = sources.get(name) or _default_source(name)
        recorded = before["sources"].get(name)
        # Without a record, a source written now is stale only if it changed; one that is not written
        # (a report's .tex) cannot show that, so the file it was made from is not trusted.
        unrecorded = source in changed or (source in source_digests and source not in new_digests)
        if source in source_digests and (source_digests[source] != recorded if recorded else unrecorded):
            stale.append(name)
        else:
            kept[name] = digest
    temp_names = {name: _temporary_name(name) for name in changed}
    # The manifest's own temporary keeps one name, chosen when the folder's first manifest is written.
    own = before["manifest_temporary"] or _temporary_name(MANIFEST)
    if changed or stale:
        # The journal: what is about to be written, added to what earlier interrupted builds recorded,
        # and the temporaries' names before they exist. A build killed anywhere after this leaves
        # files and temporaries the next build recognises as its own.
        pending = {name: list(digests) for name, digests in before["pending"].items()}
        for name, data in changed.items():
            pending[name] = sorted({*pending.get(name, ()), sha256(data)})
        interim = {"key": before["key"], "files": before["files"], "sources": before["sources"], "pending": pending,
                   "temporaries": sorted(leftovers | set(temp_names.values()))}
        _write_manifest(folder, interim, own)
    for name, data in changed.items():
        atomic_write(folder / name, data, temp_names[name])
    for name in stale:
        _checkpoint("remove", folder / name)
        (folder / name).unlink(missing_ok=True)
    entries = kept | new_digests
    recorded_sources = {name: source_digests[src] for name, src in sources.items() if name in files and src in source_digests}
    recorded_sources |= {name: d for name, d in before["sources"].items() if name in kept}
    manifest = {"key": key, "files": dict(sorted(entries.items()))}
    if recorded_sources:
        manifest["sources"] = dict(sorted(recorded_sources.items()))
    if leftovers:
        manifest["temporaries"] = sorted(leftovers)  # still there (another derive's, without a lock): keep on record
    if read_regular(folder / MANIFEST) != _manifest_bytes({**manifest, "manifest_temporary": own}):
        _write_manifest(folder, manifest, own)
    return list(changed)


def _default_source(name: str) -> str | None:
    """The file a PDF of derive's is built from: handout.pdf from handout.tex."""
    return name[:-4] + ".tex" if name.endswith(".pdf") else None


def _write_manifest(folder: Path, manifest: dict, own: str) -> None:
    """Write the manifest through its recorded temporary (removed first: a killed build's leftover)."""
    path = folder / MANIFEST
    previous = read_manifest(folder)["manifest_temporary"]
    if previous == own:
        (folder / own).unlink(missing_ok=True)
    atomic_write(path, _manifest_bytes({**manifest, "manifest_temporary": own}), own)


def _manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()


class _FolderLock:
    """An exclusive advisory lock on the output folder itself (POSIX), held while writing into it."""

    def __init__(self, folder: Path):
        self.folder, self.fd, self.held = folder, None, False

    def __enter__(self):
        if fcntl is not None:
            try:
                self.fd = os.open(self.folder, os.O_RDONLY)
                fcntl.flock(self.fd, fcntl.LOCK_EX)
                self.held = True
            except OSError:
                self.close()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd = None
