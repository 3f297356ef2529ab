"""Datasets named once: a contract's tables per layer, their Airflow Asset URIs and their OpenLineage names
(Trino's naming: `trino://host:port`, `catalog.schema.table`), which the lineage loader maps back."""

from __future__ import annotations

from airflow.sdk import Asset

from govlake.dag_factory import feed_dag
from govlake.lineage_airflow import lake_dataset
from infra.settings import settings
from schemas.contracts import get_contract
from schemas.datasets import Table, feed_tables, from_asset_uri, normalise

HOUSEHOLD = get_contract("public_security/household_register")


def test_a_feed_has_one_table_per_layer():
    t = feed_tables(HOUSEHOLD)
    assert [str(x) for x in t.all()] == [
        "bronze.public_security__household_register",
        "silver.public_security__household_register",
        "silver.quarantine",
        "gold.population_person",
    ]
    assert t.gold.asset_uri == "lake://gold/population_person"
    assert from_asset_uri(t.gold.asset_uri) == t.gold


def test_openlineage_names_follow_the_trino_naming_spec_and_load_back_as_table_names():
    s = settings()
    namespace, name = Table("gold", "population_person").openlineage(s)
    assert namespace == f"trino://{s.trino_host}:{s.trino_port}"
    assert name == f"{s.trino_catalog}.gold.population_person"
    assert normalise(namespace, name, s) == ("lake", "gold.population_person")
    assert normalise("trino://elsewhere:8080", "other.gold.population_person", s)[0] != "lake"


def test_dag_assets_and_their_lineage_datasets_come_from_the_same_names():
    dag = feed_dag(HOUSEHOLD)
    outlets = {a.uri for task in dag.tasks for a in task.outlets if isinstance(a, Asset)}
    assert {str(t.asset_uri) for t in feed_tables(HOUSEHOLD).all()} <= outlets
    ds = lake_dataset(Asset("lake://gold/population_person"))
    assert ds is not None and (ds.namespace, ds.name) == Table("gold", "population_person").openlineage()
    assert [t.task_id for t in dag.topological_sort() if t.task_id != "requeue"] == [
        "preflight", "bronze", "silver", "quality_gate", "gold", "quality_gold", "trino"
    ]  # fmt: skip
    assert [a.uri for a in dag.get_task("requeue").outlets] == ["delivery://public_security/household_register"]
    assert lake_dataset(dag.get_task("requeue").outlets[0]) is None  # a landing folder, not a lake table
