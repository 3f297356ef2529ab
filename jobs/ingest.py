"""Landing → bronze: raw rows, as delivered, with batch id, source file, line, ingest time and row hash.

Append-only and idempotent: a file whose checksum bronze already holds is skipped, and the append
itself is a Delta idempotent write (txnAppId/txnVersion), so a crash and re-run never doubles rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructType, TimestampType

from govlake.config import settings
from govlake.contracts import FeedContract
from jobs import tables
from jobs.preflight import DeliveredFile

BRONZE = "bronze"
EXTRA = "_extra"  # the value of a surplus field, if a line has more fields than the header


@dataclass(frozen=True)
class IngestResult:
    files: int
    skipped_files: list[str]
    rows: int


def bronze_struct(contract: FeedContract) -> StructType:
    f = tables.field
    return StructType(
        [f(c.name, StringType(), f"{c.label}（原始值）") for c in contract.columns]
        + [
            f(EXTRA, StringType(), "多出的字段（行字段数多于表头）"),
            f("_batch_id", StringType(), "批次号", nullable=False),
            f("_source_file", StringType(), "来源文件（落地区相对路径）", nullable=False),
            f("_source_checksum", StringType(), "来源文件 SHA-256", nullable=False),
            f("_line", LongType(), "来源文件行号", nullable=False),
            f("_row_hash", StringType(), "原始行 SHA-256", nullable=False),
            f("_ingested_at", TimestampType(), "入湖时间", nullable=False),
        ]
    )


def ensure_bronze(spark: SparkSession, contract: FeedContract) -> None:
    tables.ensure(
        spark,
        BRONZE,
        contract.key,
        bronze_struct(contract),
        f"{contract.department_name} {contract.title}（贴源层，原样留存）",
        partition_by=("_batch_id",),
    )


def already_ingested(spark: SparkSession, contract: FeedContract, checksums: list[str]) -> set[str]:
    df = spark.read.format("delta").load(tables.path(BRONZE, contract.key))
    found = df.where(F.col("_source_checksum").isin(checksums)).select("_source_checksum").distinct()
    return {r[0] for r in found.collect()}


def _local_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path)).resolve()


def read_lines(spark: SparkSession, files: list[DeliveredFile]) -> DataFrame:
    """Every line of the files with its 1-based line number, computed without a Python UDF.

    Spark splits a file into blocks; rows within a block keep file order, so a line's number is the
    count of lines in earlier blocks plus its position in its own block.
    """
    raw = spark.read.text([str(f.readable) for f in files]).select(
        F.col("value"),
        F.col("_metadata.file_path").alias("_fp"),
        F.col("_metadata.file_block_start").alias("_blk"),
        F.monotonically_increasing_id().alias("_mid"),
    )
    blocks = raw.groupBy("_fp", "_blk").agg(F.min("_mid").alias("first"), F.count("*").alias("n")).collect()
    by_path = {f.readable.resolve(): f for f in files}
    landing = settings().landing
    offsets, seen = [], {}
    for b in sorted(blocks, key=lambda r: (r["_fp"], r["_blk"])):
        before = seen.get(b["_fp"], 0)
        f = by_path[_local_path(b["_fp"])]
        rel = str(f.path.relative_to(landing)) if f.path.is_relative_to(landing) else str(f.path)
        offsets.append((b["_fp"], b["_blk"], before + 1 - b["first"], rel, f.sha256))
        seen[b["_fp"]] = before + b["n"]
    offsets_df = spark.createDataFrame(
        offsets, "_fp string, _blk long, _base long, _source_file string, _source_checksum string"
    )
    return raw.join(F.broadcast(offsets_df), ["_fp", "_blk"]).select(
        "value", (F.col("_mid") + F.col("_base")).alias("_line"), "_source_file", "_source_checksum"
    )


def to_bronze_rows(
    contract: FeedContract, lines: DataFrame, headers: tuple[str, ...], batch_id: str
) -> DataFrame:
    ddl = ", ".join(f"`{name}` STRING" for name in (*headers, EXTRA))
    parsed = F.from_csv(F.col("value"), ddl, {"sep": contract.delimiter, "mode": "PERMISSIVE"})
    if contract.header:
        lines = lines.where(F.col("_line") > 1)
    lines = lines.where(F.length("value") > 0)  # blank lines carry no record
    return lines.select(
        *[parsed[c.name].alias(c.name) for c in contract.columns],
        parsed[EXTRA].alias(EXTRA),
        F.lit(batch_id).alias("_batch_id"),
        "_source_file",
        "_source_checksum",
        "_line",
        F.sha2(F.col("value"), 256).alias("_row_hash"),
        F.current_timestamp().alias("_ingested_at"),
    )


def ingest(
    spark: SparkSession, contract: FeedContract, batch_id: str, files: list[DeliveredFile]
) -> IngestResult:
    ensure_bronze(spark, contract)
    known = already_ingested(spark, contract, [f.sha256 for f in files])
    new = [f for f in files if f.sha256 not in known]
    skipped = [f.path.name for f in files if f.sha256 in known]
    if not new:
        return IngestResult(0, skipped, 0)
    # Files of one delivery share a column order only if their headers agree; read each group once.
    groups: dict[tuple[str, ...], list[DeliveredFile]] = {}
    for f in new:
        groups.setdefault(f.headers, []).append(f)
    frames = [to_bronze_rows(contract, read_lines(spark, g), h, batch_id) for h, g in groups.items()]
    rows = frames[0]
    for frame in frames[1:]:
        rows = rows.unionByName(frame)
    txn = hashlib.sha256("|".join(sorted(f.sha256 for f in new)).encode()).hexdigest()[:32]
    (
        rows.write.format("delta")
        .mode("append")
        .option("txnAppId", f"{contract.key}:{txn}")
        .option("txnVersion", 1)
        .save(tables.path(BRONZE, contract.key))
    )
    written = tables.last_commit_metrics(spark, BRONZE, contract.key).get("numOutputRows", 0)
    return IngestResult(len(new), skipped, written)
