"""Runs a generated suite on a Spark DataFrame through GX's Spark datasource, in few Spark passes.

The frame is prepared once (helper joins, native flag columns) and cached, unless it is a projection
of refine's cached rows; GX validates it (its Spark engine bundles the aggregate metrics of all
expectations into one pass); failing rows are then pulled in one more pass, only for expectations that
found any. Data Docs are built per run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import reduce
from operator import or_
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from infra.settings import settings
from jobs.spark import meanwhile
from quality.frames import META_COLUMNS, prepare, reference_keys
from quality.suite import Rule
from schemas.contracts import FeedContract

log = logging.getLogger(__name__)
# GX computes each expectation's verdict; its per-expectation sample lists cost a Spark job each, so by
# default it returns verdicts only and the counts come from one native aggregate (native_counts).
DOCS_SITE = "govlake"


@dataclass(frozen=True)
class ExpectationResult:
    run_id: str
    feed: str
    table: str
    batch_id: str
    stage: str
    department: str
    dimension: str
    expectation: str
    expectation_type: str
    column: str | None
    severity: str
    mostly: float | None
    evaluated: int
    failed: int
    score: float
    success: bool
    observed: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def quality_home() -> Path:
    return settings().home / "quality"


def _context(docs_dir: Path) -> gx.data_context.AbstractDataContext:
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    ctx.variables.data_docs_sites = {
        DOCS_SITE: {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    }
    return ctx


DocsBuilder = Callable[[], object]


def run_suite(
    df: DataFrame, rules: list[Rule], suite_name: str, run_id: str, docs_dir: Path | None
) -> tuple[list[dict[str, Any]], DocsBuilder | None]:
    """Validate `df` with GX; one result dict per rule (success, counts, observed value), and what
    builds the run's Data Docs (None without `docs_dir`), to run while the scorecard is committed."""
    ctx = _context(docs_dir or Path("/nonexistent"))
    # GX would persist the frame it is handed and never unpersist it: a second, leaked cache of refine's
    # rows in the silver task (measured: GX's passes 7.5 s → 4.4 s at 1,000,000 rows). `prepare`
    # decides what is cached, and its caller unpersists it.
    source = ctx.data_sources.add_spark("lake", persist=False)
    batch_def = source.add_dataframe_asset(suite_name).add_batch_definition_whole_dataframe("batch")
    suite = ctx.suites.add(gx.ExpectationSuite(name=suite_name))
    for r in rules:
        suite.add_expectation(r.expectation)
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=suite_name, data=batch_def, suite=suite))
    checkpoint = ctx.checkpoints.add(
        gx.Checkpoint(
            name=suite_name,
            validation_definitions=[vd],
            actions=[],
            result_format=settings().quality_result_format,
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": df}, run_id=RunIdentifier(run_name=run_id))
    by_name = {}
    for vr in result.run_results.values():
        for er in vr.results:
            meta = er.expectation_config.meta or {}
            res = er.result or {}
            by_name[meta.get("name")] = {
                "success": bool(er.success),
                "element_count": res.get("element_count"),
                "unexpected_count": res.get("unexpected_count"),
                "observed": res.get("observed_value", res.get("partial_unexpected_list", ""))
                if not er.exception_info or not er.exception_info.get("raised_exception")
                else f"error: {er.exception_info.get('exception_message')}",
            }
    raw = [by_name.get(r.name, {"success": False, "observed": "not evaluated"}) for r in rules]
    # The run's result is in the context's validation-results store: the site renders it from there.
    return raw, (lambda: ctx.build_data_docs(site_names=[DOCS_SITE])) if docs_dir else None


def failing_rows(
    df: DataFrame, contract: FeedContract, bad: list[Rule], context: dict[str, Any]
) -> DataFrame:
    """One row per (failing row, expectation): file, line, key and the offending value — one Spark pass."""
    key = F.concat_ws("|", *[F.col(k).cast("string") for k in contract.primary_key])
    hits = [
        F.when(
            failing(r),
            F.struct(
                F.lit(r.name).alias("expectation"),
                F.lit(r.dimension).alias("dimension"),
                F.lit(r.severity).alias("severity"),
                F.lit(r.column).alias("column"),
                (F.col(f"_raw_{r.column}") if f"_raw_{r.column}" in df.columns else F.col(r.column))
                .cast("string")
                .alias("value"),
            ),
        )
        for r in bad
    ]
    return (
        df.where(reduce(or_, [failing(r) for r in bad]))
        .select(key.alias("key"), *META_COLUMNS, F.filter(F.array(*hits), lambda h: h.isNotNull()).alias("h"))
        .select(
            *[F.lit(v).alias(k) for k, v in context.items()],
            "key",
            F.col("_source_file").alias("source_file"),
            F.col("_line").alias("line"),
            F.explode("h").alias("h"),
        )
        .select(
            *context,
            "h.expectation",
            "h.dimension",
            "h.severity",
            "h.column",
            "key",
            "h.value",
            "source_file",
            "line",
        )
    )


def failing(r: Rule) -> Column:
    return ~F.col(r.flag) if r.flag else F.coalesce(r.fails(), F.lit(False))


def native_counts(df: DataFrame, rules: list[Rule]) -> dict[str, Any]:
    """Rows, failing rows per rule and the observed maximum of max-rules (by rule name), in one Spark
    aggregate."""
    aggs = {"rows": F.count(F.lit(1))}
    for r in rules:
        if r.fails is not None:
            aggs[r.name] = F.sum(F.when(failing(r), 1).otherwise(0))
        elif r.type == "expect_column_max_to_be_between":
            aggs[r.name] = F.max(r.expectation.column).cast("string")
    values = df.agg(*[a.alias(f"a{i}") for i, a in enumerate(aggs.values())]).first()
    return dict(zip(aggs, values, strict=True))


def evaluate(
    spark: SparkSession,
    contract: FeedContract,
    df: DataFrame,
    rules: list[Rule],
    write_failing: Callable[[DataFrame], None],
    *,
    run_id: str,
    stage: str,
    table: str,
    batch: str,
    docs_dir: Path | None,
) -> tuple[list[ExpectationResult], int, DocsBuilder | None]:
    """Validate; returns the results, how many failing rows were written (one per failing row and
    expectation) and what builds the Data Docs (`run_suite`). The failing rows, known from the native
    counts before GX runs, are handed to `write_failing` on a second thread while GX validates, so
    that their Delta commit overlaps GX's passes; both are done when this returns."""
    references = reference_keys(spark, contract)
    skipped = [r.name for r in rules if any(n.startswith("_ref_") and n not in references for n in r.needs)]
    if skipped:
        log.warning("%s: no target table of %s exists yet; skipped", contract.key, ", ".join(skipped))
        rules = [r for r in rules if r.name not in skipped]
    prepared, cached = prepare(spark, contract, df, rules, references)
    try:
        counts = native_counts(prepared, rules)  # also fills the cache GX then reads
        bad = [r for r in rules if r.fails is not None and counts[r.name]]
        context = {
            "run_id": run_id,
            "feed": contract.key,
            "table": table,
            "batch_id": batch,
            "stage": stage,
            "department": contract.department,
        }
        rows = failing_rows(prepared, contract, bad, context) if bad else None
        with meanwhile(write_failing if rows is not None else None, rows):
            raw, docs = run_suite(prepared, rules, f"{table}.{stage}", run_id, docs_dir)
    finally:
        for frame in cached:
            frame.unpersist()
    results = [_result(r, res, counts, context) for r, res in zip(rules, raw, strict=True)]
    return results, sum(int(counts[r.name]) for r in bad), docs


def _result(
    r: Rule, res: dict[str, Any], counts: dict[str, Any], context: dict[str, str]
) -> ExpectationResult:
    table_level = r.fails is None
    evaluated = 1 if table_level else int(counts["rows"])
    failed = (0 if res["success"] else 1) if table_level else int(counts[r.name] or 0)
    observed = res.get("observed") or (counts.get(r.name) if table_level else None)
    return ExpectationResult(
        **context,
        dimension=r.dimension,
        expectation=r.name,
        expectation_type=r.type,
        column=r.column,
        severity=r.severity,
        mostly=r.mostly,
        evaluated=evaluated,
        failed=failed,
        score=round(1 - failed / evaluated, 6) if evaluated else 1.0,
        success=res["success"],
        observed="" if observed is None else str(observed)[:1000],
    )
