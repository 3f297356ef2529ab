"""Every DAG imports, and carries tags, an owner and a retry policy; one DAG per contract."""

from airflow.dag_processing.dagbag import DagBag

from govlake.airflow_runner import DAGS_FOLDER, migrate
from schemas.contracts import load_contracts


def test_dags_import_cleanly_one_per_contract():
    migrate()  # the DagBag looks DAGs up in the (test installation's) metadata DB
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    expected = {c.dag_id for c in load_contracts().values()}
    assert expected <= set(bag.dag_ids)
    for dag_id in expected:
        dag = bag.get_dag(dag_id)
        assert dag.tags and "feed" in dag.tags
        assert [t.task_id for t in dag.topological_sort()] == [
            "preflight",
            "bronze",
            "silver",
            "quality_gate",
            "gold",
            "quality_gold",
            "trino",
        ]
        for t in dag.tasks:
            assert t.owner != "airflow" and t.retries is not None


def test_library_dags_one_per_library_contract_triggered_by_gold_assets():
    from schemas.libraries import load_libraries

    migrate()
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    for table in load_libraries():
        dag = bag.get_dag(f"library__{table}")
        assert dag is not None and "library" in dag.tags
        assert [t.task_id for t in dag.topological_sort()] == ["build", "trino"]
        assert type(dag.timetable).__name__ == "AssetTriggeredTimetable"  # runs when its gold inputs change
