"""The share engine runs on a schedule: the `share_expiry` DAG imports cleanly and runs daily."""

from __future__ import annotations

from airflow.dag_processing.dagbag import DagBag

from govlake.airflow_runner import DAGS_FOLDER, migrate
from govlake.share_dags import build_share_dags


def test_the_share_expiry_dag_imports_and_runs_daily():
    migrate()  # the DagBag looks DAGs up in the (test installation's) metadata DB
    bag = DagBag(dag_folder=str(DAGS_FOLDER / "share_expiry.py"))
    assert bag.import_errors == {}
    dag = bag.get_dag("share_expiry")
    assert dag is not None and "share" in dag.tags and not dag.catchup
    assert [t.task_id for t in dag.tasks] == ["share_engine"]
    assert all(t.owner != "airflow" and t.retries is not None for t in dag.tasks)
    built = build_share_dags()["share_expiry"]
    assert built.timetable.expression == "0 0 * * *"  # @daily: at midnight, every day
