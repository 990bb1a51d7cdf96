"""Writing generated files safely: atomically, only when changed, never over a person's edits.

Each output folder keeps a manifest (`.derive-manifest.json`) with the SHA-256 of every file derive
wrote there and the key of the inputs it was built from. A file whose bytes no longer match the
manifest was edited by hand, and derive refuses to replace it unless forced.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from .errors import OutputError

MANIFEST = ".derive-manifest.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: Path) -> dict:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else {"files": {}}
    except (OSError, ValueError):
        return {"files": {}}


def up_to_date(folder: Path, key: str, names: list[str] | None = None) -> bool:
    """True when `folder` was last built from inputs with this key and no file has changed since."""
    manifest = read_manifest(folder)
    if manifest.get("key") != key:
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
    """Write via a temporary file in the same folder and a rename, so readers see old or new, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refuse_edited(folder: Path, files: dict[str, bytes], force: bool) -> None:
    """Raise before anything is written if a target was edited by hand (or is not derive's)."""
    if force:
        return
    recorded = read_manifest(folder)["files"]
    for name, data in files.items():
        path = folder / name
        if not path.exists():
            continue
        current = path.read_bytes()
        if current == data:
            continue
        if name not in recorded:
            raise OutputError(f"{path}: exists and was not written by derive; move it away or use --force to overwrite")
        if sha256(current) != recorded[name]:
            raise OutputError(f"{path}: was edited by hand since derive wrote it; use --force to overwrite it")


def write_outputs(folder: Path, files: dict[str, bytes], key: str, force: bool = False) -> list[str]:
    """Write every file that changed; returns the names written. The manifest is written last."""
    folder.mkdir(parents=True, exist_ok=True)
    refuse_edited(folder, files, force)
    written = []
    for name, data in files.items():
        path = folder / name
        try:
            if path.read_bytes() == data:
                continue
        except OSError:
            pass
        atomic_write(path, data)
        written.append(name)
    # Earlier outputs that are not rebuilt this time (PDFs under --no-pdf) stay on record while unchanged.
    kept = {name: digest for name, digest in read_manifest(folder)["files"].items()
            if name not in files and (folder / name).is_file() and sha256((folder / name).read_bytes()) == digest}
    entries = kept | {name: sha256(data) for name, data in files.items()}
    manifest = {"key": key, "files": dict(sorted(entries.items()))}
    atomic_write(folder / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    return written
