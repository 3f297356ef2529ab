"""The data stages of a feed's batch, as the DAG tasks and the local runner call them (the order is
govlake.stages): preflight, bronze, silver, gold and the Trino registration. The quality stages are in
govlake.gates. Each takes the batch's state, records its outcome in governance.batch_log and returns the
state with its own result filled in."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

from catalog.trino_tables import register
from govlake.results import (
    BatchState,
    BronzeResult,
    DeliveredFile,
    GoldResult,
    PreflightResult,
    SilverResult,
    TrinoResult,
)
from infra.settings import settings
from jobs import batch_log
from jobs import preflight as delivery
from jobs.ingest import ingest
from jobs.publish import publish
from jobs.refine import Refined, refine
from jobs.spark import get_spark
from lineage.emit import emit_contract_lineage
from schemas.contracts import FeedContract, batch_id, get_contract
from schemas.datasets import GOVERNANCE, Table, feed_tables

# A refined batch's checked rows, cached for the quality gate of the same process (the local runner, or
# `airflow dags test`, the shared engine); released by the gate, or by gold if no gate ran. A long-lived
# engine keeps at most REFINED_KEPT, releasing the oldest (a run that stopped before its gate).
_refined: dict[tuple[str, str], Refined] = {}
REFINED_KEPT = 4


def latest_batch(contract: FeedContract) -> str:
    """The newest landing folder by the contract's batch order (a parsed date or sequence, never the
    folder names as strings); symbolic links and names outside the order are not deliveries."""
    root = settings().landing / contract.department / contract.feed
    keyed = []
    for p in root.iterdir() if root.is_dir() else []:
        if p.is_dir() and not p.is_symlink():
            with contextlib.suppress(ValueError):
                keyed.append((contract.batch_order.key(p.name), p.name))
    if not keyed:
        raise FileNotFoundError(f"no delivery under {root} (batch order: {contract.batch_order.rule})")
    return max(keyed)[1]


def log_stage(
    contract: FeedContract,
    batch: str,
    stage: str,
    status: str,
    started: dt.datetime,
    message: str = "",
    **counts: int | None,
) -> None:
    """One stage's outcome in governance.batch_log, as its own commit."""
    entry = batch_log.entry(contract.key, batch, stage, status, started, message, None, **counts)
    batch_log.record(get_spark(), entry)


def start(feed: str, batch: str | None = None) -> BatchState:
    """The state a feed's run begins with: the contract's key and the batch, if named."""
    return BatchState(feed=get_contract(feed).key, batch_id=batch_id(batch) if batch else None)


def preflight(feed: str | BatchState, batch: str | None = None) -> BatchState:
    """Reject the whole delivery, before anything is written, if a file breaks its contract."""
    state = feed if isinstance(feed, BatchState) else start(feed, batch)
    contract = get_contract(state.feed)
    chosen = batch_id(state.batch_id or latest_batch(contract))
    started, s = dt.datetime.now(), settings()
    staging = s.home / "staging" / contract.key / chosen
    try:
        files = delivery.check_delivery(contract, delivery.batch_dir(s.landing, contract, chosen), staging)
    except delivery.DeliveryRejected as exc:
        log_stage(
            contract, chosen, "preflight", "rejected", started, message=str(exc)
        )  # the only Spark use here
        raise
    checked = [
        DeliveredFile(path=str(f.path), readable=str(f.readable), sha256=f.sha256, lines=f.lines,
                      headers=list(f.headers), spans=f.spans)
        for f in files
    ]  # fmt: skip
    result = PreflightResult(
        started=started, finished=dt.datetime.now(), lines=sum(f.lines for f in files), files=checked
    )
    return state.with_(batch_id=chosen, preflight=result)


def _preflight_entry(contract: FeedContract, batch: str, pre: PreflightResult) -> dict[str, object]:
    names = ", ".join(Path(f.path).name for f in pre.files)
    return batch_log.entry(
        contract.key, batch, "preflight", "ok", pre.started, names, pre.finished, rows_in=pre.lines
    )


