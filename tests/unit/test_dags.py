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
        stages = [t.task_id for t in dag.topological_sort() if t.task_id != "requeue"]
        assert stages == ["preflight", "bronze", "silver", "quality_gate", "gold", "quality_gold", "trino"]
        assert {t.task_id for t in dag.get_task("preflight").downstream_list} == {"bronze", "requeue"}
        assert dag.get_task("requeue").trigger_rule == "all_done"
        contract = next(c for c in load_contracts().values() if c.dag_id == dag_id)
        landing = dag.timetable.asset_condition
        assert landing.uri == f"delivery://{contract.department}/{contract.feed}"
        assert [w.trigger.feed for w in landing.watchers] == [contract.key]
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


def test_a_declared_update_frequency_becomes_an_arrival_dag_on_its_deadlines():
    migrate()
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    declared = {c.key: c.arrival for c in load_contracts().values() if c.arrival}
    assert len(declared) >= 3
    arrival_dags = {d for d in bag.dag_ids if d.startswith("arrival__")}
    assert arrival_dags == {f"arrival__{key}" for key in declared}
    for key, arrival in declared.items():
        dag = bag.get_dag(f"arrival__{key}")
        assert dag.timetable._expression == arrival.cron and str(dag.timetable._timezone) == arrival.timezone
        assert [t.task_id for t in dag.tasks] == ["check"] and dag.tasks[0].retries == 0


def test_feed_library_and_share_tasks_retry_with_exponential_backoff():
    """Case 2 of issue 20: a task Trino's or the engine's restart fails is retried, each wait twice the
    one before; a wrong delivery or a stopping quality gate fails at once (AirflowFailException)."""
    import datetime as dt

    import pytest
    from airflow.sdk.exceptions import AirflowFailException

    from govlake.dag_factory import task_errors
    from govlake.share_dags import DAG_ID
    from infra.settings import settings
    from schemas.quality import QualityGateFailed

    migrate()
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    s = settings()
    dag_ids = [c.dag_id for c in load_contracts().values()] + [DAG_ID, "library__spatial_base"]
    for dag_id in dag_ids:
        dag = bag.get_dag(dag_id)
        assert dag.max_active_runs == 1, dag_id
        for t in dag.tasks:
            assert t.retries == s.task_retries >= 1, (dag_id, t.task_id)
            assert t.retry_delay == dt.timedelta(seconds=s.task_retry_delay)
            assert t.retry_exponential_backoff == 2.0
            assert t.max_retry_delay == dt.timedelta(seconds=s.task_max_retry_delay)
    with pytest.raises(AirflowFailException, match="QualityGateFailed: blocked"), task_errors():
        raise QualityGateFailed("blocked")
    with pytest.raises(ConnectionRefusedError), task_errors():  # transient: the task's retries take it
        raise ConnectionRefusedError("trino restarting")
