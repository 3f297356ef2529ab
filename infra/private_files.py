"""Secrets an installation generates once and keeps in files only their owner reads (mode 0600)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def generated_secret(path: Path, nbytes: int = 24) -> str:
    """The secret in `path`, generated there first if absent (created 0600, never readable in between)."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it meanwhile
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(nbytes))
    return path.read_text().strip()
