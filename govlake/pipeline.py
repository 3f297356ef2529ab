"""The stages of a feed's run, as the DAG tasks call them. Each returns a small JSON-able summary
(passed between tasks as XCom) and records its outcome in governance.batch_log."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.settings import settings
from schemas.contracts import FeedContract, batch_id, get_contract

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from quality.gate import QualityRun


def latest_batch(contract: FeedContract) -> str:
    root = settings().landing / contract.department / contract.feed
    batches = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not batches:
        raise FileNotFoundError(f"no delivery under {root}")
    return batches[-1]


def _log(
    contract: FeedContract, batch: str, stage: str, status: str, started: dt.datetime, **kw: Any
) -> None:
    from jobs import batch_log
    from jobs.spark import get_spark

    batch_log.record(get_spark(), batch_log.entry(contract.key, batch, stage, status, started, **kw))


def preflight(feed: str, batch: str | None) -> dict[str, Any]:
    """Reject the whole delivery, before anything is written, if a file breaks its contract."""
    from jobs.preflight import DeliveryRejected, batch_dir, check_delivery

    contract = get_contract(feed)
    batch = batch_id(batch or latest_batch(contract))
    started = dt.datetime.now()
    s = settings()
    staging = s.home / "staging" / contract.key / batch
    try:
        files = check_delivery(contract, batch_dir(s.landing, contract, batch), staging)
    except DeliveryRejected as exc:
        _log(contract, batch, "preflight", "rejected", started, message=str(exc))  # the only Spark use here
        raise
    return {
        "feed": contract.key,
        "batch_id": batch,
        "preflight": {
            "started": started.isoformat(),
            "finished": dt.datetime.now().isoformat(),
            "lines": sum(f.lines for f in files),
        },
        "files": [
            {
                "path": str(f.path),
                "readable": str(f.readable),
                "sha256": f.sha256,
                "lines": f.lines,
                "headers": list(f.headers),
            }
            for f in files
        ],
    }


def bronze(plan: dict[str, Any]) -> dict[str, Any]:
    from jobs import batch_log
    from jobs.ingest import ingest
    from jobs.preflight import DeliveredFile
    from jobs.spark import get_spark

    contract, batch, started = get_contract(plan["feed"]), plan["batch_id"], dt.datetime.now()
    files = [
        DeliveredFile(Path(f["path"]), Path(f["readable"]), f["sha256"], f["lines"], tuple(f["headers"]))
        for f in plan["files"]
    ]
    pre = plan["preflight"]
    preflight_entry = batch_log.entry(
        contract.key,
        batch,
        "preflight",
        "ok",
        dt.datetime.fromisoformat(pre["started"]),
        finished_at=dt.datetime.fromisoformat(pre["finished"]),
        rows_in=pre["lines"],
        message=", ".join(Path(f["path"]).name for f in plan["files"]),
    )
    result = ingest(get_spark(), contract, batch, files)
    if result.files:  # the source header → bronze column mapping the Spark listener cannot see
        from lineage.emit import emit_contract_lineage

        emit_contract_lineage(
            contract, batch, [f.path for f in files if f.path.name not in result.skipped_files]
        )
    status = "ok" if result.files else "skipped"
    message = f"already ingested: {', '.join(result.skipped_files)}" if result.skipped_files else ""
    if result.undeclared:  # schema drift: kept in bronze._undeclared, reported, not rejected
        message = (message + "; " if message else "") + (
            f"schema drift: undeclared field(s) {', '.join(result.undeclared)} kept in "
            f"bronze.{contract.key}._undeclared"
        )
    bronze_entry = batch_log.entry(
        contract.key, batch, "bronze", status, started, rows_out=result.rows, message=message
    )
    batch_log.record(get_spark(), preflight_entry, bronze_entry)
    return {
        **plan,
        "bronze_rows": result.rows,
        "skipped_files": result.skipped_files,
        "undeclared": list(result.undeclared),
    }


def silver(state: dict[str, Any], gate: bool = False) -> dict[str, Any]:
    """Refine the batch into silver; with `gate`, also validate it (quality/) while its rows are still
    cached and log the gate's verdict with the silver entry, leaving its enforcement to `quality_gate`."""
    from jobs import batch_log
    from jobs.refine import refine
    from jobs.spark import get_spark

    contract, batch, started = get_contract(state["feed"]), state["batch_id"], dt.datetime.now()
    spark = get_spark()
    validated: dict[str, Any] = {}
    readying = _ready_gate(spark) if gate else None

    def validate(delivered: Any) -> None:
        if readying is not None:
            readying.join()
        validated.update(_validate_batch(contract, batch, delivered))

    r = refine(spark, contract, batch, validate if gate else None)
    reasons = ", ".join(f"{k}={v}" for k, v in sorted(r.reasons.items()))
    counts = {"rows_in": r.rows_in, "rows_out": r.silver, "quarantined": r.quarantined}
    entries = [batch_log.entry(contract.key, batch, "silver", "ok", started, message=reasons, **counts)]
    if validated:
        entries.append(_gate_entry(contract, batch, validated, r.rows_in))
    batch_log.record(spark, *entries)
    return {
        **state,
        "rows_in": r.rows_in,
        "silver_rows": r.silver,
        "quarantined": r.quarantined,
        "reasons": r.reasons,
        **validated,
    }


