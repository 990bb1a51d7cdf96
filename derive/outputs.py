"""Writing generated files safely: atomically, only when changed, never over a person's edits.

Each output folder keeps a manifest (`.derive-manifest.json`) with the SHA-256 of every file derive
wrote there and the key of the inputs it was built from. A file whose bytes no longer match the
manifest was edited by hand, and derive refuses to replace it unless forced.

A build killed half way (SIGKILL, power cut) loses nothing: every file is replaced by a rename, so
it holds either its old or its new content; before the first rename the manifest records the
digests about to be written as `pending`, so a file already replaced is still recognised as
derive's own on the next build; and the temporary files a killed build leaves behind
(`.<name>.<random>.tmp`) are removed by the next build of that folder.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from pathlib import Path

from .errors import OutputError

MANIFEST = ".derive-manifest.json"
TEMP_FILE = re.compile(r"\.(?P<name>.+)\.[0-9a-f]{8}\.tmp")
# Without a folder lock (no fcntl), only temporary files this old are taken to be left by a dead build.
STALE_SECONDS = 3600

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: Path) -> dict:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"files": {}, "pending": {}}
    if not (isinstance(data, dict) and isinstance(data.get("files"), dict)):
        return {"files": {}, "pending": {}}
    pending = data.get("pending")
    data["pending"] = pending if isinstance(pending, dict) else {}
    return data


def up_to_date(folder: Path, key: str, names: list[str] | None = None) -> bool:
    """True when `folder` was last built from inputs with this key and no file has changed since."""
    manifest = read_manifest(folder)
    if manifest.get("key") != key or manifest["pending"]:
        return False
    files = manifest["files"]
    if names is not None and set(names) - set(files):
        return False
    for name, digest in files.items():
        try:
            if sha256((folder / name).read_bytes()) != digest:
                return False
        except OSError:
            return False
    return True


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and a rename, so readers see old or new, never half.

    The temporary file is created with the usual permissions (0666 less the umask), not mkstemp's 0600.
    """
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def refuse_edited(folder: Path, files: dict[str, bytes], force: bool) -> None:
    """Raise before anything is written if a target was edited by hand (or is not derive's)."""
    manifest = read_manifest(folder)
    for name in files:
        path = folder / name
        if path.is_dir() or (path.is_symlink() and not path.is_file()):
            raise OutputError(f"{path}: is in the way (a folder or broken link where derive writes a file); move it away")
    if force:
        return
    for name, data in files.items():
        path = folder / name
        if not path.exists():
            continue
        current = path.read_bytes()
        if current == data:
            continue
        known = {manifest["files"].get(name), manifest["pending"].get(name)} - {None}
        if not known:
            raise OutputError(f"{path}: exists and was not written by derive; move it away or use --force to overwrite")
        if sha256(current) not in known:
            raise OutputError(f"{path}: was edited by hand since derive wrote it; use --force to overwrite it")


def remove_stale_temporaries(folder: Path, locked: bool) -> list[str]:
    """Delete `.<name>.<random>.tmp` files left by a build that was killed; returns their names.

    With the folder locked no other derive is writing here, so every such file is stale; without a
    lock only old ones are removed.
    """
    removed = []
    for path in folder.iterdir():
        if not TEMP_FILE.fullmatch(path.name) or not path.is_file():
            continue
        try:
            if locked or time.time() - path.stat().st_mtime > STALE_SECONDS:
                path.unlink()
                removed.append(path.name)
        except OSError:
            pass
    return removed


def write_outputs(folder: Path, files: dict[str, bytes], key: str, force: bool = False) -> list[str]:
    """Write every file that changed; returns the names written. The manifest is written last.

    Every operating-system failure (the folder is a file, no permission, disk full) becomes one
    OutputError naming the path.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"{folder}: exists and is not a folder; move it away or choose another --out") from None
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the output folder ({exc.strerror or exc})") from None
    try:
        with _FolderLock(folder) as lock:
            remove_stale_temporaries(folder, lock.held)
            return _write_locked(folder, files, key, force)
    except OSError as exc:
        where = exc.filename or folder
        raise OutputError(f"{where}: cannot write ({exc.strerror or exc})") from None


def _write_locked(folder: Path, files: dict[str, bytes], key: str, force: bool) -> list[str]:
    refuse_edited(folder, files, force)
    changed = {}
    for name, data in files.items():
        try:
            if (folder / name).read_bytes() == data:
                continue
        except OSError:
            pass
        changed[name] = data
    before = read_manifest(folder)
    if changed:
        # Record what is about to be written, so that a build killed between two renames leaves
        # files the next build still recognises as derive's own (not as edited by hand).
        interim = {"key": before.get("key"), "files": before["files"],
                   "pending": {**before["pending"], **{name: sha256(data) for name, data in changed.items()}}}
        atomic_write(folder / MANIFEST, _manifest_bytes(interim))
    for name, data in changed.items():
        atomic_write(folder / name, data)
    # Earlier outputs that are not rebuilt this time (PDFs under --no-pdf) stay on record while unchanged.
    kept = {}
    for name in set(before["files"]) | set(before["pending"]):
        path = folder / name
        if name in files or not path.is_file():
            continue
        digest = sha256(path.read_bytes())
        if digest in (before["files"].get(name), before["pending"].get(name)):
            kept[name] = digest
    entries = kept | {name: sha256(data) for name, data in files.items()}
    manifest = _manifest_bytes({"key": key, "files": dict(sorted(entries.items()))})
    try:
        unchanged = (folder / MANIFEST).read_bytes() == manifest
    except OSError:
        unchanged = False
    if not unchanged:
        atomic_write(folder / MANIFEST, manifest)
    return list(changed)


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
