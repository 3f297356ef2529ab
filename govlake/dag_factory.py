"""Builds one Airflow DAG per feed contract, a task per stage of govlake.stages (the list the local
runner follows too): preflight → bronze → silver → quality gate → gold → quality check on gold → Trino.

Each DAG is scheduled on its feed's landing Asset, so a landed delivery starts it (govlake.delivery_watch);
a `requeue` task after preflight hands deliveries folded into the run on to the next. DAG files under dags/
stay thin; a new feed is a new contract YAML and gets its DAG from here. Tasks pass
the batch's state (govlake.results.BatchState) as JSON; Assets and OpenLineage datasets come from
schemas.datasets.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

from airflow.sdk import DAG, Asset, Param, TriggerRule, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from govlake import engine_client
from govlake.batch_claim import BatchTaken
from govlake.delivery_watch import batch_to_run, landing_asset, still_waiting, take
from govlake.engine_protocol import PERMANENT
from govlake.lineage_airflow import link_spark, link_task
from govlake.results import BatchState
from govlake.stages import STAGES, Stage, run_claimed
from infra.settings import Settings, settings
from schemas.contracts import FeedContract, get_contract, load_contracts
from schemas.datasets import FeedTables, Table, feed_tables


def asset(table: Table) -> Asset:
    return Asset(table.asset_uri, group=table.schema)


def default_args(owner: str, s: Settings | None = None) -> dict[str, Any]:
    """Every task's owner and retry policy (feed, library and share DAGs): `task_retries` retries, the
    first after `task_retry_delay` seconds, each next one twice as late, at most `task_max_retry_delay`."""
    s = s or settings()
    return {
        "owner": owner,
        "retries": s.task_retries,
        "retry_delay": dt.timedelta(seconds=s.task_retry_delay),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(seconds=s.task_max_retry_delay),
    }


@contextlib.contextmanager
def task_errors() -> Iterator[None]:
    """A task body's errors: a permanent one (PERMANENT) fails the task without its retries."""
    try:
        yield
    except PERMANENT as exc:
        raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc


def _doc(contract: FeedContract, tables: FeedTables) -> str:
    return (
        f"**{contract.department_name} · {contract.title}** "
        f"(`schemas/{contract.department}/{contract.feed}.yaml`)"
        f"\n\nLanding → {tables.bronze} → {tables.silver} (+ {tables.quarantine}) → quality gate → "
        f"{tables.gold}, then registered in Trino. Param `batch_id` names the landing folder (default: "
        "the latest; a run started by a landed delivery: that delivery)."
    )


def _first_batch(
    contract: FeedContract, params: dict[str, Any] | None, triggering: Any, woken: bool = False
) -> str | None:
    """The batch a run takes: its `batch_id` param; in a run a landed delivery started, the earliest
    delivery waiting (none: the run skips); else (a manual run) None, the latest."""
    named = (params or {}).get("batch_id")
    if named:
        with contextlib.suppress(ValueError):  # preflight names a bad batch id
            take(contract, named, settings())
        return str(named)
    if not woken:  # Airflow may start an asset-triggered run with no event in it: still not manual
        return None
    chosen = batch_to_run(contract, triggering)
    if chosen is None:
        raise AirflowSkipException("no delivery waiting: an earlier run took it")
    return chosen


def _stage_task(stage: Stage, feed: str, tables: FeedTables) -> Any:
    inlets = [asset(t) for t in stage.inlets(tables)]
    outlets = [asset(t) for t in stage.outlets(tables)]

    def run(
        state: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        triggering_asset_events: Any = None,
        dag_run: Any = None,
    ) -> dict[str, Any]:
        if state is None:
            woken = bool(triggering_asset_events) or getattr(dag_run, "run_type", None) == "asset_triggered"
            chosen = _first_batch(get_contract(feed), params, triggering_asset_events, woken)
            current = BatchState(feed=feed, batch_id=chosen)
        else:
            current = BatchState.model_validate(state)
        work = {"stage": stage.name, "state": current.model_dump(mode="json")}
        with task_errors():
            try:
                return engine_client.call(
                    "stage", work, lambda: run_claimed(stage, current).model_dump(mode="json")
                )
            except BatchTaken as exc:  # another run of the batch has it: this one ends, skipped
                raise AirflowSkipException(str(exc)) from exc

    run.__name__ = stage.name
    link = link_spark if stage.own_spark_session else link_task
    return task(
        run, task_id=stage.name, inlets=inlets, outlets=outlets, pre_execute=link, multiple_outputs=False
    )


def _requeue_task(contract: FeedContract, landing: Asset) -> Any:
    """Deliveries still waiting after this run took its own start the next run (an event on the landing
    Asset); it runs even when preflight refuses this run's delivery."""

    def requeue(outlet_events: Any = None) -> list[str]:
        rest = still_waiting(contract)
        if not rest:
            raise AirflowSkipException("no other delivery waiting")
        outlet_events[landing].extra = {"batch_ids": rest}
        return rest

    return task(requeue, task_id="requeue", outlets=[landing], trigger_rule=TriggerRule.ALL_DONE)


def feed_dag(contract: FeedContract) -> DAG:
    tables = feed_tables(contract)
    landing = landing_asset(contract)

    @dag(
        dag_id=contract.dag_id,
        description=f"{contract.department_name} {contract.title} → {contract.target.title}",
        doc_md=_doc(contract, tables),
        schedule=landing,  # a landed delivery starts the run (govlake.delivery_watch)
        start_date=dt.datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["feed", contract.department, contract.target.library],
        default_args=default_args(contract.department),
        params={"batch_id": Param(None, type=["null", "string"], description="landing folder to ingest")},
    )
    def _feed() -> None:
        state, first = None, None
        for stage in STAGES:
            make = _stage_task(stage, contract.key, tables)
            state = make() if state is None else make(state)
            first = first or state
        first >> _requeue_task(contract, landing)()

    return _feed()  # type: ignore[no-any-return]


def build_feed_dags() -> dict[str, DAG]:
    return {c.dag_id: feed_dag(c) for c in load_contracts().values()}
