"""governance.batch_log: one row per feed, batch and stage, with its counts and outcome."""

from __future__ import annotations

import datetime as dt
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from jobs import governance_tables, tables

SCHEMA, TABLE = governance_tables.SCHEMA, "batch_log"  # schemas/governance/batch_log.yaml


def struct() -> StructType:
    return governance_tables.struct(TABLE)


def entry(
    feed: str,
    batch_id: str,
    stage: str,
    status: str,
    started_at: dt.datetime,
    message: str = "",
    finished_at: dt.datetime | None = None,
    **counts: int | None,
) -> dict[str, Any]:
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


def record(spark: SparkSession, *entries: dict[str, Any]) -> None:
    """Append the entries in one Delta commit (again if another writer's commit wins the race)."""
    governance_tables.ensure(spark, TABLE)
    rows = tables.local_frame(spark, list(entries), struct())
    append = rows.write.format("delta").mode("append")
    tables.retry_conflicts(f"{SCHEMA}.{TABLE} append", lambda: append.save(tables.path(SCHEMA, TABLE)))


def logged_since(spark: SparkSession, feed: str, batch_id: str, since: dt.datetime) -> list[str]:
    """The stages logged for the feed's batch that finished at or after `since` (oldest first)."""
    path = tables.path(SCHEMA, TABLE)
    if not DeltaTable.isDeltaTable(spark, path):
        return []
    rows = (
        spark.read.format("delta")
        .load(path)
        .where(
            (F.col("feed") == feed) & (F.col("batch_id") == batch_id) & (F.col("finished_at") >= F.lit(since))
        )
    )
    return [f"{r.stage} {r.status}" for r in rows.orderBy("finished_at").select("stage", "status").collect()]
