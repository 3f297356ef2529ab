"""governance.batch_log: one row per feed, batch and stage, with its counts and outcome."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession
from pyspark.sql.types import LongType, StringType, StructType, TimestampType

from jobs import tables

SCHEMA, TABLE = "governance", "batch_log"


def struct() -> StructType:
    f = tables.field
    return StructType(
        [
            f("feed", StringType(), "数据源（部门__数据集）", nullable=False),
            f("batch_id", StringType(), "批次号", nullable=False),
            f("stage", StringType(), "阶段（preflight/bronze/silver/gold）", nullable=False),
            f("status", StringType(), "结果（ok/rejected/failed/skipped）", nullable=False),
            f("rows_in", LongType(), "输入行数"),
            f("rows_out", LongType(), "输出行数"),
            f("quarantined", LongType(), "隔离行数"),
            f("inserted", LongType(), "新增行数"),
            f("updated", LongType(), "更新行数"),
            f("message", StringType(), "说明"),
            f("started_at", TimestampType(), "开始时间", nullable=False),
            f("finished_at", TimestampType(), "结束时间", nullable=False),
        ]
    )


def entry(
    feed: str,
    batch_id: str,
    stage: str,
    status: str,
    started_at: dt.datetime,
    message: str = "",
    finished_at: dt.datetime | None = None,
    **counts: int | None,
) -> dict:
    return {
        "feed": feed,
        "batch_id": batch_id,
        "stage": stage,
        "status": status,
        "message": message[:4000],
        "started_at": started_at,
        "finished_at": finished_at or dt.datetime.now(),
        **{k: counts.get(k) for k in ("rows_in", "rows_out", "quarantined", "inserted", "updated")},
    }


def record(spark: SparkSession, *entries: dict) -> None:
    """Append the entries in one Delta commit."""
    tables.ensure(spark, SCHEMA, TABLE, struct(), "批次处理日志")
    rows = tables.local_frame(spark, list(entries), struct())
    rows.write.format("delta").mode("append").save(tables.path(SCHEMA, TABLE))