def _ready_gate(spark: SparkSession) -> threading.Thread:
    """While Spark refines the batch, import the gate (loading GX takes seconds of Python, during which
    the task's own thread only waits for the JVM) and create the scorecard tables if they are new."""
    from pyspark import inheritable_thread_target

    def ready() -> None:
        import quality.gate  # noqa: F401
        from quality import store

        store.ensure(spark)

    readying = threading.Thread(target=inheritable_thread_target(ready), name="ready quality gate")
    readying.start()
    return readying


def _validate_batch(contract: FeedContract, batch: str, delivered: Any = None) -> dict[str, Any]:
    """Run the gate's suite (on the refined frame if given, else on silver as stored); its summary."""
    started = dt.datetime.now()  # before the imports: loading GX is part of the gate's cost
    from jobs.spark import get_spark
    from quality.gate import blocked_message, describe, validate_batch

    run = validate_batch(get_spark(), contract, batch, delivered)
    return {
        **run.summary(),
        "gate_started": started.isoformat(),
        "gate_seconds": round((dt.datetime.now() - started).total_seconds(), 2),
        "gate_blocked": blocked_message(contract, batch, run),
        "gate_warnings": [describe(run.table, r) for r in run.warnings],
    }


def _gate_entry(contract: FeedContract, batch: str, gate: dict[str, Any], rows_in: int | None) -> dict:
    from jobs import batch_log

    started = dt.datetime.fromisoformat(gate["gate_started"])
    finished = started + dt.timedelta(seconds=gate["gate_seconds"])
    status, message = "blocked", gate["gate_blocked"]
    if not message:
        status, message = "ok", "; ".join(gate["gate_warnings"]) or f"{gate['expectations']} expectations met"
    return batch_log.entry(
        contract.key, batch, "quality_gate", status, started, message, finished, rows_in=rows_in
    )


def gold(state: dict[str, Any]) -> dict[str, Any]:
    from jobs.publish import publish
    from jobs.spark import get_spark

    contract, batch, started = get_contract(state["feed"]), state["batch_id"], dt.datetime.now()
    r = publish(get_spark(), contract, batch)
    _log(
        contract,
        batch,
        "gold",
        "ok",
        started,
        rows_in=r.source_rows,
        inserted=r.inserted,
        updated=r.updated,
        message=f"{contract.target.table} version {r.version}",
    )
    return {**state, "gold_inserted": r.inserted, "gold_updated": r.updated, "gold_version": r.version}


def register_in_trino(state: dict[str, Any]) -> dict[str, Any]:
    from catalog.trino_tables import register
    from jobs.batch_log import SCHEMA, TABLE
    from schemas.datasets import QUARANTINE

    contract, started = get_contract(state["feed"]), dt.datetime.now()
    names = [
        ("bronze", contract.key),
        ("silver", contract.key),
        ("silver", QUARANTINE),
        ("gold", contract.target.table),
        (SCHEMA, TABLE),
    ]
    names += [(SCHEMA, t) for t in ("quality_result", "quality_failure") if state.get("quality_run_id")]
    added = register(names)
    return {
        **state,
        "trino_registered": added,
        "trino_seconds": (dt.datetime.now() - started).total_seconds(),
    }


def quality_gate(state: dict[str, Any]) -> dict[str, Any]:
    """Quality gate between silver and gold (quality/): a failed critical expectation stops the batch.
    Enforces the verdict of the validation the silver step ran and logged; without one, validates the
    batch as stored in silver and logs the verdict here."""
    from jobs import batch_log
    from jobs.spark import get_spark
    from schemas.quality import QualityGateFailed

    contract, batch = get_contract(state["feed"]), state["batch_id"]
    if "quality_run_id" not in state:
        state = {**state, **_validate_batch(contract, batch)}
        batch_log.record(get_spark(), _gate_entry(contract, batch, state, state.get("rows_in")))
    if state["gate_blocked"]:
        _register_quality_tables()
        raise QualityGateFailed(state["gate_blocked"])
    return state


def quality_gold(state: dict[str, Any]) -> dict[str, Any]:
    """The same contract's suite on gold after publish; recorded in the scorecard, never un-publishes."""
    from jobs.spark import get_spark
    from quality.gate import check_gold, describe, new_run_id

    contract, batch, started = get_contract(state["feed"]), state["batch_id"], dt.datetime.now()

    def log(run: QualityRun) -> None:  # committed alongside the scorecard
        failed = run.blocking + run.warnings
        status = "failed" if run.blocking else "ok"
        message = "; ".join(describe(run.table, r) for r in failed) or f"{len(run.results)} expectations met"
        _log(contract, batch, "quality_gold", status, started, message=message)

    run_id = state.get("quality_run_id") or new_run_id(batch)
    run = check_gold(get_spark(), contract, batch, run_id, alongside=log)
    return {**state, "gold_quality": run.summary()}


def _register_quality_tables() -> None:
    """Make a blocked run's scorecard and failing rows queryable at once (the Trino task will not run)."""
    from catalog.trino_tables import register
    from quality import store

    try:
        register([(store.SCHEMA, store.RESULT), (store.SCHEMA, store.FAILURE)])
    except Exception as exc:  # Trino down must not hide the gate's own verdict
        print(f"quality tables not registered in Trino: {exc}")
