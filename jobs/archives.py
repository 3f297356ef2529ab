"""Compressed deliveries: `<name>.<format>.gz` and `<name>.zip` (one data file inside), unpacked by
streaming into the staging area, bounded in size and ratio, before preflight checks the content.

The unpacked file is named after the archive, never after a zip entry, so no entry can write outside
staging; an entry with a path in its name is refused anyway, as a hostile sender's mark.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, Protocol

MAX_UNPACKED_BYTES = 16 << 30  # per archive: far beyond any feed's day, far short of a full disk
MAX_RATIO = 200  # unpacked/packed bytes; CSV packs about 5-15:1, a zip bomb about 1000:1
RATIO_AFTER = 8 << 20  # the ratio is judged once this much is unpacked
CHUNK = 1 << 22


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class ArchiveProblem(ValueError):
    """The archive cannot be unpacked safely; the message says why (preflight names the file)."""


def archive_formats(fmt: str) -> tuple[str, ...]:
    """The name endings of the compressed deliveries a text format accepts (none for Parquet)."""
    return (f".{fmt}.gz", ".zip") if fmt in ("csv", "jsonl") else ()


def is_archive(path: Path) -> bool:
    return path.name.endswith((".gz", ".zip"))


def unpack(path: Path, fmt: str, staging: Path) -> Path:
    """The archive's data file, unpacked to `staging/<archive name>.<fmt>`; ArchiveProblem if unsafe."""
    staging.mkdir(parents=True, exist_ok=True)
    target = staging / f"{path.name}.{fmt}"
    try:
        if path.name.endswith(".zip"):
            _unzip(path, fmt, target)
        else:
            with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as packed:
                _copy(packed, raw, target)
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, NotImplementedError) as exc:
        target.unlink(missing_ok=True)  # gzip.BadGzipFile is an OSError; NotImplementedError: a zip method
        kind = "zip archive" if path.name.endswith(".zip") else "gzip file"
        raise ArchiveProblem(f"not a readable {kind} (truncated or corrupt): {exc}") from exc
    except ArchiveProblem:
        target.unlink(missing_ok=True)
        raise
    return target


def _unzip(path: Path, fmt: str, target: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        entries = [e for e in zf.infolist() if not e.is_dir()]
        for e in entries:
            name = e.filename
            if name in ("", ".", "..") or any(c in name for c in "/\\\0:") or name != Path(name).name:
                raise ArchiveProblem(f"entry {name!r} is not a plain file name (no folders, no '..')")
        data = [
            e for e in entries if e.filename.endswith(f".{fmt}") and not e.filename.startswith(("_", "."))
        ]
        if not data:
            raise ArchiveProblem(f"holds no *.{fmt} file")
        if len(data) > 1:
            names = ", ".join(e.filename for e in data)
            raise ArchiveProblem(f"holds {len(data)} data files ({names}); one per archive")
        if data[0].flag_bits & 0x1:
            raise ArchiveProblem(f"entry {data[0].filename!r} is encrypted")
        with zf.open(data[0]) as packed:
            _copy(packed, None, target, data[0].compress_size)


def _copy(source: _Readable, raw: BinaryIO | None, target: Path, packed_size: int = 0) -> None:
    """Stream `source` into `target`, refusing beyond MAX_UNPACKED_BYTES or MAX_RATIO; the packed size
    read so far is `raw`'s position (gzip) or the entry's compressed size (zip, an upper bound)."""
    written = 0
    with target.open("wb") as out:
        for chunk in iter(lambda: source.read(CHUNK), b""):
            written += len(chunk)
            if written > MAX_UNPACKED_BYTES:
                raise ArchiveProblem(
                    f"unpacks to more than {MAX_UNPACKED_BYTES:,} bytes (the limit per archive)"
                )
            packed = raw.tell() if raw is not None else packed_size
            if written > RATIO_AFTER and written > MAX_RATIO * max(packed, 1):
                raise ArchiveProblem(
                    f"compresses more than {MAX_RATIO}:1 ({written:,} bytes from {packed:,}; a zip bomb?)"
                )
            out.write(chunk)
