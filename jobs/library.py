"""Gold feed tables → a base library's golden record, with history, and governance.verification_conflict.

"One number, one source": each attribute takes the value of its authoritative feed (the first listed
authority holding a value); a non-authoritative value never replaces it. Every verifying feed whose value
differs from the authoritative one yields a row in governance.verification_conflict.

History is SCD type 2 (documented in the README): gold.<table> holds one row per subject version with
`_valid_from` / `_valid_to` (the delivery date of the batch that opened / closed it) and `_is_current`;
one Delta MERGE closes changed or vanished versions and inserts the new ones, so "where did this person
live on date D" is `WHERE _valid_from <= D AND (_valid_to IS NULL OR _valid_to > D)`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import reduce

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, DateType, MapType, StringType, StructType, TimestampType

from jobs import governance_tables, tables
from jobs.columns import SPARK_TYPES
from schemas.contracts import FeedContract
from schemas.datasets import GOLD, GOVERNANCE, feed_tables
from schemas.libraries import GoldenLibrary

CONFLICTS = "verification_conflict"  # schemas/governance/verification_conflict.yaml


@dataclass(frozen=True)
class LibraryResult:
    subjects: int
    inserted: int
    closed: int
    conflicts: int
    version: int


def batch_date(batch_id: str) -> dt.date:
    """A batch named yyyyMMdd… is that day's delivery; other names count as today."""
    try:
        return dt.datetime.strptime(batch_id[:8], "%Y%m%d").date()
    except ValueError:
        return dt.date.today()


def feed_table(spark: SparkSession, contract: FeedContract) -> DataFrame:
    return spark.read.format("delta").load(tables.table_path(feed_tables(contract).gold))


def golden_struct(lib: GoldenLibrary, feeds: dict[str, FeedContract]) -> StructType:
    f = tables.field
    key_type = SPARK_TYPES[feeds[lib.base[0]].column(lib.key).type]
    attrs = [
        f(a.name, SPARK_TYPES[feeds[a.authority[0]].column(a.name).type], a.label) for a in lib.attributes
    ]
    return StructType(
        [
            f(lib.key, key_type, lib.key_label, nullable=False),
            *attrs,
            f("_base_department", StringType(), "基础登记部门", nullable=False),
            f("_authority", MapType(StringType(), StringType()), "各属性取值的权威部门（一数一源）"),
            f("_record_hash", StringType(), "业务字段 SHA-256（变更检测）", nullable=False),
            f("_valid_from", DateType(), "版本生效日期（含）", nullable=False),
            f("_valid_to", DateType(), "版本失效日期（不含；空为当前版本）"),
            f("_is_current", BooleanType(), "是否当前版本", nullable=False),
            f("_batch_id", StringType(), "生成本版本的批次", nullable=False),
            f("_built_at", TimestampType(), "构建时间", nullable=False),
        ]
    )


def snapshot(spark: SparkSession, lib: GoldenLibrary, feeds: dict[str, FeedContract]) -> DataFrame:
    """The golden record of every subject now: key, authoritative attribute values, their sources."""
    key = lib.key
    used = list(dict.fromkeys([*lib.base, *(ref for a in lib.attributes for ref in a.authority)]))
    alias = {ref: f"s{i}" for i, ref in enumerate(used)}
    bases = [feed_table(spark, feeds[ref]).select(key) for ref in lib.base]
    df = reduce(DataFrame.unionByName, bases).distinct()
    for ref in used:
        cols = {a.name for a in lib.attributes if ref in a.authority}
        side = feed_table(spark, feeds[ref]).select(
            F.col(key).alias(f"{alias[ref]}__key"),
            F.lit(True).alias(f"{alias[ref]}__present"),
            *[F.col(c).alias(f"{alias[ref]}__{c}") for c in sorted(cols)],
        )
        df = df.join(side, F.col(key) == F.col(f"{alias[ref]}__key"), "left")
    values, sources = [], []
    for a in lib.attributes:
        present = [(ref, F.col(f"{alias[ref]}__{a.name}")) for ref in a.authority]
        values.append(F.coalesce(*[c for _, c in present]).alias(a.name))
        source = F.lit(None).cast("string")
        for ref, c in reversed(present):
            source = F.when(c.isNotNull(), F.lit(feeds[ref].department)).otherwise(source)
        sources += [F.lit(a.name), source]
    base_dept = F.lit(None).cast("string")
    for ref in reversed(lib.base):
        base_dept = F.when(F.col(f"{alias[ref]}__present"), F.lit(feeds[ref].department)).otherwise(base_dept)
    out = df.select(
        F.col(key), *values, base_dept.alias("_base_department"), F.create_map(*sources).alias("_authority")
    )
    business = [key, *(a.name for a in lib.attributes)]
    return out.withColumn("_record_hash", F.sha2(F.to_json(F.struct(*business)), 256))


