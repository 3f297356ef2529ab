"""The household feed's three layers in polars + delta-rs (`deltalake`), no JVM: the same layers, columns
and checks as `spark_bare`, as polars expressions.

- bronze: the CSV read as strings (line = row index + 2: one record per line after the header, as our
  ingest assumes too), plus `_batch_id`, `_source_file`, `_line`, `_ingested_at`; appended to Delta.
  A line with more fields than the header makes polars' reader fail, so BAD_FIELD_COUNT never fires here.
- silver: trimmed (spaces, as Spark's trim), typed, checked in refine's order; bad rows appended to the
  quarantine table with field, reason, problems and the raw record, good rows to silver.
- gold: a delta-rs MERGE on the resident ID (update when matched, insert when not).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from benchmarks.baselines import household as H


def bronze(csv: Path, source_file: str, batch: str, path: str) -> None:
    df = pl.read_csv(csv, infer_schema=False, row_index_name="_line", row_index_offset=2)
    if tuple(df.columns[1:]) != H.HEADERS:
        raise ValueError(f"{csv}: unexpected header {df.columns[1:]}")
    df = df.rename(dict(zip(H.HEADERS, H.NAMES, strict=True))).select(
        *H.NAMES,
        pl.lit(None, pl.String).alias("_extra"),
        pl.lit(batch).alias("_batch_id"),
        pl.lit(source_file).alias("_source_file"),
        pl.col("_line").cast(pl.Int64),
        pl.lit(datetime.now(UTC)).alias("_ingested_at"),
    )
    df.write_delta(path, mode="append", delta_write_options={"partition_by": ["_batch_id"]})


def _clean(name: str) -> pl.Expr:
    value = pl.col(name).str.strip_chars(" ")
    value = value.str.to_uppercase() if name in H.UPPER else value
    return pl.when(value != "").then(value)


def _date(text: pl.Expr) -> pl.Expr:
    return text.str.to_date("%Y%m%d", strict=False)


def _check_char(rid: pl.Expr) -> pl.Expr:
    digits = [rid.str.slice(i, 1).cast(pl.Int64, strict=False) for i in range(17)]
    total = sum((d * w for d, w in zip(digits, H.ID_WEIGHTS, strict=True)), pl.lit(0))
    return pl.lit(H.ID_CHECK_CHARS).str.slice(total % 11, 1)


def _problems() -> list[pl.Expr]:
    """One expression per refine check, in refine's order: the problem's text on a failing row."""
    text = {n: pl.col(f"_c_{n}") for n in H.NAMES}
    rid = text["resident_id"]
    usable = rid.is_not_null() & rid.str.contains(H.ID_FORMAT)
    ever, current = (sorted(codes) for codes in H.division_codes())
    fails = {
        ("resident_id", "BAD_FORMAT"): rid.is_not_null() & ~rid.str.contains(H.ID_FORMAT),
        ("resident_id", "BAD_CHECK_DIGIT"): usable & (_check_char(rid) != rid.str.slice(17, 1)),
        ("resident_id", "UNKNOWN_REGION"): usable & ~rid.str.slice(0, 6).is_in(ever),
        ("gender", "NOT_ALLOWED"): text["gender"].is_not_null() & ~text["gender"].is_in(H.GENDERS),
        ("admin_code", "UNKNOWN_ADMIN_CODE"): text["admin_code"].is_not_null()
        & ~text["admin_code"].is_in(current),
        ("phone", "BAD_FORMAT"): text["phone"].is_not_null() & ~text["phone"].str.contains(H.PHONE),
        ("_extra", "BAD_FIELD_COUNT"): pl.col("_extra").is_not_null(),
        ("birth_date", "ID_BIRTH_MISMATCH"): usable & (_date(rid.str.slice(6, 8)) != pl.col("birth_date")),
        ("gender", "ID_GENDER_MISMATCH"): usable
        & (
            pl.when(rid.str.slice(16, 1).cast(pl.Int64, strict=False) % 2 == 1)
            .then(pl.lit("1"))
            .otherwise(pl.lit("2"))
            != text["gender"]
        ),
    }
    fails |= {(n, "MISSING_FIELD"): text[n].is_null() for n in H.REQUIRED}
    fails |= {(n, "BAD_TYPE"): text[n].is_not_null() & pl.col(n).is_null() for n in H.DATES}
    return [pl.when(fails[p].fill_null(False)).then(pl.lit(":".join(p))) for p in H.PROBLEMS]


def checked(bronze_path: str, batch: str) -> pl.DataFrame:
    """The batch's rows typed, with `_problems` (["field:REASON", …]) and duplicates marked."""
    df = pl.scan_delta(bronze_path).filter(pl.col("_batch_id") == batch)
    df = df.with_columns(*[_clean(n).alias(f"_c_{n}") for n in H.NAMES]).select(
        *[(_date(pl.col(f"_c_{n}")) if n in H.DATES else pl.col(f"_c_{n}")).alias(n) for n in H.NAMES],
        *[pl.col(f"_c_{n}") for n in H.NAMES],
        *[pl.col(n).alias(f"_raw_{n}") for n in H.NAMES],
        "_extra",
        "_batch_id",
        "_source_file",
        "_line",
        "_ingested_at",
    )
    df = df.with_columns(pl.concat_list(_problems()).list.drop_nulls().alias("_problems"))
    # Duplicate keys: among otherwise valid rows (ordered first), the first by file and line wins.
    valid = pl.col("_problems").list.len() == 0
    df = df.sort(~valid, "_source_file", "_line")
    rank = pl.int_range(pl.len()).over(H.KEY)
    dup = (
        pl.when(valid & (rank > 0))
        .then(pl.lit([":".join(H.DUPLICATE)]))
        .otherwise(pl.lit([], pl.List(pl.String)))
    )
    return df.with_columns(pl.concat_list("_problems", dup).alias("_problems")).collect()


