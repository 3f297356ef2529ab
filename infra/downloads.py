"""Checksummed downloads from Maven Central into the shared cache, and unpacking them."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
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


def untar(archive: Path, dest: Path, prefix: str, only: set[str] | None = None) -> None:
    """Extract the members under `prefix` (optionally only some sub-folders) into `dest`.

    Members keep their names while extracting so that hard links inside the tarball resolve
    (tarfile copies a link's target when the target itself is not extracted); then they are moved.
    """
    dest.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".untar-", dir=dest.parent))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            wanted = [
                m
                for m in tar.getmembers()
                if m.name.startswith(prefix)
                and (not only or any(m.name[len(prefix) :].startswith(o) for o in only))
            ]
            tar.extractall(scratch, members=wanted, filter="tar")
        root = scratch / prefix
        for child in root.iterdir():
            target = dest / child.name
            if target.exists():
                shutil.rmtree(target)
            shutil.move(str(child), target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def unzip_plugin(archive: Path, dest: Path) -> None:
    """A plugin zip's files under `dest`, its top folder stripped; `.complete` marks it whole."""
    shutil.rmtree(dest, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        root = zf.namelist()[0].split("/")[0] + "/"
        for name in zf.namelist():
            rel = name[len(root) :] if name.startswith(root) else name
            if rel and not name.endswith("/"):
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(name))
    (dest / ".complete").touch()
