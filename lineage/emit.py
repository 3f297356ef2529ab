"""Our own OpenLineage events (openlineage-python client): what the engines cannot see.

* the contract's declared mapping source header → bronze column (the Spark listener sees each CSV line
  as one string `value`, so it cannot name the source column);
* share views created in Trino (issue 6's provisioning calls `emit_view_lineage`).

Transport as for Spark: JSON lines under `<home>/lineage/python/` by default, HTTP to a
Marquez-compatible endpoint when GOVLAKE_LINEAGE_URL is set; nothing when GOVLAKE_LINEAGE=0.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    data_quality_assertions_dataset,
    documentation_job,
    parent_run,
    schema_dataset,
    source_code_location_job,
)
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport
from openlineage.client.uuid import generate_new_uuid

from infra.settings import LINEAGE_PARENT_ENV, Settings, settings, task_handoff
from schemas.contracts import SCHEMAS_DIR, FeedContract
from schemas.datasets import JOB_NAMESPACE, Table, feed_tables

PRODUCER = "https://github.com/govlake/govlake/tree/main/lineage"


def client(s: Settings | None = None) -> OpenLineageClient | None:
    s = s or settings()
    if not s.lineage:
        return None
    if s.lineage_url:
        return OpenLineageClient(transport=HttpTransport(HttpConfig(url=s.lineage_url)))
    folder = s.lineage_dir / "python"
    folder.mkdir(parents=True, exist_ok=True)
    return OpenLineageClient(
        transport=FileTransport(FileConfig(log_file_path=str(folder / "events.jsonl"), append=True))
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _parent_facets() -> dict:
    namespace, job, run = task_handoff(LINEAGE_PARENT_ENV)
    if not (namespace and job and run):
        return {}
    return {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=run), job=parent_run.Job(namespace=namespace, name=job)
        )
    }


def _column_lineage(mapping: dict[str, list[tuple[str, str, str]]], subtype: str):
    """{target column: [(namespace, dataset, column)]} as a ColumnLineageDatasetFacet."""
    return column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            target: column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(
                        namespace=ns,
                        name=name,
                        field=col,
                        transformations=[
                            column_lineage_dataset.Transformation(type="DIRECT", subtype=subtype)
                        ],
                    )
                    for ns, name, col in sources
                ]
            )
            for target, sources in mapping.items()
        }
    )


def _emit(
    job: Job, inputs: list[InputDataset], outputs: list[OutputDataset], s: Settings | None
) -> str | None:
    c = client(s)
    if c is None:
        return None
    run = Run(runId=str(generate_new_uuid()), facets=_parent_facets())
    for state in (RunState.START, RunState.COMPLETE):
        c.emit(
            RunEvent(
                eventType=state,
                eventTime=_now(),
                run=run,
                job=job,
                inputs=inputs,
                outputs=outputs,
                producer=PRODUCER,
            )
        )
    return run.runId


def _job(name: str, description: str, source: Path | None = None) -> Job:
    """A job in our namespace with its documentation and, if given, the file that defines it."""
    facets: dict = {"documentation": documentation_job.DocumentationJobFacet(description=description)}
    if source is not None:
        facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
            type="file", url=source.resolve().as_uri()
        )
    return Job(namespace=JOB_NAMESPACE, name=name, facets=facets)


def _trino(table: str, s: Settings) -> tuple[str, str]:
    """(namespace, name) of `<schema>.<table>` by OpenLineage's naming for Trino, which serves it."""
    schema, _, name = table.partition(".")
    return Table(schema, name).openlineage(s)


def emit_contract_lineage(
    contract: FeedContract, batch_id: str, files: list[Path], s: Settings | None = None
) -> str | None:
    """Source header → bronze column for each delivered file, as the contract declares it."""
    s = s or settings()
    bronze = feed_tables(contract).bronze
    mapping = {
        c.name: [("file", str(Path(f).resolve()), c.source or c.name) for f in files]
        for c in contract.columns
    }
    inputs = [
        InputDataset(
            namespace="file",
            name=str(Path(f).resolve()),
            facets={
                "schema": schema_dataset.SchemaDatasetFacet(
                    fields=[
                        schema_dataset.SchemaDatasetFacetFields(name=c.source or c.name, type="string")
                        for c in contract.columns
                    ]
                )
            },
        )
        for f in files
    ]
    namespace, name = bronze.openlineage(s)
    output = OutputDataset(
        namespace=namespace, name=name, facets={"columnLineage": _column_lineage(mapping, "CONTRACT")}
    )
    job = _job(
        f"feed.{contract.key}.contract",
        f"{contract.department_name} {contract.title}: batch {batch_id}, columns "
        f"mapped as declared in schemas/{contract.department}/{contract.feed}.yaml",
        SCHEMAS_DIR / contract.department / f"{contract.feed}.yaml",
    )
    return _emit(job, inputs, [output], s)


def emit_view_lineage(
    view: str, column_map: dict[str, tuple[str, str]], request_file: str | Path, s: Settings | None = None
) -> str | None:
    """Lineage of a share view created in Trino: `view` is `<schema>.<view>`, `column_map` maps each
    view column to (`<schema>.<table>`, column) it is derived from, `request_file` is the request YAML."""
    s = s or settings()
    sources: dict[str, list[tuple[str, str, str]]] = {
        col: [(*_trino(table, s), src)] for col, (table, src) in column_map.items()
    }
    tables = sorted({table for table, _ in column_map.values()})
    request = Path(request_file)
    job = _job(f"share.{view}", f"share view {view} provisioned from {request.name}", request)
    inputs = [InputDataset(*_trino(t, s)) for t in tables]
    namespace, name = _trino(view, s)
    output = OutputDataset(
        namespace=namespace, name=name, facets={"columnLineage": _column_lineage(sources, "VIEW")}
    )
    return _emit(job, inputs, [output], s)


def emit_quality_assertions(
    table: str, batch_id: str, assertions: list[tuple[str, bool, str | None]], s: Settings | None = None
) -> str | None:
    """A quality gate's results on `<schema>.<table>` for a batch as a DataQualityAssertionsDatasetFacet:
    `assertions` are (expectation, success, column or None). For the gates to call (issue 5)."""
    facet = data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
        assertions=[
            data_quality_assertions_dataset.Assertion(assertion=name, success=ok, column=column)
            for name, ok, column in assertions
        ]
    )
    job = _job(f"quality.{table}", f"quality gate on {table}, batch {batch_id}")
    s = s or settings()
    namespace, name = _trino(table, s)
    dataset = InputDataset(namespace=namespace, name=name, inputFacets={"dataQualityAssertions": facet})
    return _emit(job, [dataset], [], s)
