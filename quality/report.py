"""Per-department quality reports: HTML with one inline-SVG chart per dimension, and a CSV of the
records the department must fix. Written under <home>/quality/reports/<department>/ after every run and
re-written by `govlake quality report`."""

from __future__ import annotations

import csv
import html
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from operator import or_
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import tables
from quality import store
from quality.runner import ExpectationResult, quality_home
from schemas.quality import DIMENSIONS

CSV_COLUMNS = (
    "feed",
    "batch_id",
    "table",
    "expectation",
    "dimension",
    "severity",
    "column",
    "key",
    "value",
    "source_file",
    "line",
)


def _latest_results(spark: SparkSession, department: str, without: tuple[str, str] | None) -> list[dict]:
    """The department's stored scorecard rows of the latest run per feed and checkpoint, except the
    (feed, checkpoint) `without`. Two small aggregate reads, no window or join over the history."""
    results = spark.read.format("delta").load(tables.path(store.SCHEMA, store.RESULT))
    results = results.where(F.col("department") == department)
    if without is not None:
        results = results.where(~((F.col("feed") == without[0]) & (F.col("stage") == without[1])))
    latest = results.groupBy("feed", "stage").agg(F.max_by("run_id", "evaluated_at").alias("run_id"))
    pairs = [(r["run_id"], r["stage"]) for r in latest.collect()]
    if not pairs:
        return []
    chosen = reduce(or_, [(F.col("run_id") == run) & (F.col("stage") == stage) for run, stage in pairs])
    return [r.asDict() for r in results.where(chosen).collect()]


def _bar_chart(rows: list[dict]) -> str:
    """Horizontal bars, one per expectation, score 0–100 %; red if it failed."""
    width, bar_h, label_w = 760, 22, 380
    height = bar_h * len(rows) + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for i, r in enumerate(rows):
        y = 10 + i * bar_h
        w = (width - label_w - 60) * float(r["score"])
        color = "#2e7d32" if r["success"] else ("#c62828" if r["severity"] == "critical" else "#ef6c00")
        label = html.escape(f"{r['feed'].split('__', 1)[-1]} · {r['stage']} · {r['expectation']}")
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{label}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{bar_h - 6}" fill="{color}"/>')
        parts.append(
            f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" font-size="12">{float(r["score"]):.2%} '
            f"({r['failed']}/{r['evaluated']})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Gathered:
    """What a department's report shows from the tables; `fix_list.csv` is already written."""

    department: str
    out: Path
    stored: list[dict]
    fixes: int


def gather(
    spark: SparkSession, department: str, home: Path | None = None, without: tuple[str, str] | None = None
) -> Gathered:
    """Read the department's latest stored results per feed and checkpoint (except `without`, a
    (feed, checkpoint) whose run `render` is handed instead) and write fix_list.csv: the failing values of
    the latest gate runs. Spark work only, so it can run while the gold check validates."""
    out = (home or quality_home()) / "reports" / department
    out.mkdir(parents=True, exist_ok=True)
    store.ensure(spark)
    stored = _latest_results(spark, department, without)
    failures = spark.read.format("delta").load(tables.path(store.SCHEMA, store.FAILURE))
    gate_runs = sorted({r["run_id"] for r in stored if r["stage"] == "gate"}) or ["-"]
    must_fix = failures.where(F.col("department") == department).where(F.col("run_id").isin(gate_runs))
    count = 0
    with (out / "fix_list.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        # One sorted partition streamed to the file: one Spark job, not one per range of a global sort.
        in_order = must_fix.select(*CSV_COLUMNS).repartition(1)
        in_order = in_order.sortWithinPartitions("feed", "source_file", "line")
        for r in in_order.toLocalIterator():
            writer.writerow(["" if v is None else v for v in r])
            count += 1
    return Gathered(department, out, stored, count)


def render(gathered: Gathered, current: Iterable[ExpectationResult] = ()) -> Path:
    """Write index.html from the gathered rows plus the results of a run not stored when they were read
    (`current`); returns its path."""
    rows = gathered.stored + [r.as_dict() for r in current]
    rows.sort(key=lambda r: (r["feed"], r["stage"], r["dimension"], r["expectation"]))
    runs = sorted({(r["feed"], r["stage"], r["run_id"], r["batch_id"]) for r in rows})
    sections = []
    for dim, label in DIMENSIONS.items():
        in_dim = [r for r in rows if r["dimension"] == dim]
        if not in_dim:
            sections.append(f"<h2>{label} {dim}</h2><p>no expectations in this dimension</p>")
            continue
        score = sum(float(r["score"]) for r in in_dim) / len(in_dim)
        sections.append(f"<h2>{label} {dim}: {score:.2%}</h2>{_bar_chart(in_dim)}")
    run_list = "".join(
        f"<li>{html.escape(f)} · {s} · batch {html.escape(b)} · run {html.escape(r)} · "
        f'<a href="../../data_docs/{html.escape(f)}/{html.escape(r)}/{s}/index.html">GX Data Docs</a></li>'
        for f, s, r, b in runs
    )
    department = html.escape(gathered.department)
    page = f"""<!doctype html><html lang="zh"><head><meta charset="utf-8">
<title>数据质量报告 · {department}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}} h2{{margin-top:1.5em}}</style></head><body>
<h1>数据质量报告 · {department}</h1>
<p>Latest quality run per feed and checkpoint (gate = before publish, gold = after publish).
Green passed, red a failed critical rule (blocks publishing), orange a failed warning.</p>
<ul>{run_list}</ul>
{"".join(sections)}
<h2>待整改记录 records to fix</h2>
<p>{gathered.fixes} failing values in the latest gate runs: <a href="fix_list.csv">fix_list.csv</a>
(file, line, key, rule and offending value).</p>
</body></html>"""
    path = gathered.out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def write_department(spark: SparkSession, department: str, home: Path | None = None) -> Path:
    """Write <home>/quality/reports/<department>/index.html and fix_list.csv; returns the HTML path."""
    return render(gather(spark, department, home))


def write_all(spark: SparkSession, home: Path | None = None) -> list[Path]:
    store.ensure(spark)
    results = spark.read.format("delta").load(tables.path(store.SCHEMA, store.RESULT))
    departments = sorted(r[0] for r in results.select("department").distinct().collect())
    return [write_department(spark, d, home) for d in departments]
