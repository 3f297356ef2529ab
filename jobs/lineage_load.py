"""OpenLineage event files → governance.lineage_event, governance.column_lineage, governance.lineage_rejected.

Idempotent: each table is MERGEd on its key (event id; run + job + source column + target column;
file + line + raw text), so loading the same files again adds nothing. A line that is not JSON or
not a valid event is recorded in lineage_rejected with file, line and reason; the rest still loads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql.types import ArrayType, LongType, StringType, StructType, TimestampType

from infra.settings import settings
from jobs import tables
from lineage.records import Rejection, event_files, parse

SCHEMA = "governance"
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
    f = tables.field
    return StructType(
        [
            f("event_id", StringType(), "事件标识（原文 SHA-256）", nullable=False),
            f("event_time", TimestampType(), "事件时间（UTC）", nullable=False),
            f("event_type", StringType(), "事件类型（START/COMPLETE/FAIL…）", nullable=False),
            f("producer", StringType(), "产生者", nullable=False),
            f("job_namespace", StringType(), "作业命名空间", nullable=False),
            f("job_name", StringType(), "作业名", nullable=False),
            f("run_id", StringType(), "运行标识", nullable=False),
            f("parent_job_name", StringType(), "父作业名"),
            f("parent_run_id", StringType(), "父运行标识"),
            f("inputs", ArrayType(StringType()), "输入数据集（命名空间:名称）"),
            f("outputs", ArrayType(StringType()), "输出数据集（命名空间:名称）"),
            f("source_file", StringType(), "事件文件", nullable=False),
            f("source_line", LongType(), "事件文件行号", nullable=False),
            f("raw", StringType(), "事件原文（JSON）", nullable=False),
            f("loaded_at", TimestampType(), "入库时间", nullable=False),
        ]
    )


def edge_struct() -> StructType:
    f = tables.field
    return StructType(
        [
            f("source_namespace", StringType(), "来源命名空间", nullable=False),
            f("source_dataset", StringType(), "来源数据集", nullable=False),
            f("source_column", StringType(), "来源字段", nullable=False),
            f("target_namespace", StringType(), "目标命名空间", nullable=False),
            f("target_dataset", StringType(), "目标数据集", nullable=False),
            f("target_column", StringType(), "目标字段", nullable=False),
            f("transformation", StringType(), "转换类型"),
            f("job_namespace", StringType(), "作业命名空间", nullable=False),
            f("job_name", StringType(), "作业名", nullable=False),
            f("run_id", StringType(), "运行标识", nullable=False),
            f("event_time", TimestampType(), "事件时间（UTC）", nullable=False),
            f("event_id", StringType(), "事件标识", nullable=False),
            f("raw_source", StringType(), "事件中的来源名称"),
            f("raw_target", StringType(), "事件中的目标名称"),
        ]
    )


def rejected_struct() -> StructType:
    f = tables.field
    return StructType(
        [
            f("source_file", StringType(), "事件文件", nullable=False),
            f("source_line", LongType(), "事件文件行号", nullable=False),
            f("reason", StringType(), "拒收原因", nullable=False),
            f("raw", StringType(), "原文（截断）"),
            f("rejected_at", TimestampType(), "拒收时间", nullable=False),
        ]
    )


def _merge(
    spark: SparkSession, table: str, struct: StructType, rows: list[dict], key: tuple[str, ...]
) -> int:
    """Insert the rows whose key the table does not hold yet; returns how many were inserted."""
    target = tables.ensure(spark, SCHEMA, table, struct, f"血缘：{table}")
    if not rows:
        return 0
    source = spark.createDataFrame(rows, struct).dropDuplicates(list(key))
    on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in key)
    before = tables.version(spark, SCHEMA, table)
    target.alias("t").merge(source.alias("s"), on).whenNotMatchedInsertAll().execute()
    if tables.version(spark, SCHEMA, table) == before:  # nothing new: Delta wrote no commit
        return 0
    return tables.last_commit_metrics(spark, SCHEMA, table).get("numTargetRowsInserted", 0)


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
    new_edges = _merge(spark, EDGE, edge_struct(), parsed.edges, EDGE_KEY)
    new_events = _merge(spark, EVENT, event_struct(), events, ("event_id",))  # last: marks the load done
    _merge(spark, REJECTED, rejected_struct(), rejected, ("source_file", "source_line", "raw"))
    return LoadResult(len(files), len(events), new_events, len(parsed.edges), new_edges, parsed.rejections)
