"""Airflow side of lineage: provider configuration, an extractor naming our tables for TaskFlow tasks,
and the link from each task's run to the Spark runs it starts (ParentRunFacet)."""

from __future__ import annotations

from typing import Any

from airflow.providers.openlineage.extractors.base import BaseExtractor, OperatorLineage
from airflow.providers.openlineage.plugins import macros
from openlineage.client.event_v2 import Dataset

from infra.settings import LINEAGE_JOB_ENV, LINEAGE_PARENT_ENV, LINEAGE_ROOT_ENV, set_task_handoff, settings
from jobs.spark import stop_spark
from schemas.datasets import from_asset_uri


def lake_dataset(asset: Any) -> Dataset | None:
    """An Airflow Asset `lake://<schema>/<table>` as its OpenLineage dataset, named as Trino serves it
    (`trino://<host>:<port>`, `<catalog>.<schema>.<table>`)."""
    table = from_asset_uri(getattr(asset, "uri", ""))
    if table is None:
        return None
    namespace, name = table.openlineage()
    return Dataset(namespace=namespace, name=name)


class LakeTaskExtractor(BaseExtractor):
    """TaskFlow/Python tasks: inputs and outputs from their declared `lake://` inlets and outlets."""

    @classmethod
    def get_operator_classnames(cls) -> list[str]:
        return ["_PythonDecoratedOperator", "PythonOperator"]

    def _execute_extraction(self) -> OperatorLineage | None:
        inputs = [d for a in self.operator.inlets if (d := lake_dataset(a))]
        outputs = [d for a in self.operator.outlets if (d := lake_dataset(a))]
        return OperatorLineage(inputs=inputs, outputs=outputs)

    def extract_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        return self._execute_extraction()


def link_task(context: Any) -> bool:
    """pre_execute hook: lineage our own emitters send names the task's run as parent (the Spark session
    keeps the parent it was started with). True if the task's run is known."""
    if not settings().lineage:
        return False
    ti = context["ti"]
    try:
        values = {
            LINEAGE_PARENT_ENV[0]: macros.lineage_job_namespace(),
            LINEAGE_PARENT_ENV[1]: macros.lineage_job_name(ti),
            LINEAGE_PARENT_ENV[2]: macros.lineage_run_id(ti),
            LINEAGE_ROOT_ENV[0]: macros.lineage_root_job_namespace(ti),
            LINEAGE_ROOT_ENV[1]: macros.lineage_root_job_name(ti),
            LINEAGE_ROOT_ENV[2]: macros.lineage_root_run_id(ti),
        }
    except Exception:  # lineage must never fail a task
        return False
    set_task_handoff({k: str(v) for k, v in values.items() if v})
    set_task_handoff({LINEAGE_JOB_ENV: f"{ti.dag_id}.{ti.task_id}.spark"})
    return True


def link_spark(context: Any) -> None:
    """pre_execute hook: Spark sessions this task starts name the task's run as their parent.
    `airflow dags test` runs tasks in one process: a session started by an earlier task would keep
    naming that task as parent, so it is stopped and the next get_spark() starts one for this task."""
    if link_task(context):
        stop_spark()
