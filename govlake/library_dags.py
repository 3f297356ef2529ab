"""One Airflow DAG per library contract (schemas/libraries/*.yaml), triggered by the gold Assets it reads.

A golden library runs when the gold tables of its feeds have been updated; a theme when its source gold
tables (feed tables or golden libraries) have. Each DAG builds the table (and, for a golden library, the
verification conflicts and the feedback report) and registers everything in Trino.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Asset, Param, dag, task

from govlake import engine_client
from govlake.dag_factory import asset, default_args, task_errors
from schemas.contracts import load_contracts
from schemas.datasets import GOLD, Table
from schemas.libraries import GoldenLibrary, Library, load_libraries


def _gold(table: str) -> Asset:
    return asset(Table(GOLD, table))


def library_dag(lib: Library, feed_tables: dict[str, str]) -> DAG:
    if isinstance(lib, GoldenLibrary):
        inputs = [_gold(feed_tables[ref]) for ref in lib.feeds]
        source = f"feeds {', '.join(lib.feeds)}"
    else:
        inputs = [_gold(t) for t in lib.sources]
        source = f"gold tables {', '.join(lib.sources)}"

    @dag(
        dag_id=f"library__{lib.table}",
        description=f"{lib.title} → gold.{lib.table}",
        doc_md=f"**{lib.title}** (`schemas/libraries/{lib.table}.yaml`), built from {source}.",
        schedule=inputs,
        start_date=dt.datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        tags=["library", lib.kind, lib.library],
        default_args=default_args("gov_services"),
        params={"batch_id": Param("20261123", type="string", description="build batch (yyyyMMdd: its date)")},
    )
    def _library() -> None:
        @task(outlets=[_gold(lib.table)])
        def build(params: dict[str, Any] | None = None) -> dict[str, Any]:
            batch = (params or {}).get("batch_id") or dt.date.today().strftime("%Y%m%d")
            work = {"table": lib.table, "batch": batch}
            with task_errors():
                return engine_client.call("library", work, lambda: build_here(lib.table, batch))

        @task
        def trino(summary: dict[str, Any]) -> dict[str, Any]:
            with task_errors():
                return {**summary, **engine_client.call("register_all", {}, register_here)}

        trino(build())

    return _library()


def build_here(table: str, batch: str) -> dict[str, Any]:
    """A library's build in this process: the table, and for a golden library the feedback report."""
    from govlake import province  # lazy: task body (Spark, the library jobs)

    lib = load_libraries()[table]
    result = province.build_one(lib, batch)
    if lib.kind == "golden":
        result = result.model_copy(update={"feedback": province.write_feedback_report(batch)})
    return result.model_dump(mode="json")


def register_here() -> dict[str, Any]:
    from govlake import province  # lazy: task body

    return {"registered": province.register_all(written_only=True)}


def build_library_dags() -> dict[str, DAG]:
    feed_tables = {name: c.target.table for name, c in load_contracts().items()}
    return {f"library__{t}": library_dag(lib, feed_tables) for t, lib in load_libraries().items()}
