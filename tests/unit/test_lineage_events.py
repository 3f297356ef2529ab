"""Lineage without engines: the event schema against openlineage-python's models, rejection of bad lines,
dataset naming, multi-hop tracing and the SVG graph."""

from __future__ import annotations

import json
from pathlib import Path

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import parent_run
from openlineage.client.serde import Serde

from infra.settings import settings
from lineage import svg
from lineage.emit import emit_contract_lineage, emit_quality_assertions, emit_view_lineage
from lineage.records import parse
from lineage.trace import Edge, Graph, Node, origins
from lineage.validate import problems, validator
from schemas.datasets import normalise

RUN_ID = "01934d5e-7f00-7000-8000-000000000001"


def client_event() -> dict:
    """An event built with the official client, column lineage and parent facets included."""
    lineage = cl.ColumnLineageDatasetFacet(
        fields={
            "address": cl.Fields(
                inputFields=[
                    cl.InputField(
                        namespace="lake",
                        name="silver.a",
                        field="address",
                        transformations=[cl.Transformation(type="DIRECT", subtype="IDENTITY")],
                    )
                ]
            )
        }
    )
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=RUN_ID), job=parent_run.Job(namespace="govlake", name="dag.task")
    )
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-11-23T10:00:00+00:00",
        run=Run(runId=RUN_ID, facets={"parent": parent}),
        job=Job(namespace="govlake", name="job"),
        inputs=[InputDataset(namespace="lake", name="silver.a")],
        outputs=[OutputDataset(namespace="lake", name="gold.b", facets={"columnLineage": lineage})],
        producer="https://example.org/test",
    )
    return json.loads(Serde.to_json(event))


def _required(cls) -> set[str]:
    return {a.name for a in attr.fields(cls) if a.default is attr.NOTHING}


def test_schema_accepts_client_events_and_requires_what_the_client_models_require():
    assert problems(client_event()) == []
    defs = validator().schema["$defs"]
    assert _required(RunEvent) - {"eventType"} <= set(defs["RunEvent"]["required"])
    assert _required(Run) <= set(defs["Run"]["required"])
    assert _required(Job) <= set(defs["Job"]["required"])
    assert _required(cl.InputField) <= set(defs["InputField"]["required"])
    assert _required(cl.Fields) <= set(
        defs["ColumnLineageDatasetFacet"]["allOf"][1]["properties"]["fields"]["additionalProperties"][
            "required"
        ]
    )


def test_schema_rejects_bad_run_id_time_and_missing_field_lineage():
    event = client_event()
    event["run"]["runId"] = "not-a-uuid"
    event["eventTime"] = "yesterday"
    del event["outputs"][0]["facets"]["columnLineage"]["fields"]["address"]["inputFields"][0]["field"]
    found = " ".join(problems(event))
    assert "run/runId" in found and "eventTime" in found and "'field' is a required property" in found


def test_parse_rejects_malformed_and_invalid_lines_and_keeps_the_rest(tmp_path: Path):
    good = json.dumps(client_event())
    invalid = json.dumps({**client_event(), "job": {"namespace": "govlake"}})
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join([good, "{not json", invalid, ""]) + "\n", encoding="utf-8")
    parsed = parse([path])
    assert len(parsed.events) == 1 and len(parsed.edges) == 1
    assert [(r.line, r.reason.split(":")[0]) for r in parsed.rejections] == [
        (2, "not JSON"),
        (3, "not a valid OpenLineage RunEvent"),
    ]
    assert "job: 'name' is a required property" in parsed.rejections[1].reason
    assert str(parsed.rejections[0]).startswith(f"{path}:2: not JSON")
    edge = parsed.edges[0]
    assert (edge["source_dataset"], edge["target_dataset"], edge["target_column"]) == (
        "silver.a",
        "gold.b",
        "address",
    )


def test_warehouse_landing_and_staging_paths_become_our_names():
    s = settings()
    assert normalise("file", str(s.warehouse_dir / "gold" / "population_person"), s) == (
        "lake",
        "gold.population_person",
    )
    landed = s.landing / "public_security" / "household_register" / "20261101" / "f.csv"
    assert normalise("file", str(landed), s) == (
        "landing",
        "public_security/household_register/20261101/f.csv",
    )
    staged = s.home / "staging" / "public_security__household_register" / "20261101" / "f.csv"
    assert normalise("file", str(staged), s)[1] == "public_security/household_register/20261101/f.csv"
    assert normalise("file", "/elsewhere/x", s) == ("file", "/elsewhere/x")


def test_multi_hop_trace_reaches_the_source_column_and_downstream_views():
    src = Node("landing", "public_security/household_register/20261101/f.csv", "户籍地址")
    bronze, silver, gold = (Node("lake", f"{t}", "address") for t in ("bronze.b", "silver.s", "gold.g"))
    theme, view = Node("lake", "theme.t", "addr"), Node("lake", "share_civil_affairs.v", "addr")
    hops = [(src, bronze), (bronze, silver), (silver, gold), (gold, theme), (theme, view)]
    graph = Graph([Edge(a, b, "job", "DIRECT:IDENTITY") for a, b in hops])
    up = graph.upstream([theme])
    assert [d for d, _ in up] == [1, 2, 3, 4]
    assert origins(up) == [
        {
            "department": "public_security",
            "feed": "household_register",
            "batch": "20261101",
            "file": "f.csv",
            "column": "户籍地址",
        }
    ]
    assert [e.target for _, e in graph.downstream([gold])] == [theme, view]
    picture = svg.render([theme], up, graph.downstream([theme]))
    assert picture.startswith("<svg") and picture.count("<rect") == 6 and picture.count("<line") == 5


def test_our_emitters_write_valid_events(tmp_path: Path):
    from schemas.contracts import get_contract

    s = settings()
    contract = get_contract("public_security/household_register")
    emit_contract_lineage(
        contract, "20261101", [s.landing / "public_security/household_register/20261101/f.csv"]
    )
    emit_view_lineage(
        "share_civil_affairs.v", {"addr": ("gold.population_person", "address")}, tmp_path / "r.yaml"
    )
    emit_quality_assertions("gold.population_person", "20261101", [("not_null", True, "address")])
    parsed = parse([s.lineage_dir / "python" / "events.jsonl"])
    assert parsed.rejections == [] and len(parsed.events) >= 6
    sources = {(e["source_dataset"], e["source_column"], e["target_column"]) for e in parsed.edges}
    assert ("public_security/household_register/20261101/f.csv", "户籍地址", "address") in sources
    assert ("gold.population_person", "address", "addr") in sources
