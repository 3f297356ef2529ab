"""The household feed's three layers in bare PySpark + Delta, as one would write them by hand for this one
feed: no contract loader, no check registry, no preflight, no reconciliation, no quality suite, no
lineage listener, no table comments. Only `schemas.codes`' GB 11643 check-digit expression (a plain Spark
Column expression) and the GB/T 2260 code list are shared with the pipeline. The session takes the same
engine resources as ours from the settings (master, driver memory, shuffle partitions, Delta's snapshot
partitions), so that the comparison measures the framework's work rather than tuning, and the Delta jars
the set-up cached; everything else is Spark's and Delta's defaults.

- bronze: every line of the CSV with its line number, parsed to string fields, plus `_batch_id`,
  `_source_file`, `_line`, `_ingested_at`; appended to a Delta table partitioned by batch.
- silver: trimmed, typed, the row checks as native expressions (refine's order of reasons); bad rows are
  appended to a quarantine table with field, reason, all problems and the raw record, good rows to silver.
- gold: `MERGE INTO` on the resident ID (update when matched, insert when not).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from benchmarks.baselines import household as H
from schemas import codes


def session() -> SparkSession:
    from infra.java import spark_java_home  # lazy: only to find the JVM and jars the set-up cached
    from infra.settings import settings
    from jobs.spark import _resolved_jars

    s = settings()
    os.environ.setdefault("JAVA_HOME", str(spark_java_home(s.spark_java_home)))
    spark = (
        SparkSession.builder.appName("bare-spark")
        .master(s.spark_master)
        .config("spark.driver.memory", s.spark_driver_memory)
        .config("spark.sql.shuffle.partitions", str(s.shuffle_partitions))
        .config("spark.databricks.delta.snapshotPartitions", str(s.delta_snapshot_partitions))
        .config("spark.jars", _resolved_jars(s).read_text().strip())
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    return spark


def bronze(spark: SparkSession, csv: Path, source_file: str, batch: str, path: str) -> None:
    header = csv.open(encoding="utf-8").readline().rstrip("\n").split(",")
    if tuple(header) != H.HEADERS:
        raise ValueError(f"{csv}: unexpected header {header}")
    raw = spark.read.text(str(csv)).select(
        "value",
        F.col("_metadata.file_block_start").alias("_blk"),
        F.monotonically_increasing_id().alias("_mid"),
    )
    # A block's rows keep file order: line = lines in earlier blocks + position in its own block.
    blocks = raw.groupBy("_blk").agg(F.min("_mid").alias("first"), F.count("*").alias("n")).collect()
    bases, before = [], 0
    for b in sorted(blocks, key=lambda r: r["_blk"]):
        bases += [F.lit(b["_blk"]), F.lit(before + 1 - b["first"])]
        before += b["n"]
    ddl = ", ".join(f"`{n}` STRING" for n in H.NAMES) + ", `_extra` STRING"
    parsed = F.from_csv("value", ddl, {"sep": ","})
    lines = raw.withColumn("_line", F.col("_mid") + F.create_map(*bases)[F.col("_blk")])
    rows = lines.where((F.col("_line") > 1) & (F.length("value") > 0)).select(
        *[parsed[n].alias(n) for n in H.NAMES],
        parsed["_extra"].alias("_extra"),
        F.lit(batch).alias("_batch_id"),
        F.lit(source_file).alias("_source_file"),
        "_line",
        F.current_timestamp().alias("_ingested_at"),
    )
    rows.write.format("delta").mode("append").partitionBy("_batch_id").save(path)


def _clean(name: str) -> Column:
    value = F.trim(F.col(name))
    value = F.upper(value) if name in H.UPPER else value
    return F.when(value != "", value)


def _problems() -> list[Column]:
    """One expression per refine check, in refine's order: true on a failing row."""
    text = {n: F.col(f"_c_{n}") for n in H.NAMES}
    rid = text["resident_id"]
    usable = rid.isNotNull() & rid.rlike(H.ID_FORMAT)
    ever, current = H.division_codes()
    fails = {
        ("resident_id", "BAD_FORMAT"): rid.isNotNull() & ~rid.rlike(H.ID_FORMAT),
        ("resident_id", "BAD_CHECK_DIGIT"): usable & codes.resident_id_bad_check(rid),
        ("resident_id", "UNKNOWN_REGION"): usable & ~F.substring(rid, 1, 6).isin(sorted(ever)),
        ("gender", "NOT_ALLOWED"): text["gender"].isNotNull() & ~text["gender"].isin(list(H.GENDERS)),
        ("admin_code", "UNKNOWN_ADMIN_CODE"): text["admin_code"].isNotNull()
        & ~text["admin_code"].isin(sorted(current)),
        ("phone", "BAD_FORMAT"): text["phone"].isNotNull() & ~text["phone"].rlike(H.PHONE),
        ("_extra", "BAD_FIELD_COUNT"): F.col("_extra").isNotNull(),
        ("birth_date", "ID_BIRTH_MISMATCH"): usable
        & (F.to_date(F.try_to_timestamp(F.substring(rid, 7, 8), F.lit("yyyyMMdd"))) != F.col("birth_date")),
        ("gender", "ID_GENDER_MISMATCH"): usable
        & text["gender"].isNotNull()
        & (F.when(F.substring(rid, 17, 1).try_cast("int") % 2 == 1, "1").otherwise("2") != text["gender"]),
    }
    fails |= {(n, "MISSING_FIELD"): text[n].isNull() for n in H.REQUIRED}
    fails |= {(n, "BAD_TYPE"): text[n].isNotNull() & F.col(n).isNull() for n in H.DATES}
    return [F.when(fails[p], F.lit(":".join(p))) for p in H.PROBLEMS]


