"""Bronze → silver: typed, normalised and validated; every bad row goes to silver.quarantine.

All rules are native Spark expressions built from the contract. A row with any problem is
quarantined whole with its source file, line, first failing field and reason code (all problems are
kept too), so that rows in = silver rows + quarantined rows, which is asserted for every batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from operator import and_

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from jobs import tables
from schemas import checks
from schemas.contracts import Column as ContractColumn
from schemas.contracts import FeedContract
from schemas.datasets import BRONZE, EXTRA, QUARANTINE, SILVER

META = ("_batch_id", "_source_file", "_line", "_row_hash", "_record_hash", "_ingested_at")

SPARK_TYPES: dict[str, DataType] = {
    "string": StringType(),
    "int": IntegerType(),
    "long": LongType(),
    "double": DoubleType(),
    "decimal": DecimalType(20, 4),
    "date": DateType(),
    "timestamp": TimestampType(),
    "boolean": BooleanType(),
}


class ReconciliationError(RuntimeError):
    """Rows in ≠ silver rows + quarantined rows: something was lost or doubled."""


@dataclass(frozen=True)
class RefineResult:
    rows_in: int
    silver: int
    quarantined: int
    reasons: dict[str, int]


def silver_struct(contract: FeedContract) -> StructType:
    f = tables.field
    return StructType(
        [f(c.name, SPARK_TYPES[c.type], c.label, nullable=c.nullable) for c in contract.columns]
        + [
            f("_batch_id", StringType(), "批次号", nullable=False),
            f("_source_file", StringType(), "来源文件", nullable=False),
            f("_line", LongType(), "来源文件行号", nullable=False),
            f("_row_hash", StringType(), "原始行 SHA-256", nullable=False),
            f("_record_hash", StringType(), "业务字段 SHA-256（变更检测）", nullable=False),
            f("_ingested_at", TimestampType(), "入湖时间", nullable=False),
        ]
    )


def quarantine_struct() -> StructType:
    f = tables.field
    problem = StructType([StructField("field", StringType()), StructField("reason", StringType())])
    return StructType(
        [
            f("_feed", StringType(), "数据源（部门__数据集）", nullable=False),
            f("_batch_id", StringType(), "批次号", nullable=False),
            f("source_file", StringType(), "来源文件", nullable=False),
            f("line", LongType(), "来源文件行号", nullable=False),
            f("field", StringType(), "首个问题字段", nullable=False),
            f("reason", StringType(), "首个问题原因代码", nullable=False),
            f("problems", ArrayType(problem), "全部问题（字段、原因代码）"),
            f("raw", StringType(), "原始记录（JSON）"),
            f("row_hash", StringType(), "原始行 SHA-256"),
            f("quarantined_at", TimestampType(), "隔离时间", nullable=False),
        ]
    )


def _clean(c: ContractColumn) -> Column:
    value = F.trim(F.col(c.name))
    if "resident_id" in c.checks or "credit_code" in c.checks:
        value = F.upper(value)
    return F.when(value == "", None).otherwise(value)


def _typed(c: ContractColumn, clean: Column) -> Column:
    if c.type == "string":
        return clean
    if c.type in ("date", "timestamp") and c.format:
        ts = F.try_to_timestamp(clean, F.lit(c.format))
        return F.to_date(ts) if c.type == "date" else ts
    return clean.try_cast(SPARK_TYPES[c.type])


def _problem(cond: Column, field: str, reason: str) -> Column:
    return F.when(cond, F.struct(F.lit(field).alias("field"), F.lit(reason).alias("reason")))


def column_problems(c: ContractColumn, known_region: Column, current_division: Column) -> list[Column]:
    """Problems of one column, in the order they are reported: the first one names the row's reason."""
    raw, val = F.col(f"_clean_{c.name}"), F.col(c.name)
    present = raw.isNotNull()
    found = []
    if not c.nullable:
        found.append(_problem(~present, c.name, "MISSING_FIELD"))
    if c.type != "string":
        found.append(_problem(present & val.isNull(), c.name, "BAD_TYPE"))
    if "resident_id" in c.checks:
        bad_format = checks.resident_id_bad_format(raw)
        found.append(_problem(present & bad_format, c.name, "BAD_FORMAT"))
        found.append(
            _problem(present & ~bad_format & checks.resident_id_bad_check(raw), c.name, "BAD_CHECK_DIGIT")
        )
        found.append(_problem(present & ~bad_format & ~known_region, c.name, "UNKNOWN_REGION"))
    if "credit_code" in c.checks:
        bad_code = checks.credit_code_bad_format(raw)
        found.append(_problem(present & bad_code, c.name, "BAD_FORMAT"))
        found.append(
            _problem(present & ~bad_code & checks.credit_code_bad_check(raw), c.name, "BAD_CHECK_DIGIT")
        )
    if "admin_division" in c.checks:
        found.append(_problem(present & ~current_division, c.name, "UNKNOWN_ADMIN_CODE"))
    if c.pattern:
        found.append(_problem(present & ~raw.rlike(c.pattern), c.name, "BAD_FORMAT"))
    if c.allowed is not None:
        found.append(_problem(present & ~raw.isin(c.allowed), c.name, "NOT_ALLOWED"))
    return found


