"""Silver → gold: the library table keyed by the contract's primary key, upserted with Delta MERGE.

A changed record (different business-field hash) from the same or a later batch updates the row; an
older batch never overwrites a newer one (batches compare by the order key of the contract's `batch_order`,
computed natively in Spark); a new key is inserted. Re-running a batch changes nothing.

A batch published again after a corrected re-delivery withdraws what its earlier version alone put there:
a key whose gold row this batch set but whose silver rows no longer hold goes back to its row in the latest
other batch gold published (governance.batch_log), or leaves gold if none had it; in the same MERGE.
Only a batch the batch log says gold published before is checked for withdrawals (a first publish scans
neither gold nor silver's history for them).
"""

from __future__ import annotations

from dataclasses import dataclass

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructType, TimestampType

from jobs import batch_log, tables
from jobs.columns import SPARK_TYPES
from schemas.contracts import SAME_DAY, BatchOrder, FeedContract
from schemas.datasets import GOLD, feed_tables


@dataclass(frozen=True)
class PublishResult:
    source_rows: int
    inserted: int
    updated: int  # restored rows included
    version: int
    deleted: int = 0  # keys only this batch's earlier version had, none before it


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


def _staged(contract: FeedContract, silver: DataFrame) -> DataFrame:
    return silver.select(
        *[c.name for c in contract.columns],
        F.lit(contract.department).alias("_source_department"),
        "_batch_id",
        "_source_file",
        "_line",
        "_record_hash",
        F.current_timestamp().alias("_now"),
    )


def _published(spark: SparkSession, contract: FeedContract) -> DataFrame:
    """The batch ids gold has published for the feed (governance.batch_log), as column `_batch_id`."""
    location = tables.path(batch_log.SCHEMA, batch_log.TABLE)
    if not DeltaTable.isDeltaTable(spark, location):
        return spark.createDataFrame([], "_batch_id string")
    log = spark.read.format("delta").load(location)
    done = (F.col("feed") == contract.key) & (F.col("stage") == "gold") & (F.col("status") == "ok")
    return log.where(done).select(F.col("batch_id").alias("_batch_id")).distinct()


def _withdrawn(spark: SparkSession, contract: FeedContract, batch_id: str, source: DataFrame) -> DataFrame:
    """Gold rows this batch set whose key its silver rows no longer have, as `_action` 'restore' (the key's
    row in the latest other published batch, by batch order) or 'delete' (no such batch)."""
    keys = list(contract.primary_key)
    gold = spark.read.format("delta").load(tables.table_path(feed_tables(contract).gold))
    gone = gold.where(F.col("_batch_id") == batch_id).join(source.select(*keys), keys, "left_anti")
    silver = spark.read.format("delta").load(tables.table_path(feed_tables(contract).silver))
    others = silver.where(F.col("_batch_id") != batch_id).join(
        _published(spark, contract), "_batch_id", "left_semi"
    )
    latest = Window.partitionBy(*keys).orderBy(
        F.expr(batch_order_key(contract.batch_order, "_batch_id")).desc()
    )
    restore = (
        _staged(contract, others.join(gone.select(*keys), keys, "left_semi"))
        .withColumn("_rank", F.row_number().over(latest))
        .where(F.col("_rank") == 1)
        .drop("_rank")
    )
    delete = gone.select(*keys).join(restore.select(*keys), keys, "left_anti")
    nothing = [F.lit(None).cast(f.dataType).alias(f.name) for f in source.schema.fields if f.name not in keys]
    return restore.withColumn("_action", F.lit("restore")).unionByName(
        delete.select(*keys, *nothing).withColumn("_action", F.lit("delete"))
    )


def publish(spark: SparkSession, contract: FeedContract, batch_id: str) -> PublishResult:
    t = contract.target
    gold = tables.ensure(spark, GOLD, t.table, gold_struct(contract), t.title)
    silver = spark.read.format("delta").load(tables.table_path(feed_tables(contract).silver))
    source = _staged(contract, silver.where(F.col("_batch_id") == batch_id))
    staged = source.withColumn("_action", F.lit("upsert"))
    if batch_id in {r[0] for r in _published(spark, contract).collect()}:  # only a re-publish withdraws
        staged = staged.unionByName(_withdrawn(spark, contract, batch_id, source))
    business = [c.name for c in contract.columns]
    meta = ["_source_department", "_batch_id", "_source_file", "_line", "_record_hash"]
    on = " AND ".join(f"t.`{k}` = s.`{k}`" for k in contract.primary_key)
    update: dict[str, str | Column] = {c: f"s.`{c}`" for c in business + meta}
    update["_updated_at"] = "s._now"
    insert = update | {"_created_at": "s._now"}
    newer = (  # an id gold holds that no longer parses (contract changed) counts as the oldest
        f"{batch_order_key(contract.batch_order, 's._batch_id')} >= "
        f"coalesce({batch_order_key(contract.batch_order, 't._batch_id')}, -1)"
    )
    changed = f"s._action = 'upsert' AND t._record_hash <> s._record_hash AND {newer}"
    before = tables.version(spark, GOLD, t.table)
    (
        gold.alias("t")
        .merge(staged.alias("s"), on)
        .whenMatchedDelete(condition="s._action = 'delete'")
        .whenMatchedUpdate(condition="s._action = 'restore'", set=update)
        .whenMatchedUpdate(condition=changed, set=update)
        .whenNotMatchedInsert(condition="s._action = 'upsert'", values=insert)
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
        deleted=m.get("numTargetRowsDeleted", 0),
    )
