"""Counts a delivered text file's records as it streams past, in its own encoding's bytes.

CSV follows RFC 4180: a newline inside a quoted field is data, so a record ends at a newline only where
the quotes seen so far are even (`"` and `\\n` never occur inside another character in UTF-8, GBK or
GB 18030). JSON Lines escapes its newlines: a line is a record. Every record is bounded in size.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

MAX_RECORD_BYTES = 1 << 20  # a record beyond this is a broken export (binary data, a runaway quote)


class UndecodableText(ValueError):
    """Bytes the declared encoding cannot decode: `at line <n> (byte <offset>)`, or at the end."""


class RecordProblem(ValueError):
    """A record the file cannot be read past; `line` is where it starts (1-based, physical lines)."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line


@dataclass
class RecordScanner:
    quoted: bool  # CSV: quotes may hold newlines; JSON Lines: they never do
    lines: int = 0  # newlines seen
    records: int = 0  # records ended so far (blank lines included: bronze drops them as before)
    spans: bool = False  # some record holds a newline inside a quoted field
    _open: bool = False  # inside a quoted field
    _start: int = 1  # the line the current record starts on
    _size: int = 0  # bytes of the current record so far

    def feed(self, chunk: bytes) -> None:
        pieces = chunk.split(b"\n")
        if not (self.quoted and b'"' in chunk) and not self._open:
            self._bound(self._size + len(pieces[0]), 0)
            if len(pieces) > 1:
                sizes = [len(p) for p in pieces[1:]]
                self._bound(max(sizes), 1 + sizes.index(max(sizes)))
                self.lines += len(pieces) - 1
                self.records += len(pieces) - 1
                self._start, self._size = self.lines + 1, sizes[-1]
            else:
                self._size += len(pieces[0])
            return
        for i, piece in enumerate(pieces):
            self._size += len(piece)
            self._bound(self._size, 0)
            if piece.count(b'"') % 2:
                self._open = not self._open
            if i < len(pieces) - 1:
                self._newline()

    def _newline(self) -> None:
        self.lines += 1
        if self._open:
            self._size += 1
            return
        self.spans = self.spans or self.lines > self._start
        self.records += 1
        self._start, self._size = self.lines + 1, 0

    def _bound(self, size: int, offset: int) -> None:
        if size > MAX_RECORD_BYTES:
            raise RecordProblem(
                self._start + offset,  # offset: pieces after the record's own (never while quoted)
                f"a record longer than {MAX_RECORD_BYTES:,} bytes (the limit per record; a broken export?)",
            )

    def finish(self, tail: bool) -> None:
        """The end of the file; `tail`: bytes follow the last newline (a last line without one)."""
        if self._open:
            raise RecordProblem(self._start, "a quoted field opens here and never closes (a truncated file?)")
        if tail:
            self.lines += 1
            self.records += 1
            self.spans = self.spans or self.lines > self._start


def scan_text(source: Path, encoding: str, quoted: bool, copy: Path | None) -> tuple[str, RecordScanner, str]:
    """One streaming pass: (sha256, the record scan, the first line) of `source`, decoded strictly in
    `encoding` and, if `copy` is named, written there in UTF-8."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    digest, scan = hashlib.sha256(), RecordScanner(quoted)
    first_line, head, last, offset = None, "", b"\n", 0
    if copy:
        copy.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as fh, copy.open("w", encoding="utf-8", newline="") if copy else _NoCopy() as out:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line = scan.lines + chunk[: exc.start].count(b"\n") + 1
                raise UndecodableText(f"at line {line} (byte {offset + exc.start})") from exc
            if first_line is None:
                head += text[: 1 << 16]
                first_line = head.split("\n", 1)[0] if "\n" in head else None
            scan.feed(chunk)
            last, offset = chunk[-1:], offset + len(chunk)
            out.write(text)
        try:
            out.write(decoder.decode(b"", final=True))
        except UnicodeDecodeError as exc:
            raise UndecodableText("at the end of the file (a truncated sequence)") from exc
    scan.finish(tail=last != b"\n")
    return digest.hexdigest(), scan, first_line if first_line is not None else head


class _NoCopy:
    """Stands in for the UTF-8 copy when the file is read in place."""

    def __enter__(self) -> _NoCopy:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None

    def write(self, text: str) -> int:
        return 0
