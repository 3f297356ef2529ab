"""Checksummed downloads from Maven Central into the shared cache."""

from __future__ import annotations

import hashlib
import shutil
import urllib.error
import urllib.request
from pathlib import Path

MAVEN = "https://repo1.maven.org/maven2"


class NotPublished(Exception):
    """The registry answered that the artifact does not exist."""


def maven_url(group: str, artifact: str, version: str, ext: str) -> str:
    return f"{MAVEN}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.{ext}"


def _sha1(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha1").hexdigest()


def fetch(url: str, dest: Path) -> Path:
    """Download `url` to `dest` once, verified against the registry's .sha1; a cached file is reused."""
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url + ".sha1", timeout=60) as resp:
            expected = resp.read().decode().split()[0].strip()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise NotPublished(url) from exc
        raise
    partial = dest.with_suffix(dest.suffix + ".part")
    with urllib.request.urlopen(url, timeout=600) as resp, partial.open("wb") as out:
        shutil.copyfileobj(resp, out, 1 << 20)
    actual = _sha1(partial)
    if actual != expected:
        partial.unlink()
        raise RuntimeError(f"checksum mismatch for {url}: expected {expected}, got {actual}")
    partial.rename(dest)
    return dest