def checked(spark: SparkSession, bronze_path: str, batch: str) -> DataFrame:
    """The batch's rows typed, with `_problems` (["field:REASON", …]) and duplicates marked."""
    df = spark.read.format("delta").load(bronze_path).where(F.col("_batch_id") == batch)
    df = df.select("*", *[_clean(n).alias(f"_c_{n}") for n in H.NAMES])
    typed = {n: F.to_date(F.try_to_timestamp(F.col(f"_c_{n}"), F.lit("yyyyMMdd"))) for n in H.DATES}
    df = df.select(
        *[typed.get(n, F.col(f"_c_{n}")).alias(n) for n in H.NAMES],
        *[F.col(f"_c_{n}") for n in H.NAMES],
        *[F.col(n).alias(f"_raw_{n}") for n in H.NAMES],
        "_extra",
        "_batch_id",
        "_source_file",
        "_line",
        "_ingested_at",
    )
    df = df.withColumn("_problems", F.filter(F.array(*_problems()), lambda p: p.isNotNull()))
    valid = F.size("_problems") == 0
    first = Window.partitionBy(H.KEY).orderBy(F.when(valid, 0).otherwise(1), "_source_file", "_line")
    dup = F.when(valid & (F.row_number().over(first) > 1), F.lit(":".join(H.DUPLICATE)))
    return df.withColumn("_problems", F.filter(F.array_append("_problems", dup), lambda p: p.isNotNull()))


def silver(spark: SparkSession, batch: str, paths: dict[str, str]) -> None:
    df = checked(spark, paths["bronze"], batch).persist(StorageLevel.MEMORY_AND_DISK)
    meta = ["_batch_id", "_source_file", "_line", "_ingested_at"]
    good = df.where(F.size("_problems") == 0).select(*H.NAMES, *meta)
    good.write.format("delta").mode("append").partitionBy("_batch_id").save(paths["silver"])
    first = F.split(F.col("_problems")[0], ":")
    raw = F.to_json(F.struct(*[F.col(f"_raw_{n}").alias(n) for n in H.NAMES], F.col("_extra")))
    bad = df.where(F.size("_problems") > 0).select(
        "_batch_id",
        F.col("_source_file").alias("source_file"),
        F.col("_line").alias("line"),
        first[0].alias("field"),
        first[1].alias("reason"),
        F.col("_problems").alias("problems"),
        raw.alias("raw"),
        F.current_timestamp().alias("quarantined_at"),
    )
    bad.write.format("delta").mode("append").save(paths["quarantine"])
    df.unpersist()


def gold(spark: SparkSession, batch: str, paths: dict[str, str]) -> None:
    source = (
        spark.read.format("delta")
        .load(paths["silver"])
        .where(F.col("_batch_id") == batch)
        .select(*H.NAMES, "_batch_id", "_source_file", "_line", F.current_timestamp().alias("_updated_at"))
    )
    if not Path(paths["gold"], "_delta_log").is_dir():
        source.limit(0).write.format("delta").save(paths["gold"])
    source.createOrReplaceTempView("silver_batch")
    spark.sql(
        f"MERGE INTO delta.`{paths['gold']}` AS t USING silver_batch AS s ON t.{H.KEY} = s.{H.KEY} "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    )


def run(csv: Path, source_file: str, warehouse: Path, batch: str) -> dict[str, object]:
    """Start the JVM, run the three layers, then count (outside the timings) what the tables hold."""
    t = time.monotonic()
    spark = session()
    spark.range(1).count()
    out: dict[str, object] = {"jvm": time.monotonic() - t}
    paths = {layer: str(warehouse / layer) for layer in ("bronze", "silver", "quarantine", "gold")}
    layers = {
        "bronze": lambda: bronze(spark, csv, source_file, batch, paths["bronze"]),
        "silver": lambda: silver(spark, batch, paths),
        "gold": lambda: gold(spark, batch, paths),
    }
    for name, layer in layers.items():
        t = time.monotonic()
        layer()
        out[name] = time.monotonic() - t
    bad = spark.read.format("delta").load(paths["quarantine"]).groupBy("reason").count().collect()
    out["reasons"] = {r["reason"]: r["count"] for r in bad}
    out["gold_rows"] = spark.read.format("delta").load(paths["gold"]).count()
    spark.stop()
    return out
