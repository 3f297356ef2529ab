"""One run at a time per feed and batch: the same delivery started twice at once (a manual `govlake run`
while the served Airflow's run of it works, two manual runs, the local runner beside either) must not
ingest, refine or publish it twice. Each stage of a feed's batch runs holding the batch's lock, an
exclusive `flock` on <home>/locks/batch-<feed>-<batch>.lock (the lock is the kernel's: a process that dies
holds nothing); the local runner holds it for the whole run.

A run that had to wait for the lock and finds that, meanwhile, another run logged a stage of the batch in
governance.batch_log stops with `BatchTaken`: that run has the batch (the local runner reports it, the DAG
task ends skipped). A run that got the lock at once runs as before: re-running a batch on purpose still
works. The lock is this installation's: processes on one host (the embedded and the single-host cluster
profile); Airflow workers on other hosts run their Spark work on the shared engine of this one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import threading
from collections.abc import Iterator
from pathlib import Path

from infra.settings import Settings, settings
from schemas.contracts import batch_id, identifier

_held = threading.local()  # lock paths this thread holds, with their depth: nested claims are free


class BatchTaken(RuntimeError):
    """Another run of the same feed and batch worked on it while this one waited: nothing left to do."""


def lock_path(feed: str, batch: str, s: Settings | None = None) -> Path:
    return (s or settings()).home / "locks" / f"batch-{identifier(feed)}-{batch_id(batch)}.lock"


@contextlib.contextmanager
def claim(feed: str, batch: str, s: Settings | None = None) -> Iterator[dt.datetime | None]:
    """Hold the feed's batch for this thread; yields None when it was free, else when the wait began
    (the caller checks what another run did meanwhile). Re-entrant within a thread."""
    path = lock_path(feed, batch, s)
    depth: dict[Path, int] = _held.__dict__.setdefault("depth", {})
    if depth.get(path):
        depth[path] += 1
        try:
            yield None
        finally:
            depth[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        waited: dt.datetime | None = None
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waited = dt.datetime.now()
            print(f"{feed} batch {batch}: another run holds it; waiting ({path})", flush=True)
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        depth[path] = 1
        try:
            yield waited
        finally:
            depth.pop(path, None)
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
