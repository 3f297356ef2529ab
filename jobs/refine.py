"""Bronze → silver: typed, normalised and validated; every bad row goes to silver.quarantine.

The checks come from the registry (schemas.checks), as native Spark expressions. A row with any problem is
quarantined whole with its source file, line, first failing field and reason code (all problems are
kept too), so that rows in = silver rows + quarantined rows, which is asserted for every batch. The rows
in are the current version of each of the batch's files (jobs.versions): a corrected re-delivery replaces
the batch's silver and quarantine rows whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import and_

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs import tables, versions
from jobs.columns import clean, ensure_tables, typed
from jobs.reference import add_lookups
from schemas import checks
from schemas.contracts import FeedContract
from schemas.datasets import EXTRA, feed_tables


class ReconciliationError(RuntimeError):
    """Rows in ≠ silver rows + quarantined rows: something was lost or doubled."""


@dataclass(frozen=True)
class RefineResult:
    rows_in: int
    silver: int
    quarantined: int
    reasons: dict[str, int]


def _problem(cond: Column, field: str, reason: str) -> Column:
    return F.when(cond, F.struct(F.lit(field).alias("field"), F.lit(reason).alias("reason")))


def problem_checks(contract: FeedContract) -> list[checks.Check]:
    """Every registered check of the contract, in the order refine reports them: column by column,
    then the row checks; the first failing one names a row's reason. Key duplicates come after these."""
    return [k for c in contract.columns for k in checks.column_checks(c)] + checks.row_checks(contract)


def validate(spark: SparkSession, contract: FeedContract, bronze: DataFrame) -> DataFrame:
    """Bronze rows → typed columns plus `_problems` (array of field/reason), duplicates included."""
    df = bronze.select("*", *[clean(c).alias(f"_clean_{c.name}") for c in contract.columns]).select(
        *[typed(c, F.col(f"_clean_{c.name}")).alias(c.name) for c in contract.columns],
        *[F.col(f"_clean_{c.name}") for c in contract.columns],
        *[F.col(c.name).alias(f"_raw_{c.name}") for c in contract.columns],
        EXTRA,
        "_batch_id",
        "_source_file",
        "_line",
        "_row_hash",
        "_ingested_at",
    )
    found = problem_checks(contract)
    df = add_lookups(spark, df, contract, checks.REFINE, [k.lookup for k in found if k.lookup])
    ordered = [_problem(k.fails(checks.REFINE), *k.problem) for k in found]
    df = df.withColumn("_problems", F.filter(F.array(*ordered), lambda p: p.isNotNull()))
    # Duplicate keys: among otherwise valid rows (ordered first), the first by file and line wins; the
    # others are quarantined. The same window counts every row's key (`_key_count`, for the gate).
    key = [F.col(k) for k in contract.primary_key]
    valid = F.size("_problems") == 0
    by_key = Window.partitionBy(*key)
    rank = F.row_number().over(by_key.orderBy(F.when(valid, 0).otherwise(1), "_source_file", "_line"))
    dup = _problem(valid & (rank > 1), *checks.key_check(contract).problem)
    keyed = reduce(and_, [k.isNotNull() for k in key])
    return df.withColumn(
        "_problems", F.filter(F.array_append("_problems", dup), lambda p: p.isNotNull())
    ).withColumn(checks.KEY_COUNT, F.when(keyed, F.count(F.lit(1)).over(by_key)))


def record_hash(contract: FeedContract) -> Column:
    return F.sha2(F.to_json(F.struct(*[F.col(c.name) for c in contract.columns])), 256)


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


@dataclass
class Refined:
    """A refined batch: its counts, and its checked rows still cached for the quality gate, which reads
    them as `delivered()` and then calls `release()` (the stage after it does, if no gate runs)."""

    contract: FeedContract
    result: RefineResult
    checked: DataFrame | None

    def delivered(self) -> DataFrame | None:
        """The batch as refine delivered it, while its session lives; None once released or stopped."""
        if self.checked is None or self.checked.sparkSession.sparkContext._jsc is None:
            return None
        return delivered(self.contract, self.checked)

    def release(self) -> None:
        if self.checked is not None and self.checked.sparkSession.sparkContext._jsc is not None:
            self.checked.unpersist()
        self.checked = None


def _silver_rows(contract: FeedContract, checked: DataFrame) -> DataFrame:
    return checked.where(F.size("_problems") == 0).select(
        *[c.name for c in contract.columns],
        "_batch_id",
        "_source_file",
        "_line",
        "_row_hash",
        record_hash(contract).alias("_record_hash"),
        "_ingested_at",
    )


def _quarantine_rows(contract: FeedContract, checked: DataFrame) -> DataFrame:
    raw = F.struct(*[F.col(f"_raw_{c.name}").alias(c.name) for c in contract.columns], F.col(EXTRA))
    return checked.where(F.size("_problems") > 0).select(
        F.lit(contract.key).alias("_feed"),
        "_batch_id",
        F.col("_source_file").alias("source_file"),
        F.col("_line").alias("line"),
        F.col("_problems")[0]["field"].alias("field"),
        F.col("_problems")[0]["reason"].alias("reason"),
        F.col("_problems").alias("problems"),
        F.to_json(raw).alias("raw"),
        F.col("_row_hash").alias("row_hash"),
        F.current_timestamp().alias("quarantined_at"),
    )


def _write_and_reconcile(
    spark: SparkSession, contract: FeedContract, batch_id: str, checked: DataFrame
) -> RefineResult:
    """Replace the batch in silver and quarantine, then reconcile against what the tables now hold for
    this batch, not against what we meant to write."""
    rows_in = checked.count()
    layers = feed_tables(contract)
    silver_path, quarantine_path = tables.table_path(layers.silver), tables.table_path(layers.quarantine)
    batch = f"_batch_id = '{batch_id}'"  # batch ids are validated (contracts.batch_id)
    in_quarantine = f"_feed = '{contract.key}' AND {batch}"
    _silver_rows(contract, checked).write.format("delta").mode("overwrite").option(
        "replaceWhere", batch
    ).save(silver_path)
    _quarantine_rows(contract, checked).write.format("delta").mode("overwrite").option(
        "replaceWhere", in_quarantine
    ).save(quarantine_path)
    silver = spark.read.format("delta").load(silver_path).where(batch).count()
    written_bad = spark.read.format("delta").load(quarantine_path).where(in_quarantine)
    reasons = {
        r["reason"]: r["n"] for r in written_bad.groupBy("reason").agg(F.count("*").alias("n")).collect()
    }
    quarantined = sum(reasons.values())
    if rows_in != silver + quarantined:
        raise ReconciliationError(
            f"{contract.key} batch {batch_id}: {rows_in} rows in bronze but {silver} in silver "
            f"+ {quarantined} quarantined"
        )
    return RefineResult(rows_in, silver, quarantined, reasons)


def refine(spark: SparkSession, contract: FeedContract, batch_id: str) -> Refined:
    """Refine one batch into silver and quarantine. The checked rows stay cached for the quality gate
    (`Refined.delivered`); whoever holds the result releases them."""
    ensure_tables(spark, contract)
    bronze = versions.current(spark, contract, batch_id)  # a corrected file's earlier versions: not read
    checked = validate(spark, contract, bronze).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        result = _write_and_reconcile(spark, contract, batch_id, checked)
    except BaseException:
        checked.unpersist()
        raise
    return Refined(contract, result, checked)
