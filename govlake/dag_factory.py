"""Builds one Airflow DAG per feed contract: preflight → bronze → silver → quality gate → gold →
quality check on gold → Trino.

DAG files under dags/ stay thin; a new feed is a new contract YAML and gets its DAG from here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Asset, Param, dag, task

from govlake.lineage_airflow import link_spark
from schemas.contracts import FeedContract, load_contracts


def asset_uri(schema: str, table: str) -> str:
    return f"lake://{schema}/{table}"


def feed_dag(contract: FeedContract) -> DAG:
    feed = f"{contract.department}/{contract.feed}"
    gold_asset = Asset(asset_uri("gold", contract.target.table), group="gold")
    bronze_asset = Asset(asset_uri("bronze", contract.key), group="bronze")
    silver_asset = Asset(asset_uri("silver", contract.key), group="silver")

    @dag(
        dag_id=contract.dag_id,
        description=f"{contract.department_name} {contract.title} → {contract.target.title}",
        doc_md=(
            f"**{contract.department_name} · {contract.title}** "
            f"(`schemas/{contract.department}/{contract.feed}.yaml`)"
            f"\n\nLanding → bronze.{contract.key} → silver.{contract.key} (+ silver.quarantine) → "
            f"gold.{contract.target.table}, then registered in Trino. Param `batch_id` names the landing "
            "folder (default: the latest)."
        ),
        schedule=None,
        start_date=dt.datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["feed", contract.department, contract.target.library],
        default_args={"owner": contract.department, "retries": 0, "pre_execute": link_spark},
        params={"batch_id": Param(None, type=["null", "string"], description="landing folder to ingest")},
    )
    def _feed() -> None:
        @task
        def preflight(params: dict[str, Any] | None = None) -> dict[str, Any]:
            from govlake import pipeline

            return pipeline.preflight(feed, (params or {}).get("batch_id"))

        @task(outlets=[bronze_asset])
        def bronze(plan: dict[str, Any]) -> dict[str, Any]:
            from govlake import pipeline

            return pipeline.bronze(plan)

        @task(inlets=[bronze_asset], outlets=[silver_asset])
        def silver(state: dict[str, Any]) -> dict[str, Any]:
            from govlake import pipeline

            return pipeline.silver(state, gate=True)  # validates while the batch is cached

        @task
        def quality_gate(state: dict[str, Any]) -> dict[str, Any]:
            from govlake import pipeline

            return pipeline.quality_gate(state)

        @task
        def quality_gold(state: dict[str, Any]) -> dict[str, Any]:
            from govlake import pipeline

            return pipeline.quality_gold(state)

        @task(inlets=[silver_asset], outlets=[gold_asset])
        def gold(state: dict[str, Any]) -> dict[str, Any]:
            from govlake import pipeline

            return pipeline.gold(state)

        @task
        def trino(state: dict[str, Any]) -> dict[str, Any]:
            from govlake import pipeline

            return pipeline.register_in_trino(state)

        trino(quality_gold(gold(quality_gate(silver(bronze(preflight()))))))

    return _feed()


def build_feed_dags() -> dict[str, DAG]:
    return {c.dag_id: feed_dag(c) for c in load_contracts().values()}
