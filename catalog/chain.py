"""The hash chain of the append-only governance tables (share decisions, access log): row n carries
seq = n, prev_hash = row n-1's row_hash (GENESIS for the first) and row_hash = SHA-256 over a canonical
encoding of its other values, seq and prev_hash. Altering, deleting or reordering a row breaks the chain
at that row; `verify` names the first break. Pure functions over rows, plus the installation's writer
lock that keeps two writers from forking a chain.

Without an outside anchor a rewrite of the whole tail (every hash recomputed) goes unnoticed: record
the head hash `verify` reports (`govlake audit verify`) somewhere else to pin the chain down.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.contracts import identifier
from schemas.governance import CHAIN_COLUMNS

COLUMNS = tuple(name for name, _ in CHAIN_COLUMNS)  # seq, prev_hash, row_hash
GENESIS = "0" * 64
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _plain(value: Any) -> Any:
    """A JSON value that survives a round trip through Spark: timestamps as UTC epoch microseconds
    (naive ones are local time, as PySpark writes and reads them), dates as ISO text."""
    if isinstance(value, dt.datetime):
        return {"ts": (value.astimezone(dt.UTC) - _EPOCH) // dt.timedelta(microseconds=1)}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def canonical(names: Sequence[str], values: Sequence[Any], seq: int, prev_hash: str) -> bytes:
    """The bytes a row's hash covers: its named values in column order, its position, the previous hash."""
    if len(names) != len(values):
        raise ValueError(f"{len(values)} values for {len(names)} columns ({', '.join(names)})")
    body = [[n, _plain(v)] for n, v in zip(names, values, strict=True)]
    text = json.dumps([body, seq, prev_hash], ensure_ascii=False, separators=(",", ":"), allow_nan=True)
    return text.encode("utf-8")


def row_hash(names: Sequence[str], values: Sequence[Any], seq: int, prev_hash: str) -> str:
    return hashlib.sha256(canonical(names, values, seq, prev_hash)).hexdigest()


def extend(
    names: Sequence[str], rows: Sequence[Sequence[Any]], last: tuple[int, str] | None = None
) -> list[list[Any]]:
    """The rows with seq, prev_hash and row_hash appended, continuing after `last` (seq, row_hash of the
    table's last row; None for an empty table)."""
    seq, prev = last or (0, GENESIS)
    out = []
    for values in rows:
        seq += 1
        digest = row_hash(names, values, seq, prev)
        out.append([*values, seq, prev, digest])
        prev = digest
    return out


def new_by_key(rows: Sequence[Sequence[Any]], index: int, known: set[Any]) -> list[Sequence[Any]]:
    """The rows whose key (value at `index`) is neither known nor seen earlier in `rows`: the first wins."""
    seen, out = set(known), []
    for values in rows:
        if values[index] not in seen:
            seen.add(values[index])
            out.append(values)
    return out


@dataclass(frozen=True)
class Verdict:
    """One table's chain: ok, or the first problem (naming the row by seq and key)."""

    table: str
    rows: int
    head: str  # the last good row's hash (GENESIS when empty)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def line(self) -> str:
        if self.ok:
            return f"governance.{self.table}: ok: {self.rows} rows, head {self.head}"
        return f"governance.{self.table}: BROKEN after {self.rows} good rows: {self.problem}"


def verify(table: str, names: Sequence[str], rows: Sequence[Mapping[str, Any]], key: str) -> Verdict:
    """Recompute the chain in seq order. `names` are the hashed columns (all but the chain columns),
    `key` the column that names a row (request_id, query_id)."""
    ordered = sorted(rows, key=lambda r: (r.get("seq") is None, r.get("seq") or 0))
    prev, good, before = GENESIS, 0, ""
    for expected, r in enumerate(ordered, start=1):
        seq, where = r.get("seq"), f"{key} {r.get(key)!r}"
        problem = None
        if seq is None:
            problem = f"a row without seq ({where})"
        elif seq < expected:
            problem = f"seq {seq} appears twice ({where}): a forked or copied row"
        elif seq > expected:
            problem = f"seq {expected} is missing (the next row is seq {seq}, {where}): a row was deleted"
        elif r.get("row_hash") != row_hash(names, [r.get(n) for n in names], seq, r.get("prev_hash") or ""):
            problem = f"seq {seq} ({where}) was altered: its row_hash does not match its values"
        elif r.get("prev_hash") != prev and seq == 1:
            problem = f"seq 1 ({where}) does not start from the genesis hash"
        elif r.get("prev_hash") != prev:
            problem = (
                f"seq {seq - 1} ({before}) was altered and re-hashed: "
                f"seq {seq} ({where}) still carries its earlier row_hash as prev_hash"
            )
        if problem:
            return Verdict(table, good, prev, problem)
        prev, good, before = r["row_hash"], good + 1, where
    return Verdict(table, good, prev)


@contextlib.contextmanager
def writer_lock(home: Path, table: str) -> Iterator[None]:
    """Exclusive lock of one chained table for this installation (<home>/locks/chain-<table>.lock):
    the last row is read and the new rows appended under it, so the chain never forks."""
    path = home / "locks" / f"chain-{identifier(table)}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