def bronze(state: BatchState) -> BatchState:
    contract, batch, started = get_contract(state.feed), state.batch, dt.datetime.now()
    if state.preflight is None:
        raise ValueError(f"{state.feed} batch {batch}: bronze needs the preflight's files")
    files = [
        delivery.DeliveredFile(Path(f.path), Path(f.readable), f.sha256, f.lines, tuple(f.headers), f.spans)
        for f in state.preflight.files
    ]
    result = ingest(get_spark(), contract, batch, files)
    if result.files:  # the source header → bronze column mapping the Spark listener cannot see
        emit_contract_lineage(
            contract, batch, [f.path for f in files if f.path.name not in result.skipped_files]
        )
    status = "ok" if result.files else "skipped"
    notes = [f"already ingested: {', '.join(result.skipped_files)}"] if result.skipped_files else []
    if result.undeclared:  # schema drift: kept in bronze._undeclared, reported, not rejected
        notes.append(
            f"schema drift: undeclared field(s) {', '.join(result.undeclared)} kept in "
            f"{feed_tables(contract).bronze}._undeclared"
        )
    entry = batch_log.entry(
        contract.key, batch, "bronze", status, started, "; ".join(notes), rows_out=result.rows
    )
    batch_log.record(get_spark(), _preflight_entry(contract, batch, state.preflight), entry)
    outcome = BronzeResult(
        rows=result.rows, skipped_files=list(result.skipped_files), undeclared=list(result.undeclared)
    )
    return state.with_(bronze=outcome)


def silver(state: BatchState) -> BatchState:
    """Refine the batch into silver and quarantine; its checked rows stay cached for the quality gate."""
    contract, batch, started = get_contract(state.feed), state.batch, dt.datetime.now()
    release_refined(contract.key, batch)  # a re-run replaces what an earlier run left
    refined = refine(get_spark(), contract, batch)
    r = refined.result
    _refined[(contract.key, batch)] = refined
    while len(_refined) > REFINED_KEPT:
        release_refined(*next(iter(_refined)))
    reasons = ", ".join(f"{k}={v}" for k, v in sorted(r.reasons.items()))
    counts = {"rows_in": r.rows_in, "rows_out": r.silver, "quarantined": r.quarantined}
    log_stage(contract, batch, "silver", "ok", started, message=reasons, **counts)
    outcome = SilverResult(rows_in=r.rows_in, rows_out=r.silver, quarantined=r.quarantined, reasons=r.reasons)
    return state.with_(silver=outcome)


def refined_batch(feed: str, batch: str) -> Refined | None:
    """The batch refine left cached in this process, if it is still there."""
    return _refined.get((feed, batch))


def release_refined(feed: str, batch: str) -> None:
    refined = _refined.pop((feed, batch), None)
    if refined is not None:
        refined.release()


def gold(state: BatchState) -> BatchState:
    contract, batch, started = get_contract(state.feed), state.batch, dt.datetime.now()
    release_refined(contract.key, batch)
    r = publish(get_spark(), contract, batch)
    message = f"{contract.target.table} version {r.version}"
    if r.deleted:  # keys only a corrected batch's earlier version had
        message += f"; {r.deleted} withdrawn"
    log_stage(contract, batch, "gold", "ok", started, rows_in=r.source_rows, inserted=r.inserted,
         updated=r.updated, message=message)  # fmt: skip
    return state.with_(gold=GoldResult(inserted=r.inserted, updated=r.updated, version=r.version))


def feed_registrations(contract: FeedContract, quality: bool) -> list[Table]:
    """What a feed's run makes queryable: its layers, the batch log and, after a quality run, the
    scorecard tables."""
    names = [*feed_tables(contract).all(), Table(GOVERNANCE, batch_log.TABLE)]
    if quality:
        names += [Table(GOVERNANCE, t) for t in ("quality_result", "quality_failure")]
    return names


def register_in_trino(state: BatchState) -> BatchState:
    contract, started = get_contract(state.feed), dt.datetime.now()
    added = register([(t.schema, t.name) for t in feed_registrations(contract, state.gate is not None)])
    seconds = (dt.datetime.now() - started).total_seconds()
    return state.with_(trino=TrinoResult(registered=added, seconds=seconds))