def silver(batch: str, paths: dict[str, str]) -> None:
    df = checked(paths["bronze"], batch)
    good = df.filter(pl.col("_problems").list.len() == 0)
    good = good.select(*H.NAMES, "_batch_id", "_source_file", "_line", "_ingested_at")
    good.write_delta(paths["silver"], mode="append", delta_write_options={"partition_by": ["_batch_id"]})
    first = pl.col("_problems").list.first().str.split(":")
    raw = pl.struct(*[pl.col(f"_raw_{n}").alias(n) for n in H.NAMES], "_extra").struct.json_encode()
    bad = df.filter(pl.col("_problems").list.len() > 0).select(
        "_batch_id",
        pl.col("_source_file").alias("source_file"),
        pl.col("_line").alias("line"),
        first.list.get(0).alias("field"),
        first.list.get(1).alias("reason"),
        pl.col("_problems").alias("problems"),
        raw.alias("raw"),
        pl.lit(datetime.now(UTC)).alias("quarantined_at"),
    )
    bad.write_delta(paths["quarantine"], mode="append")


def gold(batch: str, paths: dict[str, str]) -> None:
    source = (
        pl.scan_delta(paths["silver"])
        .filter(pl.col("_batch_id") == batch)
        .select(
            *H.NAMES, "_batch_id", "_source_file", "_line", pl.lit(datetime.now(UTC)).alias("_updated_at")
        )
        .collect()
    )
    if not Path(paths["gold"], "_delta_log").is_dir():
        DeltaTable.create(paths["gold"], source.to_arrow().schema)
    (
        DeltaTable(paths["gold"])
        .merge(source.to_arrow(), f"t.{H.KEY} = s.{H.KEY}", source_alias="s", target_alias="t")
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .execute()
    )


def run(csv: Path, source_file: str, warehouse: Path, batch: str) -> dict[str, object]:
    """The three layers, then count (outside the timings) what the tables hold."""
    out: dict[str, object] = {"jvm": 0.0}
    paths = {layer: str(warehouse / layer) for layer in ("bronze", "silver", "quarantine", "gold")}
    layers = {
        "bronze": lambda: bronze(csv, source_file, batch, paths["bronze"]),
        "silver": lambda: silver(batch, paths),
        "gold": lambda: gold(batch, paths),
    }
    for name, layer in layers.items():
        t = time.monotonic()
        layer()
        out[name] = time.monotonic() - t
    bad = pl.read_delta(paths["quarantine"]).group_by("reason").len()
    out["reasons"] = dict(zip(bad["reason"].to_list(), bad["len"].to_list(), strict=True))
    out["gold_rows"] = pl.read_delta(paths["gold"]).height
    return out
