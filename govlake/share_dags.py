"""The `share_expiry` DAG: every day the share engine decides every request for the day, records what
changed in governance.share_decision and provisions the views, so expired and revoked shares lose their
views without anyone running a command (the views also filter on their expiry date themselves)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, dag, task

from govlake import engine_client
from govlake.dag_factory import default_args, task_errors

DAG_ID = "share_expiry"
SCHEDULE = "@daily"


def share_expiry_dag() -> DAG:
    @dag(
        dag_id=DAG_ID,
        description="daily: decide the share requests, record, drop expired and revoked views",
        doc_md=(
            "**Share expiry** (`catalog/shares.py` `run`): decides every request in the catalog's "
            "`requests/` for the real date (never the run's logical date: the clock does not move back), "
            "records changed decisions and refused reviews in `governance.share_decision`, and provisions "
            "the views (expired, revoked and withdrawn ones dropped)."
        ),
        schedule=SCHEDULE,
        start_date=dt.datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["share", "governance"],
        default_args=default_args("gov_services"),
    )
    def _share_expiry() -> None:
        @task
        def share_engine() -> dict[str, Any]:
            today = dt.date.today()
            work = {"today": today.isoformat()}
            with task_errors():
                return engine_client.call("share_expiry", work, lambda: share_expiry_here(today))

        share_engine()

    return _share_expiry()


def share_expiry_here(today: dt.date) -> dict[str, Any]:
    """Decide, record and provision in this process; counts of decisions by status, records, views."""
    from catalog import shares  # lazy: task body (Spark, Trino)

    decisions, recorded, views = shares.run(today)
    statuses: dict[str, int] = {}
    for d in decisions:
        statuses[d.status] = statuses.get(d.status, 0) + 1
    return {"statuses": statuses, "recorded": len(recorded), **views}


def build_share_dags() -> dict[str, DAG]:
    return {DAG_ID: share_expiry_dag()}
