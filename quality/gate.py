"""The quality gate between silver and gold, and the check on gold after publish.

A critical expectation that fails stops promotion: the task raises `QualityGateFailed` naming the
table, the expectations and their failing counts; gold is not touched and the batch stays in silver.
Warnings pass but count in the score. Every run writes its scorecard, its failing rows and GX Data
Docs; the department's report is rewritten once per DAG run (after the gold check, or when the gate
blocks).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from jobs.spark import meanwhile
from lineage.emit import emit_quality_assertions
from quality import report, store
from quality.frames import gate_frame, gold_frame
from quality.runner import ExpectationResult, evaluate, quality_home
from quality.suite import GATE, GOLD, build_rules
from schemas.contracts import FeedContract
from schemas.datasets import feed_tables
from schemas.quality import QualityGateFailed


@dataclass(frozen=True)
class QualityRun:
    run_id: str
    table: str
    results: list[ExpectationResult]
    failing_rows: int
    docs: Path | None

    @property
    def blocking(self) -> list[ExpectationResult]:
        return [r for r in self.results if r.severity == "critical" and not r.success]

    @property
    def warnings(self) -> list[ExpectationResult]:
        return [r for r in self.results if r.severity == "warning" and not r.success]

    def summary(self) -> dict:
        return {
            "quality_run_id": self.run_id,
            "expectations": len(self.results),
            "failed_expectations": [r.expectation for r in self.results if not r.success],
            "failing_rows": self.failing_rows,
            "data_docs": str(self.docs) if self.docs else None,
        }


def new_run_id(batch: str) -> str:
    airflow_run = os.environ.get("AIRFLOW_CTX_DAG_RUN_ID")
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", f"{batch}.{airflow_run or 'local'}.{stamp}")[:120]


def describe(table: str, r: ExpectationResult) -> str:
    share = f"{r.failed / r.evaluated:.2%}" if r.evaluated else "n/a"
    limit = f", allowed {1 - r.mostly:.2%}" if r.mostly else ""
    return (
        f"{table}: {r.expectation} ({r.expectation_type}, {r.dimension}) failed {r.failed} of {r.evaluated} "
        f"rows ({share}{limit})"
    )


def _run(
    spark: SparkSession,
    contract: FeedContract,
    batch: str,
    stage: str,
    run_id: str,
    as_of: dt.date | None,
    frame: DataFrame | None = None,
    alongside: Callable[[QualityRun], None] | None = None,
    report_department: bool = True,
) -> QualityRun:
    """Validate, record the run, and (unless `report_department` is off) rewrite the department's report
    after the gold check or a blocked gate."""
    rules = build_rules(contract, stage, as_of)
    if stage == GATE:
        table = str(feed_tables(contract).silver)
        df = frame if frame is not None else gate_frame(spark, contract, batch)
    else:
        table, df = str(feed_tables(contract).gold), gold_frame(spark, contract)
    docs = quality_home() / "data_docs" / contract.key / run_id / stage
    store.ensure(spark)
    # After the gold check the department report is rewritten (once per DAG run): what it reads from the
    # tables is gathered while the check validates, and this run's results are added when it is done.
    gather = partial(report.gather, spark, contract.department, without=(contract.key, GOLD))
    with meanwhile(gather if stage == GOLD and report_department else None) as gathering:
        results, failing, build_docs = evaluate(
            spark,
            contract,
            df,
            rules,
            lambda rows: store.write_failing(spark, rows),
            run_id=run_id,
            stage=stage,
            table=table,
            batch=batch,
            docs_dir=docs,
        )
        run = QualityRun(run_id, table, results, failing, docs / "index.html")
        # Data Docs are rendered and `alongside` (e.g. the task's batch-log commit) runs while the
        # scorecard is committed.
        with meanwhile(build_docs), meanwhile(alongside, run):
            store.write_results(spark, results)
    emit_quality_assertions(table, batch, [(r.expectation, r.success, r.column) for r in results])
    if gathering is not None:
        report.render(gathering.result(), results)
    elif (
        run.blocking and report_department
    ):  # a blocked gate ends the DAG run: report it, with the failing rows just written
        report.write_department(spark, contract.department)
    return run


def validate_batch(
    spark: SparkSession,
    contract: FeedContract,
    batch: str,
    frame: DataFrame | None = None,
    run_id: str | None = None,
    as_of: dt.date | None = None,
    report_department: bool = True,
) -> QualityRun:
    """Validate the batch's silver candidate and its quarantined rows, and record the run; no verdict.
    `frame` is the batch as refine delivered it (`jobs.refine.delivered`, still cached in the silver
    step); without it the batch is read back from silver and quarantine."""
    run_id = run_id or new_run_id(batch)
    return _run(spark, contract, batch, GATE, run_id, as_of, frame, report_department=report_department)


def blocked_message(contract: FeedContract, batch: str, run: QualityRun) -> str | None:
    """Why the gate stops the batch (table, expectations, failing counts), or None if it passes."""
    if not run.blocking:
        return None
    return (
        f"quality gate blocked {contract.key} batch {batch} (run {run.run_id}; not published to "
        f"{feed_tables(contract).gold}): " + "; ".join(describe(run.table, r) for r in run.blocking)
    )


def check_batch(
    spark: SparkSession,
    contract: FeedContract,
    batch: str,
    run_id: str | None = None,
    as_of: dt.date | None = None,
) -> QualityRun:
    """Gate the batch as stored in silver and quarantine; raise if a critical rule fails."""
    run = validate_batch(spark, contract, batch, None, run_id, as_of)
    message = blocked_message(contract, batch, run)
    if message:
        raise QualityGateFailed(message)
    return run


def check_gold(
    spark: SparkSession,
    contract: FeedContract,
    batch: str,
    run_id: str,
    as_of: dt.date | None = None,
    alongside: Callable[[QualityRun], None] | None = None,
    report: bool = True,
) -> QualityRun:
    """Check the published gold table; failures are recorded (the batch is already in gold).
    `alongside(run)` is called once the results are known, while the scorecard is committed; `report`
    off leaves the department's report to the caller."""
    return _run(spark, contract, batch, GOLD, run_id, as_of, alongside=alongside, report_department=report)
