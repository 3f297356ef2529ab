"""Auditor reports: for a table, column or share view, the upstream trace to department, file, batch and
source column, the downstream impact (gold, thematic libraries, share views and who receives them),
and the batch log, quality results, share decisions and access log rows along the way, as Markdown and
as HTML with an SVG lineage graph."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from lineage import svg
from lineage.trace import Edge, Graph, Node, Query, origins
from schemas.contracts import identifier
from schemas.datasets import NAMESPACE

# Tables other branches create; a section is left out when its table does not exist. For each, the
# columns that may name a dataset (first one present is used).
OPTIONAL = {
    "quality_result": ("dataset", "table_name", "target_table", "table"),
    "share_decision": ("gold_table", "view_name", "source_table", "table_name", "dataset"),
}


ORIGIN_NOTE = (
    "Column `value` is the whole delivered line as the Spark listener sees it; the named source column "
    "comes from the feed contract's mapping (job feed.<feed>.contract)."
)


@dataclass
class Report:
    subject: str
    focus: list[Node]
    upstream: list[tuple[int, Edge]]
    downstream: list[tuple[int, Edge]]
    origins: list[dict[str, str]]
    sections: dict[str, tuple[list[str], list[list[Any]]]] = field(default_factory=dict)
    generated: str = field(default_factory=lambda: dt.datetime.now().isoformat(timespec="seconds"))

    @property
    def receivers(self) -> list[str]:
        """Departments receiving a downstream share view (schemas share_<department>)."""
        return sorted(
            {
                e.target.dataset.split(".")[0].removeprefix("share_")
                for _, e in self.downstream
                if e.target.dataset.startswith("share_")
            }
        )


def _focus(graph: Graph, subject: str) -> list[Node]:
    parts = subject.split(".")
    if len(parts) not in (2, 3):
        raise ValueError(f"report subject must be <schema>.<table> or <schema>.<table>.<column>: {subject!r}")
    for p in parts[:2]:
        identifier(p)
    dataset = ".".join(parts[:2])
    nodes = graph.columns(dataset)
    if len(parts) == 3:
        nodes = [n for n in nodes if n.column == parts[2]]
    if not nodes:
        raise ValueError(f"no lineage recorded for {subject} (load events with `govlake lineage load`)")
    return nodes


def _table_exists(query: Query, catalog: str, table: str) -> list[str]:
    rows = query(
        f"SELECT column_name FROM {catalog}.information_schema.columns "
        "WHERE table_schema = 'governance' AND table_name = ? ORDER BY ordinal_position",
        [table],
    )
    return [r[0] for r in rows]


def _sections(query: Query, catalog: str, datasets: list[str], batches: list[tuple[str, str]]) -> dict:
    found: dict[str, tuple[list[str], list[list[Any]]]] = {}
    if batches and _table_exists(query, catalog, "batch_log"):
        cond = " OR ".join("(feed = ? AND batch_id = ?)" for _ in batches)
        cols = ["feed", "batch_id", "stage", "status", "rows_in", "rows_out", "quarantined", "finished_at"]
        rows = query(
            f"SELECT {', '.join(cols)} FROM {catalog}.governance.batch_log WHERE {cond} ORDER BY finished_at",
            [v for b in batches for v in b],
        )
        found["governance.batch_log"] = (cols, rows)
    for table, candidates in OPTIONAL.items():
        columns = _table_exists(query, catalog, table)
        key = next((c for c in candidates if c in columns), None)
        if not key or not datasets:
            continue
        names = datasets + [d.split(".", 1)[1] for d in datasets]  # qualified or bare table names
        marks = ", ".join("?" for _ in names)
        rows = query(
            f'SELECT * FROM {catalog}.governance.{table} WHERE "{key}" IN ({marks}) LIMIT 200', names
        )
        found[f"governance.{table}"] = (columns, rows)
    views = [d for d in datasets if d.startswith("share_")]
    if views and _table_exists(query, catalog, "access_log"):
        cols = ["user_name", "state", "error_code", "create_time", "wall_ms", "query_id"]
        rows = query(
            f"SELECT {', '.join(cols)} FROM {catalog}.governance.access_log "
            "WHERE any_match(split(tables_read, ','), t -> contains(?, t)) "
            "ORDER BY create_time DESC LIMIT 200",
            [[f"{catalog}.{v}" for v in views]],
        )
        found["who read it (governance.access_log)"] = (cols, rows)
    if views:
        marks = ", ".join("?" for _ in views)
        cols = ["view", "request", "run_id", "event_time"]
        rows = query(
            "SELECT DISTINCT substr(job_name, 7), "
            "json_extract_scalar(raw, '$.job.facets.sourceCodeLocation.url'), run_id, event_time "
            f"FROM {catalog}.governance.lineage_event "
            f"WHERE job_name IN ({marks}) AND event_type = 'COMPLETE' "
            "ORDER BY event_time",
            [f"share.{v}" for v in views],
        )
        found["share requests"] = (cols, rows)
    return found


def build(graph: Graph, subject: str, query: Query, catalog: str = NAMESPACE) -> Report:
    focus = _focus(graph, subject)
    up, down = graph.upstream(focus), graph.downstream(focus)
    found = origins(up)
    batches = sorted({(f"{o['department']}__{o['feed']}", o["batch"]) for o in found})
    datasets = sorted(
        {n.dataset for _, e in up + down for n in (e.source, e.target) if n.namespace == NAMESPACE}
        | {n.dataset for n in focus}
    )
    return Report(subject, focus, up, down, found, _sections(query, catalog, datasets, batches))


def _md_table(columns: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return str("" if v is None else v).replace("|", "\\|").replace("\n", " ")[:200]

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def _hops(trace: list[tuple[int, Edge]]) -> list[list[Any]]:
    return [[d, str(e.source), str(e.target), e.job, e.transformation] for d, e in sorted(trace)]


def markdown(r: Report) -> str:
    out = [f"# Lineage report: {r.subject}", f"Generated {r.generated}.", "", "## Origins"]
    if r.origins:
        cols = ["department", "feed", "batch", "file", "column"]
        out.append(_md_table(cols, [[o[c] for c in cols] for o in r.origins]))
        out += ["", ORIGIN_NOTE]
    else:
        out.append("No landing file upstream.")
    hop_cols = ["hop", "from", "to", "job", "transformation"]
    out += ["", "## Upstream trace", _md_table(hop_cols, _hops(r.upstream))]
    out += ["", "## Downstream impact", _md_table(hop_cols, _hops(r.downstream)) if r.downstream else "None."]
    if r.receivers:
        out += ["", "Departments receiving it through share views: " + ", ".join(r.receivers)]
    for name, (cols, rows) in r.sections.items():
        out += ["", f"## {name}", _md_table(cols, rows) if rows else "No rows."]
    return "\n".join(out) + "\n"


def _html_table(columns: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str('' if v is None else v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def html(r: Report) -> str:
    hop_cols = ["hop", "from", "to", "job", "transformation"]
    cols = ["department", "feed", "batch", "file", "column"]
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Lineage: {escape(r.subject)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px}th{background:#f3f3f3}</style>",
        "</head><body>",
        f"<h1>Lineage report: {escape(r.subject)}</h1><p>Generated {escape(r.generated)}.</p>",
        "<h2>Lineage graph</h2>",
        svg.render(r.focus, r.upstream, r.downstream),
        "<h2>Origins</h2>",
        _html_table(cols, [[o[c] for c in cols] for o in r.origins]),
        f"<p>{escape(ORIGIN_NOTE)}</p>",
        "<h2>Upstream trace</h2>",
        _html_table(hop_cols, _hops(r.upstream)),
        "<h2>Downstream impact</h2>",
        _html_table(hop_cols, _hops(r.downstream)),
    ]
    if r.receivers:
        parts.append(f"<p>Departments receiving it through share views: {escape(', '.join(r.receivers))}</p>")
    for name, (columns, rows) in r.sections.items():
        parts += [f"<h2>{escape(name)}</h2>", _html_table(columns, rows)]
    parts.append("</body></html>")
    return "".join(parts)


def write(r: Report, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = r.subject.replace("/", "_")
    md, page = folder / f"{stem}.md", folder / f"{stem}.html"
    md.write_text(markdown(r), encoding="utf-8")
    page.write_text(html(r), encoding="utf-8")
    return [md, page]


def run_subjects(graph: Graph, batch: str) -> list[str]:
    """Every lake table downstream of the landing files of a batch: what one run's reports cover."""
    starts = [n for n in graph.out_of if n.origin and n.origin["batch"] == batch]
    return sorted({e.target.dataset for _, e in graph.downstream(starts) if e.target.namespace == NAMESPACE})


def write_run(graph: Graph, batch: str, query: Query, folder: Path, catalog: str = NAMESPACE) -> list[Path]:
    subjects = run_subjects(graph, batch)
    if not subjects:
        raise ValueError(f"no lineage recorded for batch {batch}")
    written = []
    for subject in subjects:
        written += write(build(graph, subject, query, catalog), folder)
    index = folder / "index.md"
    index.write_text(
        f"# Lineage reports for batch {batch}\n\n"
        + "\n".join(f"* {s}: [{s}.md]({s}.md), [{s}.html]({s}.html)" for s in subjects)
        + "\n",
        encoding="utf-8",
    )
    return [*written, index]
