"""governance.access_log: who read what and when, from the query-completed events Trino's HTTP event
listener posted to our receiver (spooled as JSON lines). Loading is idempotent by query id and the
log is append-only: the first event per query id wins, a later different one is reported, never stored."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog import chain, governance
from infra import trino_security
from infra.settings import Settings, settings


def _time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value / (1000 if value > 1e11 else 1))
    text = str(value).replace("Z", "+00:00")
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return t.astimezone().replace(tzinfo=None) if t.tzinfo else t


def row(event: dict[str, Any]) -> list[Any] | None:
    """One access_log row from a QueryCompletedEvent, or None for other events."""
    meta = event.get("metadata") or {}
    query_id = meta.get("queryId")
    if not query_id or "statistics" not in event:
        return None
    failure = event.get("failureInfo") or {}
    inputs = (event.get("ioMetadata") or {}).get("inputs") or []
    # ioMetadata names the tables scanned; metadata.tables also names the views the query referenced
    # (a share view, directlyReferenced), which is what "who read this share" asks for.
    tables = sorted(
        {f"{i.get('catalogName')}.{i.get('schema')}.{i.get('table')}" for i in inputs}
        | {f"{t.get('catalog')}.{t.get('schema')}.{t.get('table')}" for t in meta.get("tables") or []}
    )
    columns = sorted(
        {
            f"{i.get('schema')}.{i.get('table')}.{c.get('column') if isinstance(c, dict) else c}"
            for i in inputs
            for c in i.get("columns") or []
        }
    )
    created, ended = _time(event.get("createTime")), _time(event.get("endTime"))
    wall = round((ended - created).total_seconds() * 1000) if created and ended else None
    return [
        query_id,
        (event.get("context") or {}).get("user"),
        meta.get("queryState"),
        (failure.get("errorCode") or {}).get("name"),
        (failure.get("failureMessage") or "")[:2000] or None,
        ",".join(tables),
        ",".join(columns)[:4000],
        (meta.get("query") or "")[:4000],
        created,
        ended,
        wall,
    ]


def spooled_events(spool: Path) -> list[dict[str, Any]]:
    """Every spooled event, in arrival order (day files in date order, lines in file order)."""
    events = []
    for path in sorted(spool.glob("events-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue  # a torn last line while the receiver writes; read next time
    return events


@dataclass(frozen=True)
class Loaded:
    """What one `load` did: rows appended, events already in the log (or identical resends) skipped,
    and the query ids whose later event differs from the first (ignored: the first event wins)."""

    added: int
    already: int
    conflicts: list[str]


def first_events(rows: list[list[Any]], known: dict[str, list[Any]]) -> tuple[list[list[Any]], Loaded]:
    """The rows of query ids neither in `known` (the access log: query id → its values) nor seen
    earlier in `rows`; a later row for a query id is ignored, and named a conflict if it differs."""
    first = dict(known)
    new: list[list[Any]] = []
    already, conflicts = 0, []
    for r in rows:
        seen = first.get(r[0])
        if seen is None:
            first[r[0]] = r
            new.append(r)
        elif seen == r:
            already += 1
        else:
            conflicts.append(r[0])
    return new, Loaded(len(new), already, sorted(set(conflicts)))


def load(s: Settings | None = None) -> Loaded:
    """Append the spooled events whose query id is not yet in governance.access_log (append-only and
    hash-chained: a stored row is never updated; the first event per query id wins)."""
    s = s or settings()
    rows = [r for r in map(row, spooled_events(trino_security.spool_dir(s))) if r]
    if not rows:
        return Loaded(0, 0, [])
    width = len(rows[0])
    known = {r.query_id: list(r)[:width] for r in governance.read("access_log")}
    new, loaded = first_events(rows, known)
    # insert re-checks the keys under the chain's writer lock: concurrent loads add nothing twice
    added = governance.insert("access_log", new, s, key="query_id")
    return Loaded(added, loaded.already, loaded.conflicts)


def verify() -> list[chain.Verdict]:
    """Every chained governance table's chain recomputed (`govlake audit verify`)."""
    return [governance.verify(table) for table in governance.chained_tables()]
