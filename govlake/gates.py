"""The quality stages of a feed's batch (quality/): the gate between silver and gold, which validates the
batch refine delivered and stops it on a failed critical expectation, and the check on gold after publish.

Great Expectations takes seconds to import, so quality/ is imported where a quality stage runs (never at
DAG parse time); the silver stage starts that import on a thread while Spark refines (`prepare`)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pyspark import inheritable_thread_target

from catalog.trino_tables import register
from govlake import pipeline
from govlake.results import BatchState, QualityResult
from jobs.spark import get_spark
from schemas.contracts import FeedContract, get_contract
from schemas.datasets import GOVERNANCE
from schemas.quality import QualityGateFailed

if TYPE_CHECKING:
    from quality.gate import QualityRun

_preparing: threading.Thread | None = None
_deferred: set[str] | None = None  # departments whose quality report waits for `reports_deferred` to end


@contextmanager
def reports_deferred() -> Iterator[None]:
    """Within, the quality stages leave the department reports alone; on leaving, each department whose
    feeds were checked gets its report once (the province run: one report per department, not per feed)."""
    global _deferred
    _deferred = set()
    try:
        yield
    finally:
        departments, _deferred = _deferred, None
        if departments:
            from quality import report  # lazy: GX

            for department in sorted(departments):
                report.write_department(get_spark(), department)


def _report_now(contract: FeedContract) -> bool:
    if _deferred is None:
        return True
    _deferred.add(contract.department)
    return False


def prepare() -> None:
    """Import the gate and create the scorecard tables on a thread, while the caller's Spark job runs
    (loading GX is seconds of Python, during which the refining thread only waits for the JVM)."""
    global _preparing
    if _preparing is not None:
        return

    def ready() -> None:
        from quality import store  # lazy: imports GX (seconds), off the refining thread

        store.ensure(get_spark())

    _preparing = threading.Thread(target=inheritable_thread_target(ready), name="prepare quality gate")
    _preparing.start()


def _prepared() -> None:
    if _preparing is not None:
        _preparing.join()


def _summary(run: QualityRun, seconds: float, **more: object) -> QualityResult:
    summary = run.summary()
    return QualityResult(
        run_id=summary["quality_run_id"],
        expectations=summary["expectations"],
        failed_expectations=summary["failed_expectations"],
        failing_rows=summary["failing_rows"],
        data_docs=summary["data_docs"],
        seconds=round(seconds, 2),
        **more,
    )


def _validate(contract: FeedContract, batch: str) -> QualityResult:
    """Run the gate's suite on refine's cached rows if this process still has them, else on silver and
    quarantine as stored; the verdict, not yet enforced."""
    started = dt.datetime.now()  # before the import: loading GX is part of the gate's cost
    _prepared()
    from quality.gate import blocked_message, describe, validate_batch  # lazy: GX

    refined = pipeline.refined_batch(contract.key, batch)
    frame = refined.delivered() if refined is not None else None
    try:
        run = validate_batch(get_spark(), contract, batch, frame, report_department=_report_now(contract))
    finally:
        pipeline.release_refined(contract.key, batch)
    seconds = (dt.datetime.now() - started).total_seconds()
    blocked = blocked_message(contract, batch, run)
    warnings = [describe(run.table, r) for r in run.warnings]
    return _summary(run, seconds, blocked=blocked, warnings=warnings, on_refined_rows=frame is not None)


def _verdict(gate: QualityResult) -> tuple[str, str]:
    """(status, message) of the gate's batch-log entry."""
    if gate.blocked:
        return "blocked", gate.blocked
    return "ok", "; ".join(gate.warnings) or f"{gate.expectations} expectations met"


def quality_gate(state: BatchState) -> BatchState:
    """Quality gate between silver and gold: validate the batch, log the verdict, and stop the batch
    (QualityGateFailed, naming the table, expectations and counts) on a failed critical expectation."""
    contract, batch, started = get_contract(state.feed), state.batch, dt.datetime.now()
    gate = _validate(contract, batch)
    rows_in = state.silver.rows_in if state.silver else None
    status, message = _verdict(gate)
    pipeline.log_stage(contract, batch, "quality_gate", status, started, message, rows_in=rows_in)
    if gate.blocked:
        _register_quality_tables()
        raise QualityGateFailed(gate.blocked)
    return state.with_(gate=gate)


def quality_gold(state: BatchState) -> BatchState:
    """The same contract's suite on gold after publish; recorded in the scorecard, never un-publishes."""
    contract, batch, started = get_contract(state.feed), state.batch, dt.datetime.now()
    from quality.gate import check_gold, describe, new_run_id  # lazy: GX

    def log(run: QualityRun) -> None:  # committed alongside the scorecard
        failed = run.blocking + run.warnings
        status = "failed" if run.blocking else "ok"
        message = "; ".join(describe(run.table, r) for r in failed) or f"{len(run.results)} expectations met"
        pipeline.log_stage(contract, batch, "quality_gold", status, started, message)

    run_id = state.gate.run_id if state.gate else new_run_id(batch)
    run = check_gold(get_spark(), contract, batch, run_id, alongside=log, report=_report_now(contract))
    return state.with_(gold_quality=_summary(run, (dt.datetime.now() - started).total_seconds()))


def _register_quality_tables() -> None:
    """Make a blocked run's scorecard and failing rows queryable at once (the Trino stage will not run)."""
    try:
        register([(GOVERNANCE, "quality_result"), (GOVERNANCE, "quality_failure")])
    except Exception as exc:  # Trino down must not hide the gate's own verdict
        print(f"quality tables not registered in Trino: {exc}")
