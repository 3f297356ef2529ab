"""Pure functions: OpenLineage event files → rows of governance.lineage_event / column_lineage, and
rejections (file, line, reason) for lines that are not JSON or not valid events."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.settings import Settings, settings
from lineage.validate import problems
from schemas.datasets import normalise


@dataclass(frozen=True)
class Rejection:
    file: str
    line: int
    reason: str
    raw: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class Parsed:
    events: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    rejections: list[Rejection]


def event_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".jsonl", ".json"})


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                yield number, line.rstrip("\n")


def _time(value: str) -> dt.datetime:
    """Event time as a naive UTC timestamp."""
    t = dt.datetime.fromisoformat(value)
    return (t.astimezone(dt.UTC) if t.tzinfo else t).replace(tzinfo=None)


def _dataset(d: dict[str, Any], s: Settings) -> str:
    ns, name = normalise(d["namespace"], d["name"], s)
    return f"{ns}:{name}"


def event_row(event: dict[str, Any], raw: str, file: str, line: int, s: Settings) -> dict[str, Any]:
    parent = (event["run"].get("facets") or {}).get("parent") or {}
    return {
        "event_id": hashlib.sha256(raw.encode()).hexdigest(),
        "event_time": _time(event["eventTime"]),
        "event_type": event.get("eventType") or "OTHER",
        "producer": event["producer"],
        "job_namespace": event["job"]["namespace"],
        "job_name": event["job"]["name"],
        "run_id": event["run"]["runId"],
        "parent_job_name": (parent.get("job") or {}).get("name"),
        "parent_run_id": (parent.get("run") or {}).get("runId"),
        "inputs": [_dataset(d, s) for d in event.get("inputs") or []],
        "outputs": [_dataset(d, s) for d in event.get("outputs") or []],
        "source_file": file,
        "source_line": line,
        "raw": raw,
    }


def edge_rows(event: dict[str, Any], event_id: str, s: Settings) -> list[dict[str, Any]]:
    """One row per (input field → output column) of every columnLineage facet, names normalised."""
    rows = []
    for out in event.get("outputs") or []:
        facet = (out.get("facets") or {}).get("columnLineage")
        if not facet:
            continue
        tns, tname = normalise(out["namespace"], out["name"], s)
        for column, spec in facet.get("fields", {}).items():
            for f in spec.get("inputFields", []):
                sns, sname = normalise(f["namespace"], f["name"], s)
                kinds = [
                    f"{t.get('type', '')}:{t.get('subtype', '')}" for t in f.get("transformations") or []
                ]
                rows.append(
                    {
                        "source_namespace": sns,
                        "source_dataset": sname,
                        "source_column": f["field"],
                        "target_namespace": tns,
                        "target_dataset": tname,
                        "target_column": column,
                        "transformation": ",".join(kinds) or spec.get("transformationType") or "",
                        "job_namespace": event["job"]["namespace"],
                        "job_name": event["job"]["name"],
                        "run_id": event["run"]["runId"],
                        "event_time": _time(event["eventTime"]),
                        "event_id": event_id,
                        "raw_source": f"{f['namespace']}:{f['name']}",
                        "raw_target": f"{out['namespace']}:{out['name']}",
                    }
                )
    return rows


def parse(files: list[Path], s: Settings | None = None) -> Parsed:
    """Every line of the files: a valid event becomes rows, anything else a rejection."""
    s = s or settings()
    parsed = Parsed([], [], [])
    for path in files:
        for number, raw in _lines(path):
            try:
                event = json.loads(raw)
            except json.JSONDecodeError as exc:
                parsed.rejections.append(Rejection(str(path), number, f"not JSON: {exc}", raw[:2000]))
                continue
            found = problems(event)
            if found:
                reason = "not a valid OpenLineage RunEvent: " + "; ".join(found[:5])
                parsed.rejections.append(Rejection(str(path), number, reason, raw[:2000]))
                continue
            row = event_row(event, raw, str(path), number, s)
            parsed.events.append(row)
            parsed.edges.extend(edge_rows(event, row["event_id"], s))
    return parsed
