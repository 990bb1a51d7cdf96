"""A command killed at one of its write points (outputs._checkpoint), as SIGKILL would stop it."""
from __future__ import annotations

import pytest

from derive import outputs


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even `except Exception` handlers."""


def killed_at(monkeypatch, kill_at: int, run, *args, **kwargs) -> None:
    """Run `run(*args, **kwargs)` until its `kill_at`-th create/rename/remove point, where it dies; later writes run again."""
    seen = []

    def dying(step, path):
        if len(seen) == kill_at:
            raise Killed
        seen.append(step)

    monkeypatch.setattr(outputs, "_checkpoint", dying)
    with pytest.raises(Killed):
        run(*args, **kwargs)
    monkeypatch.setattr(outputs, "_checkpoint", lambda step, path: None)
