"""Silver → gold: the library table keyed by the contract's primary key, upserted with Delta MERGE.

A changed record (different business-field hash) from the same or a later batch updates the row; an
older batch never overwrites a newer one (batches compare by the order key of the contract's `batch_order`,
computed natively in Spark); a new key is inserted. Re-running a batch changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructType, TimestampType

from jobs import tables
from jobs.columns import SPARK_TYPES
from schemas.contracts import SAME_DAY, BatchOrder, FeedContract
from schemas.datasets import GOLD, feed_tables


@dataclass(frozen=True)
class PublishResult:
    source_rows: int
    inserted: int
    updated: int
    version: int


def gold_struct(contract: FeedContract) -> StructType:
    f = tables.field
    dept = contract.department_name
    return StructType(
        [f(c.name, SPARK_TYPES[c.type], c.label, nullable=c.nullable) for c in contract.columns]
        + [
            f("_source_department", StringType(), "权威来源部门", nullable=False),
            f("_batch_id", StringType(), f"最近更新批次（{dept}）", nullable=False),
            f("_source_file", StringType(), "最近更新来源文件", nullable=False),
            f("_line", LongType(), "来源文件行号", nullable=False),
            f("_record_hash", StringType(), "业务字段 SHA-256", nullable=False),
            f("_created_at", TimestampType(), "首次入库时间", nullable=False),
            f("_updated_at", TimestampType(), "最近更新时间", nullable=False),
        ]
    )


def batch_order_key(order: BatchOrder, column: str) -> str:
    """Spark SQL for the order key of the batch ids in `column` (a fixed alias.column of ours), as
    `BatchOrder.key` computes it; NULL for an id that does not parse."""
    regex = order.regex
    if "'" in regex or "\\" in regex:  # never: BatchOrder builds it from digits and brackets
        raise ValueError(f"unsafe batch-order pattern {regex!r}")

    def group(n: int) -> str:
        return f"regexp_extract({column}, '{regex}', {n})"

    def number(sql: str) -> str:
        return f"try_cast({sql} AS BIGINT)"  # '' (no match) → NULL

    if order.by == "sequence":
        return number(group(1))
    day = number(f"concat({group(1)}, {group(2)}, {group(3)})")
    return f"({day} * {SAME_DAY} + coalesce({number(group(4))}, 0))"


def publish(spark: SparkSession, contract: FeedContract, batch_id: str) -> PublishResult:
    t = contract.target
    gold = tables.ensure(spark, GOLD, t.table, gold_struct(contract), t.title)
    source = (
        spark.read.format("delta")
        .load(tables.table_path(feed_tables(contract).silver))
        .where(F.col("_batch_id") == batch_id)
        .select(
            *[c.name for c in contract.columns],
            F.lit(contract.department).alias("_source_department"),
            "_batch_id",
            "_source_file",
            "_line",
            "_record_hash",
            F.current_timestamp().alias("_now"),
        )
    )
    business = [c.name for c in contract.columns]
    meta = ["_source_department", "_batch_id", "_source_file", "_line", "_record_hash"]
    on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in contract.primary_key)
    update = {c: f"s.`{c}`" for c in business + meta} | {"_updated_at": "s._now"}
    insert = update | {"_created_at": "s._now"}
    newer = (  # an id gold holds that no longer parses (contract changed) counts as the oldest
        f"{batch_order_key(contract.batch_order, 's._batch_id')} >= "
        f"coalesce({batch_order_key(contract.batch_order, 't._batch_id')}, -1)"
    )
    before = tables.version(spark, GOLD, t.table)
    (
        gold.alias("t")
        .merge(source.alias("s"), on)
        .whenMatchedUpdate(condition=f"t._record_hash <> s._record_hash AND {newer}", set=update)
        .whenNotMatchedInsert(values=insert)
        .execute()
    )
    after = tables.version(spark, GOLD, t.table)
    # An empty batch commits nothing: the latest commit's metrics would be an earlier batch's.
    m = tables.last_commit_metrics(spark, GOLD, t.table) if after != before else {}
    return PublishResult(
        source_rows=m.get("numSourceRows", 0),
        inserted=m.get("numTargetRowsInserted", 0),
        updated=m.get("numTargetRowsUpdated", 0),
        version=after,
    )
