"""Builds one Airflow DAG per feed contract, a task per stage of govlake.stages (the list the local
runner follows too): preflight → bronze → silver → quality gate → gold → quality check on gold → Trino.

DAG files under dags/ stay thin; a new feed is a new contract YAML and gets its DAG from here. Tasks pass
the batch's state (govlake.results.BatchState) as JSON; Assets and OpenLineage datasets come from
schemas.datasets.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Asset, Param, dag, task

from govlake import engine_client
from govlake.lineage_airflow import link_spark, link_task
from govlake.results import BatchState
from govlake.stages import STAGES, Stage
from schemas.contracts import FeedContract, load_contracts
from schemas.datasets import FeedTables, Table, feed_tables


def asset(table: Table) -> Asset:
    return Asset(table.asset_uri, group=table.schema)


def _doc(contract: FeedContract, tables: FeedTables) -> str:
    return (
        f"**{contract.department_name} · {contract.title}** "
        f"(`schemas/{contract.department}/{contract.feed}.yaml`)"
        f"\n\nLanding → {tables.bronze} → {tables.silver} (+ {tables.quarantine}) → quality gate → "
        f"{tables.gold}, then registered in Trino. Param `batch_id` names the landing folder (default: "
        "the latest)."
    )


def _stage_task(stage: Stage, feed: str, tables: FeedTables) -> Any:
    inlets = [asset(t) for t in stage.inlets(tables)]
    outlets = [asset(t) for t in stage.outlets(tables)]

    def run(state: dict[str, Any] | None = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
        if state is None:  # the first stage: the batch named by the run's params, else the latest
            current = BatchState(feed=feed, batch_id=(params or {}).get("batch_id"))
        else:
            current = BatchState.model_validate(state)
        work = {"stage": stage.name, "state": current.model_dump(mode="json")}
        return engine_client.call("stage", work, lambda: stage.run(current).model_dump(mode="json"))

    run.__name__ = stage.name
    link = link_spark if stage.own_spark_session else link_task
    return task(
        run, task_id=stage.name, inlets=inlets, outlets=outlets, pre_execute=link, multiple_outputs=False
    )


def feed_dag(contract: FeedContract) -> DAG:
    tables = feed_tables(contract)

    @dag(
        dag_id=contract.dag_id,
        description=f"{contract.department_name} {contract.title} → {contract.target.title}",
        doc_md=_doc(contract, tables),
        schedule=None,
        start_date=dt.datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["feed", contract.department, contract.target.library],
        default_args={"owner": contract.department, "retries": 0},
        params={"batch_id": Param(None, type=["null", "string"], description="landing folder to ingest")},
    )
    def _feed() -> None:
        state = None
        for stage in STAGES:
            make = _stage_task(stage, contract.key, tables)
            state = make() if state is None else make(state)

    return _feed()  # type: ignore[no-any-return]


def build_feed_dags() -> dict[str, DAG]:
    return {c.dag_id: feed_dag(c) for c in load_contracts().values()}