def row_problems(contract: FeedContract) -> list[Column]:
    found = [_problem(F.col(EXTRA).isNotNull(), EXTRA, "BAD_FIELD_COUNT")]
    for rc in contract.row_checks:
        rid = F.col(rc.id)
        usable = rid.isNotNull() & ~checks.resident_id_bad_format(rid)
        if rc.birth_date:
            bd = F.col(rc.birth_date)
            found.append(
                _problem(
                    usable & bd.isNotNull() & (checks.resident_id_birth_date(rid) != bd),
                    rc.birth_date,
                    "ID_BIRTH_MISMATCH",
                )
            )
        if rc.gender:
            g = F.col(rc.gender)
            found.append(
                _problem(
                    usable & g.isNotNull() & (checks.resident_id_gender(rid) != g),
                    rc.gender,
                    "ID_GENDER_MISMATCH",
                )
            )
    return found


def validate(spark: SparkSession, contract: FeedContract, bronze: DataFrame) -> DataFrame:
    """Bronze rows → typed columns plus `_problems` (array of field/reason), duplicates included."""
    df = bronze.select("*", *[_clean(c).alias(f"_clean_{c.name}") for c in contract.columns]).select(
        *[_typed(c, F.col(f"_clean_{c.name}")).alias(c.name) for c in contract.columns],
        *[F.col(f"_clean_{c.name}") for c in contract.columns],
        *[F.col(c.name).alias(f"_raw_{c.name}") for c in contract.columns],
        EXTRA,
        "_batch_id",
        "_source_file",
        "_line",
        "_row_hash",
        "_ingested_at",
    )
    divisions = checks.divisions_frame(spark)
    region_cols = [c for c in contract.columns if "resident_id" in c.checks]
    division_cols = [c for c in contract.columns if "admin_division" in c.checks]
    for c in region_cols:
        known = divisions.select(F.col("code").alias(f"_region_{c.name}"))
        df = df.join(
            F.broadcast(known),
            F.substring(F.col(f"_clean_{c.name}"), 1, 6) == F.col(f"_region_{c.name}"),
            "left",
        )
    for c in division_cols:
        current = divisions.where("current").select(F.col("code").alias(f"_division_{c.name}"))
        df = df.join(F.broadcast(current), F.col(f"_clean_{c.name}") == F.col(f"_division_{c.name}"), "left")
    # Column problems in contract order, then row-level ones: the first names the row's reason.
    ordered = [
        p
        for c in contract.columns
        for p in column_problems(c, _flag(df, c, "_region_"), _flag(df, c, "_division_"))
    ]
    ordered += row_problems(contract)
    df = df.withColumn("_problems", F.filter(F.array(*ordered), lambda p: p.isNotNull()))
    # Duplicate keys: among otherwise valid rows (ordered first), the first by file and line wins; the
    # others are quarantined. The same window counts every row's key (`_key_count`, for the gate).
    key = [F.col(k) for k in contract.primary_key]
    clean = F.size("_problems") == 0
    by_key = Window.partitionBy(*key)
    rank = F.row_number().over(by_key.orderBy(F.when(clean, 0).otherwise(1), "_source_file", "_line"))
    dup = _problem(clean & (rank > 1), contract.primary_key[0], "DUPLICATE_KEY")
    keyed = reduce(and_, [k.isNotNull() for k in key])
    return df.withColumn(
        "_problems", F.filter(F.array_append("_problems", dup), lambda p: p.isNotNull())
    ).withColumn("_key_count", F.when(keyed, F.count(F.lit(1)).over(by_key)))


