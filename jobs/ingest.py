"""Landing → bronze: raw rows, as delivered, with batch id, source file, line, ingest time and row hash.

Append-only and idempotent: a file bronze already holds for the batch with the same checksum is skipped,
and the append itself is a Delta idempotent write (txnAppId/txnVersion), so a crash and re-run never
doubles rows. A file of the batch delivered again with new content (a corrected re-delivery) is appended
beside its earlier version, which is then marked `_superseded` (jobs.versions).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import MapType, StringType, StructType

from jobs import tables, versions
from jobs.columns import meta_fields
from jobs.preflight import UNDECLARED, DeliveredFile
from schemas.contracts import FeedContract
from schemas.datasets import BRONZE, EXTRA, UNDECLARED_COL, feed_tables


@dataclass(frozen=True)
class IngestResult:
    files: int
    skipped_files: list[str]
    rows: int
    undeclared: tuple[str, ...] = ()  # undeclared fields found (schema drift), kept in bronze


def bronze_struct(contract: FeedContract) -> StructType:
    f = tables.field
    drift = (
        [f(UNDECLARED_COL, StringType(), "合同未声明的字段（模式漂移，JSON）")]
        if contract.undeclared_columns == "keep"
        else []
    )
    return StructType(
        [f(c.name, StringType(), f"{c.label}（原始值）") for c in contract.columns]
        + drift
        + [
            f(EXTRA, StringType(), "字段数与表头不符的行（原文）"),
            *meta_fields(
                "_batch_id",
                "_source_file",
                "_source_checksum",
                "_line",
                "_row_hash",
                "_ingested_at",
                labels={"_source_file": "来源文件（落地区相对路径）"},
            ),
            versions.superseded_field(),
        ]
    )


def ensure_bronze(spark: SparkSession, contract: FeedContract) -> None:
    bronze = tables.ensure(
        spark,
        BRONZE,
        contract.key,
        bronze_struct(contract),
        f"{contract.department_name} {contract.title}（贴源层，原样留存）",
        partition_by=("_batch_id",),
    )
    versions.ensure_column(spark, bronze, tables.table_path(feed_tables(contract).bronze))


def _local_path(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path)).resolve()


def read_lines(spark: SparkSession, files: list[DeliveredFile]) -> DataFrame:
    """Every line of the files with its 1-based line number, computed without a Python UDF.

    Spark splits a file into blocks; rows within a block keep file order, so a line's number is the
    count of lines in earlier blocks plus its position in its own block. Lines end at `\n` only, as
    preflight counts them (a CRLF line's `\r` is dropped); in a file preflight found a quoted field
    spanning lines in, those lines are joined back into their record, numbered by its first line.
    """
    raw = (
        spark.read.option("lineSep", "\n")
        .text([str(f.readable) for f in files])
        .select(
            F.col("value"),
            F.col("_metadata.file_path").alias("_fp"),
            F.col("_metadata.file_block_start").alias("_blk"),
            F.monotonically_increasing_id().alias("_mid"),
        )
    )
    blocks = raw.groupBy("_fp", "_blk").agg(F.min("_mid").alias("first"), F.count("*").alias("n")).collect()
    by_path = {f.readable.resolve(): f for f in files}
    offsets, seen = [], {}
    for b in sorted(blocks, key=lambda r: (r["_fp"], r["_blk"])):
        before = seen.get(b["_fp"], 0)
        f = by_path[_local_path(b["_fp"])]
        offsets.append((b["_fp"], b["_blk"], before + 1 - b["first"], versions.relative(f), f.sha256))
        seen[b["_fp"]] = before + b["n"]
    offsets_df = spark.createDataFrame(
        offsets, "_fp string, _blk long, _base long, _source_file string, _source_checksum string"
    )
    lines = raw.join(F.broadcast(offsets_df), ["_fp", "_blk"]).select(
        "value", (F.col("_mid") + F.col("_base")).alias("_line"), "_source_file", "_source_checksum"
    )
    spanning = [f.sha256 for f in files if f.spans]
    if spanning:
        whole = F.col("_source_checksum").isin(spanning)
        lines = lines.where(~whole).unionByName(_records(lines.where(whole)))
    cr = F.col("value").endswith("\r")
    return lines.withColumn(
        "value", F.when(cr, F.expr("substring(value, 1, length(value) - 1)")).otherwise(F.col("value"))
    )


def _records(lines: DataFrame) -> DataFrame:
    """Physical lines → CSV records: a line continues the record before it while the quotes before it
    are odd (a quoted field is open), as jobs.records counts them in preflight."""
    file = Window.partitionBy("_source_file").orderBy("_line")  # a path: two copies of a file stay apart
    quotes = F.length("value") - F.length(F.regexp_replace("value", '"', ""))
    before = F.sum(quotes).over(file.rowsBetween(Window.unboundedPreceding, -1))
    opened = lines.withColumn("_starts", F.coalesce(before, F.lit(0)) % 2 == 0)
    first = F.max(F.when(F.col("_starts"), F.col("_line"))).over(
        file.rowsBetween(Window.unboundedPreceding, 0)
    )
    parts = F.array_sort(F.collect_list(F.struct("_line", "value")))
    return (
        opened.withColumn("_record", first)
        .groupBy("_source_file", "_source_checksum", "_record")
        .agg(F.array_join(F.transform(parts, lambda p: p["value"]), "\n").alias("value"))
        .select("value", F.col("_record").alias("_line"), "_source_file", "_source_checksum")
    )


def _meta(batch_id: str, row_text: Column) -> list[Column]:
    return [
        F.lit(batch_id).alias("_batch_id"),
        F.col("_source_file"),
        F.col("_source_checksum"),
        F.col("_line"),
        F.sha2(row_text, 256).alias("_row_hash"),
        F.current_timestamp().alias("_ingested_at"),
        F.lit(False).alias(versions.SUPERSEDED),
    ]


def _undeclared_json(pairs: list[tuple[str, Column]]) -> Column:
    if not pairs:
        return F.lit(None).cast("string")
    return F.to_json(F.struct(*[col.alias(name) for name, col in pairs]))


def _drift(contract: FeedContract, undeclared: Column) -> list[Column]:
    return [undeclared.alias(UNDECLARED_COL)] if contract.undeclared_columns == "keep" else []


def to_bronze_rows(
    contract: FeedContract, lines: DataFrame, headers: tuple[str, ...], batch_id: str
) -> DataFrame:
    """CSV lines → raw string fields by the header's order; undeclared fields kept as JSON. A line with
    more or fewer fields than the header keeps its whole text in `_extra` (refine: BAD_FIELD_COUNT)."""
    ddl = ", ".join(f"`_f{i}` STRING" for i in range(len(headers))) + f", `{EXTRA}` STRING"
    options = {
        "sep": contract.delimiter,
        "escape": '"',  # RFC 4180: "" in a quoted field is a quote
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": EXTRA,
    }
    parsed = F.from_csv(F.col("value"), ddl, options)
    position = {h: i for i, h in enumerate(headers)}
    if contract.header:
        lines = lines.where(F.col("_line") > 1)
    lines = lines.where(F.length("value") > 0)  # blank lines carry no record
    undeclared = [(h[1:], parsed[f"_f{i}"]) for i, h in enumerate(headers) if h.startswith(UNDECLARED)]
    return lines.select(
        *[parsed[f"_f{position[c.name]}"].alias(c.name) for c in contract.columns],
        *_drift(contract, _undeclared_json(undeclared)),
        parsed[EXTRA].alias(EXTRA),
        *_meta(batch_id, F.col("value")),
    )


def jsonl_to_bronze_rows(contract: FeedContract, lines: DataFrame, batch_id: str) -> DataFrame:
    """JSON Lines → raw fields by key; a line that is not a JSON object keeps its text in `_extra`."""
    parsed = F.from_json(F.col("value"), MapType(StringType(), StringType()))
    declared = F.array(*[F.lit(c.header) for c in contract.columns])
    extra_keys = F.map_filter(parsed, lambda k, v: ~F.array_contains(declared, k))
    undeclared = F.when(F.size(extra_keys) > 0, F.to_json(extra_keys))
    lines = lines.where(F.length(F.trim("value")) > 0)
    return lines.select(
        *[parsed[c.header].alias(c.name) for c in contract.columns],
        *_drift(contract, undeclared),
        F.when(parsed.isNull(), F.col("value")).alias(EXTRA),
        *_meta(batch_id, F.col("value")),
    )


def parquet_to_bronze_rows(
    spark: SparkSession, contract: FeedContract, files: list[DeliveredFile], batch_id: str
) -> DataFrame:
    """Parquet → every field as its string form; a row's `_line` is its 1-based position in the file."""
    headers = files[0].headers
    df = spark.read.parquet(*[str(f.readable) for f in files])
    # contract name (or "?<field>" if undeclared) → the delivered column as text
    delivered = {h: h[1:] if h.startswith(UNDECLARED) else contract.column(h).header for h in headers}
    as_text = {h: F.col(f"`{name}`").cast("string") for h, name in delivered.items()}
    paths = spark.createDataFrame(
        [(f.readable.resolve().as_uri(), versions.relative(f), f.sha256) for f in files],
        "_uri string, _source_file string, _source_checksum string",
    )
    rows = df.select(
        "*",
        F.col("_metadata.file_path").alias("_fp"),
        (F.col("_metadata.row_index") + 1).alias("_line"),
    )
    same_file = F.regexp_replace("_fp", "^file:/+", "/") == F.regexp_replace("_uri", "^file:/+", "/")
    rows = rows.join(F.broadcast(paths), same_file)
    undeclared = [(h[1:], as_text[h]) for h in headers if h.startswith(UNDECLARED)]
    record = F.to_json(F.struct(*[as_text[h].alias(delivered[h]) for h in headers]))
    return rows.select(
        *[as_text[c.name].alias(c.name) for c in contract.columns],
        *_drift(contract, _undeclared_json(undeclared)),
        F.lit(None).cast("string").alias(EXTRA),
        *_meta(batch_id, record),
    )


def _undeclared_found(
    contract: FeedContract, rows: DataFrame, groups: list[tuple[str, ...]]
) -> tuple[str, ...]:
    if contract.undeclared_columns != "keep":
        return ()
    if contract.format != "jsonl":
        return tuple(sorted({h[1:] for g in groups for h in g if h.startswith(UNDECLARED)}))
    keys = rows.where(F.col(UNDECLARED_COL).isNotNull()).select(
        F.explode(F.map_keys(F.from_json(UNDECLARED_COL, MapType(StringType(), StringType())))).alias("k")
    )
    return tuple(sorted(r["k"] for r in keys.distinct().limit(100).collect()))


def ingest(
    spark: SparkSession, contract: FeedContract, batch_id: str, files: list[DeliveredFile]
) -> IngestResult:
    ensure_bronze(spark, contract)
    found = versions.of_batch(spark, contract, batch_id)
    known = {(v.source_file, v.checksum) for v in found}
    new = [f for f in files if (versions.relative(f), f.sha256) not in known]
    skipped = [f.path.name for f in files if f not in new]
    written, undeclared = _append(spark, contract, batch_id, new) if new else (0, ())
    versions.mark(spark, contract, batch_id, files, found)  # also when all were skipped: converges
    return IngestResult(len(new), skipped, written, undeclared)


def _append(
    spark: SparkSession, contract: FeedContract, batch_id: str, new: list[DeliveredFile]
) -> tuple[int, tuple[str, ...]]:
    """Append the new files' rows in one idempotent commit; (rows written, undeclared fields found)."""
    # Files of one delivery share a column order only if their headers agree; read each group once.
    groups: dict[tuple[str, ...], list[DeliveredFile]] = {}
    for f in new:
        groups.setdefault(f.headers, []).append(f)
    if contract.format == "parquet":
        frames = [parquet_to_bronze_rows(spark, contract, g, batch_id) for g in groups.values()]
    elif contract.format == "jsonl":
        frames = [jsonl_to_bronze_rows(contract, read_lines(spark, new), batch_id)]
    else:
        frames = [to_bronze_rows(contract, read_lines(spark, g), h, batch_id) for h, g in groups.items()]
    rows = frames[0]
    for frame in frames[1:]:
        rows = rows.unionByName(frame)
    versions_new = sorted(f"{versions.relative(f)}:{f.sha256}" for f in new)
    txn = hashlib.sha256("|".join([batch_id, *versions_new]).encode()).hexdigest()[:32]
    (
        rows.write.format("delta")
        .mode("append")
        .option("txnAppId", f"{contract.key}:{txn}")
        .option("txnVersion", 1)
        .save(tables.table_path(feed_tables(contract).bronze))
    )
    written = tables.last_commit_metrics(spark, BRONZE, contract.key).get("numOutputRows", 0)
    appended = _this_batch(spark, contract, batch_id).where(
        F.col("_source_checksum").isin([f.sha256 for f in new])
    )
    return written, _undeclared_found(contract, appended, list(groups))


def _this_batch(spark: SparkSession, contract: FeedContract, batch_id: str) -> DataFrame:
    return (
        spark.read.format("delta")
        .load(tables.table_path(feed_tables(contract).bronze))
        .where(F.col("_batch_id") == batch_id)
    )
