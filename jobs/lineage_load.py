"""OpenLineage event files → governance.lineage_event, governance.column_lineage, governance.lineage_rejected.

Idempotent: each table is MERGEd on its key (event id; run + job + source column + target column;
file + line + raw text), so loading the same files again adds nothing. A line that is not JSON or
not a valid event is recorded in lineage_rejected with file, line and reason; the rest still loads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

from infra.settings import settings
from jobs import governance_tables, tables
from lineage.records import Rejection, event_files, parse

SCHEMA = governance_tables.SCHEMA  # schemas/governance/<table>.yaml for each of the three tables
EVENT, EDGE, REJECTED = "lineage_event", "column_lineage", "lineage_rejected"
TABLES = [(SCHEMA, EVENT), (SCHEMA, EDGE), (SCHEMA, REJECTED)]
EDGE_KEY = (
    "run_id",
    "job_name",
    "source_namespace",
    "source_dataset",
    "source_column",
    "target_namespace",
    "target_dataset",
    "target_column",
)


@dataclass(frozen=True)
class LoadResult:
    files: int
    events: int
    new_events: int
    edges: int
    new_edges: int
    rejections: list[Rejection]


def event_struct() -> StructType:
    return governance_tables.struct(EVENT)


def edge_struct() -> StructType:
    return governance_tables.struct(EDGE)


def rejected_struct() -> StructType:
    return governance_tables.struct(REJECTED)


def _merge(spark: SparkSession, table: str, rows: list[dict[str, Any]], key: tuple[str, ...]) -> int:
    """Insert the rows whose key the table does not hold yet; returns how many were inserted."""
    target = governance_tables.ensure(spark, table)
    if not rows:
        return 0
    source = spark.createDataFrame(rows, governance_tables.struct(table)).dropDuplicates(list(key))
    on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in key)

    def merge() -> int:  # its own counts (the table's last commit may be another writer's)
        out = target.alias("t").merge(source.alias("s"), on).whenNotMatchedInsertAll().execute().first()
        return int(out["num_inserted_rows"]) if out is not None else 0

    return tables.retry_conflicts(f"{SCHEMA}.{table} merge", merge)


def load(spark: SparkSession, root: Path | None = None) -> LoadResult:
    root = root or settings().lineage_dir
    files = event_files(root) if root.is_dir() else []
    parsed = parse(files)
    now = dt.datetime.now()
    events = [e | {"loaded_at": now} for e in parsed.events]
    rejected = [
        {
            "source_file": r.file,
            "source_line": r.line,
            "reason": r.reason[:4000],
            "raw": r.raw,
            "rejected_at": now,
        }
        for r in parsed.rejections
    ]
    new_edges = _merge(spark, EDGE, parsed.edges, EDGE_KEY)
    new_events = _merge(spark, EVENT, events, ("event_id",))  # last: marks the load done
    _merge(spark, REJECTED, rejected, ("source_file", "source_line", "raw"))
    return LoadResult(len(files), len(events), new_events, len(parsed.edges), new_edges, parsed.rejections)