def conflicts(
    spark: SparkSession, lib: GoldenLibrary, feeds: dict[str, FeedContract], golden: DataFrame, batch_id: str
) -> DataFrame:
    """Every verifying value that differs from the authoritative one (both present)."""
    key, frames = lib.key, []
    for a in lib.attributes:
        for ref in a.verify:
            other = feed_table(spark, feeds[ref]).select(
                F.col(key).alias("_k"),
                F.col(a.name).alias("_other"),
                F.col("_batch_id").alias("_other_batch"),
            )
            joined = golden.select(key, a.name, F.col("_authority")[a.name].alias("_auth_dept")).join(
                other, F.col(key) == F.col("_k")
            )
            auth, oth = F.col(a.name).cast("string"), F.col("_other").cast("string")
            frames.append(
                joined.where(auth.isNotNull() & oth.isNotNull() & (auth != oth)).select(
                    F.lit(lib.library).alias("library"),
                    F.col(key).cast("string").alias("subject_key"),
                    F.lit(a.name).alias("attribute"),
                    F.lit(a.label).alias("attribute_label"),
                    auth.alias("authority_value"),
                    F.col("_auth_dept").alias("authority_department"),
                    oth.alias("other_value"),
                    F.lit(feeds[ref].department).alias("other_department"),
                    F.lit(feeds[ref].key).alias("other_feed"),
                    F.col("_other_batch").alias("other_batch_id"),
                    F.lit(batch_id).alias("batch_id"),
                    F.current_timestamp().alias("detected_at"),
                )
            )
    if not frames:
        return spark.createDataFrame([], conflict_struct())
    return reduce(DataFrame.unionByName, frames)


def conflict_struct() -> StructType:
    return governance_tables.struct(CONFLICTS)


def _merge_scd2(
    spark: SparkSession, lib: GoldenLibrary, current: DataFrame, day: dt.date, batch_id: str
) -> None:
    target = DeltaTable.forPath(spark, tables.path(GOLD, lib.table))
    key = lib.key
    open_rows = (
        target.toDF().where("_is_current").select(F.col(key).alias("_k"), F.col("_record_hash").alias("_h"))
    )
    changed = current.join(open_rows, F.col(key) == F.col("_k")).where(F.col("_h") != F.col("_record_hash"))
    # Changed subjects come twice: once keyed (closes the open version), once unkeyed (inserts the new one).
    staged = current.withColumn("_merge_key", F.col(key)).unionByName(
        changed.drop("_k", "_h").withColumn("_merge_key", F.lit(None).cast(current.schema[key].dataType))
    )
    new_values = {c: f"s.`{c}`" for c in current.columns} | {
        "_valid_from": f"DATE'{day.isoformat()}'",
        "_valid_to": "CAST(NULL AS DATE)",
        "_is_current": "true",
        "_batch_id": f"'{batch_id}'",  # validated batch id
        "_built_at": "current_timestamp()",
    }
    close = {"_valid_to": f"DATE'{day.isoformat()}'", "_is_current": "false"}
    (
        target.alias("t")
        .merge(staged.alias("s"), f"t.`{key}` = s._merge_key AND t._is_current")
        .whenMatchedUpdate(condition="t._record_hash <> s._record_hash", set=close)
        .whenNotMatchedInsert(values=new_values)
        .whenNotMatchedBySourceUpdate(condition="t._is_current", set=close)
        .execute()
    )


def build_library(
    spark: SparkSession, lib: GoldenLibrary, feeds: dict[str, FeedContract], batch_id: str
) -> LibraryResult:
    day = batch_date(batch_id)
    tables.ensure(spark, GOLD, lib.table, golden_struct(lib, feeds), lib.title)
    golden = snapshot(spark, lib, feeds).persist()
    try:
        _merge_scd2(spark, lib, golden, day, batch_id)  # a re-run with unchanged feeds changes nothing
        m = tables.last_commit_metrics(spark, GOLD, lib.table)
        found = conflicts(spark, lib, feeds, golden, batch_id)
        governance_tables.ensure(spark, CONFLICTS)
        where = f"library = '{lib.library}'"  # library names are identifiers
        found.write.format("delta").mode("overwrite").option("replaceWhere", where).save(
            tables.path(GOVERNANCE, CONFLICTS)
        )
        n_conflicts = spark.read.format("delta").load(tables.path(GOVERNANCE, CONFLICTS)).where(where).count()
        subjects = golden.count()
    finally:
        golden.unpersist()
    return LibraryResult(
        subjects=subjects,
        inserted=m.get("numTargetRowsInserted", 0),
        closed=m.get("numTargetRowsUpdated", 0),
        conflicts=n_conflicts,
        version=tables.version(spark, GOLD, lib.table),
    )
