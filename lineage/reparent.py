"""Lineage of a shared Spark engine, handed to the task that asked for it.

OpenLineage's Spark listener reads its parent run once, when the session starts (OpenLineage#4288): on an
engine that outlives tasks, every Spark run would name the engine's application as parent. The engine runs
one task at a time and waits for the listener to drain after each, so the events written meanwhile are
that task's; `reparent` names the task's run as their parent, its DAG run as root, and the task as the
job (`<appName>.<action>` → `<dag>.<task>.spark.<action>`), as a session of the task's own would have.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

PARENT_SCHEMA = "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet"


@dataclass(frozen=True)
class RunRef:
    namespace: str
    job: str
    run_id: str

    def facet(self) -> dict[str, object]:
        return {"run": {"runId": self.run_id}, "job": {"namespace": self.namespace, "name": self.job}}


@dataclass(frozen=True)
class TaskLink:
    """Who asked for the work: the task's job name for its Spark runs, its run and its DAG run."""

    job: str
    parent: RunRef | None = None
    root: RunRef | None = None


def _producer(event: dict[str, object]) -> str:
    return str(event.get("producer", ""))


def reparent(event: dict[str, object], app_name: str, link: TaskLink) -> dict[str, object]:
    """The event as the task's own: its job renamed, its parent and root the task's runs. The engine's
    application events (job named exactly `app_name`) are left as they are."""
    job = event.get("job")
    if not isinstance(job, dict) or job.get("name") == app_name:
        return event
    name = str(job.get("name", ""))
    if name.startswith(app_name + "."):
        job["name"] = link.job + name[len(app_name) :]
    run = event.get("run")
    if link.parent is None or not isinstance(run, dict):
        return event
    facets = run.setdefault("facets", {})
    before = facets.get("parent") if isinstance(facets.get("parent"), dict) else {}
    parent: dict[str, object] = {
        "_producer": before.get("_producer", _producer(event)),
        "_schemaURL": before.get("_schemaURL", PARENT_SCHEMA),
        **link.parent.facet(),
    }
    if link.root is not None:
        parent["root"] = link.root.facet()
    facets["parent"] = parent
    return event


def hand_over(raw: Path, offset: int, app_name: str, link: TaskLink, out: Path) -> tuple[int, list[str]]:
    """Append the events written to `raw` since `offset`, reparented, to `out`; returns the new offset
    and the lines handed over.
    A line not yet complete (no newline) stays for the next call; a line that is not JSON is copied as
    it is (the lineage loader records it as rejected, with its file and line)."""
    if not raw.exists():
        return offset, []
    with raw.open("rb") as fh:
        fh.seek(offset)
        chunk = fh.read()
    complete = chunk[: chunk.rfind(b"\n") + 1]
    if not complete:
        return offset, []
    lines = []
    for line in complete.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            lines.append(json.dumps(reparent(json.loads(line), app_name, link), ensure_ascii=False))
        except (json.JSONDecodeError, TypeError, AttributeError):
            lines.append(line)
    if lines:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    return offset + len(complete), lines


def post(url: str, lines: list[str], timeout: float = 10.0) -> None:
    """Send handed-over events to a Marquez-compatible endpoint (`<url>/api/v1/lineage`), one by one."""
    import urllib.request  # lazy: only with a lineage endpoint

    for line in lines:
        request = urllib.request.Request(
            url.rstrip("/") + "/api/v1/lineage",
            data=line.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout):
            pass