def _flag(df: DataFrame, c: ContractColumn, prefix: str) -> Column:
    name = f"{prefix}{c.name}"
    return F.col(name).isNotNull() if name in df.columns else F.lit(True)


def record_hash(contract: FeedContract) -> Column:
    return F.sha2(F.to_json(F.struct(*[F.col(c.name) for c in contract.columns])), 256)


def ensure_tables(spark: SparkSession, contract: FeedContract) -> None:
    tables.ensure(
        spark,
        SILVER,
        contract.key,
        silver_struct(contract),
        f"{contract.department_name} {contract.title}（标准层，已校验）",
        partition_by=("_batch_id",),
    )
    tables.ensure(
        spark,
        SILVER,
        QUARANTINE,
        quarantine_struct(),
        "隔离区：未通过校验的记录及原因",
        partition_by=("_feed",),
    )


def delivered(contract: FeedContract, checked: DataFrame) -> DataFrame:
    """The batch as delivered, after refinement (silver rows and quarantined rows alike): typed columns,
    the cleaned delivered text of the non-string ones (`_raw_<column>`), surplus fields, file, line,
    how many rows share the row's key (`_key_count`) and the row's problems (`_problems`)."""
    cols = contract.columns
    return checked.select(
        *[c.name for c in cols],
        *[F.col(f"_clean_{c.name}").alias(f"_raw_{c.name}") for c in cols if c.type != "string"],
        EXTRA,
        "_source_file",
        "_line",
        "_key_count",
        "_problems",
    )


def refine(
    spark: SparkSession,
    contract: FeedContract,
    batch_id: str,
    inspect: Callable[[DataFrame], None] | None = None,
) -> RefineResult:
    """Refine one batch. `inspect` (the quality gate) is handed the batch as `delivered` while its
    checked rows are still cached, once silver and quarantine are written and reconciled."""
    ensure_tables(spark, contract)
    bronze = (
        spark.read.format("delta")
        .load(tables.path(BRONZE, contract.key))
        .where(F.col("_batch_id") == batch_id)
    )
    checked = validate(spark, contract, bronze).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        rows_in = checked.count()
        good = checked.where(F.size("_problems") == 0).select(
            *[c.name for c in contract.columns],
            "_batch_id",
            "_source_file",
            "_line",
            "_row_hash",
            record_hash(contract).alias("_record_hash"),
            "_ingested_at",
        )
        bad = checked.where(F.size("_problems") > 0).select(
            F.lit(contract.key).alias("_feed"),
            "_batch_id",
            F.col("_source_file").alias("source_file"),
            F.col("_line").alias("line"),
            F.col("_problems")[0]["field"].alias("field"),
            F.col("_problems")[0]["reason"].alias("reason"),
            F.col("_problems").alias("problems"),
            F.to_json(
                F.struct(*[F.col(f"_raw_{c.name}").alias(c.name) for c in contract.columns], F.col(EXTRA))
            ).alias("raw"),
            F.col("_row_hash").alias("row_hash"),
            F.current_timestamp().alias("quarantined_at"),
        )
        batch = f"_batch_id = '{batch_id}'"  # batch ids are validated (contracts.batch_id)
        in_quarantine = f"_feed = '{contract.key}' AND {batch}"
        good.write.format("delta").mode("overwrite").option("replaceWhere", batch).save(
            tables.path(SILVER, contract.key)
        )
        bad.write.format("delta").mode("overwrite").option("replaceWhere", in_quarantine).save(
            tables.path(SILVER, QUARANTINE)
        )
        # Reconcile against what the tables now hold for this batch, not against what we meant to write.
        silver = spark.read.format("delta").load(tables.path(SILVER, contract.key)).where(batch).count()
        written_bad = spark.read.format("delta").load(tables.path(SILVER, QUARANTINE)).where(in_quarantine)
        reasons = {
            r["reason"]: r["n"] for r in written_bad.groupBy("reason").agg(F.count("*").alias("n")).collect()
        }
        quarantined = sum(reasons.values())
        if rows_in != silver + quarantined:
            raise ReconciliationError(
                f"{contract.key} batch {batch_id}: {rows_in} rows in bronze but {silver} in silver "
                f"+ {quarantined} quarantined"
            )
        if inspect is not None:
            inspect(delivered(contract, checked))
    finally:
        checked.unpersist()
    return RefineResult(rows_in, silver, quarantined, reasons)
